"""A fixed correspondence list as a benchmark (eval kind ``records``, ``adapter: correspondence_list``).

No public correspondence benchmark ships its query list (UFM publishes none), so runs
compare only on a list written once. The list is JSONL, one image pair per line, in the
field names of the VLM3 release's correspondence sample::

    {"image1": "a.png", "image2": "b.png",                  # relative to the list (option image_dir)
     "intrinsics1": [fx, fy, cx, cy], "intrinsics2": [...],   # optional (else: the calibration policy)
     "matches": [{"img1_pixel_orig": [x, y], "img2_pixel_orig": [x, y]}, ...]}

Pixels are of the original images (x = column, pixel centres at integers). Both images are
standardised by `vlm3.tasks.common.standardize_for` (focal ``focal_px``, default 1000 px;
evaluation: the whole image padded to the 32-px grid, or the release's resize); each query and its target are mapped through their image's ``PixelMap`` and
kept in the list's order (a match that leaves either standardised image -- only possible
under the training crop, ``preprocessing: project`` -- is dropped and counted in
``matches_dropped`` and ``items_dropped``, the coverage of `vlm3.evaluate.coverage`). The labels are the correspondence task's
(``matches``: ``query_xy_px``, ``query_xy_norm1000``, ``target_xy_px``, ...), so EPE is in
pixels of the standardised second image. Bad lines are ``RecordError`` (a counted skip).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vlm3.data.adapters import camera_from_intrinsics, image_size, resolve_path
from vlm3.io.records import RecordError, ViewRecord
from vlm3.protocol import codecs
from vlm3.tasks.common import BuildContext, SampleDraft, draft_format_version, standardize_for, text_format_for

ADAPTER = "correspondence_list"


def _view(where: str, entry: dict[str, Any], k: int, base: Path) -> ViewRecord:
    rel = entry.get(f"image{k}")
    if not rel:
        raise RecordError(where, f"missing image{k}")
    path = resolve_path(base, str(rel))
    w, h = image_size(path)
    intr = entry.get(f"intrinsics{k}")
    cam = None if intr is None else camera_from_intrinsics(where, intr, w, h)
    return ViewRecord(f"{where}#{k}", "list", str(rel), str(path), cam)


def _points(where: str, matches: Any, key: str) -> np.ndarray:
    try:
        xy = np.asarray([m[key] for m in matches], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise RecordError(where, f"every match needs {key} = [x, y]") from None
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.all(np.isfinite(xy)):
        raise RecordError(where, f"{key} must be [x, y] pairs of finite numbers")
    return xy


def build_pair(entry: Any, where: str, base: Path, ctx: BuildContext) -> SampleDraft:
    """One correspondence sample asking the line's own matches (RecordError if unusable)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("matches"), list) or not entry["matches"]:
        raise RecordError(where, "a line needs image1, image2 and a non-empty matches list")
    views = [standardize_for("correspondence", _view(where, entry, k, base), ctx) for k in (1, 2)]
    s0, s1 = views[0].std, views[1].std
    q = s0.pixmap.to_dst(_points(where, entry["matches"], "img1_pixel_orig"))
    t = s1.pixmap.to_dst(_points(where, entry["matches"], "img2_pixel_orig"))
    w0, h0, w1, h1 = s0.camera.width, s0.camera.height, s1.camera.width, s1.camera.height

    def inside(xy: np.ndarray, w: int, h: int) -> np.ndarray:
        return (xy[:, 0] >= -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] < h - 0.5)

    keep = np.flatnonzero(inside(q, w0, h0) & inside(t, w1, h1))
    if len(keep) == 0:
        raise RecordError(where, "no match lies inside both standardised images")
    fmt = text_format_for("correspondence", draft_format_version(ctx))
    think = bool(ctx.options.get("think", False))
    matches, qa = [], []
    for i in keep:
        qn = [int(v) for v in codecs.encode_xy_norm1000(q[i], w0, h0)]
        tn = [int(v) for v in codecs.encode_xy_norm1000(t[i], w1, h1)]
        tf = [float(v) for v in codecs.xy_norm1000_float(t[i], w1, h1)]
        matches.append({"query_xy_px": q[i].tolist(), "query_xy_norm1000": qn, "target_xy_px": t[i].tolist(),
                        "target_xy_norm1000": tn, "target_xy_norm1000_float": tf})
        qa.append((fmt.prompt(qn, think=think), fmt.render_answer(tn)))
    dropped = int(len(q) - len(keep))
    labels = {"matches": matches, "matches_dropped": dropped,
              "items_dropped": {"outside a standardised image": dropped} if dropped else {},
              "cameras": [s0.camera.to_dict(), s1.camera.to_dict()],
              "camera_from": [v.camera_from for v in views], "record_id": where}
    return SampleDraft([s0.image, s1.image], qa, labels, [s0.pixmap.to_dict(), s1.pixmap.to_dict()],
                       draft_format_version(ctx))


def iter_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, parsed line or RecordError) per non-empty line of the list."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError) as err:
        yield str(path), RecordError(str(path), f"unreadable correspondence list ({err})")
        return
    for i, line in enumerate(lines):
        if line.strip():
            try:
                yield f"{path.name}:{i + 1}", json.loads(line)
            except json.JSONDecodeError as err:
                yield f"{path.name}:{i + 1}", RecordError(f"{path}:{i + 1}", f"malformed JSON line ({err})")


__all__ = ["ADAPTER", "build_pair", "iter_lines"]
