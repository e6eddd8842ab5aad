"""Adapter: the vlm3 scene format written by ``vlm3 world generate`` (docs/scene_format.md).

``source.path`` is the world directory (with ``index.json``). Per scene it yields one
``ViewRecord`` per view (image, K, z-depth .npy in metres, ``T_cam_from_world``, visible
objects with their 3D box centre in the camera frame) and one ``PairRecord`` per stored
ordered pair (``T_cam1_from_cam0`` from the two world poses, stored covisibility). The
world's own train/val/test of each scene is kept as the records' ``split_hint`` (use
``split: source`` in the config to follow it).

Options: ``min_visible_fraction`` (default 0.3) and ``min_visible_px`` (default 64):
objects less visible than that, or truncated by the border, are not used for questions.
Object sizes are (width, height, length) = the box extents along its local x, world up
(z) and local y. The world is z-up; the object builder reads ``world_up`` ([0, 0, 1]).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from vlm3.data.config import SourceConfig
from vlm3.io.records import (DepthFile, Object3D, PairRecord, Record, Skipped, ViewRecord)
from vlm3.geometry.camera import GeometryError
from vlm3.geometry.transforms import apply_T, check_T, relative_T_cam1_from_cam0


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """Yield views and pairs of every complete scene (Skipped for broken scenes)."""
    from vlm3.io.scenes import SceneFormatError, load_index, load_scene

    root = Path(source.path)
    try:
        index = load_index(root)
    except SceneFormatError as err:
        yield Skipped(source.name, str(root), str(err))
        return
    min_frac = float(source.options.get("min_visible_fraction", 0.3))
    min_px = int(source.options.get("min_visible_px", 64))
    for entry in index.get("scenes", []):
        scene_dir = root / entry["path"] if "path" in entry else root / entry["split"] / entry["scene_id"]
        try:
            scene = load_scene(scene_dir, load_arrays=False)
        except (SceneFormatError, KeyError, TypeError, ValueError, GeometryError) as err:
            yield Skipped(source.name, str(scene_dir), f"unreadable scene ({err})")
            continue
        objects = {o.instance_id: o for o in scene.objects}
        views: dict[int, ViewRecord] = {}
        for v in scene.views:
            rid = f"{source.name}/{scene.scene_id}/v{v.index:03d}"
            files = {"image": f"images/{v.index:03d}.png", "depth": f"depth/{v.index:03d}.npy"}
            img, dep = scene_dir / files["image"], scene_dir / files["depth"]
            if not img.is_file() or not dep.is_file():
                yield Skipped(source.name, str(img if not img.is_file() else dep),
                              "file listed in scene.json not found", rid)
                continue
            try:
                T = check_T(v.T_cam_from_world, name="T_cam_from_world")
            except GeometryError as err:
                yield Skipped(source.name, str(scene_dir / "scene.json"), str(err), rid)
                continue
            objs = []
            for vo in v.objects:
                o = objects.get(vo.instance_id)
                if o is None or vo.truncated or vo.visible_fraction < min_frac \
                        or vo.n_visible_px < min_px:
                    continue
                centre_cam = apply_T(T, np.asarray(o.centre_m)[None])[0]
                objs.append(Object3D(tuple(float(c) for c in vo.box_xyxy_px),
                                     f"{o.colour} {o.category}",
                                     tuple(float(c) for c in centre_cam),
                                     (float(o.size_m[0]), float(o.size_m[2]), float(o.size_m[1]))))
            views[v.index] = ViewRecord(rid, source.name, scene.scene_id, str(img), v.camera,
                                        DepthFile(str(dep), 1.0, "z"), T, True, tuple(objs),
                                        scene.split)
            yield views[v.index]
        for p in scene.pairs:
            if p.i not in views or p.j not in views or p.i == p.j:
                continue
            v0, v1 = views[p.i], views[p.j]
            T01 = relative_T_cam1_from_cam0(v0.T_cam_from_world, v1.T_cam_from_world)
            yield PairRecord(f"{source.name}/{scene.scene_id}/p{p.i:03d}-{p.j:03d}", source.name,
                             scene.scene_id, v0, v1, T01, True, float(p.covisibility), scene.split)
