"""The calibration task unit: "what is the horizontal field of view of this image?".

A fifth 3D quantity written as text, and the proof that a task is one folder: camera
calibration (the field of view is the one intrinsic a single image pins down best; GeoCalib
and AnyCalib report it). Asked on the image as given, only downsized to the image budget
(no focal normalisation: it would erase the answer); labels are free wherever K is known.

Data: ``build.py`` (one question per image; views without K refused). Text: ``text.py``
(full sentence, degrees) and ``compact.py`` (bare ``063.4``, the CPU demo). Scoring: one
item per image; ``fov_err_deg_median`` (median |pred - gt| over parsed answers, degrees) and
``within_1deg`` / ``within_2deg`` / ``within_5deg`` (fractions under the threshold; failures
count as wrong), ``vlm3.metrics.calibration``. Baselines: the oracle answers the label (the
value the answer text states, so it scores 0); the trivial baseline answers the median
training field of view for every image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from vlm3.io.records import Record, ViewRecord
from vlm3.metrics import calibration as calib_m
from vlm3.protocol.parsing import Parsed
from vlm3.tasks.calibration import build as calib_build
from vlm3.tasks.calibration import predict as calib_predict
from vlm3.tasks.calibration import text as calib_text
from vlm3.tasks.calibration.result import CalibrationResult
from vlm3.tasks.common import BuildContext, SampleDraft, text_format_for
from vlm3.tasks.failure_policy import score_counting_failures
from vlm3.tasks.unit import AskedQuestions, GroundTruth, Task


class CalibrationTask(Task):
    """Horizontal field of view of one image (labels ``hfov_deg``, degrees)."""

    name = "calibration"
    n_images = 1
    text = calib_text
    metrics = ("fov_err_deg_median", "within_1deg", "within_2deg", "within_5deg")
    higher_is_better = {"fov_err_deg_median": False, "within_1deg": True, "within_2deg": True, "within_5deg": True}
    summary_columns = (("fov_err_deg_median", "calib FoV err°", "{:.2f}"), ("within_5deg", "calib <5°", "{:.3f}"))
    metric_meaning = {
        "fov_err_deg_median": "calibration FoV error: median |predicted − true| horizontal field of view (°), "
                              "over parsed answers",
        "within_1deg": "calibration <1°: share of images whose field of view is within 1° of the truth",
        "within_2deg": "calibration <2°: share of images whose field of view is within 2° of the truth",
        "within_5deg": "calibration <5°: share of images whose field of view is within 5° of the truth"}
    units = {"fov_err_deg_median": "°"}
    record_kinds = ("view",)
    focal_px = None  # asked on the image as given (only downsized): focal normalisation would erase the answer
    in_release = False

    def build(self, record: Record, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
        return calib_build.build(record, ctx, rng)

    def usable(self, record: Record, min_covisibility: float = 0.0) -> bool:
        return isinstance(record, ViewRecord) and record.camera is not None

    def parse(self, texts: Sequence[str], asked: AskedQuestions) -> list[Parsed]:
        fmt = text_format_for(self.name, asked.format_version)
        return [fmt.parse_answer(t) for t in texts]

    def truths(self, labels: Mapping[str, Any], n_items: int) -> list[float]:
        return [float(labels["hfov_deg"])][:n_items]

    def score(self, parsed: Sequence[Parsed], truths: Sequence[Any]) -> dict[str, Any]:
        rates = {f"within_{t:g}deg": partial(calib_m.fraction_within_deg, threshold_deg=t)
                 for t in calib_m.THRESHOLDS_DEG}
        return score_counting_failures(parsed, truths, rates, {"fov_err_deg_median": calib_m.median_fov_error_deg})

    # ------------------------------------------------------------------ vlm3 predict calibrate (predict.py, result.py)
    predict_verb = "calibrate"
    predict_help = ("The horizontal field of view (and so fx = fy, centred cx, cy) of an image. IMAGE is a file or "
                    "a folder of images; writes calibrate.json (one subfolder per image of a folder).")
    predict_folder = True
    predict_module = calib_predict

    def prepare_image(self, image: np.ndarray, max_pixels: int) -> np.ndarray:
        """Downsized to the budget, nothing else (as the data engine: `build.cap_image`)."""
        return calib_build.cap_image(image, max_pixels)


    def label_values(self, labels: Mapping[str, Any]) -> tuple[str, list[float]] | None:
        return "hfov_deg", [float(labels["hfov_deg"])] if "hfov_deg" in labels else []

    def oracle_answers(self, asked: AskedQuestions, n_questions: int, truth: GroundTruth) -> list[str]:
        return [self._answer(asked, truth.labels["hfov_deg"])] * min(n_questions, 1)

    def trivial_defaults(self) -> dict[str, Any]:
        return {"median_hfov_deg": 60.0}

    def trivial_fit(self, labels: Sequence[Mapping[str, Any]], stats: Mapping[str, Any]) -> dict[str, Any]:
        """``median_hfov_deg``: the median field of view over the training images."""
        fovs = [float(lab["hfov_deg"]) for lab in labels if "hfov_deg" in lab]
        return {**stats, "median_hfov_deg": float(np.median(fovs))} if fovs else dict(stats)

    def trivial_answers(self, asked: AskedQuestions, n_questions: int, stats: Mapping[str, Any]) -> list[str]:
        return [self._answer(asked, stats["median_hfov_deg"])] * n_questions

    def _answer(self, asked: AskedQuestions, hfov_deg: float) -> str:
        return text_format_for(self.name, asked.format_version).render_answer(hfov_deg)


TASK = CalibrationTask()

__all__ = ["CalibrationResult", "CalibrationTask", "TASK"]
