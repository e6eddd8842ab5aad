"""Depth task: up to N "how far is the point at (x, y)" questions about one standardised image.

Query pixels are integer pixels of the standardised image with a valid depth, spread
over the image (3x3 cells) and over the depth range (quantile bins). The prompt writes
them on the 2000-grid (``vlm3.protocol.codecs``); the label is the depth map's value at
that very pixel, as a ray length unless the source (option ``depth_label_kind``) or the
task config says z.

Labels: ``{"points": [{"xy_px": [x, y], "xy_norm2000": [nx, ny], "depth_m": d}, ...],
"depth_kind": "ray"|"z", "metric": bool, "camera": std camera dict, "camera_from": ...}``.
"""

from __future__ import annotations

import numpy as np

from vlm3.io.records import RecordError, ViewRecord
from vlm3.tasks.common import (BuildContext, SampleDraft, draft_format_version, spread_pick, standardize_for,
                               text_format_for)
from vlm3.geometry.depth import convert_depth
from vlm3.protocol import codecs


def _candidates(depth: np.ndarray, rng: np.random.Generator,
                probes: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of valid pixels: a random probe of ``probes`` pixels when that finds enough
    (cost independent of the image size, and few enough that ``spread_pick`` needs no
    second subsample), else every valid pixel."""
    h, w = depth.shape
    if h * w > 4 * probes:
        flat = np.sort(rng.integers(0, h * w, size=probes))
        flat = flat[np.concatenate(([True], flat[1:] != flat[:-1]))]  # = np.unique, cheaper
        ys, xs = np.divmod(flat, w)
        ok = depth[ys, xs] > 0
        if np.count_nonzero(ok) >= 256:
            return ys[ok], xs[ok]
    return np.nonzero(depth > 0)


def build(record: ViewRecord, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
    """One depth sample from a view with depth (RecordError if unusable)."""
    if not isinstance(record, ViewRecord):
        raise RecordError(record.record_id, "depth task needs a single view record")
    if record.depth_points is not None:  # a curated sparse-points source: its points, not picked
        from vlm3.tasks.depth.given_points import build_given
        return build_given(record, ctx)
    kind = str(ctx.options.get("depth_label_kind", ctx.task.depth_label_kind))
    # depth as stored; only the picked points are converted to the label kind (cheap)
    sv = standardize_for("depth", record, ctx, with_depth=True)
    std = sv.std
    depth = std.depth_m
    ys, xs = _candidates(depth, rng)
    xy = np.stack([xs, ys], axis=1).astype(np.int64)
    idx = spread_pick(xy, std.camera.width, std.camera.height,
                      ctx.task.questions_per_sample, rng, values=depth[ys, xs])
    if len(idx) == 0:
        raise RecordError(record.image_path, "no valid depth pixel to ask about")
    labels_m = convert_depth(std.camera, xy[idx].astype(np.float64),
                             depth[ys[idx], xs[idx]].astype(np.float64), sv.depth_kind, kind)
    w, h = std.camera.width, std.camera.height
    style = str(ctx.options.get("answer_style", getattr(ctx.task, "answer_style", "think")))
    fmt = text_format_for("depth", draft_format_version(ctx))  # the compact format ignores style
    picked = xy[idx]
    norm = codecs.encode_xy_norm2000(picked, w, h)  # (k, 2) in one call
    points, qa = [], []
    for (x, y), (nx, ny), d in zip(picked.tolist(), norm.tolist(), labels_m.tolist()):
        points.append({"xy_px": [x, y], "xy_norm2000": [nx, ny], "depth_m": d})
        qa.append((fmt.prompt((nx, ny)), fmt.render_answer(d, style)))
    labels = {"points": points, "depth_kind": kind, "metric": record.metric,
              "camera": std.camera.to_dict(), "camera_from": sv.camera_from,
              "record_id": record.record_id, "scene_id": record.scene_id}
    return SampleDraft([std.image], qa, labels, [std.pixmap.to_dict()], draft_format_version(ctx))
