"""Adapter: RGB-D folders, described by a small JSON or in SUN RGB-D's own layout.

``source.path`` is either a JSON file (like ../shared/data/real/nyu/meta.json)::

    {"intrinsics_fx_fy_cx_cy": [fx, fy, cx, cy],     # pixels at the image's resolution
     "depth_scale": 1000.0,                          # metres = decoded value / depth_scale
     "depth_kind": "z",                              # optional, what the file stores
     "depth_encoding": "linear",                     # optional: linear | sunrgbd
     "metric": true,                                 # optional
     "frames": [{"rgb": "rgb/a.jpg", "depth": "depth/a.png",
                 "intrinsics_fx_fy_cx_cy": [...],    # optional per-frame override
                 "depth_scale": 1000.0,              # optional per-frame override
                 "depth_encoding": "sunrgbd",        # optional per-frame override
                 "scene": "kitchen_1"}, ...]}        # optional; default: the frame itself

or, with ``options.layout: sunrgbd``, the root of the public SUN RGB-D download
(``SUNRGBD/``): every folder holding ``intrinsics.txt`` (3x3 K, row-major), ``image/*.jpg``
and ``depth/*.png`` is one frame and its own scene (its path under the root, e.g.
``kv1/NYUdata/NYU0001``). Options there: ``depth_folder`` (default ``depth``, the raw
sensor depth; ``depth_bfx`` is the toolbox's filled version), ``include`` / ``exclude``
(path prefixes, e.g. ``exclude: [kv1/NYUdata]`` for DepthLM's SUN RGB-D, which leaves the
NYU frames out, or ``include: [kv1/NYUdata]`` for its "NYUv2").

SUN RGB-D's depth rule (stated choice): its 16-bit PNGs hold each depth rotated left by
3 bits; the layout decodes them as the SUN RGB-D toolbox and Open3D do,
``mm = ((v >> 3) | (v << 13)) & 0xFFFF``, metres = mm / 1000 (``depth_encoding: sunrgbd``,
``vlm3.io.images.decode_sunrgbd_depth``): the physical depth, so labels are true metres.
Reading the PNGs as plain millimetres gives depths 8x too far; DepthLM's ``v / 10000`` is
0.8x the toolbox's values. To reproduce the paper's SUN RGB-D column use DepthLM's curated
points (``adapter: depthlm_jsonl``), whose depths are DepthLM's own; in a JSON here
``depth_encoding: linear, depth_scale: 10000`` reproduces DepthLM's reading of the PNGs.

Paths are relative to the JSON's folder. Depth files: 16-bit PNG, ``.npy``/``.npz`` raw float
metres, or OpenEXR ``.exr`` (``depth_scale`` 1 for float metres). ``source.options`` may set
``depth_kind`` (default: the JSON's, else "z") and ``depth_encoding``. Missing intrinsics give
records with ``camera=None`` (calibration decides later). Checks here: readable JSON, files
present, image header readable, valid K (4 numbers; 9 for SUN RGB-D's intrinsics.txt).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from vlm3.data.adapters import camera_from_K, camera_from_intrinsics, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.io.records import DEPTH_ENCODINGS, DepthFile, Record, RecordError, Skipped, ViewRecord


def _sunrgbd_frames(root: Path, options: dict[str, Any]) -> Iterator[dict[str, Any] | Skipped]:
    """Frame dicts (rgb, depth, K, scene) of a SUN RGB-D tree, sorted by folder; rgb and depth
    relative to ``root`` (as a JSON's frames are to its folder: `iter_records` joins them once)."""
    depth_folder = str(options.get("depth_folder", "depth"))
    include = [str(p).strip("/") for p in options.get("include") or []]
    exclude = [str(p).strip("/") for p in options.get("exclude") or []]
    for intr in sorted(root.rglob("intrinsics.txt")):
        folder = intr.parent
        scene = folder.relative_to(root).as_posix()
        if (include and not any(scene == p or scene.startswith(p + "/") for p in include)) \
                or any(scene == p or scene.startswith(p + "/") for p in exclude):
            continue
        rgbs = sorted((folder / "image").glob("*.jpg")) + sorted((folder / "image").glob("*.png"))
        depths = sorted((folder / depth_folder).glob("*.png"))
        if not rgbs or not depths:
            missing = "image/*.jpg" if not rgbs else f"{depth_folder}/*.png"
            yield Skipped("", str(folder), f"SUN RGB-D frame without {missing}")
            continue
        try:
            K = [float(v) for v in intr.read_text().split()]
        except (ValueError, UnicodeDecodeError):
            yield Skipped("", str(intr), "intrinsics.txt is not 9 numbers (3x3 K)")
            continue
        yield {"rgb": rgbs[0].relative_to(root).as_posix(), "depth": depths[0].relative_to(root).as_posix(),
               "K": K, "scene": scene,
               "depth_scale": 1000.0, "depth_encoding": "sunrgbd"}


def _frames(source: SourceConfig) -> tuple[Path, dict[str, Any], Iterator[Any]] | Skipped:
    """(base folder, metadata defaults, frames) of either layout, or a source-level Skipped."""
    path = Path(source.path)
    layout = source.options.get("layout", "json")
    if layout == "sunrgbd":
        if not path.is_dir():
            return Skipped(source.name, str(path), "layout sunrgbd needs the SUN RGB-D root folder")
        return path, {"depth_kind": "z", "metric": True}, _sunrgbd_frames(path, source.options)
    if layout != "json":
        return Skipped(source.name, str(path), f"unknown layout {layout!r}; use json or sunrgbd")
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        return Skipped(source.name, str(path), "metadata JSON not found")
    except IsADirectoryError:
        return Skipped(source.name, str(path), "path is a folder: give the metadata JSON, or "
                                               "options.layout: sunrgbd for a SUN RGB-D tree")
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return Skipped(source.name, str(path), f"malformed JSON ({err})")
    if not isinstance(meta, dict) or not isinstance(meta.get("frames"), list):
        return Skipped(source.name, str(path), "malformed JSON: no 'frames' list")
    return path.parent, meta, iter(meta["frames"])


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """Yield one ViewRecord per frame (or a Skipped with the reason)."""
    got = _frames(source)
    if isinstance(got, Skipped):
        yield got
        return
    base, meta, frames = got
    depth_kind = source.options.get("depth_kind", meta.get("depth_kind", "z"))
    metric = bool(source.options.get("metric", meta.get("metric", True)))
    for i, frame in enumerate(frames):
        if isinstance(frame, Skipped):
            yield Skipped(source.name, frame.path, frame.reason)
            continue
        where = f"{source.path}#frames[{i}]"
        if not isinstance(frame, dict) or "rgb" not in frame:
            yield Skipped(source.name, where, "malformed frame: needs at least 'rgb'")
            continue
        scene = str(frame.get("scene", Path(frame["rgb"]).stem))
        rid = f"{source.name}/{scene if 'K' in frame else Path(frame['rgb']).stem}"
        try:
            rgb = resolve_path(base, frame["rgb"])
            width, height = image_size(rgb)
            if "K" in frame:
                camera = camera_from_K(str(rgb.parent.parent / "intrinsics.txt"),
                                       frame["K"], width, height)
            else:
                intr = frame.get("intrinsics_fx_fy_cx_cy", meta.get("intrinsics_fx_fy_cx_cy"))
                camera = None if intr is None else camera_from_intrinsics(where, intr, width, height)
            depth = None
            if frame.get("depth") is not None:
                dpath = resolve_path(base, frame["depth"])
                if not dpath.is_file():
                    raise RecordError(str(dpath), "depth file not found")
                encoding = str(frame.get("depth_encoding", source.options.get(
                    "depth_encoding", meta.get("depth_encoding", "linear"))))
                if encoding not in DEPTH_ENCODINGS:
                    raise RecordError(where, f"unknown depth_encoding {encoding!r}; use one of "
                                             f"{', '.join(DEPTH_ENCODINGS)}")
                depth = DepthFile(str(dpath), float(frame.get("depth_scale",
                                                              meta.get("depth_scale", 1.0))),
                                  depth_kind, encoding)
        except RecordError as err:
            yield Skipped(source.name, err.path, err.problem, rid)
            continue
        except (TypeError, ValueError) as err:
            yield Skipped(source.name, where, f"malformed frame ({err})", rid)
            continue
        yield ViewRecord(rid, source.name, scene, str(rgb), camera, depth, None, metric)
