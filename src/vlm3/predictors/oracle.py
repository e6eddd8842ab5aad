"""The text-codec oracle: ground truth rendered through the protocol, the quantisation ceiling.

Depth answers are the label in metres rendered with 2 decimals; correspondences the
target on the [0, 1000] grid; pose the four release answers from the label transform;
object answers the sample's reference answers (rendered from the same labels by the data
engine). Scoring these gives the best numbers the text format allows (delta1 = 1, EPE
within the 1000-grid quantisation, AUC@30 = 100).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from vlm3.predictors.base import Prediction, Request
from vlm3.tasks.correspondence import text as corr_text
from vlm3.tasks.depth import text as depth_text
from vlm3.tasks.pose import text as pose_text
class OraclePredictor:
    """Answers from ``Request.labels`` (reads ground truth by design)."""

    name = "oracle"
    tasks = ("depth", "correspondence", "pose", "object")

    def __init__(self, depth_style: str = "plain") -> None:
        self.depth_style = depth_style

    def fingerprint(self) -> str:
        return f"oracle|{depth_text.__name__}|{self.depth_style}"

    def predict(self, requests: Sequence[Request]) -> list[Prediction]:
        out = []
        for r in requests:
            t0 = time.perf_counter()
            out.append(Prediction(r.id, answer_from_labels(r, self.depth_style), time.perf_counter() - t0))
        return out


def answer_from_labels(r: Request, depth_style: str = "plain") -> list[str]:
    """The protocol rendering of the ground truth of each question of ``r``."""
    lab = r.labels
    if r.task == "depth":
        return [depth_text.render_answer(p["depth_m"], depth_style) for p in lab["points"]][: len(r.questions)]
    if r.task == "correspondence":
        return [corr_text.render_answer(m["target_xy_norm1000"]) for m in lab["matches"]][: len(r.questions)]
    if r.task == "pose":
        answers = pose_text.render_answers(np.asarray(lab["R_cam0_from_cam1"]), np.asarray(lab["t_cam0_from_cam1_m"]),
                                           metric=True)
        ids = r.question_ids or lab.get("question_ids") or list(answers)
        return [answers[i] for i in ids]
    refs = r.meta.get("reference_answers")
    if not refs:
        raise ValueError(f"{r.id}: object oracle needs the sample's reference answers")
    return list(refs)
