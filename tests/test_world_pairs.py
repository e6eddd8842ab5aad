"""Correspondences from stored depth + poses: consistent to < 0.01 px, occluded points excluded."""

from __future__ import annotations

import numpy as np
import pytest

from vlm3.geometry.camera import Camera
from vlm3.geometry.transforms import apply_T, invert_T
from vlm3.world.config import preset
from vlm3.world.generate import generate_scene
from vlm3.io.scenes import SceneRecord, ViewRecord
from vlm3.world.layouts import make_scene
from vlm3.world.pairs import correspondences, covisibility, dense_correspondences, pixel_grid_px
from vlm3.world.render import cast_rays, render_view
from vlm3.world.scenes import Light, Scene, Texture, WorldObject, box, make_object, plane
from vlm3.world.views import camera_centre_m, look_at_T_cam_from_world, sample_views

TEX = Texture("noise", (0.6, 0.6, 0.6), (0.2, 0.3, 0.5), 0.1, 3)


def _record(scene: Scene, views: list[tuple[Camera, np.ndarray]]) -> SceneRecord:
    recs = []
    for k, (cam, T) in enumerate(views):
        out = render_view(scene, cam, T, shade=False)
        recs.append(ViewRecord(k, cam, T, [], out.image, out.depth_z_m, out.instance_id))
    return SceneRecord("t", "train", scene.kind, 0, [], [], recs, [])


def _analytic_visible(scene: Scene, T_cam_j: np.ndarray, X_world: np.ndarray) -> np.ndarray:
    """True where nothing lies between camera j and the world points (exact ray casting)."""
    C = camera_centre_m(T_cam_j)
    d = X_world - C
    t, _ = cast_rays(scene, np.broadcast_to(C, d.shape), d)
    return t >= 1.0 - 2e-3  # an occluder nearer by more than the 0.1 % depth tolerance


def _lift(view: ViewRecord, xy: np.ndarray) -> np.ndarray:
    ij = np.rint(xy).astype(int)
    z = view.depth_z_m[ij[:, 1], ij[:, 0]].astype(np.float64)
    return apply_T(invert_T(view.T_cam_from_world), view.camera.unproject(xy, z))


@pytest.fixture(scope="module")
def occluder_case() -> tuple[Scene, SceneRecord]:
    wall = WorldObject(0, "wall", "grey", np.zeros(3), np.zeros(3), 0.0, [plane((-1, 0, 0), -6.0, TEX)], True)
    floor = WorldObject(1, "floor", "grey", np.zeros(3), np.zeros(3), 0.0, [plane((0, 0, 1), 0.0, TEX)], True)
    post = make_object(2, "box", "red", np.array([3.0, 0.9, 0.0]), 0.0, [box((0, 0, 1.5), (0.4, 0.4, 3.0), TEX)])
    scene = Scene("room", [wall, floor, post], Light("sun", np.array([0.0, 0.0, 1.0])))
    cam = Camera.from_fx_fy_cx_cy(80.0, 80.0, 50.3, 37.8, 100, 76)
    views = [(cam, look_at_T_cam_from_world(np.array([0.0, 0.0, 1.5]), np.array([6.0, 0.0, 1.2]))),
             (cam, look_at_T_cam_from_world(np.array([0.0, 1.8, 1.5]), np.array([6.0, 0.3, 1.2]), 0.1))]
    return scene, _record(scene, views)


