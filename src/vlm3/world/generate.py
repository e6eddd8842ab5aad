"""Generate scenes: layout -> views -> renders -> per-view boxes and visibility -> pair covisibility.

Determinism: scene k of a world with seed S draws everything from
``np.random.default_rng(SeedSequence([S, k]))``, so a scene does not depend on how many
scenes are generated, in which order, or by how many workers. Splits are assigned by
scene index with a deficit round-robin over ``split_fractions`` (stable as N grows).
"""

from __future__ import annotations

import json
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vlm3.geometry.camera import Camera
from vlm3.config import load, save, to_dict
from vlm3.world.config import WorldConfig
from vlm3.io.scenes import (ObjectRecord, PairRecord, SceneFormatError, SceneRecord, ViewObject, ViewRecord,
                           is_complete, load_index, write_index, write_scene)
from vlm3.world.layouts import make_scene
from vlm3.world.pairs import covisibility
from vlm3.world.render import render_view, unoccluded_pixels
from vlm3.world.scenes import Scene, WorldObject
from vlm3.world.views import sample_views

SPLITS = ("train", "val", "test")


_SPLIT_CACHE: dict[tuple[float, ...], list[int]] = {}


def scene_split(index: int, fractions: tuple[float, float, float]) -> str:
    """Split of scene ``index``: the split furthest behind its quota after scenes 0..index-1."""
    seq = _SPLIT_CACHE.setdefault(tuple(fractions), [])
    counts = [seq.count(s) for s in range(3)] if seq else [0, 0, 0]
    while len(seq) <= index:
        k = len(seq)
        deficits = [f * (k + 1) - c for f, c in zip(fractions, counts)]
        choice = int(np.argmax(deficits))
        counts[choice] += 1
        seq.append(choice)
    return SPLITS[seq[index]]


def scene_id(index: int) -> str:
    return f"scene_{index:05d}"


def _object_record(o: WorldObject) -> ObjectRecord:
    return ObjectRecord(o.instance_id, o.category, o.colour_name, o.centre_m.copy(), o.size_m.copy(), o.yaw_deg)


def _obb_corners(o: WorldObject) -> np.ndarray:
    half = 0.5 * o.size_m
    c, s = np.cos(np.radians(o.yaw_deg)), np.sin(np.radians(o.yaw_deg))
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    return o.centre_m + (signs * half) @ R.T


def view_objects(scene: Scene, instance_id: np.ndarray, camera: Camera, T_cam_from_world: np.ndarray) -> list[ViewObject]:
    """Boxes and visibility of every non-structural object with at least one visible pixel.

    box_xyxy_px: inclusive pixel indices [x_min, y_min, x_max, y_max] of its visible pixels;
    visible_fraction = visible / unoccluded pixels in this image; truncated: a corner of its
    3D bounding box projects outside the image or lies behind the camera.
    """
    out = []
    ids = instance_id
    counts = np.bincount(ids.ravel() + 1)
    for o in scene.things():
        k = o.instance_id
        n = int(counts[k + 1]) if k + 1 < len(counts) else 0
        if n == 0:
            continue
        m = ids == k
        cols = np.flatnonzero(m.any(axis=0))
        rows = np.flatnonzero(m.any(axis=1))
        X = _obb_corners(o) @ T_cam_from_world[:3, :3].T + T_cam_from_world[:3, 3]
        xy, z = camera.project(X)
        truncated = bool(np.any(z <= 0) or not np.all(camera.contains(np.nan_to_num(xy, nan=-1e9))))
        frac = n / max(unoccluded_pixels(scene, k, camera, T_cam_from_world), n)
        out.append(ViewObject(k, (int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])), n, frac, truncated))
    return out


def generate_scene(cfg: WorldConfig, seed: int, index: int) -> SceneRecord:
    """Generate scene ``index`` of the world with ``seed`` (arrays in memory, not written)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
    w = np.asarray(cfg.kind_weights, dtype=np.float64)
    kind = str(rng.choice(cfg.kinds, p=w / w.sum()))
    scene = make_scene(rng, cfg, kind)
    views = []
    for k, (camera, T) in enumerate(sample_views(rng, scene, cfg, cfg.views_per_scene)):
        out = render_view(scene, camera, T)
        views.append(ViewRecord(k, camera, T, view_objects(scene, out.instance_id, camera, T),
                                out.image, out.depth_z_m, out.instance_id))
    rec = SceneRecord(scene_id(index), scene_split(index, cfg.split_fractions), kind, int(seed),
                      [_object_record(o) for o in scene.things()],
                      [_object_record(o) for o in scene.objects if o.is_structure], views, [])
    n = len(views)
    rec.pairs = [PairRecord(i, j, covisibility(rec, i, j, stride=cfg.covisibility_stride_px))
                 for i in range(n) for j in range(n) if i != j]
    return rec


def _index_entry(rec_or_meta: dict[str, Any]) -> dict[str, Any]:
    m = rec_or_meta
    return {"scene_id": m["scene_id"], "split": m["split"], "kind": m["kind"],
            "path": f"{m['split']}/{m['scene_id']}", "n_views": len(m["views"])}


def _work(args: tuple[dict[str, Any], int, int, str]) -> dict[str, Any]:
    cfg_d, seed, index, out = args
    cfg = load(WorldConfig, cfg_d)
    rec = generate_scene(cfg, seed, index)
    d = write_scene(rec, Path(out) / rec.split / rec.scene_id)
    return _index_entry(json.loads((d / "scene.json").read_text()))


def generate_world(out_dir: str | Path, n_scenes: int, seed: int, cfg: WorldConfig, workers: int = 1,
                   progress: bool = True) -> Path:
    """Generate (or resume) ``n_scenes`` scenes under ``out_dir``; returns the index.json path.

    Complete scenes already on disk are kept. An existing index.json written with another
    seed or config is an error (use a new output directory).
    """
    if n_scenes < 1:
        raise ValueError(f"--scenes must be >= 1, got {n_scenes}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_d = to_dict(cfg)
    if (out / "index.json").exists():
        index = load_index(out)
        if index.get("seed") != seed or index.get("config") != cfg_d:
            raise SceneFormatError(f"{out} was generated with another seed or config "
                                   f"(seed {index.get('seed')}); choose a new --out or the same settings")
        entries = {e["scene_id"]: e for e in index["scenes"]}
    else:
        entries = {}
    write_index(out, seed, cfg_d, list(entries.values()))
    save(cfg, out / "config.yaml")  # the resolved world config (index.json holds it too, with the seed)
    todo = []
    for k in range(n_scenes):
        d = out / scene_split(k, cfg.split_fractions) / scene_id(k)
        if is_complete(d):
            entries[scene_id(k)] = _index_entry(json.loads((d / "scene.json").read_text()))
        else:
            todo.append((cfg_d, seed, k, str(out)))
    bar = tqdm(total=n_scenes, initial=n_scenes - len(todo), desc="world scenes", unit="scene", disable=not progress)
    try:
        if workers <= 1 or len(todo) <= 1:
            for args in todo:
                e = _work(args)
                entries[e["scene_id"]] = e
                bar.update(1)
        else:
            with get_context("spawn").Pool(workers) as pool:
                for e in pool.imap_unordered(_work, todo):
                    entries[e["scene_id"]] = e
                    bar.update(1)
    finally:
        bar.close()
        write_index(out, seed, cfg_d, list(entries.values()))
    return out / "index.json"
