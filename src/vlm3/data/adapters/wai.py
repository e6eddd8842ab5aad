"""Adapter: MapAnything's WAI scenes (``scene_meta.json`` + EXR depth + covisibility).

WAI is the unified multi-view format MapAnything's conversion scripts write for 12 of the
paper's 14 multi-view training sources and for the ETH3D / ScanNet++ test scenes
(facts in ../shared/FORMATS.md, read from facebookresearch/map-anything). A scene folder::

    <root>/<scene>/scene_meta.json          frames + intrinsics + modalities (used)
    <root>/<scene>/scene_meta_distorted.json not undistorted yet: the scene is skipped
    <root>/<scene>/images/..., depth/... (EXR, z-depth in metres, half float)
    <root>/<scene>/covisibility/v0/pairwise_covisibility--NxN.npy   (or where scene_meta.json's
        scene_modalities.pairwise_covisibility.scene_key says: DL3DV's covisibility/v0_mvsa_based/)

``source.path`` is the dataset root (a folder of scene folders) or one scene folder.
Conventions converted here: ``transform_matrix`` is camera-to-world in OpenCV axes, so each
view gets ``T_cam_from_world = invert_T(c2w)`` and each pair
``T_cam1_from_cam0 = T_cam1_from_world @ inv(T_cam0_from_world)``; intrinsics ``fl_x, fl_y,
cx, cy, w, h`` come from the frame, else from the scene (``shared_intrinsics``), with
``camera_model: PINHOLE`` and zero distortion required; integer pixel centres as in vlm3.

Yields, per usable scene: one ``ViewRecord`` per frame with depth (the depth task) when the
scene is metric (``scale_type: metric``; "colmap" and other scales give no depth records, and
their pairs are ``metric=False``: the pose task asks no distance question), and one
``PairRecord`` per frame pair i < j whose normalised covisibility exceeds
``min_covisibility`` (correspondence and pose). Normalisation is MapAnything's: the score of
(i, j) is ``(C[i, j] + C[j, i]) / 2 / (C[i, i] + 1e-8)`` (its row normalised by its diagonal),
kept when strictly above the threshold; the score is the pair's ``covisibility``.

Options (``source.options``):
  depth_key: the depth modality in ``frame_modalities`` (default: ``depth``, else
      ``rendered_depth``); nested keys with "/" (``pred_depth/mvsanywhere`` for DL3DV).
  image_key: the image modality (default ``image``; falls back to ``file_path``).
  min_covisibility: pair threshold (default 0.25: VLM3's training rule, MapAnything's
      ScanNet++ test value; MapAnything's ETH3D test value is 0.025).
  max_pairs_per_scene: keep at most this many pairs per scene, a seeded subset (default
      1000; 0 = all).
  depth_views: yield the depth records (default true).
  split_lists: folder of MapAnything's split lists
      (``<dir>/<split>/<dataset>_scene_list_<split>.npy`` or ``.txt``): each scene's split
      becomes its ``split_hint`` (``split: source`` in the config follows it).
  dataset: the dataset name in those file names (default: the root folder's name).
  splits: keep only scenes listed in these splits (needs ``split_lists``).
  scenes: keep only these scene names.
  pair_list: a pair list file (``vlm3 data pair-list``, vlm3.data.pair_lists): yield exactly
      its pairs (and no depth records unless ``depth_views`` is set true).

Scene-level files (scene_meta.json, covisibility, split lists) are read by
`vlm3.data.adapters.wai_scene`; this module re-exports its names.

Bad input becomes a ``Skipped`` with its reason: a distorted-only or unreadable scene, a
camera model other than undistorted PINHOLE, missing intrinsics, a frame whose image or
depth file is missing, a covisibility matrix of the wrong size. Depth pixels are read
later (a truncated EXR is a counted skip of the build, or one line under ``--strict``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vlm3.data.adapters import camera_from_intrinsics, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.data.mixture import stable_int
from vlm3.errors import Vlm3Error
from vlm3.geometry.camera import GeometryError
from vlm3.geometry.transforms import check_T, invert_T, relative_T_cam1_from_cam0
from vlm3.io.records import DepthFile, PairRecord, Record, RecordError, Skipped, ViewRecord
from vlm3.data.adapters.wai_scene import (META, META_DISTORTED, SPLITS, SceneError, covisibility_file, is_metric,
                                         load_covisibility, load_scene_meta, normalized_covisibility,
                                         read_split_lists, scene_dirs)

DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
#: the pair-list file format written by ``vlm3 data pair-list`` (vlm3.data.pair_lists)
PAIR_LIST_FORMAT = "vlm3-pair-list-v1"


def modality_frame_key(meta: dict[str, Any], key: str) -> str:
    """The frame field naming a modality's file (``frame_modalities[...]["frame_key"]``);
    nested keys with "/" (``pred_depth/mvsanywhere``). SceneError if absent."""
    node: Any = meta.get("frame_modalities", {})
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            have = sorted(meta.get("frame_modalities", {}))
            raise SceneError(f"modality {key!r} not in frame_modalities {have}; set options.depth_key")
        node = node[part]
    if not isinstance(node, dict) or "frame_key" not in node:
        subs = sorted(node) if isinstance(node, dict) else []
        raise SceneError(f"modality {key!r} is nested ({subs}); name one, e.g. {key}/{subs[0] if subs else '...'}")
    return str(node["frame_key"])


def default_depth_key(meta: dict[str, Any]) -> str:
    """``depth`` when the scene has it, else ``rendered_depth`` (ScanNet++), else SceneError."""
    mods = meta.get("frame_modalities", {})
    for key in ("depth", "rendered_depth"):
        if key in mods:
            return key
    raise SceneError(f"no depth modality in frame_modalities {sorted(mods)}; set options.depth_key")


def frame_camera(meta: dict[str, Any], frame: dict[str, Any], where: str, width: int, height: int):
    """Checked pinhole camera of a frame (frame keys first, then scene keys); RecordError."""
    model = frame.get("camera_model", meta.get("camera_model", "PINHOLE"))
    if model != "PINHOLE":
        raise RecordError(where, f"camera_model {model!r}: only undistorted PINHOLE is supported "
                                 "(run MapAnything's undistortion first)")
    for k in DISTORTION_KEYS:
        if float(frame.get(k, 0) or 0) != 0 or float(meta.get(k, 0) or 0) != 0:
            raise RecordError(where, f"non-zero distortion {k}: undistort the scene first")
    vals = []
    for k in ("fl_x", "fl_y", "cx", "cy"):
        v = frame.get(k, meta.get(k))
        if v is None:
            raise RecordError(where, f"missing intrinsic {k} (neither on the frame nor the scene)")
        vals.append(v)
    w, h = frame.get("w", meta.get("w")), frame.get("h", meta.get("h"))
    if w is not None and h is not None and (int(w), int(h)) != (width, height):
        raise RecordError(where, f"image is {width}x{height} but scene_meta says w x h = {w}x{h}")
    return camera_from_intrinsics(where, vals, width, height)


def frame_T_cam_from_world(frame: dict[str, Any], where: str) -> np.ndarray:
    """``invert_T`` of the frame's 4x4 camera-to-world ``transform_matrix``; RecordError."""
    if "transform_matrix" not in frame:
        raise RecordError(where, "frame has no transform_matrix")
    try:
        c2w = check_T(np.asarray(frame["transform_matrix"], dtype=np.float64).reshape(4, 4),
                      name="transform_matrix")
    except (ValueError, TypeError, GeometryError) as err:
        raise RecordError(where, f"bad transform_matrix ({err})") from None
    return invert_T(c2w)


