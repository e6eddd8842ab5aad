"""The relative camera pose the two pose text formats write and read, and the parse result.

Frames (docs/conventions.md): camera 0 is the first image (the reference, the release
prompts' "first camera"), camera 1 the second image; OpenCV axes (x right, y down,
z forward). Both formats describe camera 1 RELATIVE TO camera 0, in camera 0's frame:

* ``R_cam0_from_cam1`` (3, 3): rotation block of ``T_cam0_from_cam1`` -- its columns are
  camera 1's axes in camera 0; written as the rotation angle and as intrinsic
  yaw -> pitch -> roll (`vlm3.geometry.euler`);
* ``t_cam0_from_cam1_m`` (3,): translation of ``T_cam0_from_cam1`` = camera 1's centre in
  camera-0 coordinates (metres): "where did the camera move". Its unit vector is
  ``t_unit_cam0``.

Records and labels store ``T_cam1_from_cam0`` (maps camera-0 points into camera 1;
ScanNet's ``T_0to1``): `R_t_from_T_cam1_from_cam0` turns it into the two above, and
`PoseText.T_cam1_from_cam0` goes back.

This module owns what the formats share: the question ids, the validated numbers a
renderer writes (`pose_numbers`), rendering from ``T_cam1_from_cam0``
(`renderer_from_T_cam1_from_cam0`), the rules that read each number back (`read_rotation_angle`,
`read_euler_angle`, `read_distance`, `read_direction`), the `PoseText` result and
`parse_pose_answers`, which assembles a format's four per-question parsers into one pose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg, yaw_pitch_roll_deg_from_R
from vlm3.geometry.transforms import check_rotation, check_T, invert_T, make_T, rotation_angle_deg
from vlm3.protocol.parsing import Parsed, read_number

#: The four questions, in the release's order; ``translation_distance`` only for metric sources.
QUESTION_IDS = ("rotation_angle", "euler_natural", "translation_direction", "translation_distance")
#: Translations shorter than this (metres) have no defined direction.
MIN_TRANSLATION_M = 1e-9


def R_t_from_T_cam1_from_cam0(T_cam1_from_cam0) -> tuple[np.ndarray, np.ndarray]:
    """(R_cam0_from_cam1 (3, 3), t_cam0_from_cam1_m (3,)) from the 4x4 transform that maps
    camera-0 points into camera 1 (closed-form inverse). GeometryError on a bad transform."""
    T01 = invert_T(check_T(T_cam1_from_cam0, name="T_cam1_from_cam0"))
    return T01[:3, :3], T01[:3, 3]


def pose_numbers(R_cam0_from_cam1, t_cam0_from_cam1_m) -> tuple[np.ndarray, np.ndarray, float,
                                                               tuple[float, float, float]]:
    """(R (3, 3), t_unit_cam0 (3,), distance (metres or source units), (yaw, pitch, roll) deg)
    of camera 1 relative to camera 0, validated: GeometryError for a non-rotation,
    ValueError for a non-finite or zero translation (direction undefined: skip the pair)."""
    R = check_rotation(R_cam0_from_cam1, name="R_cam0_from_cam1")
    t = np.asarray(t_cam0_from_cam1_m, dtype=np.float64).reshape(-1)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise ValueError(f"t_cam0_from_cam1_m must be 3 finite numbers, got {t_cam0_from_cam1_m!r}")
    dist = float(np.linalg.norm(t))
    if dist < MIN_TRANSLATION_M:
        raise ValueError("translation is zero: the motion direction is undefined; skip this pair")
    return R, t / dist, dist, yaw_pitch_roll_deg_from_R(R)


#: A format's renderer: (R_cam0_from_cam1, t_cam0_from_cam1_m, metric=...) -> answer text per question id.
AnswerRenderer = Callable[..., dict[str, str]]


def renderer_from_T_cam1_from_cam0(render_answers: AnswerRenderer) -> Callable[..., dict[str, str]]:
    """A format's ``render_answers_from_T_cam1_from_cam0``: its ``render_answers`` from the 4x4
    transform mapping camera-0 points into camera 1 (`R_t_from_T_cam1_from_cam0`)."""

    def render_answers_from_T_cam1_from_cam0(T_cam1_from_cam0, metric: bool = True) -> dict[str, str]:
        """`render_answers` from the 4x4 transform mapping camera-0 points into camera 1."""
        R, t = R_t_from_T_cam1_from_cam0(T_cam1_from_cam0)
        return render_answers(R, t, metric=metric)

    return render_answers_from_T_cam1_from_cam0


def read_rotation_angle(token: str) -> Parsed[float]:
    """The rotation angle (degrees) of a number token: finite, in [0, 180]."""
    return read_number(token, "rotation angle {token!r} is not finite", lambda v: 0.0 <= v <= 180.0,
                       "rotation angle {value} outside [0, 180] degrees")


def read_euler_angle(name: str, token: str) -> Parsed[float]:
    """Yaw, pitch or roll (``name``; degrees) of a number token: finite, in [-360, 360]."""
    return read_number(token, f"{name} {{token!r}} is not a finite angle within [-360, 360]",
                       lambda v: abs(v) <= 360.0)


def read_distance(token: str) -> Parsed[float]:
    """The translation distance of a number token (in the unit written): finite, non-negative."""
    return read_number(token, "distance {token!r} is not finite", lambda v: v >= 0, "distance {value} is negative")


def read_direction(components: list[float], words: list[str]) -> Parsed[tuple[np.ndarray, list[str], np.ndarray]]:
    """(unit vector (3,), ``words``, vector as written (3,)) of the written (finite) components:
    renormalised, as the release notebook does when scoring (acos(p.g / (|p| |g|))); only a
    zero vector fails (no direction)."""
    vec = np.array(components)
    norm = float(np.linalg.norm(vec))
    if norm < 1e-6:
        return Parsed.failure(f"vector norm {norm:.3g} is zero: no direction")
    return Parsed.success((vec / norm, words, vec))


@dataclass
class PoseText:
    """Pose recovered from answer text: camera 1 relative to camera 0, camera-0 frame.

    R_cam0_from_cam1: (3, 3) from yaw/pitch/roll (columns = camera 1's axes in camera 0).
    t_unit_cam0: (3,) unit direction of camera 1's centre in camera-0 coordinates.
    distance_m: None when not answered. angle_deg: the stated rotation angle or None;
    angle_mismatch_deg: |stated angle - angle of R| when both are present.
    words: direction words as written (release format; compact answers have none);
    words_agree: whether they match the vector's words (None when no words were given;
    judged on the components as written, before renormalising).
    failed: question id -> failure reason of each answer that is missing or did not parse
    (``"unknown"`` for unknown question ids); scoring uses it to score every metric from the
    answers it needs (`vlm3.tasks.pose.needed_answers`).
    """

    R_cam0_from_cam1: np.ndarray | None = None
    t_unit_cam0: np.ndarray | None = None
    distance_m: float | None = None
    yaw_pitch_roll_deg: tuple[float, float, float] | None = None
    angle_deg: float | None = None
    angle_mismatch_deg: float | None = None
    words: list[str] = field(default_factory=list)
    words_agree: bool | None = None
    failed: dict[str, str] = field(default_factory=dict)

    def T_cam1_from_cam0(self) -> np.ndarray:
        """4x4 transform mapping camera-0 points into camera 1. Translation is scaled by
        distance_m when present, else unit length (direction only)."""
        if self.R_cam0_from_cam1 is None or self.t_unit_cam0 is None:
            raise ValueError("pose is incomplete: rotation or translation missing")
        scale = self.distance_m if self.distance_m is not None else 1.0
        return invert_T(make_T(self.R_cam0_from_cam1, self.t_unit_cam0 * scale))


#: A format's per-question parsers: rotation_angle -> degrees, euler_natural -> (yaw, pitch,
#: roll) degrees, translation_direction -> (unit (3,), words, vector as written (3,)),
#: translation_distance -> metres.
QuestionParsers = Mapping[str, Callable[[str], Parsed]]


def parse_pose_answers(answers: dict[str, str], parsers: QuestionParsers,
                       max_angle_mismatch_deg: float | None = None,
                       words_of: Callable[[np.ndarray], list[str]] | None = None) -> Parsed[PoseText]:
    """Parse answers (question id -> text) with one format's ``parsers`` into a `PoseText`;
    never raises.

    Required: ``euler_natural`` (-> R) and ``translation_direction`` (-> t). Optional:
    ``rotation_angle`` (cross-check: `angle_mismatch_deg`; fails when it exceeds
    ``max_angle_mismatch_deg`` if that is given) and ``translation_distance``. A present but
    unparseable answer is a failure, as is an unknown question id. ``words_of`` gives the
    expected direction words of a written vector (for ``words_agree``). On failure
    ``value`` holds the partial PoseText.
    """
    pose = PoseText()
    if not isinstance(answers, dict):
        return Parsed.failure(f"answers must be a dict of question id -> text, got {type(answers).__name__}")
    failures: list[str] = []

    def fail(qid: str, why: str) -> None:
        pose.failed[qid] = why
        failures.append(f"{qid}: {why}")

    if "euler_natural" in answers:
        p = parsers["euler_natural"](answers["euler_natural"])
        if p.ok:
            pose.yaw_pitch_roll_deg = p.value
            pose.R_cam0_from_cam1 = R_from_yaw_pitch_roll_deg(*p.value)
        else:
            fail("euler_natural", p.reason or "unparsed")
    else:
        fail("euler_natural", "missing")
    if "translation_direction" in answers:
        p = parsers["translation_direction"](answers["translation_direction"])
        if p.ok:
            pose.t_unit_cam0, pose.words, written = p.value
            if pose.words and words_of is not None:
                pose.words_agree = pose.words == words_of(written)
        else:
            fail("translation_direction", p.reason or "unparsed")
    else:
        fail("translation_direction", "missing")
    if "rotation_angle" in answers:
        p = parsers["rotation_angle"](answers["rotation_angle"])
        if p.ok:
            pose.angle_deg = p.value
            if pose.R_cam0_from_cam1 is not None:
                pose.angle_mismatch_deg = abs(p.value - rotation_angle_deg(pose.R_cam0_from_cam1))
                if max_angle_mismatch_deg is not None and pose.angle_mismatch_deg > max_angle_mismatch_deg:
                    fail("rotation_angle", f"disagrees with yaw/pitch/roll by {pose.angle_mismatch_deg:.2f} deg")
                    # the two rotation answers contradict each other: the rotation is not read
                    pose.failed.setdefault("euler_natural", "contradicted by rotation_angle")
        else:
            fail("rotation_angle", p.reason or "unparsed")
    if "translation_distance" in answers:
        p = parsers["translation_distance"](answers["translation_distance"])
        if p.ok:
            pose.distance_m = p.value
        else:
            fail("translation_distance", p.reason or "unparsed")
    unknown = sorted(set(answers) - set(QUESTION_IDS))
    if unknown:
        pose.failed["unknown"] = f"unknown question ids {unknown}"
        failures.append(f"unknown question ids {unknown}")
    if failures:
        return Parsed.failure("; ".join(failures), value=pose)
    return Parsed.success(pose)
