"""Relative camera pose as the four released questions, release format (vlm3-release-v1).

Frames and direction (`vlm3.tasks.pose.quantities`, docs/conventions.md): camera 0 is the
first image (the prompts' "first camera", the reference), camera 1 the second; the
answers describe camera 1 RELATIVE TO camera 0, in camera 0's OpenCV frame: the rotation
``R_cam0_from_cam1`` (columns = camera 1's axes in camera 0) as its angle and as intrinsic
yaw -> pitch -> roll, and ``t_cam0_from_cam1_m`` (camera 1's centre in camera-0
coordinates) as direction words, a unit vector and a distance. Records store
``T_cam1_from_cam0`` (maps camera-0 points into camera 1): use
`render_answers_from_T_cam1_from_cam0` / `PoseText.T_cam1_from_cam0`.

Answers: ``Rotation angle: 89.7 degrees``; ``Yaw=+89.6°, Pitch=+2.6°, Roll=+6.1°``
(1 decimal, explicit sign, Python formatting so -0.04 prints ``-0.0``); ``The camera
moves left, forward, unit vector (-0.69, +0.02, +0.72).``; ``Translation distance: 1.98
meters`` (only when ``metric``).

Parsers read these forms inside free text and after complete ``<think>`` blocks; each
needs its label or unit (``degrees``, ``Yaw=``, a ``(x, y, z)`` in a sentence, a length
unit or ``distance:``): a bare number or triple (the compact format's answers,
`vlm3.tasks.pose.compact`, which has the same functions) is a failure.

Direction words (project rule, consistent with the one released example): for each axis
in the order x, y, z, name the axis when ``|component| >= DIRECTION_WORD_MIN`` (0.3) of the
unit vector AS WRITTEN (2 decimals): x: right/left, y: down/up, z: forward/backward;
joined by ", ". At least one word always appears (the largest component of a unit
vector is >= 0.577).
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from vlm3.geometry.transforms import rotation_angle_deg
from vlm3.protocol.answer_templates import SIGN, Slot, alternatives
from vlm3.protocol.parsing import (
    LENGTH_UNIT_PATTERN,
    NUMBER_PATTERN,
    Parsed,
    clean_answer,
    is_bare_tuple,
    labelled_or_last_tuple,
    parse_match,
    read_all,
    read_number,
    unit_scale_m,
    word_after,
)
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
    "rotation_angle": (
        "Given these two images captured from different viewpoints, what is the relative rotation "
        "angle (in degrees) between the two camera poses?"
    ),
    "euler_natural": (
        "Treating the first image as the reference viewpoint, describe the camera's reorientation "
        "needed to reach the second image's viewpoint as yaw, pitch and roll about the first camera's "
        "local axes, applied intrinsically in the order yaw -> pitch -> roll.  Conventions: yaw is "
        "rotation about the vertical (down) axis, positive = turn right; pitch is about the lateral "
        "(right) axis after yaw, positive = look up; roll is about the optical (forward) axis after "
        "yaw and pitch, positive = bank to the right (image content rotates clockwise from the "
        "operator's POV)."
    ),
    "translation_direction": (
        "Where did the camera move, expressed in the first camera's local frame (X right, Y down, "
        "Z forward)?  Give a qualitative direction and the precise unit direction vector (x, y, z)."
    ),
    "translation_distance": "Estimate the magnitude of the camera translation between the two viewpoints.",
}

DIRECTION_WORD_MIN = 0.3
AXIS_WORDS = (("right", "left"), ("down", "up"), ("forward", "backward"))
#: every non-empty choice of one word per axis, in axis order (`direction_words`)
DIRECTION_WORDS = tuple(", ".join(w for w in combo if w)
                        for combo in itertools.product(*[(pos, neg, "") for pos, neg in AXIS_WORDS]) if any(combo))
#: answer templates per question id for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = {
    "rotation_angle": alternatives("Rotation angle: ", Slot("a"), " degrees"),
    "euler_natural": alternatives("Yaw=", SIGN, Slot("y"), "°, Pitch=", SIGN, Slot("p"), "°, Roll=", SIGN,
                                  Slot("r"), "°"),
    "translation_direction": alternatives("The camera moves ", DIRECTION_WORDS, ", unit vector (", SIGN, Slot("x"),
                                          ", ", SIGN, Slot("y"), ", ", SIGN, Slot("z"), ")."),
    "translation_distance": alternatives("Translation distance: ", Slot("d"), " meters"),
}

_NUM = NUMBER_PATTERN
_ANGLE_RE = re.compile(rf"({_NUM})\s*(?:degrees?|deg\b|°)", re.IGNORECASE)
_ANGLE_LABEL_RE = re.compile(rf"rotation\s+angle\s*[:=]?\s*({_NUM})", re.IGNORECASE)
_EULER_RE = {k: re.compile(rf"\b{k}\s*[=:]?\s*({_NUM})", re.IGNORECASE) for k in ("yaw", "pitch", "roll")}
_VEC_AFTER_LABEL = re.compile(r"unit\s+(?:direction\s+)?vector\s*:?\s*\(([^()]*)\)", re.IGNORECASE)
_DIST_RE = re.compile(rf"({_NUM})\s*({LENGTH_UNIT_PATTERN})", re.IGNORECASE)
_DIST_LABEL_RE = re.compile(rf"distance\s*[:=]?\s*({_NUM})", re.IGNORECASE)
_WORDS = {w for pair in AXIS_WORDS for w in pair}


def direction_words(t_unit_cam0) -> list[str]:
    """Direction words for a unit vector in camera-0 coordinates (see module docstring)."""
    t = np.asarray(t_unit_cam0, dtype=np.float64).reshape(3)
    words = []
    for axis, (pos, neg) in enumerate(AXIS_WORDS):
        if abs(t[axis]) >= DIRECTION_WORD_MIN:
            words.append(pos if t[axis] > 0 else neg)
    return words


def render_answers(R_cam0_from_cam1, t_cam0_from_cam1_m, metric: bool = True) -> dict[str, str]:
    """Answer text per question id for camera 1's pose relative to camera 0.

    R_cam0_from_cam1: (3, 3) rotation (columns = camera 1's axes in camera 0);
    t_cam0_from_cam1_m: (3,) camera 1's centre in camera-0 coordinates (metres, or
    arbitrary units when not metric). metric=False omits ``translation_distance``. Raises
    ValueError/GeometryError on a bad rotation or a zero or non-finite translation
    (direction undefined).
    """
    R, unit, dist, (yaw, pitch, roll) = pose_numbers(R_cam0_from_cam1, t_cam0_from_cam1_m)
    shown = [float(f"{c:+.2f}") for c in unit]  # words follow the numbers as written
    words = ", ".join(direction_words(shown))
    answers = {
        "rotation_angle": f"Rotation angle: {rotation_angle_deg(R):.1f} degrees",
        "euler_natural": f"Yaw={yaw:+.1f}°, Pitch={pitch:+.1f}°, Roll={roll:+.1f}°",
        "translation_direction": (
            f"The camera moves {words}, unit vector ({unit[0]:+.2f}, {unit[1]:+.2f}, {unit[2]:+.2f})."
        ),
    }
    if metric:
        answers["translation_distance"] = f"Translation distance: {dist:.2f} meters"
    return answers


render_answers_from_T_cam1_from_cam0 = renderer_from_T_cam1_from_cam0(render_answers)


def parse_rotation_angle(text: str) -> Parsed[float]:
    """Degrees in [0, 180] from ``Rotation angle: 89.7 degrees`` (or ``89.7°``); never raises."""
    return parse_match(text, lambda cleaned: _ANGLE_LABEL_RE.search(cleaned) or _ANGLE_RE.search(cleaned),
                       "no rotation angle found (needs 'Rotation angle:' or a degree unit)",
                       lambda m: read_rotation_angle(m[1]))


def parse_yaw_pitch_roll(text: str) -> Parsed[tuple[float, float, float]]:
    """(yaw, pitch, roll) degrees from ``Yaw=+89.6°, Pitch=+2.6°, Roll=+6.1°`` (each angle
    named); never raises. Each angle must be finite and within [-360, 360]."""
    cleaned, reason = clean_answer(text)
    if reason:
        return Parsed.failure(reason)
    return read_all(_named_angle(cleaned, key) for key in ("yaw", "pitch", "roll"))


def _named_angle(cleaned: str, key: str) -> Parsed[float]:
    m = _EULER_RE[key].search(cleaned)
    if m is None:
        return Parsed.failure(f"no {key} value found (each angle must be named, as 'Yaw=+1.0°')")
    return read_euler_angle(key, m[1])


def parse_translation_direction(text: str) -> Parsed[tuple[np.ndarray, list[str], np.ndarray]]:
    """(unit vector (3,) in camera 0, direction words, vector as written (3,)) from ``The
    camera moves left, forward, unit vector (-0.69, +0.02, +0.72).`` (the vector after
    "unit vector", else the last parenthesised triple of a sentence). The vector is
    renormalised (as the release notebook does when scoring); only a zero vector fails,
    as does a bare triple (compact). Never raises."""
    return parse_match(text, lambda cleaned: labelled_or_last_tuple(cleaned, _VEC_AFTER_LABEL), _no_vector_reason,
                       _direction)


def _no_vector_reason(cleaned: str) -> str:
    if is_bare_tuple(cleaned):
        return "a bare (x, y, z) is not the release answer ('The camera moves ..., unit vector (x, y, z).')"
    return "no (x, y, z) vector found"


def _direction(m: re.Match[str]) -> Parsed[tuple[np.ndarray, list[str], np.ndarray]]:
    tokens = [tok.strip() for tok in m[1].split(",")]
    if len(tokens) != 3:
        return Parsed.failure(f"expected 3 vector components, got {len(tokens)}")
    components = read_all(_component(tok) for tok in tokens)
    if not components.ok:
        return components
    # words before a labelled vector; anywhere in a sentence with only a parenthesised triple
    head = m.string[: m.start()] if m.re is _VEC_AFTER_LABEL else m.string
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", head) if w.lower() in _WORDS]
    return read_direction(list(components.value), words)


def _component(token: str) -> Parsed[float]:
    if re.fullmatch(NUMBER_PATTERN, token) is None:
        return Parsed.failure(f"vector component {token!r} is not a number")
    return read_number(token, "vector component {token!r} is not finite")


def parse_translation_distance(text: str) -> Parsed[float]:
    """Metres from ``Translation distance: 1.98 meters`` (other length units converted:
    `vlm3.protocol.parsing.unit_scale_m`; a labelled number followed by no word is metres,
    one followed by any other word is an unknown unit and fails: "1.98 miles" is not
    1.98 m); never raises. Must be finite and non-negative; a bare number (compact) fails."""
    return parse_match(text, lambda cleaned: _DIST_RE.search(cleaned) or _DIST_LABEL_RE.search(cleaned),
                       "no translation distance found (needs a length unit or 'distance:')", _distance_m)


def _distance_m(m: re.Match[str]) -> Parsed[float]:
    if m.re is _DIST_RE:  # a number with its unit
        scale = unit_scale_m(m[2]) or 1.0
    else:  # "distance: 1.98", metres unless a word follows
        unit = word_after(m.string, m.end())
        if unit is not None:
            return Parsed.failure(f"unknown length unit {unit!r} (known: m, cm, mm, km, inches, feet)")
        scale = 1.0
    return read_distance(m[1]).map(lambda v: v * scale)


_PARSERS = {"rotation_angle": parse_rotation_angle, "euler_natural": parse_yaw_pitch_roll,
            "translation_direction": parse_translation_direction,
            "translation_distance": parse_translation_distance}


def parse_answers(answers: dict[str, str], max_angle_mismatch_deg: float | None = None) -> Parsed[PoseText]:
    """Parse release answers (question id -> text) into a `PoseText` (camera 1 relative to
    camera 0); never raises. Rules: `vlm3.tasks.pose.quantities.parse_pose_answers`."""
    return parse_pose_answers(answers, _PARSERS, max_angle_mismatch_deg, direction_words)


__all__ = ["AXIS_WORDS", "QUESTION_IDS", "QUESTIONS", "PoseText", "direction_words", "render_answers",
           "render_answers_from_T_cam1_from_cam0", "parse_rotation_angle", "parse_yaw_pitch_roll",
           "parse_translation_direction", "parse_translation_distance", "parse_answers"]
