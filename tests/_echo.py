"""A predictor that writes one fixed answer and keeps the requests it was sent: the tests of
the plumbing around a model (questions, parsing, results) without loading one."""

from __future__ import annotations

from vlm3.predictors.base import Prediction


class Echo:
    name = "echo"

    def __init__(self, answer: str):
        self.answer, self.requests = answer, []

    def predict(self, requests):
        self.requests += list(requests)
        return [Prediction(r.id, [self.answer] * len(r.questions)) for r in requests]
