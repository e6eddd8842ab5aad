"""Relative camera pose as four short questions, compact format (vlm3-compact-v3): DEMO ONLY.

The CPU demo trains a micro model on short prompts and bare fixed-width answers to fit
its compute budget; the 4B recipes and the release evaluation never use this module
(`vlm3.tasks.pose.text` is the release format, with the same functions).

Same quantities, frames and direction as the release (`vlm3.tasks.pose.quantities`):
camera 1 (the second image) relative to camera 0 (the first image), in camera 0's OpenCV
frame. The prompts say "camera 1" for the first camera, as the demo was trained (the
question text is part of the format). Answers are bare fixed-width numbers
(``codecs.fixed_number``) with the release's precision: ``089.7`` (rotation angle, deg);
``+089.6, +002.6, +006.1`` (yaw, pitch, roll, deg); ``-0.69, +0.02, +0.72`` (unit
direction of camera 1's centre in camera 0); ``01.98`` (distance, metres).

Parsers read these bare forms only (after complete ``<think>`` blocks; a triple may sit
in parentheses and angles may carry ``°``); labelled sentences (the release answers)
fail.
"""

from __future__ import annotations

import re

import numpy as np

from vlm3.geometry.transforms import rotation_angle_deg
from vlm3.protocol import codecs
from vlm3.protocol.answer_templates import SIGN, Slot, alternatives
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, parse_match, read_all, to_finite_float
from vlm3.tasks.pose.quantities import (
    QUESTION_IDS,
    PoseText,
    renderer_from_T_cam1_from_cam0,
    parse_pose_answers,
    pose_numbers,
    read_direction,
    read_distance,
    read_euler_angle,
    read_rotation_angle,
)

QUESTIONS: dict[str, str] = {
    "rotation_angle": "Rotation angle in degrees?",
    "euler_natural": "Yaw, pitch, roll in degrees (intrinsic, about camera-1 axes)?",
    "translation_direction": "Unit direction of the camera motion in camera 1 (x right, y down, z forward)?",
    "translation_distance": "Translation distance in meters?",
}

_NUM = NUMBER_PATTERN
_BARE_NUM = re.compile(rf"^\s*({_NUM})\s*°?\s*\.?\s*$")
_BARE_TRIPLE = re.compile(rf"^\s*\(?\s*({_NUM})\s*°?\s*,\s*({_NUM})\s*°?\s*,\s*({_NUM})\s*°?\s*\)?\s*\.?\s*$")
_BARE_DIST = re.compile(rf"^\s*({_NUM})\s*(?:m|meters?|metres?)?\s*\.?\s*$", re.IGNORECASE)
#: answer templates per question id for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = {
    "rotation_angle": alternatives(Slot("a")),
    "euler_natural": alternatives(SIGN, Slot("y"), ", ", SIGN, Slot("p"), ", ", SIGN, Slot("r")),
    "translation_direction": alternatives(SIGN, Slot("x"), ", ", SIGN, Slot("y"), ", ", SIGN, Slot("z")),
    "translation_distance": alternatives(Slot("d")),
}


def render_answers(R_cam0_from_cam1, t_cam0_from_cam1_m, metric: bool = True) -> dict[str, str]:
    """Compact answers per question id (same inputs, numbers and errors as the release's
    `render_answers`: R_cam0_from_cam1 (3, 3), t_cam0_from_cam1_m (3,) camera 1's centre in
    camera 0), fixed width: ``012.9``; ``-004.5, -012.1, +000.2`` (yaw, pitch, roll);
    ``+0.75, +0.03, +0.66``; ``00.12``. metric=False omits ``translation_distance``."""
    R, unit, dist, (yaw, pitch, roll) = pose_numbers(R_cam0_from_cam1, t_cam0_from_cam1_m)
    answers = {
        "rotation_angle": codecs.fixed_number(rotation_angle_deg(R), 3, 1),
        "euler_natural": ", ".join(codecs.fixed_number(a, 3, 1, signed=True) for a in (yaw, pitch, roll)),
        "translation_direction": f"{unit[0]:+.2f}, {unit[1]:+.2f}, {unit[2]:+.2f}",
    }
    if metric:
        answers["translation_distance"] = codecs.fixed_number(dist, 2, 2)
    return answers


render_answers_from_T_cam1_from_cam0 = renderer_from_T_cam1_from_cam0(render_answers)


def parse_rotation_angle(text: str) -> Parsed[float]:
    """Degrees in [0, 180] from a bare ``089.7`` (``°`` allowed); never raises."""
    return parse_match(text, _BARE_NUM, "the rotation angle is not a bare number", lambda m: read_rotation_angle(m[1]))


def parse_yaw_pitch_roll(text: str) -> Parsed[tuple[float, float, float]]:
    """(yaw, pitch, roll) degrees from a bare ``+089.6, +002.6, +006.1``; never raises.
    Each angle must be finite and within [-360, 360]."""
    return parse_match(text, _BARE_TRIPLE, "yaw, pitch, roll are not a bare triple of numbers",
                       lambda m: read_all(map(read_euler_angle, ("yaw", "pitch", "roll"), m.groups())))


def parse_translation_direction(text: str) -> Parsed[tuple[np.ndarray, list[str], np.ndarray]]:
    """(unit vector (3,) in camera 0, [] (no direction words), vector as written (3,)) from a
    bare ``-0.69, +0.02, +0.72``; renormalised, only a zero vector fails. Never raises."""
    return parse_match(text, _BARE_TRIPLE, "the direction is not a bare triple of numbers", _direction)


def _direction(m: re.Match[str]) -> Parsed[tuple[np.ndarray, list[str], np.ndarray]]:
    components = [to_finite_float(tok) for tok in m.groups()]
    if any(v is None for v in components):
        return Parsed.failure(f"vector {m.groups()} is not finite")
    return read_direction(components, [])


def parse_translation_distance(text: str) -> Parsed[float]:
    """Metres from a bare ``01.98`` (``m`` allowed); never raises. Finite, non-negative."""
    return parse_match(text, _BARE_DIST, "the distance is not a bare number of metres", lambda m: read_distance(m[1]))


_PARSERS = {"rotation_angle": parse_rotation_angle, "euler_natural": parse_yaw_pitch_roll,
            "translation_direction": parse_translation_direction,
            "translation_distance": parse_translation_distance}


def parse_answers(answers: dict[str, str], max_angle_mismatch_deg: float | None = None) -> Parsed[PoseText]:
    """Parse compact answers (question id -> text) into a `PoseText` (camera 1 relative to
    camera 0); never raises. Rules: `vlm3.tasks.pose.quantities.parse_pose_answers`."""
    return parse_pose_answers(answers, _PARSERS, max_angle_mismatch_deg)


__all__ = ["QUESTION_IDS", "QUESTIONS", "PoseText", "render_answers", "render_answers_from_T_cam1_from_cam0",
           "parse_rotation_angle", "parse_yaw_pitch_roll", "parse_translation_direction",
           "parse_translation_distance", "parse_answers"]