class PairListError(Vlm3Error, ValueError):
    """A pair list that cannot be read; ``str(err)`` is one line naming the file."""


def read_pair_list(path: str | Path) -> dict[str, Any]:
    """Read and check a pair-list file (PairListError naming the file and the problem)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise PairListError(f"{path}: pair list not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PairListError(f"{path}: malformed pair list ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != PAIR_LIST_FORMAT:
        raise PairListError(f"{path}: not a {PAIR_LIST_FORMAT} file (write one with "
                            "`vlm3 data pair-list`)")
    for k, p in enumerate(doc.get("pairs", [])):
        if not isinstance(p, dict) or not {"scene", "frame0", "frame1", "covisibility"} <= set(p):
            raise PairListError(f"{path}: pairs[{k}] needs scene, frame0, frame1, covisibility")
    return doc


def pairs_by_scene(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A pair list's pairs grouped by scene name (file order kept)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in doc.get("pairs", []):
        out.setdefault(str(p["scene"]), []).append(p)
    return out


def _views(source: SourceConfig, scene_dir: Path, meta: dict[str, Any], depth_key: str,
           metric: bool, split: str | None) -> Iterator[tuple[int, ViewRecord] | Skipped]:
    image_key = str(source.options.get("image_key", "image"))
    mods = meta.get("frame_modalities", {})
    img_field = modality_frame_key(meta, image_key) if image_key in mods else None
    dep_field = modality_frame_key(meta, depth_key)
    scene = scene_dir.name
    for i, frame in enumerate(meta["frames"]):
        name = str(frame.get("frame_name", i)) if isinstance(frame, dict) else str(i)
        where, rid = f"{scene_dir / META}#frames[{i}]", f"{source.name}/{scene}/{name}"
        if not isinstance(frame, dict):
            yield Skipped(source.name, where, "malformed frame (not an object)", rid)
            continue
        try:
            rel = frame.get(img_field) if img_field else None
            rel = rel or frame.get("file_path") or frame.get("image")
            if not rel:
                raise RecordError(where, "frame names no image (image modality or file_path)")
            img = resolve_path(scene_dir, str(rel))
            width, height = image_size(img)
            camera = frame_camera(meta, frame, where, width, height)
            T = frame_T_cam_from_world(frame, where)
            if not frame.get(dep_field):
                raise RecordError(where, f"frame has no {depth_key} file ({dep_field!r})")
            dep = resolve_path(scene_dir, str(frame[dep_field]))
            if not dep.is_file():
                raise RecordError(str(dep), f"{depth_key} file not found")
        except RecordError as err:
            yield Skipped(source.name, err.path, err.problem, rid)
            continue
        except (TypeError, ValueError) as err:
            yield Skipped(source.name, where, f"malformed frame ({err})", rid)
            continue
        yield i, ViewRecord(rid, source.name, scene, str(img), camera,
                            DepthFile(str(dep), 1.0, "z"), T, metric, (), split)


def _pair(source: SourceConfig, scene: str, v0: ViewRecord, v1: ViewRecord, names: tuple[str, str],
          covis: float, metric: bool, split: str | None) -> PairRecord:
    T01 = relative_T_cam1_from_cam0(v0.T_cam_from_world, v1.T_cam_from_world)
    return PairRecord(f"{source.name}/{scene}/{names[0]}+{names[1]}", source.name, scene, v0, v1,
                      T01, metric, covis, split)


def _scene_records(source: SourceConfig, scene_dir: Path, split: str | None,
                   listed: list[dict[str, Any]] | None) -> Iterator[Record | Skipped]:
    opts = source.options
    meta = load_scene_meta(scene_dir)
    metric = is_metric(meta)
    depth_key = str(opts.get("depth_key") or default_depth_key(meta))
    views: dict[int, ViewRecord] = {}
    for item in _views(source, scene_dir, meta, depth_key, metric, split):
        if isinstance(item, Skipped):
            yield item
        else:
            views[item[0]] = item[1]
    want_depth = opts.get("depth_views")
    if (want_depth if want_depth is not None else listed is None) and metric:
        yield from views.values()
    names = [str(f.get("frame_name", i)) if isinstance(f, dict) else str(i)
             for i, f in enumerate(meta["frames"])]
    if listed is not None:  # exactly the pairs of a pair list
        index = {n: i for i, n in enumerate(names)}
        for p in listed:
            i, j = index.get(str(p["frame0"])), index.get(str(p["frame1"]))
            if i is None or j is None or i not in views or j not in views:
                yield Skipped(source.name, str(scene_dir / META), f"pair {p['frame0']}+{p['frame1']} "
                              "of the pair list: frame missing or unusable")
                continue
            yield _pair(source, scene_dir.name, views[i], views[j], (names[i], names[j]),
                        float(p["covisibility"]), metric, split)
        return
    try:
        S = normalized_covisibility(load_covisibility(scene_dir, len(meta["frames"]), meta=meta))
    except SceneError as err:
        yield Skipped(source.name, str(scene_dir), str(err))
        return
    thr = float(opts.get("min_covisibility", 0.25))
    ii, jj = np.triu_indices(len(names), 1)
    keep = S[ii, jj] > thr
    ii, jj = ii[keep], jj[keep]
    ok = np.array([a in views and b in views for a, b in zip(ii.tolist(), jj.tolist())], dtype=bool)
    ii, jj = ii[ok], jj[ok]
    cap = int(opts.get("max_pairs_per_scene", 1000))
    if cap and len(ii) > cap:
        rng = np.random.default_rng(stable_int("wai-pairs", source.name, scene_dir.name))
        pick = np.sort(rng.choice(len(ii), size=cap, replace=False))
        ii, jj = ii[pick], jj[pick]
    for a, b in zip(ii.tolist(), jj.tolist()):
        yield _pair(source, scene_dir.name, views[a], views[b], (names[a], names[b]),
                    float(S[a, b]), metric, split)


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """Yield depth views and covisible pairs of every usable scene (Skipped with the reason)."""
    root = Path(source.path)
    opts = source.options
    try:
        dirs = scene_dirs(root)
    except OSError as err:
        yield Skipped(source.name, str(root), f"unreadable WAI root ({err})")
        return
    if not dirs:
        yield Skipped(source.name, str(root), f"no WAI scene ({META}) under this folder")
        return
    splits: dict[str, str] = {}
    if opts.get("split_lists"):
        dataset = str(opts.get("dataset") or (root.parent if dirs == [root] else root).name)
        try:
            splits = read_split_lists(opts["split_lists"], dataset)
        except SceneError as err:
            yield Skipped(source.name, str(opts["split_lists"]), str(err))
            return
    elif opts.get("splits"):
        yield Skipped(source.name, str(root), "options.splits needs options.split_lists")
        return
    listed: dict[str, list[dict[str, Any]]] | None = None
    if opts.get("pair_list"):
        try:
            listed = pairs_by_scene(read_pair_list(opts["pair_list"]))
        except PairListError as err:
            yield Skipped(source.name, str(opts["pair_list"]), str(err))
            return
    keep_splits = set(opts.get("splits") or [])
    keep_scenes = set(str(s) for s in opts.get("scenes") or [])
    for d in dirs:
        split = splits.get(d.name)
        if (keep_splits and split not in keep_splits) or (keep_scenes and d.name not in keep_scenes):
            continue
        if listed is not None and d.name not in listed:
            continue
        try:
            yield from _scene_records(source, d, split, None if listed is None else listed[d.name])
        except SceneError as err:
            yield Skipped(source.name, str(d), str(err))
    for scene in sorted(set(listed or {}) - {d.name for d in dirs}):
        yield Skipped(source.name, str(opts["pair_list"]), f"scene {scene!r} of the pair list is "
                      f"not under {root}")


__all__ = ["META", "META_DISTORTED", "SPLITS", "iter_records", "scene_dirs", "load_scene_meta", "is_metric", "modality_frame_key",
           "covisibility_file", "default_depth_key", "frame_camera", "frame_T_cam_from_world", "load_covisibility",
           "normalized_covisibility", "read_split_lists", "SceneError", "PAIR_LIST_FORMAT",
           "PairListError", "read_pair_list", "pairs_by_scene"]
