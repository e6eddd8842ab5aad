"""The correspondence task unit: "which pixel of image 2 matches (x, y) of image 1".

Data: ``build.py`` (depth-checked matches between two standardised views). Text:
``text.py`` (release) and the compact format, both on the 1000-grid of each image.
Scoring: one item per question; answers are decoded from the 1000-grid to pixels of the
standardised second image (the image the model sees): ``epe_px`` (mean end-point error,
pixels, over parsed answers) and ``pck_5px`` (fraction within 5 px, failures count as
wrong). Baselines: the oracle answers the label's grid cell; the trivial baseline answers
the query's own coordinates (identity). Asked about a user's two images (``vlm3 predict match``,
``Model.match``): ``predict.py`` and ``result.py`` (``MatchResult``, matches.png / .json).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.io.records import PairRecord, Record
from vlm3.metrics import correspondence as corr_m
from vlm3.protocol import codecs
from vlm3.protocol.parsing import Parsed
from vlm3.tasks.common import BuildContext, SampleDraft, text_format_for
from vlm3.tasks.correspondence import build as corr_build
from vlm3.tasks.correspondence import predict as corr_predict
from vlm3.tasks.correspondence import text as corr_text
from vlm3.tasks.failure_policy import score_counting_failures
from vlm3.tasks.unit import AskedQuestions, GroundTruth, Task


def _pck5(pred: list, gt: list) -> float:
    return float(corr_m.pck(np.asarray(pred, float), np.asarray(gt, float), (5.0,))[5.0])


class CorrespondenceTask(Task):
    """Point matches between two images (labels ``matches``: query and target, px and grid)."""

    name = "correspondence"
    n_images = 2
    text = corr_text
    metrics = ("epe_px", "pck_5px")
    higher_is_better = {"epe_px": False, "pck_5px": True}
    summary_columns = (("epe_px", "corr EPE px", "{:.2f}"), ("pck_5px", "corr PCK@5px", "{:.3f}"))
    metric_meaning = {
        "epe_px": "correspondence EPE: mean distance (pixels of image 2) from the predicted to the true match",
        "pck_5px": "correspondence PCK@5px: share of queries matched within 5 px of the truth"}
    units = {"epe_px": "px"}
    record_kinds = ("pair",)

    # ------------------------------------------------------------------ vlm3 predict match (predict.py, result.py)
    predict_verb = "match"
    predict_help = "Pixels of IMAGE2 matching pixels of IMAGE1; writes matches.png and matches.json."
    predict_module = corr_predict
    predict_calibration = "fov60"  # matches need a focal for the normalisation, not a true one

    def build(self, record: Record, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
        return corr_build.build(record, ctx, rng)

    def usable(self, record: Record, min_covisibility: float = 0.0) -> bool:
        return (isinstance(record, PairRecord) and record.view0.depth is not None and record.view1.depth is not None
                and (record.covisibility is None or record.covisibility >= min_covisibility))

    def queries_from_labels(self, labels: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Per question: ``query_xy_px`` (pixel of image 1) and ``query_xy_norm1000`` (its grid cell)."""
        return [{"query_xy_px": m["query_xy_px"], "query_xy_norm1000": m["query_xy_norm1000"]}
                for m in labels.get("matches", [])]

    def parse(self, texts: Sequence[str], asked: AskedQuestions) -> list[Parsed]:
        """Grid answers decoded to (x, y) pixels of the second standardised image."""
        fmt = text_format_for(self.name, asked.format_version)
        w, h = float(asked.cameras[1]["width"]), float(asked.cameras[1]["height"])
        out = []
        for t in texts:
            p = fmt.parse_answer(t)
            out.append(Parsed.success(codecs.decode_xy_norm1000(np.asarray(p.value, float), w, h).tolist())
                       if p.ok else p)
        return out

    def truths(self, labels: Mapping[str, Any], n_items: int) -> list[list[float]]:
        return [m["target_xy_px"] for m in labels["matches"]][:n_items]

    def score(self, parsed: Sequence[Parsed], truths: Sequence[Any]) -> dict[str, Any]:
        return score_counting_failures(parsed, truths, {"pck_5px": _pck5}, {"epe_px": corr_m.mean_epe_px})

    def oracle_answers(self, asked: AskedQuestions, n_questions: int, truth: GroundTruth) -> list[str]:
        return [self.answer(asked, m["target_xy_norm1000"]) for m in truth.labels["matches"]][:n_questions]

    def trivial_answers(self, asked: AskedQuestions, n_questions: int, stats: Mapping[str, Any]) -> list[str]:
        return [self.answer(asked, q["query_xy_norm1000"]) for q in asked.queries][:n_questions]

    def answer(self, asked: AskedQuestions, xy_norm1000: Sequence[float]) -> str:
        """A match answer in the questions' text format: (x, y) on the 1000-grid of image 2."""
        return text_format_for(self.name, asked.format_version).render_answer(xy_norm1000)


TASK = CorrespondenceTask()

__all__ = ["TASK", "CorrespondenceTask"]
