"""Depth samples whose query points are given by the source (a curated sparse-points set).

A ``ViewRecord`` with ``depth_points`` (e.g. DepthLM's curated jsonl, read by
``vlm3.data.adapters.depthlm_jsonl``) carries its own pixels and labels: nothing is picked.
The image is standardised by `vlm3.tasks.common.standardize_for` (evaluation: the whole
focal-normalised image padded to the grid, or the release's resize, so no point leaves it;
training: the grid crop); every given pixel is mapped into the standardised image through
the ``PixelMap`` (its viewing ray), points that leave the image (a crop) are dropped and
counted, and the first ``questions_per_sample`` of the rest are asked, in the source's order
(the others are counted too).

The label kind is the source's (``DepthPoints.kind``: "ray" by default, "z" for nuScenes
and DDAD), unless the source option ``depth_label_kind`` asks for the other kind, in which
case each label is converted exactly at its pixel (ray = z * |K^-1 (x, y, 1)|).

Labels: as the dense builder's (``points``: ``xy_px`` (float, standardised pixels),
``xy_norm2000``, ``depth_m``, plus ``src_xy_px`` (the source's pixel)), ``depth_kind``,
``points_given: true``, ``points_dropped`` (outside the standardised image) and
``items_dropped`` ({reason: count}: the coverage of `vlm3.evaluate.coverage`).
"""

from __future__ import annotations

import numpy as np

from vlm3.geometry.depth import convert_depth
from vlm3.io.records import RecordError, ViewRecord
from vlm3.protocol import codecs
from vlm3.tasks.common import BuildContext, SampleDraft, draft_format_version, standardize_for, text_format_for


#: the reasons a given point is not asked (labels ``items_dropped``)
OUTSIDE = "outside the standardised image (crop)"
BEYOND_QUESTIONS = "beyond questions_per_sample"


def build_given(record: ViewRecord, ctx: BuildContext) -> SampleDraft:
    """One depth sample asking about the record's own ``depth_points`` (RecordError if none
    is left inside the standardised image)."""
    given = record.depth_points
    if given is None:
        raise RecordError(record.record_id, "the record has no given depth points")
    src_kind = given.kind
    kind = str(ctx.options.get("depth_label_kind", src_kind))
    sv = standardize_for("depth", record, ctx)
    std = sv.std
    w, h = std.camera.width, std.camera.height
    src_xy = np.asarray(given.xy_px, dtype=np.float64).reshape(-1, 2)
    depth = np.asarray(given.depth_m, dtype=np.float64).reshape(-1)
    dst_xy = std.pixmap.to_dst(src_xy)
    inside = (dst_xy[:, 0] >= -0.5) & (dst_xy[:, 0] < w - 0.5) & (dst_xy[:, 1] >= -0.5) & (dst_xy[:, 1] < h - 0.5)
    n_inside = int(np.count_nonzero(inside))
    keep = np.flatnonzero(inside)[: ctx.task.questions_per_sample]
    if len(keep) == 0:
        raise RecordError(record.image_path, f"none of the {len(src_xy)} given points lies inside the "
                                             f"standardised {w}x{h} image")
    labels_m = convert_depth(std.camera, dst_xy[keep], depth[keep], src_kind, kind)
    style = str(ctx.options.get("answer_style", getattr(ctx.task, "answer_style", "think")))
    fmt = text_format_for("depth", draft_format_version(ctx))
    norm = codecs.encode_xy_norm2000(dst_xy[keep], w, h)
    points, qa = [], []
    for xy, src, (nx, ny), d in zip(dst_xy[keep].tolist(), src_xy[keep].tolist(), norm.tolist(), labels_m.tolist()):
        points.append({"xy_px": xy, "xy_norm2000": [nx, ny], "depth_m": d, "src_xy_px": src})
        qa.append((fmt.prompt((nx, ny)), fmt.render_answer(d, style)))
    labels = {"points": points, "depth_kind": kind, "metric": record.metric, "points_given": True,
              "points_dropped": int(len(src_xy) - n_inside),
              "items_dropped": {k: n for k, n in ((OUTSIDE, len(src_xy) - n_inside),
                                                   (BEYOND_QUESTIONS, n_inside - len(keep))) if n},
              "camera": std.camera.to_dict(), "camera_from": sv.camera_from,
              "record_id": record.record_id, "scene_id": record.scene_id}
    return SampleDraft([std.image], qa, labels, [std.pixmap.to_dict()], draft_format_version(ctx))


__all__ = ["build_given"]
