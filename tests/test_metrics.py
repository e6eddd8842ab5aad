"""Metric functions against values computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vlm3.metrics import correspondence as mc
from vlm3.metrics import depth as md
from vlm3.metrics import objects as mo
from vlm3.metrics import pose as mp


# ---------------------------------------------------------------- depth
def test_depth_metrics_hand_computed():
    pred, gt = [1.0, 2.0, 4.0, 10.0], [1.0, 2.4, 2.0, 10.0]
    # ratios max(p/g, g/p): 1, 1.2, 2, 1 -> <1.25: 3/4; <1.5625: 3/4; <1.953125: 3/4 (2 is not < 1.95)
    assert md.delta1(pred, gt) == 0.75
    assert md.delta2(pred, gt) == 0.75
    assert md.delta3(pred, gt) == 0.75
    assert md.delta_accuracy(pred, gt, k=4) == 1.0  # 1.25**4 = 2.44 > 2
    # abs_rel = (0 + 0.4/2.4 + 2/2 + 0) / 4 = (1/6 + 1) / 4
    assert md.abs_rel(pred, gt) == pytest.approx((1 / 6 + 1) / 4)
    # rmse = sqrt((0 + 0.16 + 4 + 0) / 4)
    assert md.rmse_m(pred, gt) == pytest.approx(math.sqrt(4.16 / 4))
    # log10 = (0 + log10(1.2) + log10(2) + 0) / 4
    assert md.log10_error(pred, gt) == pytest.approx((math.log10(1.2) + math.log10(2)) / 4)
    assert set(md.depth_metrics(pred, gt)) == {"delta1", "delta2", "delta3", "abs_rel", "rmse_m", "log10"}


def test_delta_threshold_is_strict():
    assert md.delta1([1.25], [1.0]) == 0.0
    assert md.delta1([1.2499], [1.0]) == 1.0


@pytest.mark.parametrize("pred,gt,match", [([1.0], [1.0, 2.0], "same length"), ([], [], "no depth"),
                                           ([float("nan")], [1.0], "NaN"), ([0.0], [1.0], "positive")])
def test_depth_bad_input(pred, gt, match):
    with pytest.raises(ValueError, match=match):
        md.delta1(pred, gt)


# ---------------------------------------------------------------- correspondence
def test_epe_and_pck():
    gt = [[10, 10], [0, 0], [5, 5]]
    pred = [[13, 14], [1, 0], [5, 5]]  # errors 5, 1, 0
    np.testing.assert_allclose(mc.epe_px(pred, gt), [5, 1, 0])
    assert mc.mean_epe_px(pred, gt) == 2.0
    assert mc.pck(pred, gt) == {1.0: 2 / 3, 3.0: 2 / 3, 5.0: 1.0}


def test_epe_from_norm1000_scales_axes_separately():
    # image 2000 x 500: dx = 10 grid units = 20 px, dy = 10 grid units = 5 px -> sqrt(425)
    e = mc.epe_px_from_norm1000([[110, 110]], [[100, 100]], width=2000, height=500)
    assert e[0] == pytest.approx(math.sqrt(20**2 + 5**2))
    np.testing.assert_allclose(mc.px_from_norm1000([500, 1000], 600, 400), [[300, 400]])


# ---------------------------------------------------------------- pose
def test_rotation_error_geodesic():
    R1 = Rotation.from_euler("y", 10, degrees=True).as_matrix()
    R2 = Rotation.from_euler("y", 35, degrees=True).as_matrix()
    assert mp.rotation_error_deg(R1, R2) == pytest.approx(25.0)
    assert mp.rotation_error_deg(np.eye(3), np.eye(3)) == 0.0
    tiny = Rotation.from_euler("x", 1e-6, degrees=True).as_matrix()
    assert mp.rotation_error_deg(np.eye(3), tiny) == pytest.approx(1e-6, rel=1e-6)
    flip = Rotation.from_euler("z", 180, degrees=True).as_matrix()
    assert mp.rotation_error_deg(np.eye(3), flip) == pytest.approx(180.0)
    batch = mp.rotation_error_deg(np.stack([R1, R1]), np.stack([R2, R1]))
    np.testing.assert_allclose(batch, [25.0, 0.0], atol=1e-9)


def test_translation_angle_sign_flag():
    assert mp.translation_angle_deg([1, 0, 0], [0, 0, 2], sign_ambiguous=False) == pytest.approx(90)
    assert mp.translation_angle_deg([1, 0, 0], [-3, 0, 0], sign_ambiguous=False) == pytest.approx(180)
    assert mp.translation_angle_deg([1, 0, 0], [-3, 0, 0], sign_ambiguous=True) == pytest.approx(0)
    assert mp.translation_angle_deg([1, 1, 0], [-1, 0, 0], sign_ambiguous=True) == pytest.approx(45)
    with pytest.raises(ValueError, match="zero"):
        mp.translation_angle_deg([0, 0, 0], [1, 0, 0], sign_ambiguous=False)


def test_auc_binned_hand_computed():
    # errors 1, 2, 4; T=3: bins [0,1) [1,2) [2,3] -> hist 0,1,1 -> /3 -> cumsum 0, 1/3, 2/3 -> mean 1/3
    # T=5: bins ..[4,5] -> hist 0,1,1,0,1 -> cumsum 0,1/3,2/3,2/3,1 -> mean 8/15
    auc = mp.pose_auc_binned_deg([1.0, 2.0, 4.0], thresholds_deg=(3, 5))
    assert auc[3] == pytest.approx(1 / 3)
    assert auc[5] == pytest.approx(8 / 15)


def test_auc_trapezoid_hand_computed():
    # errors 1, 2, 4 -> curve (0,0) (1,1/3) (2,2/3) then flat 2/3 to T=3:
    # area = 1/6 + 1/2 + 2/3 = 4/3 -> / 3 = 4/9
    # T=5: + (4-3)*2/3 ... full: 1/6 + 1/2 + (2/3)*2 + ... (4,1) -> (5,1):
    # trapezoids: [0,1] 1/6, [1,2] 1/2, [2,4] (2/3 + 1)/2*2 = 5/3, [4,5] 1 -> 10/3 / 5 = 2/3
    auc = mp.pose_auc_trapezoid_deg([4.0, 1.0, 2.0], thresholds_deg=(3, 5))
    assert auc[3] == pytest.approx(4 / 9)
    assert auc[5] == pytest.approx(2 / 3)


def test_auc_failures_as_inf_count_as_wrong():
    # one inf halves both AUC variants for errors that are all 0
    for fn in (mp.pose_auc_binned_deg, mp.pose_auc_trapezoid_deg):
        full = fn([0.0, 0.0], thresholds_deg=(30,))[30]
        half = fn([0.0, np.inf], thresholds_deg=(30,))[30]
        assert full == pytest.approx(1.0) and half == pytest.approx(0.5)
    with pytest.raises(ValueError, match="NaN"):
        mp.pose_auc_binned_deg([float("nan")])


def test_pose_error_is_max():
    np.testing.assert_array_equal(mp.pose_error_deg([1, 5], [3, 2]), [3, 5])


# ---------------------------------------------------------------- objects
def test_object_metrics():
    assert mo.qualitative_accuracy([True, False, True, True], [True, True, True, False]) == 0.5
    # rel errors: 0.25 (counts), 0.5, 0.1 -> success 2/3; abs_rel = 0.85/3
    assert mo.quantitative_success_rate([1.25, 3.0, 0.9], [1.0, 2.0, 1.0]) == pytest.approx(2 / 3)
    assert mo.abs_rel([1.25, 3.0, 0.9], [1.0, 2.0, 1.0]) == pytest.approx(0.85 / 3)
    np.testing.assert_allclose(mo.clock_error_deg([12, 1, 3], [1, 11, 9]), [30, 60, 180])
