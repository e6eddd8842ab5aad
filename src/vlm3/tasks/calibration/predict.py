"""``vlm3 predict calibrate`` / ``Model.calibrate``: the format's field-of-view question about one
image, answered as a `CalibrationResult` (degrees, and the focal fx = fy it means for the image given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vlm3.tasks.calibration.result import CalibrationResult
from vlm3.tasks.common import text_format_for
from vlm3.tasks.predict import Prepared, Questions


def questions(views: Sequence[Prepared], inputs: Mapping[str, Any], format_version: str) -> Questions:
    """The format's one question."""
    return Questions([text_format_for("calibration", format_version).prompt()])


def result(views: Sequence[Prepared], asked: Questions, answers: Sequence[str], format_version: str
           ) -> CalibrationResult:
    """The answer parsed, with the size of the image given and of the image the model saw."""
    view = views[0]
    raw = answers[0] if answers else ""
    p = text_format_for("calibration", format_version).parse_answer(raw)
    (w, h), shown = view.original_size, view.image
    return CalibrationResult(float(p.value) if p.ok else float("nan"), int(w), int(h), raw, p.ok, p.reason,
                             (shown.shape[1], shown.shape[0]), view.label, list(view.notes))
