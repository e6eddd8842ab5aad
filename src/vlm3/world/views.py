"""Camera sampling: intrinsics that vary widely and poses placed in free space, looking at content.

Intrinsics: an aspect ratio and a long side (multiple of 8 px) are drawn from the config,
then fx log-uniformly within the focal range clipped to the allowed horizontal FOV, an
off-centre principal point and an optional pixel-aspect jitter. Poses: a view is either a
perturbation of an earlier view (log-uniform baseline, jittered look-at target: small
baselines and rotations) or an independent camera looking at a focus point of the scene
(large baselines and rotations). A candidate is accepted only if its centre lies in the
scene's free space outside every object (with a margin) and a low-resolution depth probe
shows no surface closer than the kind's minimum over the central image region, at least
one object, and (streets) not mostly sky.
"""

from __future__ import annotations

import numpy as np

from vlm3.geometry.camera import Camera
from vlm3.geometry.transforms import make_T
from vlm3.world.config import WorldConfig
from vlm3.world.render import render_view
from vlm3.world.scenes import Scene

_UP = np.array([0.0, 0.0, 1.0])


def sample_camera(rng: np.random.Generator, cfg: WorldConfig) -> Camera:
    """Random pinhole intrinsics and image size from the config's ranges."""
    aspect = float(rng.choice(cfg.aspect_ratios))
    long_px = rng.uniform(cfg.long_side_px[0], cfg.long_side_px[1])
    if aspect >= 1:
        W, H = long_px, long_px / aspect
    else:
        W, H = long_px * aspect, long_px
    W, H = max(16, int(round(W / 8)) * 8), max(16, int(round(H / 8)) * 8)
    f_lo = W / 2 / np.tan(np.radians(cfg.hfov_deg[1]) / 2)
    f_hi = W / 2 / np.tan(np.radians(cfg.hfov_deg[0]) / 2)
    lo, hi = max(cfg.focal_px[0], f_lo), min(cfg.focal_px[1], f_hi)
    if lo > hi:  # the FOV limits and the focal range do not overlap for this size: honour the focal range
        lo, hi = cfg.focal_px
    fx = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    fy = fx * (1.0 + rng.uniform(-cfg.pixel_aspect_jitter, cfg.pixel_aspect_jitter))
    off = cfg.principal_offset_frac
    cx = (W - 1) / 2 + rng.uniform(-off, off) * W
    cy = (H - 1) / 2 + rng.uniform(-off, off) * H
    return Camera.from_fx_fy_cx_cy(fx, fy, cx, cy, W, H)


def look_at_T_cam_from_world(centre_m: np.ndarray, target_m: np.ndarray, roll_rad: float = 0.0) -> np.ndarray:
    """4x4 ``T_cam_from_world`` of a camera at ``centre_m`` whose optical axis (+z) points at
    ``target_m``, x right and y down relative to world z-up, then rolled about the axis."""
    f = np.asarray(target_m, dtype=np.float64) - centre_m
    f /= np.linalg.norm(f)
    right = np.cross(f, _UP)
    if np.linalg.norm(right) < 1e-6:  # looking straight up/down: any right vector
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(f, right)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    right, down = c * right + s * down, -s * right + c * down
    R_world_from_cam = np.stack([right, down, f], axis=1)
    R_cam_from_world = R_world_from_cam.T
    return make_T(R_cam_from_world, -R_cam_from_world @ centre_m)


def camera_centre_m(T_cam_from_world: np.ndarray) -> np.ndarray:
    """World position (3,) of the camera centre: -R^T t."""
    T = np.asarray(T_cam_from_world, dtype=np.float64)
    return -T[:3, :3].T @ T[:3, 3]


def _in_free_space(scene: Scene, C: np.ndarray, margin: float) -> bool:
    if np.any(C < scene.free_space_lo) or np.any(C > scene.free_space_hi):
        return False
    for p in scene.primitives():
        box = p.aabb()
        if box is not None and np.all(C > box[0] - margin) and np.all(C < box[1] + margin):
            return False
    return True


def _probe_ok(scene: Scene, camera: Camera, T: np.ndarray, min_depth_m: float) -> tuple[bool, float]:
    """Low-res depth probe: (acceptable, score) with score = median depth (higher is better)."""
    s = 40.0 / max(camera.width, camera.height)
    w, h = max(8, int(round(camera.width * s))), max(6, int(round(camera.height * s)))
    probe = camera.scaled(w / camera.width, h / camera.height, w, h)
    out = render_view(scene, probe, T, shade=False)
    depth = out.depth_z_m
    hh, ww = depth.shape
    centre = depth[hh // 6: hh - hh // 6, ww // 6: ww - ww // 6]
    valid = centre[centre > 0]
    if valid.size < 0.5 * centre.size:  # mostly sky
        return False, 0.0
    structure = {o.instance_id for o in scene.objects if o.is_structure}
    things = np.setdiff1d(np.unique(out.instance_id), list(structure) + [-1])
    ok = bool(np.mean(valid < min_depth_m) < 0.02) and things.size > 0
    return ok, float(np.median(valid))


def sample_views(rng: np.random.Generator, scene: Scene, cfg: WorldConfig, n_views: int,
                 max_tries: int = 80) -> list[tuple[Camera, np.ndarray]]:
    """``n_views`` (camera, T_cam_from_world) pairs for ``scene`` (see module docstring)."""
    room = scene.kind == "room"
    base_range = cfg.near_baseline_room_m if room else cfg.near_baseline_street_m
    min_depth = cfg.min_view_depth_room_m if room else cfg.min_view_depth_street_m
    margin = 0.25 if room else 0.6
    views: list[tuple[Camera, np.ndarray]] = []
    targets: list[np.ndarray] = []
    for k in range(n_views):
        camera = sample_camera(rng, cfg)
        best = None
        for attempt in range(max_tries):
            near = k > 0 and rng.random() < cfg.p_near_view and attempt < max_tries // 2
            if near:
                r = int(rng.integers(len(views)))
                C_ref = camera_centre_m(views[r][1])
                step = rng.normal(size=3) * np.array([1.0, 1.0, 0.3])
                step *= np.exp(rng.uniform(*np.log(base_range))) / np.linalg.norm(step)
                C = C_ref + step
                dist = np.linalg.norm(targets[r] - C_ref)
                jitter = cfg.near_target_jitter_m * (1.0 if room else max(1.0, dist / 5.0))
                target = targets[r] + rng.normal(size=3) * jitter * np.array([1, 1, 0.5])
            else:
                C = rng.uniform(scene.free_space_lo, scene.free_space_hi)
                fp = scene.focus_points[int(rng.integers(len(scene.focus_points)))]
                target = fp + rng.normal(size=3) * np.array([0.5, 0.5, 0.3]) * (1.0 if room else 3.0)
            if np.linalg.norm(target - C) < min_depth or not _in_free_space(scene, C, margin):
                continue
            roll = np.radians(rng.uniform(-cfg.max_roll_deg, cfg.max_roll_deg))
            T = look_at_T_cam_from_world(C, target, roll)
            ok, score = _probe_ok(scene, camera, T, min_depth)
            if ok:
                best = (T, target)
                break
            if best is None or score > best[2]:
                best = (T, target, score)
        if best is None:  # no candidate was even in free space: look at a focus point from the middle
            C = 0.5 * (scene.free_space_lo + scene.free_space_hi)
            target = scene.focus_points[0]
            best = (look_at_T_cam_from_world(C, target), target)
        views.append((camera, best[0]))
        targets.append(best[1])
    return views
