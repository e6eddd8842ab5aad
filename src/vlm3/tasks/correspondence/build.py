"""Correspondence task: up to N "which pixel in image 2 matches (x, y) in image 1" questions.

Both views are standardised (focal, grid crop) with z-depth. Every valid pixel of view 0
is back-projected with its depth, moved by ``T_cam1_from_cam0`` and projected into view 1;
it is a label candidate when it passes the strict occlusion test of `match_pixels`
(bilinear depth agreement within ``occlusion_tol`` = 1 %, no nearer pixel within
``occlusion_window_px`` = 1, round trip within ``reprojection_tol_px`` = 1 px; options):
measured against the synthetic world's exact visibility, about 0.1 % of candidates are
hidden at release and demo sizes (tests/occlusion_bench.py; the former nearest-pixel 3 %
test: 1.3 % and 0.6 %). Covisibility = pixels passing the lenient test (nearest pixel,
3 %) / valid pixels of view 0; pairs below the task's ``min_covisibility`` (0.25) are
refused. Query pixels (integers) are spread over view 0;
prompts and answers use the 1000-grid of each image, in the task's ``text_format``.

Labels: ``{"matches": [{"query_xy_px", "query_xy_norm1000", "target_xy_px" (float),
"target_xy_norm1000", "target_xy_norm1000_float"}], "covisibility", "cameras"}``.
"""

from __future__ import annotations

import numpy as np

from vlm3.io.records import PairRecord, RecordError
from vlm3.tasks.common import (BuildContext, SampleDraft, draft_format_version, spread_pick, standardize_for,
                               text_format_for)
from vlm3.geometry.camera import Camera
from vlm3.geometry.transforms import apply_T
from vlm3.protocol import codecs


#: Defaults of the occlusion test (options ``occlusion_tol``, ``occlusion_window_px``,
#: ``reprojection_tol_px``), set where the hidden-target rate measured against the
#: synthetic world's exact visibility is <= 0.5 % at release and demo sizes
#: (tests/occlusion_bench.py, tests/test_occlusion.py).
OCCLUSION_TOL = 0.01
OCCLUSION_WINDOW_PX = 1
REPROJECTION_TOL_PX = 1.0
#: Covisibility (pair selection, ``min_covisibility``) keeps the lenient test: nearest pixel,
#: 3 % depth agreement; only the label candidates pass the strict one.
COVISIBILITY_TOL = 0.03


