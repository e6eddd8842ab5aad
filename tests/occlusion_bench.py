"""Hidden correspondence targets, measured against the synthetic world's exact geometry.

`hidden_rate(world_preset, focal_px, max_pixels, ...)` generates scenes in memory, standardises
both views of each covisible pair as the correspondence builder does (focal
normalisation + grid crop, z-depth), runs the builder's `match_pixels`, and for every
accepted match casts exact rays in the world: from camera 0 through the query pixel (the
surface point the question is about) and from camera 1 towards that point. A target is
hidden when the camera-1 ray hits a surface before the point (by more than 0.1 % of its
distance; the renderer's depth is exact to float32). Also returns the label error in
pixels (projection of the exact point vs the label's target).

Run directly for the numbers at release and demo sizes:
    .venv/bin/python tests/occlusion_bench.py
"""

from __future__ import annotations

import numpy as np

from vlm3.geometry.crop import crop_to_grid
from vlm3.geometry.focal import normalize_focal
from vlm3.geometry.transforms import invert_T, relative_T_cam1_from_cam0
from vlm3.tasks.common import RELEASE_MAX_PIXELS
from vlm3.tasks.correspondence.build import match_pixels
from vlm3.world.config import preset
from vlm3.world.generate import generate_scene
from vlm3.world.layouts import make_scene
from vlm3.world.render import cast_rays

HIDDEN_REL_TOL = 1e-3
SIZES = {"release": ("default", 1000.0, RELEASE_MAX_PIXELS), "demo": ("demo", 200.0, 49152)}


def _world_scene(cfg, seed: int, index: int):
    """The analytic Scene behind generated scene ``index`` (same rng draws as generate_scene)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
    w = np.asarray(cfg.kind_weights, dtype=np.float64)
    kind = str(rng.choice(cfg.kinds, p=w / w.sum()))
    return make_scene(rng, cfg, kind)


_CACHE: dict = {}


def _scene_record(cfg, seed: int, index: int):
    key = (cfg.preset, seed, index)
    if key not in _CACHE:
        _CACHE[key] = generate_scene(cfg, seed, index)
    return _CACHE[key]


def _rays_world(camera, T_cam_from_world, xy_px):
    T_wc = invert_T(T_cam_from_world)
    d_cam = np.c_[xy_px, np.ones(len(xy_px))] @ np.linalg.inv(camera.K).T
    return np.broadcast_to(T_wc[:3, 3], d_cam.shape), d_cam @ T_wc[:3, :3].T


def pair_stats(scene, rec, i: int, j: int, focal_px: float, max_pixels: int, max_checked: int = 20000,
               **match_kw):
    """(n checked matches, n hidden, label errors (n,) px) of the pair (i, j): at most
    ``max_checked`` accepted matches, drawn at random (seeded), are ray cast."""
    vi, vj = rec.views[i], rec.views[j]
    s0 = crop_to_grid(normalize_focal(vi.image, vi.camera, focal_px, vi.depth_z_m), max_pixels)
    s1 = crop_to_grid(normalize_focal(vj.image, vj.camera, focal_px, vj.depth_z_m), max_pixels)
    T10 = relative_T_cam1_from_cam0(vi.T_cam_from_world, vj.T_cam_from_world)
    xy0, xy1, ok, _, _ = match_pixels(s0.camera, s0.depth_m, s1.camera, s1.depth_m, T10, **match_kw)
    if not ok.any():
        return 0, 0, np.zeros(0)
    sel = np.flatnonzero(ok)
    if sel.size > max_checked:
        sel = np.sort(np.random.default_rng(0).choice(sel, max_checked, replace=False))
    q_src = s0.pixmap.to_src(xy0[sel].astype(np.float64))
    o, d = _rays_world(vi.camera, vi.T_cam_from_world, q_src)
    t, _ = cast_rays(scene, o, d)
    seen = np.isfinite(t)
    X = o[seen] + t[seen, None] * d[seen]
    C1 = invert_T(vj.T_cam_from_world)[:3, 3]
    t1, _ = cast_rays(scene, np.broadcast_to(C1, X.shape), X - C1)
    hidden = int(np.sum(t1 < 1.0 - HIDDEN_REL_TOL)) + int(np.sum(~seen))
    Xc1 = X @ vj.T_cam_from_world[:3, :3].T + vj.T_cam_from_world[:3, 3]
    proj, _ = s1.camera.project(Xc1)
    err = np.linalg.norm(proj - xy1[sel][seen], axis=1)
    return int(sel.size), hidden, err[np.isfinite(err)]


def hidden_rate(size: str, n_scenes: int = 2, seed: int = 7, max_pairs: int = 6, **match_kw) -> dict:
    """Hidden fraction of accepted matches and label errors over ``n_scenes`` scenes."""
    world, focal_px, max_pixels = SIZES[size]
    cfg = preset(world)
    n = hidden = 0
    errs = []
    for index in range(n_scenes):
        rec = _scene_record(cfg, seed, index)
        scene = _world_scene(cfg, seed, index)
        pairs = [p for p in rec.pairs if p.covisibility >= 0.25][:max_pairs]
        for p in pairs:
            a, b, e = pair_stats(scene, rec, p.i, p.j, focal_px, max_pixels, **match_kw)
            n, hidden, errs = n + a, hidden + b, errs + [e]
    e = np.concatenate(errs) if errs else np.zeros(0)
    return {"size": size, "n_matches": n, "hidden_rate": hidden / max(n, 1),
            "label_err_px_p99": float(np.percentile(e, 99)) if e.size else None,
            "label_err_px_max": float(e.max()) if e.size else None}


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    for size in SIZES:
        print(hidden_rate(size, n_scenes=int(sys.argv[2]) if len(sys.argv) > 2 else 3, **kw))
