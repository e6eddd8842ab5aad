"""The world renderer's depth is exact: analytic surfaces at known distances, and two code paths
(culled float32 visibility + float64 refinement vs brute-force float64 ray casting) agree."""

from __future__ import annotations

import numpy as np
import pytest

from vlm3.geometry.camera import Camera
from vlm3.world.config import preset
from vlm3.world.layouts import make_scene
from vlm3.world.render import cast_rays, render_view, unoccluded_pixels
from vlm3.world.scenes import Light, Scene, Texture, WorldObject, box, cylinder, make_object, plane, sphere
from vlm3.world.views import look_at_T_cam_from_world, sample_views

TEX = Texture("checker", (0.8, 0.2, 0.2), (0.2, 0.2, 0.8), 0.2, 1)


def _scene(objects: list[WorldObject]) -> Scene:
    return Scene("room", objects, Light("sun", np.array([0.0, 0.0, 1.0])))


def _wall(iid: int, normal, offset) -> WorldObject:
    return WorldObject(iid, "wall", "grey", np.zeros(3), np.zeros(3), 0.0, [plane(normal, offset, TEX)], True)


def _cam(w=64, h=48, f=50.0, cx=30.0, cy=20.0) -> Camera:
    return Camera.from_fx_fy_cx_cy(f, f * 1.1, cx, cy, w, h)


@pytest.mark.parametrize("roll_deg", [0.0, 17.0, -53.0])
def test_plane_facing_camera_has_constant_depth(roll_deg: float) -> None:
    scene = _scene([_wall(0, (-1, 0, 0), -3.0)])  # the plane x = 3, camera at the origin looking along +x
    cam = _cam()
    T = look_at_T_cam_from_world(np.zeros(3), np.array([1.0, 0.0, 0.0]), np.radians(roll_deg))
    out = render_view(scene, cam, T)
    assert out.depth_z_m.dtype == np.float32
    np.testing.assert_array_equal(out.depth_z_m, np.float32(3.0))
    scale = np.linalg.norm(cam.rays(cam.pixel_grid().reshape(-1, 2)), axis=1).reshape(cam.height, cam.width)
    np.testing.assert_allclose(out.ray_m, 3.0 * scale, rtol=1e-6)
    assert np.all(out.instance_id == 0)


def test_tilted_plane_depth_matches_closed_form() -> None:
    scene = _scene([_wall(0, (0, 0, 1), 0.0)])  # the floor z = 0
    C = np.array([0.3, -0.2, 1.6])
    T = look_at_T_cam_from_world(C, np.array([6.0, 3.0, 0.9]), np.radians(5.0))
    cam = _cam()
    depth = render_view(scene, cam, T).depth_z_m
    # floor in camera coordinates: n_c . X_c = h_c, so z = h_c / (n_c . K^-1 [x, y, 1])
    n_c = T[:3, :3] @ np.array([0.0, 0.0, 1.0])
    h_c = 0.0 + n_c @ T[:3, 3]
    rays = cam.rays(cam.pixel_grid().reshape(-1, 2))
    z = (h_c / (rays @ n_c)).reshape(cam.height, cam.width)
    expected = np.where(z > 0, z, 0.0)
    np.testing.assert_allclose(depth, expected, rtol=2e-7)
    assert (depth > 0).sum() > 100 and (depth == 0).sum() > 100  # horizon in view: floor and nothing


