"""Adapter: RGB-D folders described by a small JSON (like ../shared/data/real/nyu/meta.json).

``source.path`` is the JSON file. Its keys::

    {"intrinsics_fx_fy_cx_cy": [fx, fy, cx, cy],     # pixels at the image's resolution
     "depth_scale": 1000.0,                          # metres = stored value / depth_scale
     "depth_kind": "z",                              # optional, what the file stores
     "metric": true,                                 # optional
     "frames": [{"rgb": "rgb/a.jpg", "depth": "depth/a.png",
                 "intrinsics_fx_fy_cx_cy": [...],    # optional per-frame override
                 "scene": "kitchen_1"}, ...]}        # optional; default: the frame itself

Paths are relative to the JSON's folder. ``source.options`` may set ``depth_kind``
(default: the JSON's, else "z"). Frames without a scene are their own scene for the
train/val/test split. Missing intrinsics give records with ``camera=None`` (calibration
decides later). Checks here: readable JSON, files present, image header readable, valid K.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from vlm3.data.adapters import camera_from_intrinsics, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.io.records import DepthFile, Record, RecordError, Skipped, ViewRecord


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """Yield one ViewRecord per frame of the JSON (or a Skipped with the reason)."""
    meta_path = Path(source.path)
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        yield Skipped(source.name, str(meta_path), "metadata JSON not found")
        return
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        yield Skipped(source.name, str(meta_path), f"malformed JSON ({err})")
        return
    if not isinstance(meta, dict) or not isinstance(meta.get("frames"), list):
        yield Skipped(source.name, str(meta_path), "malformed JSON: no 'frames' list")
        return
    base = meta_path.parent
    depth_kind = source.options.get("depth_kind", meta.get("depth_kind", "z"))
    metric = bool(source.options.get("metric", meta.get("metric", True)))
    for i, frame in enumerate(meta["frames"]):
        where = f"{meta_path}#frames[{i}]"
        if not isinstance(frame, dict) or "rgb" not in frame:
            yield Skipped(source.name, where, "malformed frame: needs at least 'rgb'")
            continue
        rid = f"{source.name}/{Path(frame['rgb']).stem}"
        try:
            rgb = resolve_path(base, frame["rgb"])
            width, height = image_size(rgb)
            intr = frame.get("intrinsics_fx_fy_cx_cy", meta.get("intrinsics_fx_fy_cx_cy"))
            camera = None if intr is None else camera_from_intrinsics(where, intr, width, height)
            depth = None
            if frame.get("depth") is not None:
                dpath = resolve_path(base, frame["depth"])
                if not dpath.is_file():
                    raise RecordError(str(dpath), "depth file not found")
                depth = DepthFile(str(dpath), float(frame.get("depth_scale",
                                                              meta.get("depth_scale", 1.0))),
                                  depth_kind)
        except RecordError as err:
            yield Skipped(source.name, err.path, err.problem, rid)
            continue
        except (TypeError, ValueError) as err:
            yield Skipped(source.name, where, f"malformed frame ({err})", rid)
            continue
        scene = str(frame.get("scene", Path(frame["rgb"]).stem))
        yield ViewRecord(rid, source.name, scene, str(rgb), camera, depth, None, metric)
