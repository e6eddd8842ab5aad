"""Object task: SpatialRGPT-style questions about boxed regions, generated or passed through.

Generated (a ``ViewRecord`` with >= 2 objects that have 3D boxes): up to N questions mixing
qualitative predicates (left/right, above/below, behind/front, big/small, tall/short,
wide/thin) and quantitative ones (direct/horizontal/vertical distance, width, height,
clock direction), with truth computed from the boxes in the camera frame: "left" compares
x, "behind" the distance to the camera, "above" the height along the up vector
(``world_up`` option rotated by ``T_cam_from_world``; default: camera -y), sizes are
(width, height, length) in metres. Near-ties (relative difference < ``tie_tol``, 0.1)
are not asked. The source option ``qualitative_fraction`` (default 0.5) is the chance that a
generated question is qualitative rather than quantitative.

Pass-through (an ``ObjectQARecord``): the source's turns with ``{region<i>}`` replaced
by ``bounding box region (x1, y1, x2, y2)`` (compact: ``region (x1, y1, x2, y2)``; the
source's wording is otherwise kept).

Text: the task's text format (``vlm3.tasks.common.text_format_for``): release
(SpatialRGPT-style templates) or the demo's compact (one short question per
predicate/kind; answers ``Yes``/``No``, ``001.23 m``, ``10 o'clock``); the template index is
drawn in both formats so the same seed asks the same questions.

Boxes are mapped into the standardised image (PixelMap), clipped, and written on the
1000-grid of that image. A region cut away by the size cap below ``min_box_keep`` (0.5)
of its area is not used (pass-through: the record is refused). Under ``preprocessing:
release`` the 1000-grid box is the release's: the ORIGINAL box against the ORIGINAL size
(``round(v / size * 1000)``, `region_entry`), which can differ by one from the box mapped
into the resized image (the release's object sample: 562, not 563).

Labels: ``{"regions": [{"box_xyxy_px", "box_norm1000", "name"}], "questions": [{"kind",
"predicate", "regions", "truth" | "value"}], "camera", "camera_from"}``.
"""

from __future__ import annotations

import re

import numpy as np

from vlm3.io.records import ObjectQARecord, RecordError, ViewRecord
from vlm3.tasks.common import (BuildContext, SampleDraft, draft_format_version, release_mode, standardize_for,
                               text_format_for)
from vlm3.geometry.focal import PixelMap
from vlm3.protocol import codecs
from vlm3.tasks.object.questions import clock_from_direction

_PAIRS = (("left", "right"), ("above", "below"), ("behind", "front"), ("big", "small"),
          ("tall", "short"), ("wide", "thin"))
_QUANT = ("direct_distance", "horizontal_distance", "vertical_distance", "width", "height",
          "direction")


