"""Dense correspondences and covisibility of view pairs, from stored z-depth + poses only.

A pixel of view i is lifted with its depth, moved by ``T_cam_j_from_cam_i`` and projected
into view j. It is a valid correspondence when it has depth, lands in front of camera j
inside image j, and is not occluded there: the inverse depth of view j, bilinearly
interpolated from the 4 pixel centres around the projection (exact on planes, where
1/z is affine in pixel coordinates), must match the projected z within ``rel_tol``
(default 0.1 %: an occluder must be more than 0.1 % of the depth nearer). When instance-id
maps are given (as in stored scenes), the 4 neighbours must also show the same object as
the source pixel, so blends across object boundaries can never pass by coincidence.
Covisibility(i, j) = fraction of valid view-i pixels with a valid correspondence in j.
"""

from __future__ import annotations

import numpy as np

from vlm3.geometry.camera import Camera
from vlm3.geometry.transforms import apply_T, relative_T_cam1_from_cam0
from vlm3.io.scenes import SceneRecord

DEFAULT_REL_TOL = 1e-3


def _depth_at_pixels(depth: np.ndarray, xy_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest pixel-centre indices (N, 2) of xy (clipped) and their depth (0 outside)."""
    H, W = depth.shape
    ij = np.rint(xy_px).astype(np.int64)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < W) & (ij[:, 1] >= 0) & (ij[:, 1] < H)
    ij = np.clip(ij, 0, [W - 1, H - 1])
    return ij, np.where(inside, depth[ij[:, 1], ij[:, 0]], 0.0)


def _interp_inverse_depth(depth: np.ndarray, xy_px: np.ndarray, ids: np.ndarray | None = None,
                          want_id: np.ndarray | None = None) -> np.ndarray:
    """Bilinear interpolation of 1/depth at xy (N, 2); NaN where any of the 4 neighbours is
    invalid (or, with ``ids``, shows another instance than ``want_id`` (N,))."""
    H, W = depth.shape
    x0 = np.clip(np.floor(xy_px[:, 0]).astype(np.int64), 0, max(W - 2, 0))
    y0 = np.clip(np.floor(xy_px[:, 1]).astype(np.int64), 0, max(H - 2, 0))
    x1, y1 = np.minimum(x0 + 1, W - 1), np.minimum(y0 + 1, H - 1)
    fx = xy_px[:, 0] - x0  # in [-0.5, 1.5] at the image border: linear extrapolation, still exact on planes
    fy = xy_px[:, 1] - y0
    d = np.stack([depth[y0, x0], depth[y0, x1], depth[y1, x0], depth[y1, x1]], axis=1).astype(np.float64)
    ok = d > 0
    if ids is not None and want_id is not None:
        nb = np.stack([ids[y0, x0], ids[y0, x1], ids[y1, x0], ids[y1, x1]], axis=1)
        ok &= nb == want_id[:, None]
    with np.errstate(divide="ignore"):
        inv = np.where(ok, 1.0 / d, np.nan)
    w = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    # a neighbour with (numerically) zero weight cannot invalidate the point: on a pixel centre
    # the value is that pixel's, whatever its neighbours show
    return np.where(np.abs(w) < 1e-6, 0.0, w * inv).sum(axis=1)


def correspondences_from_depth(cam_i: Camera, T_cam_i_from_world: np.ndarray, depth_i_m: np.ndarray,
                               cam_j: Camera, T_cam_j_from_world: np.ndarray, depth_j_m: np.ndarray,
                               xy_i_px: np.ndarray, rel_tol: float = DEFAULT_REL_TOL,
                               ids_i: np.ndarray | None = None,
                               ids_j: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Map pixels of view i to view j (see module docstring).

    xy_i_px: (N, 2) pixel coordinates in view i, snapped to the nearest pixel centre (where
    the stored z-depth is exact). depth_*_m: (H, W) z-depth in metres, 0 = invalid.
    ids_i / ids_j: optional (H, W) instance-id maps. Returns (xy_j_px (N, 2) float64, NaN
    behind camera j; valid (N,) bool).
    """
    xy = np.asarray(xy_i_px, dtype=np.float64).reshape(-1, 2)
    ij, z_i = _depth_at_pixels(depth_i_m, xy)
    X_i = cam_i.unproject(ij.astype(np.float64), z_i)
    T_j_from_i = relative_T_cam1_from_cam0(T_cam_i_from_world, T_cam_j_from_world)
    xy_j, z_j = cam_j.project(apply_T(T_j_from_i, X_i))
    valid = (z_i > 0) & (z_j > 0) & cam_j.contains(np.nan_to_num(xy_j, nan=-1e9))
    if np.any(valid):
        want = ids_i[ij[valid, 1], ij[valid, 0]] if ids_i is not None and ids_j is not None else None
        inv = _interp_inverse_depth(depth_j_m, xy_j[valid], ids_j, want)
        with np.errstate(invalid="ignore"):
            ok = np.abs(1.0 / inv - z_j[valid]) <= rel_tol * z_j[valid]
        valid[np.flatnonzero(valid)[~ok]] = False
    return xy_j, valid


def correspondences(scene: SceneRecord, i: int, j: int, xy_px: np.ndarray,
                    rel_tol: float = DEFAULT_REL_TOL) -> tuple[np.ndarray, np.ndarray]:
    """Correspondences of pixels ``xy_px`` (N, 2) of view ``i`` in view ``j`` of a loaded scene.

    Uses the stored depth, poses and instance ids. Returns (xy2_px (N, 2), valid (N,) bool);
    see ``correspondences_from_depth``.
    """
    vi, vj = scene.views[i], scene.views[j]
    if vi.depth_z_m is None or vj.depth_z_m is None:
        raise ValueError(f"scene {scene.scene_id} was loaded without arrays; load_scene(..., load_arrays=True)")
    return correspondences_from_depth(vi.camera, vi.T_cam_from_world, vi.depth_z_m,
                                      vj.camera, vj.T_cam_from_world, vj.depth_z_m, xy_px, rel_tol,
                                      vi.instance_id, vj.instance_id)


def pixel_grid_px(width: int, height: int, stride: int = 1) -> np.ndarray:
    """(M, 2) pixel-centre coordinates (x, y) on a grid with the given stride."""
    xs, ys = np.meshgrid(np.arange(0, width, stride), np.arange(0, height, stride))
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)


def dense_correspondences(scene: SceneRecord, i: int, j: int, stride: int = 1,
                          rel_tol: float = DEFAULT_REL_TOL) -> tuple[np.ndarray, np.ndarray]:
    """All valid correspondences on a pixel grid of view i: (xy_i_px (M, 2), xy_j_px (M, 2))."""
    cam = scene.views[i].camera
    xy = pixel_grid_px(cam.width, cam.height, stride)
    xy2, valid = correspondences(scene, i, j, xy, rel_tol)
    return xy[valid], xy2[valid]


def covisibility(scene: SceneRecord, i: int, j: int, stride: int = 1, rel_tol: float = DEFAULT_REL_TOL) -> float:
    """Fraction of valid-depth pixels of view i (on a stride grid) that are visible in view j."""
    cam = scene.views[i].camera
    xy = pixel_grid_px(cam.width, cam.height, stride)
    _, z = _depth_at_pixels(scene.views[i].depth_z_m, xy)
    n_valid = int(np.count_nonzero(z > 0))
    if n_valid == 0:
        return 0.0
    _, valid = correspondences(scene, i, j, xy, rel_tol)
    return float(np.count_nonzero(valid)) / n_valid
