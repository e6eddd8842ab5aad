"""Geometry: Camera, SE(3) transforms, depth kinds, focal normalisation and the grid crop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from vlm3.geometry import Camera, GeometryError
from vlm3.geometry.crop import crop_to_grid, grid_crop_size
from vlm3.geometry.depth import convert_depth, ray_from_z, ray_map_from_z_map
from vlm3.geometry.focal import normalize_focal
from vlm3.geometry.transforms import (apply_T, check_rotation, invert_T, make_T,
                                      relative_T_cam1_from_cam0, rotation_angle_deg)


def _cam(fx=500.0, fy=500.0, cx=310.3, cy=241.7, w=640, h=480, dist=None):
    return Camera.from_fx_fy_cx_cy(fx, fy, cx, cy, w, h, dist)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("fx,fy", [(0.0, 500.0), (-1.0, 500.0), (500.0, 0.0)])
def test_non_positive_focal_is_refused(fx, fy):
    with pytest.raises(GeometryError, match="focal lengths must be positive"):
        _cam(fx=fx, fy=fy)


def test_nan_intrinsics_are_refused():
    with pytest.raises(GeometryError, match="NaN"):
        _cam(cx=float("nan"))


def test_non_orthonormal_rotation_is_refused():
    with pytest.raises(GeometryError, match="not orthonormal"):
        check_rotation(np.diag([1.0, 1.0, 1.1]))
    with pytest.raises(GeometryError, match="reflection"):
        check_rotation(np.diag([1.0, 1.0, -1.0]))


def test_depth_map_of_wrong_size_is_refused():
    cam = _cam()
    with pytest.raises(GeometryError, match="depth map has shape"):
        normalize_focal(np.zeros((480, 640, 3), np.uint8), cam, 1000, np.ones((100, 100)))


def test_image_of_wrong_size_is_refused():
    with pytest.raises(GeometryError, match="image has shape"):
        normalize_focal(np.zeros((10, 10, 3), np.uint8), _cam(), 1000)


def test_bad_target_focal_is_refused():
    with pytest.raises(GeometryError, match="target focal"):
        normalize_focal(np.zeros((480, 640, 3), np.uint8), _cam(), float("nan"))


# ---------------------------------------------------------------- camera
def test_project_unproject_round_trip():
    cam = _cam()
    rng = np.random.default_rng(0)
    xy = rng.uniform([0, 0], [639, 479], size=(100, 2))
    z = rng.uniform(0.5, 20, size=100)
    X = cam.unproject(xy, z)
    xy2, z2 = cam.project(X)
    np.testing.assert_allclose(xy2, xy, atol=1e-9)
    np.testing.assert_allclose(z2, z, atol=1e-12)


@given(s=st.floats(0.1, 5.0), x=st.floats(-0.5, 639.4), y=st.floats(-0.5, 479.4))
@settings(max_examples=200, deadline=None)
def test_resize_then_project_commutes(s, x, y):
    """Projecting into a resized camera == resizing the projected pixel: x' = (x+0.5)s - 0.5."""
    cam = _cam()
    X = cam.unproject(np.array([[x, y]]), np.array([3.0]))
    w, h = max(1, round(640 * s)), max(1, round(480 * s))
    sx, sy = w / 640, h / 480
    small = cam.scaled(sx, sy, w, h)
    xy_small, _ = small.project(X)
    np.testing.assert_allclose(xy_small[0], [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5], atol=1e-9)


def test_image_edges_map_to_image_edges_under_resize():
    cam = _cam()
    small = cam.scaled(0.5, 0.5, 320, 240)
    # the left edge of pixel 0 (x = -0.5) stays the left edge; the right edge maps to 319.5
    for x, expected in [(-0.5, -0.5), (639.5, 319.5)]:
        X = cam.unproject(np.array([[x, 100.0]]), np.array([1.0]))
        assert small.project(X)[0][0, 0] == pytest.approx(expected)


# ---------------------------------------------------------------- transforms
def test_invert_and_relative_pose():
    rng = np.random.default_rng(1)
    R0, R1 = Rotation.random(2, random_state=2).as_matrix()
    T0 = make_T(R0, rng.normal(size=3))
    T1 = make_T(R1, rng.normal(size=3))
    np.testing.assert_allclose(invert_T(T0) @ T0, np.eye(4), atol=1e-12)
    T_1_0 = relative_T_cam1_from_cam0(T0, T1)
    X_world = rng.normal(size=(20, 3))
    np.testing.assert_allclose(apply_T(T_1_0, apply_T(T0, X_world)), apply_T(T1, X_world), atol=1e-12)


def test_rotation_angle():
    R = Rotation.from_rotvec([0, 0, np.radians(37.5)]).as_matrix()
    assert rotation_angle_deg(R) == pytest.approx(37.5)


# ---------------------------------------------------------------- depth kinds
def test_ray_length_of_principal_point_equals_z_and_grows_off_axis():
    cam = Camera.from_fx_fy_cx_cy(100, 100, 50, 50, 101, 101)
    # pixel (150, 50) is 100 px right of the principal point: ray = z * sqrt(2)
    r = ray_from_z(cam, np.array([[50.0, 50.0], [150.0, 50.0]]), np.array([2.0, 2.0]))
    np.testing.assert_allclose(r, [2.0, 2.0 * np.sqrt(2)])
    back = convert_depth(cam, np.array([[150.0, 50.0]]), r[1:], "ray", "z")
    np.testing.assert_allclose(back, [2.0])