def map_box(pixmap: PixelMap, box_xyxy_px, min_keep: float = 0.5) -> list[float] | None:
    """Source-image box -> standardised-image box (clipped), or None if mostly cut away."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy_px)
    corners = pixmap.to_dst(np.array([[x1, y1], [x2, y2]]))
    w, h = pixmap.dst.width, pixmap.dst.height
    (a1, b1), (a2, b2) = corners
    c1, d1 = max(a1, 0.0), max(b1, 0.0)
    c2, d2 = min(a2, w - 1.0), min(b2, h - 1.0)
    if c2 <= c1 or d2 <= d1:
        return None
    full = max((a2 - a1) * (b2 - b1), 1e-9)
    if (c2 - c1) * (d2 - d1) / full < min_keep:
        return None
    return [c1, d1, c2, d2]


def region_entry(box_src_px, box_std_px: list[float], name: str, pixmap: PixelMap, release: bool) -> dict:
    """A region label: its standardised box and its 1000-grid box -- of the standardised image,
    or (``release``) of the original box against the original size, as the release writes it."""
    if release:
        norm = codecs.encode_box_norm1000(np.asarray(box_src_px, float), pixmap.src.width, pixmap.src.height)
    else:
        norm = codecs.encode_box_norm1000(box_std_px, pixmap.dst.width, pixmap.dst.height)
    return {"box_xyxy_px": box_std_px, "name": name, "box_norm1000": [int(v) for v in norm]}


def qualitative_fraction(options: dict) -> float:
    """The ``qualitative_fraction`` source option (default 0.5); ValueError outside [0, 1]."""
    value = options.get("qualitative_fraction", 0.5)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"options.qualitative_fraction must be a number in [0, 1], got {value!r}")
    return float(value)


def _up_cam(record: ViewRecord, options: dict) -> np.ndarray:
    if record.T_cam_from_world is not None and options.get("world_up") is not None:
        up = np.asarray(record.T_cam_from_world)[:3, :3] @ np.asarray(options["world_up"], float)
        return up / np.linalg.norm(up)
    return np.array([0.0, -1.0, 0.0])


def _qualitative_value(pred: str, ca, cb, sa, sb, up) -> tuple[float, float]:
    """(value of A, value of B) for the first predicate of each pair; truth = A > B."""
    if pred == "left":
        return -ca[0], -cb[0]
    if pred == "above":
        return float(ca @ up), float(cb @ up)
    if pred == "behind":
        return float(np.linalg.norm(ca)), float(np.linalg.norm(cb))
    if pred == "big":
        return float(np.prod(sa)), float(np.prod(sb))
    if pred == "tall":
        return sa[1], sb[1]
    return sa[0], sb[0]  # wide


def _generated(record: ViewRecord, ctx: BuildContext, rng: np.random.Generator, pixmap: PixelMap):
    keep = float(ctx.options.get("min_box_keep", 0.5))
    tie = float(ctx.options.get("tie_tol", 0.1))
    qual_fraction = qualitative_fraction(ctx.options)
    up = _up_cam(record, ctx.options)
    regions, objs = [], []
    for o in record.objects:
        if o.center_cam_m is None or o.size_m is None:
            continue
        box = map_box(pixmap, o.box_xyxy_px, keep)
        if box is not None:
            regions.append(region_entry(o.box_xyxy_px, box, o.name, pixmap, release_mode(ctx)))
            objs.append((np.asarray(o.center_cam_m, float), np.asarray(o.size_m, float)))
    if len(objs) < 2:
        raise RecordError(record.image_path, "fewer than two usable 3D-boxed objects in view")
    qa, questions = [], []
    fmt = text_format_for("object", draft_format_version(ctx))
    tries = 0
    while len(qa) < ctx.task.questions_per_sample and tries < 20 * ctx.task.questions_per_sample:
        tries += 1
        a, b = (int(v) for v in rng.choice(len(objs), size=2, replace=False))
        (ca, sa), (cb, sb) = objs[a], objs[b]
        ba, bb = regions[a]["box_norm1000"], regions[b]["box_norm1000"]
        tmpl = int(rng.integers(0, 3))
        if rng.random() < qual_fraction:
            pair = _PAIRS[int(rng.integers(0, len(_PAIRS)))]
            va, vb = _qualitative_value(pair[0], ca, cb, sa, sb, up)
            if abs(va - vb) < tie * max(abs(va), abs(vb), 1e-6):
                continue
            pred = pair[int(rng.integers(0, 2))]
            truth = (va > vb) if pred == pair[0] else (va < vb)
            q, ans = fmt.render_qualitative(pred, ba, bb, truth, tmpl)
            questions.append({"kind": "qualitative", "predicate": pred, "regions": [a, b],
                              "truth": bool(truth)})
        else:
            kind = _QUANT[int(rng.integers(0, len(_QUANT)))]
            d = cb - ca
            vert = float(d @ up)
            if kind == "direct_distance":
                value = float(np.linalg.norm(d))
            elif kind == "vertical_distance":
                value = abs(vert)
            elif kind == "horizontal_distance":
                value = float(np.linalg.norm(d - vert * up))
            elif kind == "width":
                value = float(sa[0])
            elif kind == "height":
                value = float(sa[1])
            else:
                if np.hypot(d[0], d[2]) < 1e-6:
                    continue
                value = clock_from_direction(float(d[0]), float(d[2]))
            bb_q = None if kind in ("width", "height") else bb
            q, ans = fmt.render_quantitative(kind, ba, bb_q, value, tmpl)
            questions.append({"kind": "quantitative", "predicate": kind,
                              "regions": [a] if kind in ("width", "height") else [a, b],
                              "value": value})
        qa.append((q, ans))
    if not qa:
        raise RecordError(record.image_path, "no unambiguous question could be generated")
    return regions, questions, qa


def _passthrough(record: ObjectQARecord, ctx: BuildContext, pixmap: PixelMap):
    keep = float(ctx.options.get("min_box_keep", 0.5))
    regions = []
    for i, b in enumerate(record.boxes_xyxy_px):
        box = map_box(pixmap, b, keep)
        if box is None:
            raise RecordError(record.view.image_path, f"region {i} is cut away by the size cap")
        regions.append(region_entry(b, box, f"region {i}", pixmap, release_mode(ctx)))

    region = text_format_for("object", draft_format_version(ctx)).region_text

    def fill(text: str) -> str:
        return re.sub(r"\{region(\d+)\}", lambda m: region(regions[int(m.group(1))]["box_norm1000"]), text)

    qa = [(fill(q), fill(a)) for q, a in record.turns]
    if record.truths:  # one question per turn, its truth read from the reference answer by the adapter
        return regions, [dict(t) for t in record.truths], qa
    questions = [{"kind": record.qa_type or "passthrough", "predicate": record.category,
                  "regions": sorted({int(i) for t in record.turns for i in
                                     re.findall(r"\{region(\d+)\}", t[0] + t[1])})}]
    return regions, questions, qa


def build(record: ViewRecord | ObjectQARecord, ctx: BuildContext,
          rng: np.random.Generator) -> SampleDraft:
    """One object sample (generated from 3D boxes, or passed through)."""
    view = record.view if isinstance(record, ObjectQARecord) else record
    sv = standardize_for("object", view, ctx, one_scale=True)  # release: one scale
    std = sv.std
    if isinstance(record, ObjectQARecord):
        regions, questions, qa = _passthrough(record, ctx, std.pixmap)
    else:
        regions, questions, qa = _generated(record, ctx, rng, std.pixmap)
    labels = {"regions": regions, "questions": questions, "camera": std.camera.to_dict(),
              "camera_from": sv.camera_from, "record_id": record.record_id,
              "scene_id": record.scene_id}
    return SampleDraft([std.image], qa, labels, [std.pixmap.to_dict()], draft_format_version(ctx))
