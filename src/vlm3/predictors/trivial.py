"""Trivial baselines: what a model scores by ignoring the images.

Fitted on training samples (``fit``): depth answers the median training depth at every
point; correspondence answers the query's own coordinates (identity); pose answers the
identity rotation and the mean training translation (direction and distance); object
questions get the majority training answer (qualitative) or the median training value
of that quantity (quantitative). Answers go through the protocol renderers, so they are
scored exactly like a model's. Reads only the question inputs of a Request (query points,
question kinds), never its ground truth.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np

from vlm3.predictors.base import Prediction, Request
from vlm3.tasks.correspondence import text as corr_text
from vlm3.tasks.depth import text as depth_text
from vlm3.tasks.object import text as obj_text
from vlm3.tasks.pose import text as pose_text
class TrivialPredictor:
    """Constant / identity answers; statistics from ``fit`` (defaults before fitting)."""

    name = "trivial"
    tasks = ("depth", "correspondence", "pose", "object")

    def __init__(self, median_depth_m: float = 3.0, mean_t_m: Iterable[float] = (0.0, 0.0, 0.5),
                 qual_majority: bool = True, quant_median_m: dict[str, float] | None = None,
                 direction_mode_hour: int = 12) -> None:
        self.median_depth_m = float(median_depth_m)
        self.mean_t_m = np.asarray(list(mean_t_m), dtype=np.float64)
        self.qual_majority = bool(qual_majority)
        self.quant_median_m = dict(quant_median_m or {})
        self.direction_mode_hour = int(direction_mode_hour)

    def fit(self, samples: Iterable[dict[str, Any]]) -> "TrivialPredictor":
        """Statistics of training samples (chat samples with ``task`` and ``labels``)."""
        depths, ts, truths, hours = [], [], [], []
        quant: dict[str, list[float]] = defaultdict(list)
        for s in samples:
            lab = s.get("labels", {})
            if s.get("task") == "depth":
                depths += [p["depth_m"] for p in lab.get("points", [])]
            elif s.get("task") == "pose" and lab.get("t_cam0_from_cam1_m") is not None:
                ts.append(lab["t_cam0_from_cam1_m"])
            elif s.get("task") == "object":
                for q in lab.get("questions", []):
                    if q.get("kind") == "qualitative":
                        truths.append(bool(q["truth"]))
                    elif q.get("kind") == "quantitative" and q.get("predicate") == "direction":
                        hours.append(int(q["value"]))
                    elif q.get("kind") == "quantitative":
                        quant[q["predicate"]].append(float(q["value"]))
        if depths:
            self.median_depth_m = float(np.median(depths))
        if ts:
            self.mean_t_m = np.mean(np.asarray(ts, dtype=np.float64), axis=0)
        if truths:
            self.qual_majority = bool(np.mean(truths) >= 0.5)
        self.quant_median_m.update({k: float(np.median(v)) for k, v in quant.items()})
        if hours:
            self.direction_mode_hour = int(np.bincount(hours).argmax())
        return self

    def fingerprint(self) -> str:
        return (f"trivial|{self.median_depth_m:.4f}|{np.round(self.mean_t_m, 4).tolist()}|{self.qual_majority}|"
                f"{sorted((k, round(v, 4)) for k, v in self.quant_median_m.items())}|{self.direction_mode_hour}")

    def predict(self, requests: Sequence[Request]) -> list[Prediction]:
        out = []
        for r in requests:
            t0 = time.perf_counter()
            out.append(Prediction(r.id, self._answers(r), time.perf_counter() - t0))
        return out

    def _answers(self, r: Request) -> list[str]:
        n = len(r.questions)
        if r.task == "depth":
            return [depth_text.render_answer(self.median_depth_m, "plain")] * n
        if r.task == "correspondence":
            return [corr_text.render_answer(m["query_xy_norm1000"]) for m in r.labels["matches"]][:n]
        if r.task == "pose":
            t = self.mean_t_m if np.linalg.norm(self.mean_t_m) > 1e-9 else np.array([0.0, 0.0, 1.0])
            answers = pose_text.render_answers(np.eye(3), t, metric=True)
            ids = r.question_ids or r.labels.get("question_ids") or list(answers)
            return [answers[i] for i in ids]
        out = []
        for q in r.labels.get("questions", [])[:n]:
            if q.get("kind") == "qualitative":
                out.append("Yes." if self.qual_majority else "No.")
            elif q.get("predicate") == "direction":
                out.append(f"{self.direction_mode_hour} o'clock")
            else:
                out.append(obj_text.format_length(self.quant_median_m.get(q.get("predicate"), 1.0)))
        return out
