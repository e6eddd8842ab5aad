"""``vlm3 predict pose`` / ``Model.pose``: the format's pose questions about two images (rotation,
direction, distance), answered as a `PoseResult` (camera 2 in camera 1's OpenCV frame)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vlm3.tasks.common import text_format_for
from vlm3.tasks.pose.result import PoseResult
from vlm3.tasks.predict import Prepared, Questions


def questions(views: Sequence[Prepared], inputs: Mapping[str, Any], format_version: str) -> Questions:
    """The format's questions, in its order, with their ids."""
    fmt = text_format_for("pose", format_version)
    ids = list(fmt.QUESTION_IDS)
    return Questions([fmt.QUESTIONS[i] for i in ids], ids)


def result(views: Sequence[Prepared], asked: Questions, answers: Sequence[str], format_version: str) -> PoseResult:
    """The four answers parsed jointly into one pose."""
    fmt = text_format_for("pose", format_version)
    raw = dict(zip(asked.question_ids or [], answers))
    p = fmt.parse_answers(raw)
    v = p.value if isinstance(p.value, fmt.PoseText) else fmt.PoseText()
    return PoseResult(p.ok, v.R_cam0_from_cam1, v.t_unit_cam0, v.distance_m, v.yaw_pitch_roll_deg, raw, p.reason,
                      [v.camera_json() for v in views], [n for v in views for n in v.notes])