def test_occluded_points_are_excluded(occluder_case) -> None:
    scene, rec = occluder_case
    cam = rec.views[0].camera
    xy = pixel_grid_px(cam.width, cam.height)
    xy2, valid = correspondences(rec, 0, 1, xy)
    X = _lift(rec.views[0], xy)
    in_front = (X - camera_centre_m(rec.views[1].T_cam_from_world)) @ invert_T(rec.views[1].T_cam_from_world)[:3, 2] > 0
    inside = rec.views[1].camera.contains(np.nan_to_num(xy2, nan=-1e9)) & in_front
    visible = _analytic_visible(scene, rec.views[1].T_cam_from_world, X) & inside
    occluded = inside & ~visible
    assert occluded.sum() > 100, "the construction must hide part of view 0 from view 1"
    assert not np.any(valid & ~visible), "a valid correspondence is occluded in view 1"
    assert not np.any(valid[occluded])
    # visible points may be dropped only next to an object boundary or a crease in view 1
    ids1, inv1 = rec.views[1].instance_id, 1.0 / rec.views[1].depth_z_m.astype(np.float64)
    irregular = np.zeros(ids1.shape, dtype=bool)
    irregular[:, 1:] |= ids1[:, 1:] != ids1[:, :-1]
    irregular[1:, :] |= ids1[1:, :] != ids1[:-1, :]
    irregular[:, 1:-1] |= np.abs(inv1[:, 2:] - 2 * inv1[:, 1:-1] + inv1[:, :-2]) > 1e-4 * inv1[:, 1:-1]
    irregular[1:-1, :] |= np.abs(inv1[2:, :] - 2 * inv1[1:-1, :] + inv1[:-2, :]) > 1e-4 * inv1[1:-1, :]
    near = irregular.copy()
    for dy in (-2, -1, 0, 1, 2):
        for dx in (-2, -1, 0, 1, 2):
            near |= np.roll(np.roll(irregular, dy, axis=0), dx, axis=1)
    ij = np.clip(np.rint(xy2[visible & ~valid]).astype(int), 0, [ids1.shape[1] - 1, ids1.shape[0] - 1])
    assert np.all(near[ij[:, 1], ij[:, 0]])
    assert valid[visible].mean() > 0.9


def test_correspondences_reproject_consistently_in_generated_scene() -> None:
    cfg = preset("demo").with_overrides(long_side_px=(96, 128), focal_px=(60.0, 160.0), views_per_scene=3)
    for kind, seed in (("room", 3), ("street", 4)):
        rng = np.random.default_rng(seed)
        scene = make_scene(rng, cfg, kind)
        rec = _record(scene, sample_views(rng, scene, cfg, 3))
        n_checked = 0
        for i, j in ((0, 1), (1, 2), (2, 0)):
            xy1, xy2 = dense_correspondences(rec, i, j)
            if len(xy1) == 0:
                continue
            vj, vi = rec.views[j], rec.views[i]
            # exact depth along the continuous ray through xy2 in view j (analytic ray casting)
            R_wc = vj.T_cam_from_world[:3, :3].T
            rays = vj.camera.rays(xy2) @ R_wc.T
            Cj = camera_centre_m(vj.T_cam_from_world)
            t, inst = cast_rays(scene, np.broadcast_to(Cj, rays.shape), rays)
            X_w = Cj + t[:, None] * rays
            back, _ = vi.camera.project(apply_T(vi.T_cam_from_world, X_w))
            err = np.linalg.norm(back - xy1, axis=1)
            assert err.max() < 0.01, f"{kind} pair {i}->{j}: reprojection error {err.max():.4g} px"
            ij = xy1.astype(int)
            assert np.mean(inst == vi.instance_id[ij[:, 1], ij[:, 0]]) > 0.999
            n_checked += len(xy1)
        assert n_checked > 500


def test_covisibility_bounds_and_self_pair(occluder_case) -> None:
    _, rec = occluder_case
    assert covisibility(rec, 0, 0) == pytest.approx(1.0)
    c01 = covisibility(rec, 0, 1)
    assert 0.3 < c01 < 1.0
    xy2, valid = correspondences(rec, 0, 0, np.array([[10.0, 12.0], [99.0, 75.0]]))
    np.testing.assert_allclose(xy2, [[10.0, 12.0], [99.0, 75.0]], atol=1e-9)
    assert valid.all()


def test_out_of_image_and_no_depth_are_invalid(occluder_case) -> None:
    _, rec = occluder_case
    xy2, valid = correspondences(rec, 0, 1, np.array([[-5.0, 3.0], [500.0, 3.0]]))
    assert not valid.any()


def test_stored_covisibility_matches_recomputation() -> None:
    cfg = preset("demo").with_overrides(long_side_px=(80, 96), focal_px=(60.0, 120.0), views_per_scene=3)
    rec = generate_scene(cfg, 11, 0)
    for p in rec.pairs:
        assert p.covisibility == pytest.approx(covisibility(rec, p.i, p.j, stride=cfg.covisibility_stride_px))
        assert 0.0 <= p.covisibility <= 1.0