def test_sphere_cylinder_and_box_front_depths() -> None:
    s = make_object(1, "ball", "red", np.array([5.0, 0.0, 1.0]), 0.0, [sphere((0, 0, 0), 1.0, TEX)])
    c = make_object(2, "bin", "blue", np.array([0.0, 4.0, 1.0]), 0.0, [cylinder((0, 0, 0), 0.5, 1.0, TEX)])
    b = make_object(3, "box", "green", np.array([-2.5, 0.0, 1.0]), 0.0, [box((0, 0, 0), (1.0, 2.0, 2.0), TEX)])
    scene = _scene([s, c, b])
    cam = Camera.from_fx_fy_cx_cy(100.0, 100.0, 40.0, 25.0, 80, 60)  # integer principal point
    C = np.array([0.0, 0.0, 1.0])
    for target, iid, expected in (((5.0, 0, 1.0), 1, 4.0), ((0, 4.0, 1.0), 2, 3.5), ((-2.5, 0, 1.0), 3, 2.0)):
        out = render_view(scene, cam, look_at_T_cam_from_world(C, np.array(target)))
        assert out.depth_z_m[25, 40] == np.float32(expected)
        assert out.instance_id[25, 40] == iid
    # off-centre sphere pixels against the quadratic solved independently
    out = render_view(scene, cam, look_at_T_cam_from_world(C, np.array([5.0, 0.0, 1.0])))
    rays = cam.rays(cam.pixel_grid().reshape(-1, 2))  # camera frame; sphere centre at (0, 0, 5)
    a, bq, cc = (rays**2).sum(1), -5.0 * rays[:, 2], 25.0 - 1.0
    disc = bq**2 - a * cc
    hit = disc >= 0
    t = np.where(hit, (-bq - np.sqrt(np.maximum(disc, 0))) / a, 0.0).reshape(cam.height, cam.width)
    mask = hit.reshape(cam.height, cam.width)
    assert mask.sum() > 50
    np.testing.assert_allclose(out.depth_z_m[mask], t[mask], rtol=1e-6)
    assert np.all(out.instance_id[mask] == 1)


@pytest.mark.parametrize("kind", ["room", "street"])
def test_render_agrees_with_bruteforce_ray_casting(kind: str) -> None:
    cfg = preset("demo").with_overrides(long_side_px=(96, 128), focal_px=(60.0, 160.0))
    rng = np.random.default_rng(7)
    scene = make_scene(rng, cfg, kind)
    for cam, T in sample_views(rng, scene, cfg, 2):
        out = render_view(scene, cam, T)
        R_wc = T[:3, :3].T
        rays_w = cam.rays(cam.pixel_grid().reshape(-1, 2)) @ R_wc.T  # camera-z = 1 rays
        origin = -R_wc @ T[:3, 3]
        t, inst = cast_rays(scene, np.broadcast_to(origin, rays_w.shape), rays_w)
        t = np.where(np.isfinite(t), t, 0.0).reshape(out.depth_z_m.shape)
        np.testing.assert_allclose(out.depth_z_m, t, rtol=1e-6, atol=0)
        same = out.instance_id == inst.reshape(out.instance_id.shape)
        assert same.mean() > 0.999  # exact ties (touching coplanar faces) may go either way
        assert out.image.dtype == np.uint8 and out.image.std() > 5  # textured, not flat


def test_unoccluded_pixels_counts_the_object_alone() -> None:
    front = make_object(1, "box", "red", np.array([2.0, 0.0, 0.5]), 0.0, [box((0, 0, 0), (0.2, 0.4, 0.4), TEX)])
    back = make_object(2, "box", "blue", np.array([4.0, 0.0, 0.5]), 0.0, [box((0, 0, 0), (0.2, 1.0, 1.0), TEX)])
    scene = _scene([front, back])
    cam = Camera.from_fx_fy_cx_cy(60.0, 60.0, 31.5, 23.5, 64, 48)
    T = look_at_T_cam_from_world(np.array([0.0, 0.0, 0.5]), np.array([4.0, 0.0, 0.5]))
    out = render_view(scene, cam, T)
    alone = render_view(_scene([back]), cam, T)
    n_alone = int((alone.instance_id == 2).sum())
    assert unoccluded_pixels(scene, 2, cam, T) == n_alone
    assert 0 < (out.instance_id == 2).sum() < n_alone  # partly hidden by the front box
