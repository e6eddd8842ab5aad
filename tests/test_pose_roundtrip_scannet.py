"""Relative poses: GT -> four answers -> parse -> R, t, for ScanNet-like synthetic poses and
all 15 real ScanNet pairs.

The text keeps 1-decimal degrees and 2-decimal unit vectors, so the recovered rotation
must be within 0.1 deg and the translation direction within 1 deg of the GT.
`T_0to1` in pairs_with_gt.txt maps camera-0 points into camera 1: with view 0 as the
protocol's camera 0 (the reference) it is ``T_cam1_from_cam0``.

The synthetic poses (seeded: yaw up to +-100 deg, pitch +-35, roll +-25, 0.1-4 m, the
spread of indoor pairs) run on every clone; the ScanNet pairs only where ../shared holds
pairs_with_gt.txt (ScanNet ground truth, not redistributed in tests/).
"""

from __future__ import annotations

import numpy as np
import pytest

from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg
from vlm3.geometry.transforms import make_T, rotation_angle_deg
from vlm3.metrics.pose import rotation_error_deg, translation_angle_deg
from vlm3.tasks.pose import text as pose


def _load_pairs(real_root):
    path = real_root / "scannet_pairs" / "pairs_with_gt.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) != 38:
            continue
        T = np.array([float(v) for v in f[22:38]]).reshape(4, 4)
        U, _, Vt = np.linalg.svd(T[:3, :3])  # file keeps 5 decimals: project onto SO(3)
        T[:3, :3] = U @ Vt
        out.append((f[0], T))
    return out


def _synthetic_pairs(n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        R_cam0_from_cam1 = R_from_yaw_pitch_roll_deg(*rng.uniform([-100, -35, -25], [100, 35, 25]))
        centre = rng.normal(size=3)
        centre *= rng.uniform(0.1, 4.0) / np.linalg.norm(centre)  # camera 1's centre in camera 0
        T_cam0_from_cam1 = make_T(R_cam0_from_cam1, centre)
        out.append((f"synthetic{k}", np.linalg.inv(T_cam0_from_cam1)))
    return out


def _check_round_trip(pairs) -> tuple[float, float]:
    """Worst rotation and direction errors (deg) over (name, T_cam1_from_cam0) pairs."""
    worst_rot, worst_dir = 0.0, 0.0
    for name, T_cam1_from_cam0 in pairs:
        answers = pose.render_answers_from_T_cam1_from_cam0(T_cam1_from_cam0, metric=True)
        parsed = pose.parse_answers(answers, max_angle_mismatch_deg=0.2)
        assert parsed.ok, (name, parsed.reason)
        p = parsed.value
        R_gt_cam0_from_cam1 = T_cam1_from_cam0[:3, :3].T
        centre_gt = -T_cam1_from_cam0[:3, :3].T @ T_cam1_from_cam0[:3, 3]
        rot_err = rotation_error_deg(p.R_cam0_from_cam1, R_gt_cam0_from_cam1)
        dir_err = translation_angle_deg(p.t_unit_cam0, centre_gt, sign_ambiguous=False)
        assert rot_err < 0.1, (name, rot_err)
        assert dir_err < 1.0, (name, dir_err)
        assert p.distance_m == pytest.approx(np.linalg.norm(centre_gt), abs=0.005)
        assert p.words_agree
        # the 4x4 transform rebuilt from text maps points like the GT one
        T_text = p.T_cam1_from_cam0()
        assert rotation_angle_deg(T_text[:3, :3] @ T_cam1_from_cam0[:3, :3].T) < 0.1
        worst_rot, worst_dir = max(worst_rot, rot_err), max(worst_dir, dir_err)
    return worst_rot, worst_dir


def test_synthetic_pairs_round_trip():
    worst_rot, worst_dir = _check_round_trip(_synthetic_pairs())
    print(f"worst rotation error {worst_rot:.4f} deg, worst direction error {worst_dir:.4f} deg")


def test_all_scannet_pairs_round_trip(real_root):
    pairs = _load_pairs(real_root)
    assert len(pairs) == 15
    worst_rot, worst_dir = _check_round_trip(pairs)
    print(f"worst rotation error {worst_rot:.4f} deg, worst direction error {worst_dir:.4f} deg")