def _bilinear_inverse_depth(z_m: np.ndarray, xy_px: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of 1/z at xy (N, 2) from the 4 pixel centres around it; NaN
    where any of them has no depth (exact on planes, where 1/z is affine in pixels)."""
    H, W = z_m.shape
    x0 = np.clip(np.floor(xy_px[:, 0]).astype(np.int64), 0, max(W - 2, 0))
    y0 = np.clip(np.floor(xy_px[:, 1]).astype(np.int64), 0, max(H - 2, 0))
    x1, y1 = np.minimum(x0 + 1, W - 1), np.minimum(y0 + 1, H - 1)
    fx = np.clip(xy_px[:, 0] - x0, 0.0, 1.0)
    fy = np.clip(xy_px[:, 1] - y0, 0.0, 1.0)
    d = np.stack([z_m[y0, x0], z_m[y0, x1], z_m[y1, x0], z_m[y1, x1]], axis=1).astype(np.float64)
    with np.errstate(divide="ignore"):
        inv = np.where(d > 0, 1.0 / d, np.nan)
    w = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    return np.sum(w * inv, axis=1)


def _nearest_in_window(z_m: np.ndarray, ix: np.ndarray, iy: np.ndarray, r: int) -> np.ndarray:
    """Smallest valid depth in the (2r+1)^2 window around each pixel (inf where none)."""
    H, W = z_m.shape
    zz = np.where(z_m > 0, z_m.astype(np.float64), np.inf)
    out = np.full(ix.shape, np.inf)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out = np.minimum(out, zz[np.clip(iy + dy, 0, H - 1), np.clip(ix + dx, 0, W - 1)])
    return out


def match_pixels(cam0: Camera, z0_m: np.ndarray, cam1: Camera, z1_m: np.ndarray,
                 T_cam1_from_cam0: np.ndarray, occlusion_tol: float = OCCLUSION_TOL,
                 window_px: int = OCCLUSION_WINDOW_PX, reprojection_tol_px: float | None = REPROJECTION_TOL_PX
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Unoccluded matches of view 0's valid pixels in view 1.

    A pixel of view 0 (z-depth ``z0``) moved into view 1 (point at depth ``z`` projecting to
    ``xy1``) matches when all of these hold:

    1. ``xy1`` lies inside view 1, in front of the camera;
    2. visible there: 1 / (bilinear 1/z of view 1's 4 pixel centres around ``xy1``, all
       valid) agrees with ``z`` within ``occlusion_tol`` (relative);
    3. no occluder next to it: no pixel of view 1 within ``window_px`` of the nearest pixel
       is nearer than ``z * (1 - occlusion_tol)`` (the maps are nearest-resampled, so an
       edge a pixel away may hide the true spot);
    4. round trip: view 1's point at ``xy1`` (interpolated depth) projects back into view 0
       within ``reprojection_tol_px`` of the query pixel.

    Args:
        cam0, cam1: cameras of the two (standardised) images.
        z0_m, z1_m: (H, W) z-depth maps in metres (0 = invalid).
        T_cam1_from_cam0: 4x4, maps camera-0 points into camera 1.
    Returns:
        (xy0_px (M, 2) int pixels of view 0, xy1_px (M, 2) float pixels in view 1,
        ok (M,) bool match flags, n_valid0, n_covisible) over all valid pixels M of view 0;
        ``n_covisible`` counts the pixels that pass 1 and the lenient covisibility test
        (nearest pixel's depth within ``COVISIBILITY_TOL``).
    """
    ys, xs = np.nonzero(z0_m > 0)
    xy0 = np.stack([xs, ys], axis=1)
    X0 = cam0.unproject(xy0.astype(np.float64), z0_m[ys, xs])
    X1 = apply_T(T_cam1_from_cam0, X0)
    xy1, z = cam1.project(X1)
    ok = (z > 0) & np.all(np.isfinite(xy1), axis=1)
    ok &= cam1.contains(np.where(np.isfinite(xy1), xy1, -1.0))
    idx = np.flatnonzero(ok)
    p, zp = xy1[idx], z[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        z_interp = 1.0 / _bilinear_inverse_depth(z1_m, p)
        good = np.abs(z_interp - zp) <= occlusion_tol * zp
    ix = np.clip(np.rint(p[:, 0]).astype(np.int64), 0, cam1.width - 1)
    iy = np.clip(np.rint(p[:, 1]).astype(np.int64), 0, cam1.height - 1)
    zn = z1_m[iy, ix]
    n_covisible = int(np.sum((zn > 0) & (np.abs(zn - zp) <= COVISIBILITY_TOL * np.maximum(zp, 1e-9))))
    good &= _nearest_in_window(z1_m, ix, iy, int(window_px)) >= zp * (1.0 - occlusion_tol)
    if reprojection_tol_px is not None and np.any(good):
        g = np.flatnonzero(good)
        back = apply_T(np.linalg.inv(T_cam1_from_cam0), cam1.unproject(p[g], z_interp[g]))
        xy_back, zb = cam0.project(back)
        with np.errstate(invalid="ignore"):
            near = (zb > 0) & (np.linalg.norm(xy_back - xy0[idx[g]], axis=1) <= reprojection_tol_px)
        good[g[~near]] = False
    ok[idx[~good]] = False
    return xy0, xy1, ok, len(xy0), n_covisible


def build(record: PairRecord, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
    """One correspondence sample from a pair whose two views have depth."""
    if not isinstance(record, PairRecord):
        raise RecordError(record.record_id, "correspondence task needs a pair record")
    if record.view0.depth is None or record.view1.depth is None:
        raise RecordError(record.record_id, "correspondence needs depth for both views")
    views = [standardize_for("correspondence", v, ctx, with_depth=True, depth_kind="z")
             for v in (record.view0, record.view1)]
    s0, s1 = views[0].std, views[1].std
    xy0, xy1, ok, n_valid, n_covisible = match_pixels(
        s0.camera, s0.depth_m, s1.camera, s1.depth_m, record.T_cam1_from_cam0,
        float(ctx.options.get("occlusion_tol", OCCLUSION_TOL)),
        int(ctx.options.get("occlusion_window_px", OCCLUSION_WINDOW_PX)),
        float(ctx.options.get("reprojection_tol_px", REPROJECTION_TOL_PX)))
    covis = float(n_covisible) / max(n_valid, 1)
    if covis < ctx.task.min_covisibility:
        raise RecordError(record.record_id, f"covisibility {covis:.2f} below "
                                            f"{ctx.task.min_covisibility}")
    cand = np.nonzero(ok)[0]
    if cand.size == 0:
        raise RecordError(record.record_id, "no pixel passes the occlusion test (all near depth edges)")
    idx = cand[spread_pick(xy0[cand], s0.camera.width, s0.camera.height,
                           ctx.task.questions_per_sample, rng)]
    w0, h0, w1, h1 = s0.camera.width, s0.camera.height, s1.camera.width, s1.camera.height
    think = bool(ctx.options.get("think", False))
    fmt = text_format_for("correspondence", draft_format_version(ctx))
    matches, qa = [], []
    for i in idx:
        q = [int(xy0[i, 0]), int(xy0[i, 1])]
        t = [float(xy1[i, 0]), float(xy1[i, 1])]
        qn = [int(v) for v in codecs.encode_xy_norm1000(q, w0, h0)]
        tn = [int(v) for v in codecs.encode_xy_norm1000(t, w1, h1)]
        tf = [float(v) for v in codecs.xy_norm1000_float(t, w1, h1)]
        matches.append({"query_xy_px": q, "query_xy_norm1000": qn, "target_xy_px": t,
                        "target_xy_norm1000": tn, "target_xy_norm1000_float": tf})
        qa.append((fmt.prompt(qn, think=think), fmt.render_answer(tn)))
    labels = {"matches": matches, "covisibility": covis,
              "T_cam1_from_cam0": np.asarray(record.T_cam1_from_cam0).tolist(),
              "cameras": [s0.camera.to_dict(), s1.camera.to_dict()],
              "camera_from": [v.camera_from for v in views],
              "record_id": record.record_id, "scene_id": record.scene_id}
    return SampleDraft([s0.image, s1.image], qa, labels,
                       [s0.pixmap.to_dict(), s1.pixmap.to_dict()], draft_format_version(ctx))
