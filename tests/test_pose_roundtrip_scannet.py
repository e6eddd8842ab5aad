"""All 15 real ScanNet pairs: GT relative pose -> four answers -> parse -> R, t.

The text keeps 1-decimal degrees and 2-decimal unit vectors, so the recovered rotation
must be within 0.1 deg and the translation direction within 1 deg of the GT.
`T_0to1` in pairs_with_gt.txt maps camera-0 points into camera 1: with view 0 as the
protocol's "camera 1" (reference) it is T_cam2_from_cam1.
"""

from __future__ import annotations

import numpy as np
import pytest

from vlm3.geometry.transforms import rotation_angle_deg
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
        out.append((f[0], f[1], T))
    return out


def test_all_scannet_pairs_round_trip(real_root):
    pairs = _load_pairs(real_root)
    assert len(pairs) == 15
    worst_rot, worst_dir = 0.0, 0.0
    for name0, name1, T_0to1 in pairs:
        answers = pose.render_answers_from_T_cam2_from_cam1(T_0to1, metric=True)
        parsed = pose.parse_answers(answers, max_angle_mismatch_deg=0.2)
        assert parsed.ok, (name0, name1, parsed.reason)
        p = parsed.value
        R_gt_cam1_from_cam2 = T_0to1[:3, :3].T
        centre_gt = -T_0to1[:3, :3].T @ T_0to1[:3, 3]
        rot_err = rotation_error_deg(p.R_cam1_from_cam2, R_gt_cam1_from_cam2)
        dir_err = translation_angle_deg(p.t_unit_cam1, centre_gt, sign_ambiguous=False)
        assert rot_err < 0.1, (name0, rot_err)
        assert dir_err < 1.0, (name0, dir_err)
        assert p.distance_m == pytest.approx(np.linalg.norm(centre_gt), abs=0.005)
        assert p.words_agree
        # the 4x4 transform rebuilt from text maps points like the GT one
        T_text = p.T_cam2_from_cam1()
        assert rotation_angle_deg(T_text[:3, :3] @ T_0to1[:3, :3].T) < 0.1
        worst_rot, worst_dir = max(worst_rot, rot_err), max(worst_dir, dir_err)
    print(f"worst rotation error {worst_rot:.4f} deg, worst direction error {worst_dir:.4f} deg")
