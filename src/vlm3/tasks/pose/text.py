"""Relative camera pose as four released questions: render answers, parse them back.

Direction convention (the one thing to get right): everything describes camera 2
RELATIVE TO camera 1, in camera 1's OpenCV frame (x right, y down, z forward):

* rotation ``R_cam1_from_cam2`` (columns = camera 2's axes in camera 1), written as the
  rotation angle and as intrinsic yaw -> pitch -> roll (`vlm3.geometry.euler`);
* translation ``t_cam1_from_cam2`` = translation of ``T_cam1_from_cam2`` = camera 2's
  centre in camera-1 coordinates (metres): "where did the camera move".

Datasets usually store ``T_cam2_from_cam1`` (maps camera-1 points into camera 2; ScanNet's
``T_0to1``): use `render_answers_from_T_cam2_from_cam1` / `PoseText.T_cam2_from_cam1`.

Answers (release formats): ``Rotation angle: 89.7 degrees``; ``Yaw=+89.6°, Pitch=+2.6°,
Roll=+6.1°`` (1 decimal, explicit sign, Python formatting so -0.04 prints ``-0.0``);
``The camera moves left, forward, unit vector (-0.69, +0.02, +0.72).``;
``Translation distance: 1.98 meters`` (only when ``metric``).

Compact format (project, "vlm3-compact-v3"): `COMPACT_QUESTIONS` (short questions) and
bare fixed-width answers with the same precision: ``089.7``; ``+089.6, +002.6, +006.1``
(yaw, pitch, roll); ``-0.69, +0.02, +0.72``; ``01.98``. The parsers below read both.

Direction words (project rule, consistent with the one released example): for each axis
in the order x, y, z, name the axis when ``|component| >= DIRECTION_WORD_MIN`` (0.3) of the
unit vector AS WRITTEN (2 decimals): x: right/left, y: down/up, z: forward/backward;
joined by ", ". At least one word always appears (the largest component of a unit
vector is >= 0.577).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg, yaw_pitch_roll_deg_from_R
from vlm3.geometry.transforms import (
    check_rotation,
    check_T,
    invert_T,
    make_T,
    rotation_angle_deg,
)
from vlm3.protocol import codecs
from vlm3.protocol.parsing import (
    LENGTH_UNIT_PATTERN,
    NUMBER_PATTERN,
    Parsed,
    check_text,
    strip_think,
    to_finite_float,
    unit_scale_m,
)

QUESTION_IDS = ("rotation_angle", "euler_natural", "translation_direction", "translation_distance")

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

#: Compact format (project): the same four questions, short.
COMPACT_QUESTIONS: dict[str, str] = {
    "rotation_angle": "Rotation angle in degrees?",
    "euler_natural": "Yaw, pitch, roll in degrees (intrinsic, about camera-1 axes)?",
    "translation_direction": "Unit direction of the camera motion in camera 1 (x right, y down, z forward)?",
    "translation_distance": "Translation distance in meters?",
}

DIRECTION_WORD_MIN = 0.3
_AXIS_WORDS = (("right", "left"), ("down", "up"), ("forward", "backward"))
#: Translations shorter than this (metres) have no defined direction.
MIN_TRANSLATION_M = 1e-9

_NUM = NUMBER_PATTERN
_ANGLE_RE = re.compile(rf"({_NUM})\s*(?:degrees?|deg\b|°)", re.IGNORECASE)
_ANGLE_LABEL_RE = re.compile(rf"rotation\s+angle\s*[:=]?\s*({_NUM})", re.IGNORECASE)
_EULER_RE = {k: re.compile(rf"\b{k}\s*[=:]?\s*({_NUM})", re.IGNORECASE) for k in ("yaw", "pitch", "roll")}
_VEC_AFTER_LABEL = re.compile(r"unit\s+(?:direction\s+)?vector\s*:?\s*\(([^()]*)\)", re.IGNORECASE)
_TUPLE = re.compile(r"\(([^()]*)\)")
_DIST_RE = re.compile(rf"({_NUM})\s*({LENGTH_UNIT_PATTERN})", re.IGNORECASE)
_DIST_LABEL_RE = re.compile(rf"distance\s*[:=]?\s*({_NUM})", re.IGNORECASE)
_WORDS = {w for pair in _AXIS_WORDS for w in pair}
# compact answers: a bare number, or a bare comma-separated triple (optionally in
# parentheses, optional degree signs)
_BARE_NUM_RE = re.compile(rf"^\s*({_NUM})\s*°?\s*\.?\s*$")
_BARE_TRIPLE_RE = re.compile(rf"^\s*\(?\s*({_NUM})\s*°?\s*,\s*({_NUM})\s*°?\s*,\s*({_NUM})\s*°?\s*\)?\s*\.?\s*$")


def direction_words(t_unit) -> list[str]:
    """Direction words for a unit vector in camera-1 coordinates (see module docstring)."""
    t = np.asarray(t_unit, dtype=np.float64).reshape(3)
    words = []
    for axis, (pos, neg) in enumerate(_AXIS_WORDS):
        if abs(t[axis]) >= DIRECTION_WORD_MIN:
            words.append(pos if t[axis] > 0 else neg)
    return words


def render_answers(R_cam1_from_cam2, t_cam1_from_cam2_m, metric: bool = True) -> dict[str, str]:
    """Answer text per question id for camera 2's pose relative to camera 1.

    R_cam1_from_cam2: (3, 3) rotation; t_cam1_from_cam2_m: (3,) camera 2's centre in
    camera-1 coordinates (metres, or arbitrary units when not metric). metric=False omits
    ``translation_distance``. Raises ValueError/GeometryError on a bad rotation or a zero
    or non-finite translation (direction undefined).
    """
    R, unit, dist, (yaw, pitch, roll) = _pose_numbers(R_cam1_from_cam2, t_cam1_from_cam2_m)
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


def render_answers_from_T_cam2_from_cam1(T_cam2_from_cam1, metric: bool = True) -> dict[str, str]:
    """`render_answers` from the 4x4 transform mapping camera-1 points into camera 2."""
    T12 = invert_T(check_T(T_cam2_from_cam1, name="T_cam2_from_cam1"))
    return render_answers(T12[:3, :3], T12[:3, 3], metric=metric)


def render_compact_answers(R_cam1_from_cam2, t_cam1_from_cam2_m, metric: bool = True) -> dict[str, str]:
    """Compact-format answers (same inputs, numbers and errors as `render_answers`), fixed
    width (``codecs.fixed_number``): ``012.9``; ``-004.5, -012.1, +000.2`` (yaw, pitch, roll);
    ``+0.75, +0.03, +0.66``; ``00.12``."""
    R, unit, dist, (yaw, pitch, roll) = _pose_numbers(R_cam1_from_cam2, t_cam1_from_cam2_m)
    answers = {
        "rotation_angle": codecs.fixed_number(rotation_angle_deg(R), 3, 1),
        "euler_natural": ", ".join(codecs.fixed_number(a, 3, 1, signed=True) for a in (yaw, pitch, roll)),
        "translation_direction": f"{unit[0]:+.2f}, {unit[1]:+.2f}, {unit[2]:+.2f}",
    }
    if metric:
        answers["translation_distance"] = codecs.fixed_number(dist, 2, 2)
    return answers


def render_compact_answers_from_T_cam2_from_cam1(T_cam2_from_cam1, metric: bool = True) -> dict[str, str]:
    """`render_compact_answers` from the 4x4 transform mapping camera-1 points into camera 2."""
    T12 = invert_T(check_T(T_cam2_from_cam1, name="T_cam2_from_cam1"))
    return render_compact_answers(T12[:3, :3], T12[:3, 3], metric=metric)


def _pose_numbers(R_cam1_from_cam2, t_cam1_from_cam2_m):
    """(R (3, 3), unit t (3,), distance, (yaw, pitch, roll) deg), validated."""
    R = check_rotation(R_cam1_from_cam2, name="R_cam1_from_cam2")
    t = np.asarray(t_cam1_from_cam2_m, dtype=np.float64).reshape(-1)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise ValueError(f"t_cam1_from_cam2_m must be 3 finite numbers, got {t_cam1_from_cam2_m!r}")
    dist = float(np.linalg.norm(t))
    if dist < MIN_TRANSLATION_M:
        raise ValueError("translation is zero: the motion direction is undefined; skip this pair")
    return R, t / dist, dist, yaw_pitch_roll_deg_from_R(R)


@dataclass
class PoseText:
    """Pose recovered from answer text (camera 2 relative to camera 1, camera-1 frame).

    R_cam1_from_cam2: (3, 3) from yaw/pitch/roll. t_unit_cam1: (3,) unit direction of
    camera 2's centre. distance_m: None when not answered. angle_deg: the stated rotation
    angle or None; angle_mismatch_deg: |stated angle - angle of R| when both are present.
    words_agree: whether the direction words match `direction_words(t_unit_cam1)` (None
    when no words were given; judged on the components as written, before renormalising).
    """

    R_cam1_from_cam2: np.ndarray | None = None
    t_unit_cam1: np.ndarray | None = None
    distance_m: float | None = None
    yaw_pitch_roll_deg: tuple[float, float, float] | None = None
    angle_deg: float | None = None
    angle_mismatch_deg: float | None = None
    words: list[str] = field(default_factory=list)
    words_agree: bool | None = None

    def T_cam2_from_cam1(self) -> np.ndarray:
        """4x4 transform mapping camera-1 points into camera 2. Translation is scaled by
        distance_m when present, else unit length (direction only)."""
        if self.R_cam1_from_cam2 is None or self.t_unit_cam1 is None:
            raise ValueError("pose is incomplete: rotation or translation missing")
        scale = self.distance_m if self.distance_m is not None else 1.0
        return invert_T(make_T(self.R_cam1_from_cam2, self.t_unit_cam1 * scale))


def parse_rotation_angle(text: str) -> Parsed[float]:
    """Degrees in [0, 180] from ``Rotation angle: 89.7 degrees`` or a bare ``89.7``; never raises."""
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    m = _ANGLE_LABEL_RE.search(cleaned) or _ANGLE_RE.search(cleaned) or _BARE_NUM_RE.match(cleaned)
    if m is None:
        return Parsed.failure("no rotation angle found")
    v = to_finite_float(m.group(1))
    if v is None:
        return Parsed.failure(f"rotation angle {m.group(1)!r} is not finite")
    if not 0.0 <= v <= 180.0:
        return Parsed.failure(f"rotation angle {v} outside [0, 180] degrees")
    return Parsed.success(v)


def parse_yaw_pitch_roll(text: str) -> Parsed[tuple[float, float, float]]:
    """(yaw, pitch, roll) degrees from ``Yaw=+89.6°, Pitch=+2.6°, Roll=+6.1°`` or, when no
    angle is named, a bare ``+89.6, +2.6, +6.1`` (compact); never raises.
    Each angle must be finite and within [-360, 360]."""
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    bare = None if any(_EULER_RE[k].search(cleaned) for k in _EULER_RE) else _BARE_TRIPLE_RE.match(cleaned)
    out = []
    for i, key in enumerate(("yaw", "pitch", "roll")):
        m = _EULER_RE[key].search(cleaned) if bare is None else bare
        if m is None:
            return Parsed.failure(f"no {key} value found")
        tok = m.group(1) if bare is None else bare.group(i + 1)
        v = to_finite_float(tok)
        if v is None or abs(v) > 360.0:
            return Parsed.failure(f"{key} {tok!r} is not a finite angle within [-360, 360]")
        out.append(v)
    return Parsed.success((out[0], out[1], out[2]))


def parse_translation_direction(text: str) -> Parsed[tuple[np.ndarray, list[str], np.ndarray]]:
    """(unit vector (3,), direction words, vector as written (3,)) from ``The camera moves left, forward, unit vector
    (-0.69, +0.02, +0.72).`` or a bare ``-0.69, +0.02, +0.72`` (compact). The vector is renormalised (as the
    release notebook does when scoring); only a zero vector fails. Never raises."""
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    m = _VEC_AFTER_LABEL.search(cleaned)
    inner = m.group(1) if m else None
    if inner is None:
        tuples = _TUPLE.findall(cleaned)
        bare = _BARE_TRIPLE_RE.match(cleaned)
        if not tuples and bare is None:
            return Parsed.failure("no (x, y, z) vector found")
        inner = tuples[-1] if tuples else ", ".join(bare.groups())
    tokens = [tok.strip() for tok in inner.split(",")]
    if len(tokens) != 3:
        return Parsed.failure(f"expected 3 vector components, got {len(tokens)}")
    vals = []
    for tok in tokens:
        if re.fullmatch(NUMBER_PATTERN, tok) is None:
            return Parsed.failure(f"vector component {tok!r} is not a number")
        v = to_finite_float(tok)
        if v is None:
            return Parsed.failure(f"vector component {tok!r} is not finite")
        vals.append(v)
    vec = np.array(vals)
    norm = float(np.linalg.norm(vec))
    if norm < 1e-6:
        # Any other vector is a direction: the release notebook scores the angle with
        # acos(p.g / (|p| |g|)), i.e. it normalises whatever the model wrote.
        return Parsed.failure(f"vector norm {norm:.3g} is zero: no direction")
    head = cleaned[: m.start()] if m else cleaned
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", head) if w.lower() in _WORDS]
    return Parsed.success((vec / norm, words, vec))


def parse_translation_distance(text: str) -> Parsed[float]:
    """Metres from ``Translation distance: 1.98 meters`` (other length units converted) or a
    bare number (compact: metres); never raises.
    Must be finite and non-negative."""
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    m = _DIST_RE.search(cleaned)
    if m is not None:
        v = to_finite_float(m.group(1))
        scale = unit_scale_m(m.group(2)) or 1.0
    else:
        m = _DIST_LABEL_RE.search(cleaned) or _BARE_NUM_RE.match(cleaned)
        if m is None:
            return Parsed.failure("no translation distance found")
        v, scale = to_finite_float(m.group(1)), 1.0
    if v is None:
        return Parsed.failure(f"distance {m.group(1)!r} is not finite")
    if v < 0:
        return Parsed.failure(f"distance {v} is negative")
    return Parsed.success(v * scale)


def parse_answers(answers: dict[str, str], max_angle_mismatch_deg: float | None = None) -> Parsed[PoseText]:
    """Parse the answers (question id -> text) back into a `PoseText`; never raises.

    Required: ``euler_natural`` (-> R) and ``translation_direction`` (-> t). Optional:
    ``rotation_angle`` (cross-check: `angle_mismatch_deg`; fails when it exceeds
    `max_angle_mismatch_deg` if that is given) and ``translation_distance``. A present but
    unparseable answer is a failure. On failure ``value`` holds the partial PoseText.
    """
    pose = PoseText()
    if not isinstance(answers, dict):
        return Parsed.failure(f"answers must be a dict of question id -> text, got {type(answers).__name__}")
    failures = []
    if "euler_natural" in answers:
        p = parse_yaw_pitch_roll(answers["euler_natural"])
        if p.ok:
            pose.yaw_pitch_roll_deg = p.value
            pose.R_cam1_from_cam2 = R_from_yaw_pitch_roll_deg(*p.value)
        else:
            failures.append(f"euler_natural: {p.reason}")
    else:
        failures.append("euler_natural: missing")
    if "translation_direction" in answers:
        p = parse_translation_direction(answers["translation_direction"])
        if p.ok:
            pose.t_unit_cam1, pose.words, written = p.value
            if pose.words:
                pose.words_agree = pose.words == direction_words(written)
        else:
            failures.append(f"translation_direction: {p.reason}")
    else:
        failures.append("translation_direction: missing")
    if "rotation_angle" in answers:
        p = parse_rotation_angle(answers["rotation_angle"])
        if p.ok:
            pose.angle_deg = p.value
            if pose.R_cam1_from_cam2 is not None:
                pose.angle_mismatch_deg = abs(p.value - rotation_angle_deg(pose.R_cam1_from_cam2))
                if max_angle_mismatch_deg is not None and pose.angle_mismatch_deg > max_angle_mismatch_deg:
                    failures.append(f"rotation_angle: disagrees with yaw/pitch/roll by "
                                    f"{pose.angle_mismatch_deg:.2f} deg")
        else:
            failures.append(f"rotation_angle: {p.reason}")
    if "translation_distance" in answers:
        p = parse_translation_distance(answers["translation_distance"])
        if p.ok:
            pose.distance_m = p.value
        else:
            failures.append(f"translation_distance: {p.reason}")
    unknown = sorted(set(answers) - set(QUESTION_IDS))
    if unknown:
        failures.append(f"unknown question ids {unknown}")
    if failures:
        return Parsed.failure("; ".join(failures), value=pose)
    return Parsed.success(pose)


def _clean(text: str) -> tuple[str, str | None]:
    reason = check_text(text)
    if reason:
        return "", reason
    return strip_think(text)

