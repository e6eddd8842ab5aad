"""Trivial baselines: what a model scores by ignoring the images.

Fitted on training samples (``fit``); each task unit owns its statistics and answers
(``Task.trivial_fit`` / ``Task.trivial_answers``): depth answers the median training depth
at every point; correspondence the query's own coordinates (identity); pose the identity
rotation and the mean training translation (direction and distance); object questions get
the majority training answer (qualitative) or the median training value of that quantity
(quantitative). Answers go through the protocol renderers, so they are scored exactly like
a model's. Reads only the question inputs of a Request (query points, question kinds),
never its ground truth.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vlm3.predictors.base import Prediction, Request
from vlm3.tasks import TASKS, get_task


class TrivialPredictor:
    """Constant / identity answers; statistics per task from ``fit`` (task defaults before).

    ``stats``: optional {task: {statistic: value}} overriding the defaults (e.g.
    ``{"depth": {"median_depth_m": 2.0}}``).
    """

    name = "trivial"
    tasks = TASKS

    def __init__(self, stats: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        given = dict(stats or {})
        unknown = set(given) - set(TASKS)
        if unknown:
            raise ValueError(f"trivial statistics for unknown tasks {sorted(unknown)}; tasks: {', '.join(TASKS)}")
        self.stats: dict[str, dict[str, Any]] = {
            t: {**get_task(t).trivial_defaults(), **dict(given.get(t, {}))} for t in TASKS}

    def fit(self, samples: Iterable[Mapping[str, Any]]) -> "TrivialPredictor":
        """Statistics of training samples (chat samples with ``task`` and ``labels``)."""
        labels: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for s in samples:
            if s.get("task") in self.stats:
                labels[s["task"]].append(s.get("labels", {}))
        for task, labs in labels.items():
            self.stats[task] = get_task(task).trivial_fit(labs, self.stats[task])
        return self

    def fingerprint(self) -> str:
        return "trivial|" + json.dumps(self.stats, sort_keys=True, default=float)

    def predict(self, requests: Sequence[Request]) -> list[Prediction]:
        out = []
        for r in requests:
            t0 = time.perf_counter()
            texts = get_task(r.task).trivial_answers(r, len(r.questions), self.stats[r.task])
            out.append(Prediction(r.id, texts, time.perf_counter() - t0))
        return out
