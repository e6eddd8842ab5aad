"""An independent reference for the oracle (issue #20, item 9).

The oracle's pose answers are rendered here a second time WITHOUT the project's codecs,
Euler code or transforms: SciPy's intrinsic "YXZ" Euler angles (yaw about y = down,
pitch about the new x = right, roll about the new z = forward), SciPy's rotation
magnitude, a plain closed-form SE(3) inverse and f-strings. A self-consistent but wrong
Euler convention (say extrinsic order, or pitch sign flipped in both renderer and
parser) scores the oracle 100 against itself; it fails here. Signs are also pinned
physically: a camera that turns right has positive yaw, one that looks up positive pitch.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vlm3.tasks import get_task
from vlm3.tasks.unit import GroundTruth

POSE = get_task("pose")
IDS = ["rotation_angle", "euler_natural", "translation_direction", "translation_distance"]


def _labels_from_T_cam1_from_cam0(R10: np.ndarray, t10: np.ndarray) -> dict:
    """Labels as the data engine writes them, by a closed-form inverse written here."""
    return {"R_cam0_from_cam1": R10.T.tolist(), "t_cam0_from_cam1_m": (-R10.T @ t10).tolist(), "question_ids": IDS}


def _reference_release(R01: np.ndarray, t01: np.ndarray) -> list[str]:
    yaw, pitch, roll = Rotation.from_matrix(R01).as_euler("YXZ", degrees=True)
    angle = np.degrees(Rotation.from_matrix(R01).magnitude())
    dist = float(np.sqrt(np.sum(t01 ** 2)))
    u = t01 / dist
    shown = [float(f"{c:+.2f}") for c in u]
    names = (("right", "left"), ("down", "up"), ("forward", "backward"))
    words = [pos if c > 0 else neg for c, (pos, neg) in zip(shown, names) if abs(c) >= 0.3]
    return [f"Rotation angle: {angle:.1f} degrees",
            f"Yaw={yaw:+.1f}°, Pitch={pitch:+.1f}°, Roll={roll:+.1f}°",
            f"The camera moves {', '.join(words)}, unit vector ({u[0]:+.2f}, {u[1]:+.2f}, {u[2]:+.2f}).",
            f"Translation distance: {dist:.2f} meters"]


def _reference_compact(R01: np.ndarray, t01: np.ndarray) -> list[str]:
    yaw, pitch, roll = Rotation.from_matrix(R01).as_euler("YXZ", degrees=True)
    angle = np.degrees(Rotation.from_matrix(R01).magnitude())
    dist = float(np.linalg.norm(t01))
    u = t01 / dist
    return [f"{angle:05.1f}", f"{yaw:+06.1f}, {pitch:+06.1f}, {roll:+06.1f}",
            f"{u[0]:+.2f}, {u[1]:+.2f}, {u[2]:+.2f}", f"{dist:05.2f}"]


_NUM = re.compile(r"[-+]?\d+\.\d+")


def _agree(ours: str, ref: str) -> bool:
    """Equal strings, or (a rounding tie at the last digit) the same words with every
    number within one unit of its last place."""
    if ours == ref:
        return True
    if _NUM.sub("#", ours) != _NUM.sub("#", ref):
        return False
    a, b = _NUM.findall(ours), _NUM.findall(ref)
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= 1.01 * 10 ** -len(x.split(".")[1])
                                    for x, y in zip(a, b))


def _oracle(labels: dict, format_version: str | None) -> list[str]:
    asked = POSE.inputs_from_labels(labels, format_version=format_version)
    return POSE.oracle_answers(asked, 4, GroundTruth(labels))


@pytest.mark.parametrize("format_version, reference", [(None, _reference_release),
                                                        ("vlm3-compact-v3", _reference_compact)])
def test_oracle_pose_answers_match_an_independent_rendering(format_version, reference):
    rng = np.random.default_rng(20)
    # mild rotations (as real pairs) and arbitrary ones, away from gimbal lock (|pitch| < 85)
    rots = list(Rotation.from_euler("YXZ", rng.uniform(-40, 40, size=(150, 3)), degrees=True))
    rots += [r for r in Rotation.random(400, random_state=21) if abs(r.as_euler("YXZ", degrees=True)[1]) < 85][:150]
    exact = 0
    for rot in rots:
        R10 = rot.inv().as_matrix()  # R_cam1_from_cam0
        t10 = rng.normal(size=3) * rng.uniform(0.2, 3.0)
        labels = _labels_from_T_cam1_from_cam0(R10, t10)
        R01, t01 = R10.T, -R10.T @ t10
        ours, ref = _oracle(labels, format_version), reference(R01, t01)
        assert all(_agree(o, r) for o, r in zip(ours, ref)), (ours, ref)
        exact += ours == ref
    assert exact >= 0.95 * len(rots)  # ties at the last digit are rare


def test_pose_signs_are_physical():
    """A camera that turns right (its forward axis moves to +x of camera 0) has yaw > 0; one
    that looks up (forward moves to -y) pitch > 0; one that banks right (its right axis
    moves to +y, down) roll > 0; a camera that moves to its right says "right"."""
    def R01_with_forward(z_axis, x_axis):
        z = np.asarray(z_axis, float) / np.linalg.norm(z_axis)
        x = np.asarray(x_axis, float) - np.dot(x_axis, z) * z
        x /= np.linalg.norm(x)
        return np.stack([x, np.cross(z, x), z], axis=1)  # columns: camera 1's axes in camera 0

    s = np.sin(np.radians(20)); c = np.cos(np.radians(20))
    cases = {"Yaw=+20.0°": R01_with_forward([s, 0, c], [c, 0, -s]),
             "Pitch=+20.0°": R01_with_forward([0, -s, c], [1, 0, 0]),
             "Roll=+20.0°": R01_with_forward([0, 0, 1], [c, s, 0])}
    for expected, R01 in cases.items():
        R10, t01 = R01.T, np.array([1.0, 0.0, 0.0])
        answers = _oracle(_labels_from_T_cam1_from_cam0(R10, -R10 @ t01), None)
        assert expected in answers[1], (expected, answers[1])
        assert answers[2].startswith("The camera moves right,"), answers[2]


def test_a_self_consistent_wrong_convention_scores_the_oracle_100_but_fails_the_reference(monkeypatch):
    """Why the reference is needed: with extrinsic instead of intrinsic yaw-pitch-roll in
    BOTH the renderer and the parser, the oracle still scores AUC@30 = 100 against itself;
    the independent rendering above catches it."""
    from vlm3.tasks.pose import quantities

    monkeypatch.setattr(quantities, "yaw_pitch_roll_deg_from_R",
                        lambda R: tuple(Rotation.from_matrix(R).as_euler("yxz", degrees=True)))
    monkeypatch.setattr(quantities, "R_from_yaw_pitch_roll_deg",
                        lambda y, p, r: Rotation.from_euler("yxz", [y, p, r], degrees=True).as_matrix())
    rots = Rotation.from_euler("YXZ", np.random.default_rng(5).uniform(-40, 40, size=(20, 3)), degrees=True)
    parsed, truths, mismatched = [], [], 0
    for rot in rots:
        R10, t10 = rot.inv().as_matrix(), np.array([0.4, -0.1, 0.2])
        labels = _labels_from_T_cam1_from_cam0(R10, t10)
        ours = _oracle(labels, None)
        parsed += POSE.parse(ours, POSE.inputs_from_labels(labels))
        truths += POSE.truths(labels, 1)
        mismatched += not _agree(ours[1], _reference_release(R10.T, -R10.T @ t10)[1])
    assert POSE.score(parsed, truths)["auc30"] == pytest.approx(100.0, abs=1.0)
    assert mismatched >= 15
