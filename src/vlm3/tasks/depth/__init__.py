"""The depth task unit: "how far is the point at (x, y)" about one standardised image.

Data: ``build.py`` (query pixels spread over the image and the depth range, labels in
metres). Text: ``text.py`` (release) and the compact format (``vlm3.tasks.common.text_format_for``).
Scoring: one item per question; ``delta1`` (fraction of answers within 25 % of the label,
failures count as wrong) and ``abs_rel`` (mean |pred - gt| / gt over parsed answers).
Baselines: the oracle answers the label (2 decimals, plain style); the trivial baseline
answers the median training depth at every point. Asked about a user's image (``vlm3 predict
depth``, ``Model.depth``): ``predict.py`` (points or a grid over what the model sees) and
``result.py`` (``DepthResult``, its .npy / 16-bit PNG / .ply / JSON files).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.io.records import Record, ViewRecord
from vlm3.metrics import depth as depth_m
from vlm3.protocol.parsing import Parsed
from vlm3.tasks.common import BuildContext, SampleDraft, text_format_for
from vlm3.tasks.depth import build as depth_build
from vlm3.tasks.depth import predict as depth_predict
from vlm3.tasks.depth import text as depth_text
from vlm3.tasks.failure_policy import score_counting_failures
from vlm3.tasks.unit import AskedQuestions, GroundTruth, Task


class DepthTask(Task):
    """Depth at pixels of one image (labels ``points``: ``xy_px``, ``xy_norm2000``, ``depth_m``)."""

    name = "depth"
    n_images = 1
    text = depth_text
    metrics = ("delta1", "abs_rel")
    higher_is_better = {"delta1": True, "abs_rel": False}
    summary_columns = (("delta1", "depth δ1", "{:.3f}"), ("abs_rel", "depth AbsRel", "{:.3f}"))
    metric_meaning = {
        "delta1": "depth δ1: share of points whose predicted depth is within ×1.25 of the truth (max(p/g, g/p) < 1.25)",
        "abs_rel": "depth AbsRel: mean |predicted − true| / true depth, over parsed points"}
    units = {"abs_rel": "", "delta1": ""}
    record_kinds = ("view",)

    # ------------------------------------------------------------------ vlm3 predict depth (predict.py, result.py)
    predict_verb = "depth"
    predict_help = ("Metric depth at pixels of IMAGE (a file or a folder of images). Writes depth.png, "
                    "depth.json, depth.npy (metres), points.ply (coloured point cloud) and, for --grid, "
                    "depth_mm.png (16-bit millimetres, 0 = no answer); a folder gets one subfolder per image.")
    predict_module = depth_predict
    predict_folder = True

    def build(self, record: Record, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
        return depth_build.build(record, ctx, rng)

    def usable(self, record: Record, min_covisibility: float = 0.0) -> bool:
        return isinstance(record, ViewRecord) and (record.depth is not None or record.depth_points is not None)

    def queries_from_labels(self, labels: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Per point: ``xy_px`` (standardised pixel) and ``xy_norm2000`` (its 2000-grid cell)."""
        return [{"xy_px": p["xy_px"], "xy_norm2000": p["xy_norm2000"]} for p in labels.get("points", [])]

    def parse(self, texts: Sequence[str], asked: AskedQuestions) -> list[Parsed]:
        fmt = text_format_for(self.name, asked.format_version)
        return [fmt.parse_answer(t) for t in texts]

    def truths(self, labels: Mapping[str, Any], n_items: int) -> list[float]:
        return [pt["depth_m"] for pt in labels["points"]][:n_items]

    def score(self, parsed: Sequence[Parsed], truths: Sequence[Any]) -> dict[str, Any]:
        return score_counting_failures(parsed, truths, {"delta1": depth_m.delta1}, {"abs_rel": depth_m.abs_rel})

    def oracle_answers(self, asked: AskedQuestions, n_questions: int, truth: GroundTruth) -> list[str]:
        return [self._answer(asked, p["depth_m"]) for p in truth.labels["points"]][:n_questions]

    def label_values(self, labels: Mapping[str, Any]) -> tuple[str, list[float]] | None:
        return "depth_m", [p["depth_m"] for p in labels.get("points", [])]

    def trivial_defaults(self) -> dict[str, Any]:
        return {"median_depth_m": 3.0}

    def trivial_fit(self, labels: Sequence[Mapping[str, Any]], stats: Mapping[str, Any]) -> dict[str, Any]:
        """``median_depth_m``: the median label depth over every training point."""
        depths = [p["depth_m"] for lab in labels for p in lab.get("points", [])]
        return {**stats, "median_depth_m": float(np.median(depths))} if depths else dict(stats)

    def trivial_answers(self, asked: AskedQuestions, n_questions: int, stats: Mapping[str, Any]) -> list[str]:
        return [self._answer(asked, stats["median_depth_m"])] * n_questions

    def _answer(self, asked: AskedQuestions, depth_m_value: float) -> str:
        """A depth answer in the questions' text format (the plain style: no think block)."""
        return text_format_for(self.name, asked.format_version).render_answer(depth_m_value, "plain")


TASK = DepthTask()

__all__ = ["TASK", "DepthTask"]