def test_ray_map_matches_point_norms():
    cam = _cam(w=64, h=48, cx=30.0, cy=20.0, fx=40, fy=40)
    z = np.full((48, 64), 3.0, np.float32)
    ray = ray_map_from_z_map(cam, z)
    X = cam.unproject(cam.pixel_grid().reshape(-1, 2), z.reshape(-1))
    np.testing.assert_allclose(ray.reshape(-1), np.linalg.norm(X, axis=1), rtol=1e-6)


# ---------------------------------------------------------------- focal normalisation
def test_normalize_focal_sets_focal_and_maps_points_both_ways():
    cam = _cam(fx=518.86, fy=518.86)
    img = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    std = normalize_focal(img, cam, 1000.0)
    assert std.image.shape[:2] == (std.camera.height, std.camera.width) == (925, 1233)
    assert abs(std.camera.fx - 1000.0) < 1000.0 * 0.5 / 640  # half a pixel over the width
    xy = np.array([[0.0, 0.0], [320.0, 240.0], [639.0, 479.0]])
    np.testing.assert_allclose(std.pixmap.to_src(std.pixmap.to_dst(xy)), xy, atol=1e-9)
    # a 3D point projects to pixmap.to_dst(its original pixel)
    X = cam.unproject(xy, np.ones(3) * 2.5)
    np.testing.assert_allclose(std.camera.project(X)[0], std.pixmap.to_dst(xy), atol=1e-9)


def test_normalize_focal_resamples_non_square_pixels_and_distortion():
    cam = _cam(fx=600.0, fy=540.0, dist=np.array([-0.1, 0.02, 0.0, 0.0, 0.0]))
    depth = np.full((480, 640), 4.0, np.float32)
    std = normalize_focal(np.zeros((480, 640, 3), np.uint8), cam, 300.0, depth)
    assert std.camera.dist is None
    assert std.camera.fx == pytest.approx(std.camera.fy, rel=2e-3)
    assert std.camera.fx == pytest.approx(300.0, rel=2e-3)
    assert std.depth_m.shape == std.image.shape[:2]
    # a 3D point seen through the distorted camera lands where the map says
    import cv2
    X = np.array([[0.4, -0.3, 2.0]])
    xy_src, _ = cv2.projectPoints(X, np.zeros(3), np.zeros(3), cam.K, cam.dist)
    np.testing.assert_allclose(std.pixmap.to_dst(xy_src.reshape(-1, 2)), std.camera.project(X)[0],
                               atol=1e-4)
    np.testing.assert_allclose(std.pixmap.to_src(std.camera.project(X)[0]), xy_src.reshape(-1, 2),
                               atol=1e-4)


def test_depth_follows_image_nearest():
    cam = _cam(w=64, h=48, cx=31.5, cy=23.5, fx=64, fy=64)
    depth = np.zeros((48, 64), np.float32)
    depth[:, 32:] = 5.0
    depth[:, :32] = 1.0
    std = normalize_focal(np.zeros((48, 64, 3), np.uint8), cam, 32.0, depth)
    assert set(np.unique(std.depth_m).tolist()) == {1.0, 5.0}  # no blended depths


# ---------------------------------------------------------------- grid crop
def test_grid_crop_size_respects_grid_and_budget():
    assert grid_crop_size(1233, 925, 10**9) == (1216, 896)
    w, h = grid_crop_size(1233, 925, 256 * 192)
    assert w % 32 == 0 and h % 32 == 0 and w * h <= 256 * 192
    with pytest.raises(GeometryError, match="smaller than one 32-px cell"):
        grid_crop_size(20, 100, 10**6)


def test_crop_keeps_focal_and_shifts_principal_point():
    cam = _cam()
    std = normalize_focal(np.zeros((480, 640, 3), np.uint8), cam, 500.0)
    cropped = crop_to_grid(std, 320 * 224)
    assert cropped.camera.fx == std.camera.fx
    assert (cropped.camera.width, cropped.camera.height) == cropped.image.shape[1::-1]
    xy = np.array([[100.0, 200.0]])
    X = cam.unproject(xy, np.array([3.0]))
    np.testing.assert_allclose(cropped.camera.project(X)[0], cropped.pixmap.to_dst(xy), atol=1e-9)


def test_non_square_pixels_become_square_in_one_resize():
    cam = _cam(fx=518.8579, fy=519.46961)  # NYU's intrinsics: 0.12 % apart
    std = normalize_focal(np.zeros((480, 640, 3), np.uint8), cam, 200.0)
    # integer output sizes: the focal is exact up to half a pixel over the new image size
    assert std.camera.fx == pytest.approx(200.0, abs=200.0 * 0.5 / std.camera.width)
    assert std.camera.fy == pytest.approx(200.0, abs=200.0 * 0.5 / std.camera.height)
    X = np.array([[0.3, -0.2, 2.0]])
    xy_src, _ = cam.project(X)
    np.testing.assert_allclose(std.pixmap.to_dst(xy_src), std.camera.project(X)[0], atol=1e-9)
