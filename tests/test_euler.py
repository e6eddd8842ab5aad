"""Yaw/pitch/roll convention: physical meaning of each sign, round trips, gimbal lock,
agreement with SciPy's intrinsic 'YXZ', and the T_cam1_from_cam0 helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from vlm3.geometry.camera import GeometryError
from vlm3.geometry.euler import (
    R_cam1_from_cam0_from_yaw_pitch_roll_deg,
    R_from_yaw_pitch_roll_deg,
    yaw_pitch_roll_deg_from_R,
    yaw_pitch_roll_deg_from_T_cam1_from_cam0,
)
from vlm3.geometry.transforms import rotation_angle_deg

FORWARD, RIGHT, DOWN = np.array([0.0, 0, 1]), np.array([1.0, 0, 0]), np.array([0.0, 1, 0])


def test_yaw_positive_turns_right():
    R = R_from_yaw_pitch_roll_deg(30, 0, 0)  # columns: camera-1 axes in camera 0
    fwd2 = R @ FORWARD
    assert fwd2[0] > 0 and fwd2[1] == pytest.approx(0) and fwd2 @ FORWARD == pytest.approx(np.cos(np.radians(30)))
    np.testing.assert_allclose(R @ DOWN, DOWN, atol=1e-15)  # yaw is about the down axis


def test_pitch_positive_looks_up():
    fwd2 = R_from_yaw_pitch_roll_deg(0, 20, 0) @ FORWARD
    assert fwd2[1] < 0 and fwd2[0] == pytest.approx(0)  # -y is up in OpenCV
    np.testing.assert_allclose(fwd2, [0, -np.sin(np.radians(20)), np.cos(np.radians(20))], atol=1e-15)


def test_roll_positive_banks_right():
    R = R_from_yaw_pitch_roll_deg(0, 0, 15)
    right2 = R @ RIGHT
    assert right2[1] > 0  # the right side dips (towards +y = down)
    np.testing.assert_allclose(R @ FORWARD, FORWARD, atol=1e-15)


def test_order_is_intrinsic_yaw_then_pitch_then_roll():
    # after yaw 90 (facing +x), pitching up must tilt the new forward (+x) towards -y
    R = R_from_yaw_pitch_roll_deg(90, 30, 0)
    np.testing.assert_allclose(R @ FORWARD, [np.cos(np.radians(30)), -np.sin(np.radians(30)), 0], atol=1e-12)
    # roll is about the final optical axis: it leaves it unchanged
    R2 = R_from_yaw_pitch_roll_deg(90, 30, 40)
    np.testing.assert_allclose(R2 @ FORWARD, R @ FORWARD, atol=1e-12)


def test_matches_scipy_intrinsic_YXZ():
    for ypr in [(10, 20, 30), (-170, 45, 120), (89.6, 2.6, 6.1)]:
        ref = Rotation.from_euler("YXZ", ypr, degrees=True).as_matrix()
        np.testing.assert_allclose(R_from_yaw_pitch_roll_deg(*ypr), ref, atol=1e-12)


def test_release_sample_angle():
    R = R_from_yaw_pitch_roll_deg(89.60077227075526, 2.598684372865458, 6.072327841623985)
    assert rotation_angle_deg(R) == pytest.approx(89.6547345694857, abs=1e-6)


angles = st.tuples(st.floats(-179.9, 180), st.floats(-89.9, 89.9), st.floats(-179.9, 180))


@settings(max_examples=200, deadline=None)
@given(angles)
def test_round_trip_angles(ypr):
    out = yaw_pitch_roll_deg_from_R(R_from_yaw_pitch_roll_deg(*ypr))
    np.testing.assert_allclose(out, ypr, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_round_trip_random_rotation(seed):
    R = Rotation.random(random_state=seed).as_matrix()
    np.testing.assert_allclose(R_from_yaw_pitch_roll_deg(*yaw_pitch_roll_deg_from_R(R)), R, atol=1e-9)


@pytest.mark.parametrize("pitch", [90.0, -90.0])
def test_gimbal_lock_recomposes(pitch):
    R = R_from_yaw_pitch_roll_deg(40, pitch, 20)
    yaw, p, roll = yaw_pitch_roll_deg_from_R(R)
    assert p == pytest.approx(pitch) and roll == 0.0
    np.testing.assert_allclose(R_from_yaw_pitch_roll_deg(yaw, p, roll), R, atol=1e-9)


def test_T_cam1_from_cam0_helpers():
    R_cam0_from_cam1 = R_from_yaw_pitch_roll_deg(25, -10, 5)
    T = np.eye(4)
    T[:3, :3] = R_cam0_from_cam1.T
    T[:3, 3] = [0.3, -0.1, 2.0]
    assert yaw_pitch_roll_deg_from_T_cam1_from_cam0(T) == pytest.approx((25, -10, 5))
    np.testing.assert_allclose(R_cam1_from_cam0_from_yaw_pitch_roll_deg(25, -10, 5), T[:3, :3], atol=1e-15)
    # a camera-0 point straight ahead of camera 1 (on its optical axis) maps to x = y = 0 in camera 1
    centre1_in_0 = -T[:3, :3].T @ T[:3, 3]
    X1 = centre1_in_0 + 3.0 * (R_cam0_from_cam1 @ FORWARD)
    X2 = T[:3, :3] @ X1 + T[:3, 3]
    np.testing.assert_allclose(X2, [0, 0, 3.0], atol=1e-12)


def test_bad_input_raises_named_errors():
    with pytest.raises(ValueError, match="yaw_deg"):
        R_from_yaw_pitch_roll_deg(float("nan"), 0, 0)
    with pytest.raises(GeometryError, match="orthonormal"):
        yaw_pitch_roll_deg_from_R(np.diag([1.0, 2.0, 1.0]))
    with pytest.raises(GeometryError, match="reflection"):
        yaw_pitch_roll_deg_from_R(np.diag([1.0, 1.0, -1.0]))
