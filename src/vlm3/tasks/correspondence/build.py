"""Correspondence task: up to N "which pixel in image 2 matches (x, y) in image 1" questions.

Both views are standardised (focal, grid crop) with z-depth. Every valid pixel of view 0
is back-projected with its depth, moved by ``T_cam1_from_cam0`` and projected into view 1;
it has a match when it lands inside view 1, in front of the camera, and agrees with view
1's depth there (relative difference <= ``occlusion_tol``, option, default 0.03), i.e. it
is not occluded. Covisibility = matched / valid pixels of view 0; pairs below the task's
``min_covisibility`` (0.25) are refused. Query pixels (integers) are spread over view 0;
prompts and answers use the 1000-grid of each image, in the task's ``text_format``.

Labels: ``{"matches": [{"query_xy_px", "query_xy_norm1000", "target_xy_px" (float),
"target_xy_norm1000", "target_xy_norm1000_float"}], "covisibility", "cameras"}``.
"""

from __future__ import annotations

import numpy as np

from vlm3.io.records import PairRecord, RecordError
from vlm3.standardize import standardize_view
from vlm3.tasks.common import BuildContext, SampleDraft, draft_format_version, spread_pick, text_format_for
from vlm3.geometry.camera import Camera
from vlm3.geometry.transforms import apply_T
from vlm3.protocol import codecs


def match_pixels(cam0: Camera, z0_m: np.ndarray, cam1: Camera, z1_m: np.ndarray,
                 T_cam1_from_cam0: np.ndarray, occlusion_tol: float = 0.03
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Unoccluded matches of view 0's valid pixels in view 1.

    Args:
        cam0, cam1: cameras of the two (standardised) images.
        z0_m, z1_m: (H, W) z-depth maps in metres (0 = invalid).
        T_cam1_from_cam0: 4x4, maps camera-0 points into camera 1.
    Returns:
        (xy0_px (M, 2) int pixels of view 0, xy1_px (M, 2) float pixels in view 1,
        ok (M,) bool match flags, n_valid0) over all valid pixels M of view 0.
    """
    ys, xs = np.nonzero(z0_m > 0)
    xy0 = np.stack([xs, ys], axis=1)
    X0 = cam0.unproject(xy0.astype(np.float64), z0_m[ys, xs])
    X1 = apply_T(T_cam1_from_cam0, X0)
    xy1, z = cam1.project(X1)
    ok = (z > 0) & np.all(np.isfinite(xy1), axis=1)
    ok &= cam1.contains(np.where(np.isfinite(xy1), xy1, -1.0))
    ix = np.clip(np.rint(np.nan_to_num(xy1[:, 0])).astype(np.int64), 0, cam1.width - 1)
    iy = np.clip(np.rint(np.nan_to_num(xy1[:, 1])).astype(np.int64), 0, cam1.height - 1)
    zs = z1_m[iy, ix]
    ok &= (zs > 0) & (np.abs(zs - z) <= occlusion_tol * np.maximum(z, 1e-9))
    return xy0, xy1, ok, len(xy0)


def build(record: PairRecord, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
    """One correspondence sample from a pair whose two views have depth."""
    if not isinstance(record, PairRecord):
        raise RecordError(record.record_id, "correspondence task needs a pair record")
    if record.view0.depth is None or record.view1.depth is None:
        raise RecordError(record.record_id, "correspondence needs depth for both views")
    views = [standardize_view(v, ctx.task.focal_px, ctx.task.max_pixels, ctx.grid, ctx.calibration,
                              with_depth=True, depth_kind="z")
             for v in (record.view0, record.view1)]
    s0, s1 = views[0].std, views[1].std
    tol = float(ctx.options.get("occlusion_tol", 0.03))
    xy0, xy1, ok, n_valid = match_pixels(s0.camera, s0.depth_m, s1.camera, s1.depth_m,
                                         record.T_cam1_from_cam0, tol)
    covis = float(ok.sum()) / max(n_valid, 1)
    if covis < ctx.task.min_covisibility:
        raise RecordError(record.record_id, f"covisibility {covis:.2f} below "
                                            f"{ctx.task.min_covisibility}")
    cand = np.nonzero(ok)[0]
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
