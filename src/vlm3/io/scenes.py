"""The "vlm3 scene format" on disk: record dataclasses, writer and reader (docs/scene_format.md).

Layout::

    DIR/index.json                     format_version, seed, config, scenes [{scene_id, split, kind, path, n_views}]
    DIR/<split>/<scene_id>/scene.json  cameras (K, width, height, T_cam_from_world row-major), objects,
                                       per-view boxes + visibility, pair covisibility
    DIR/<split>/<scene_id>/images/NNN.png   uint8 RGB
    DIR/<split>/<scene_id>/depth/NNN.npy    float32 z-depth in metres, 0 = invalid (sky)
    DIR/<split>/<scene_id>/ids/NNN.png      uint16 instance id + 1, 0 = nothing (sky)

``scene.json`` is written last (atomically), so a scene directory with a readable
``scene.json`` whose files all exist is complete.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from vlm3.errors import Vlm3Error
from vlm3.geometry.camera import Camera
from vlm3.io.images import ImageReadError, read_map, read_rgb

FORMAT_VERSION = "vlm3-scene-v1"


class SceneFormatError(Vlm3Error, ValueError):
    """A scene directory or index is missing, incomplete or malformed."""


@dataclass
class ObjectRecord:
    """Object ground truth: world centre (3,) m, size (3,) m along local x/y/z, yaw about world z."""

    instance_id: int
    category: str
    colour: str
    centre_m: np.ndarray
    size_m: np.ndarray
    yaw_deg: float

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "category": self.category, "colour": self.colour,
                "centre_m": [float(v) for v in self.centre_m], "size_m": [float(v) for v in self.size_m],
                "yaw_deg": float(self.yaw_deg)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ObjectRecord":
        return cls(int(d["instance_id"]), d["category"], d["colour"], np.asarray(d["centre_m"], dtype=np.float64),
                   np.asarray(d["size_m"], dtype=np.float64), float(d["yaw_deg"]))


@dataclass
class ViewObject:
    """An object seen in one view: inclusive pixel-index box [x1, y1, x2, y2] of its visible
    pixels, their count, visible_fraction = visible / unoccluded pixels in this image, and
    ``truncated`` = its projection extends past the image border."""

    instance_id: int
    box_xyxy_px: tuple[int, int, int, int]
    n_visible_px: int
    visible_fraction: float
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "box_xyxy_px": [int(v) for v in self.box_xyxy_px],
                "n_visible_px": int(self.n_visible_px), "visible_fraction": float(self.visible_fraction),
                "truncated": bool(self.truncated)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ViewObject":
        return cls(int(d["instance_id"]), tuple(int(v) for v in d["box_xyxy_px"]), int(d["n_visible_px"]),
                   float(d["visible_fraction"]), bool(d["truncated"]))


@dataclass
class ViewRecord:
    """One view: camera (K + size), 4x4 T_cam_from_world, and (when loaded) its arrays:
    image (H, W, 3) uint8, depth_z_m (H, W) float32 (0 = invalid), instance_id (H, W) int32 (-1 = none)."""

    index: int
    camera: Camera
    T_cam_from_world: np.ndarray
    objects: list[ViewObject] = field(default_factory=list)
    image: np.ndarray | None = None
    depth_z_m: np.ndarray | None = None
    instance_id: np.ndarray | None = None


@dataclass
class PairRecord:
    """Ordered view pair (i, j): fraction of valid view-i pixels visible in view j."""

    i: int
    j: int
    covisibility: float


@dataclass
class SceneRecord:
    """A whole scene: objects (things), structure (floor, walls, ground, backdrop), views, pairs."""

    scene_id: str
    split: str
    kind: str
    seed: int
    objects: list[ObjectRecord]
    structure: list[ObjectRecord]
    views: list[ViewRecord]
    pairs: list[PairRecord]
    path: Path | None = None

    def covisibility(self, i: int, j: int) -> float:
        """Stored covisibility of the ordered pair (i, j)."""
        for p in self.pairs:
            if p.i == i and p.j == j:
                return p.covisibility
        raise KeyError(f"scene {self.scene_id} has no pair ({i}, {j})")

    def object(self, instance_id: int) -> ObjectRecord:
        for o in self.objects + self.structure:
            if o.instance_id == instance_id:
                return o
        raise KeyError(f"scene {self.scene_id} has no object {instance_id}")


def _view_files(index: int) -> dict[str, str]:
    return {"image": f"images/{index:03d}.png", "depth": f"depth/{index:03d}.npy", "ids": f"ids/{index:03d}.png"}


def scene_to_json(rec: SceneRecord) -> dict[str, Any]:
    """The scene.json dictionary of a record (arrays are referenced by relative file paths)."""
    views = []
    for v in rec.views:
        views.append({"index": v.index, **_view_files(v.index), "width": v.camera.width, "height": v.camera.height,
                      "K": v.camera.K.tolist(), "T_cam_from_world": np.asarray(v.T_cam_from_world).tolist(),
                      "objects": [o.to_dict() for o in v.objects]})
    return {"format_version": FORMAT_VERSION, "scene_id": rec.scene_id, "split": rec.split, "kind": rec.kind,
            "seed": rec.seed, "world_frame": "right-handed, metres, z up, ground/floor at z = 0",
            "camera_frame": "OpenCV: x right, y down, z forward; pixel (i, j) centred at (i, j)",
            "depth": {"kind": "z", "units": "m", "dtype": "float32", "invalid": 0.0, "file": "npy"},
            "ids": {"dtype": "uint16", "value": "instance_id + 1", "none": 0},
            "objects": [o.to_dict() for o in rec.objects], "structure": [o.to_dict() for o in rec.structure],
            "views": views, "pairs": [{"i": p.i, "j": p.j, "covisibility": float(p.covisibility)} for p in rec.pairs]}


def write_scene(rec: SceneRecord, scene_dir: str | Path) -> Path:
    """Write a record with loaded arrays to ``scene_dir`` (scene.json last, atomically)."""
    d = Path(scene_dir)
    for sub in ("images", "depth", "ids"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    for v in rec.views:
        if v.image is None or v.depth_z_m is None or v.instance_id is None:
            raise SceneFormatError(f"view {v.index} of {rec.scene_id} has no arrays to write")
        files = _view_files(v.index)
        Image.fromarray(v.image).save(d / files["image"])
        np.save(d / files["depth"], v.depth_z_m.astype(np.float32))
        if not cv2.imwrite(str(d / files["ids"]), (v.instance_id.astype(np.int64) + 1).astype(np.uint16)):
            raise SceneFormatError(f"could not write {d / files['ids']}")
    tmp = d / "scene.json.tmp"
    tmp.write_text(json.dumps(scene_to_json(rec), indent=1))
    os.replace(tmp, d / "scene.json")
    rec.path = d
    return d


def is_complete(scene_dir: str | Path) -> bool:
    """True if ``scene_dir`` holds a readable scene.json and every file it lists."""
    d = Path(scene_dir)
    try:
        meta = json.loads((d / "scene.json").read_text())
        return all((d / v[k]).is_file() for v in meta["views"] for k in ("image", "depth", "ids"))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def load_scene(scene_dir: str | Path, load_arrays: bool = True) -> SceneRecord:
    """Read a scene directory into a ``SceneRecord`` (arrays too unless ``load_arrays=False``)."""
    d = Path(scene_dir)
    meta = _read_versioned_json(d / "scene.json", f"{d} is not a vlm3 scene directory (no scene.json)")
    views = []
    for v in meta["views"]:
        cam = Camera(np.asarray(v["K"], dtype=np.float64), v["width"], v["height"])
        view = ViewRecord(int(v["index"]), cam, np.asarray(v["T_cam_from_world"], dtype=np.float64),
                          [ViewObject.from_dict(o) for o in v["objects"]])
        if load_arrays:
            try:
                view.image = read_rgb(d / v["image"])
                view.depth_z_m = read_map(d / v["depth"]).astype(np.float32)
                view.instance_id = read_map(d / v["ids"], what="ids").astype(np.int32) - 1
            except ImageReadError as err:
                raise SceneFormatError(str(err)) from None
        views.append(view)
    return SceneRecord(meta["scene_id"], meta["split"], meta["kind"], int(meta["seed"]),
                       [ObjectRecord.from_dict(o) for o in meta["objects"]],
                       [ObjectRecord.from_dict(o) for o in meta["structure"]], views,
                       [PairRecord(int(p["i"]), int(p["j"]), float(p["covisibility"])) for p in meta["pairs"]], d)


def write_index(out_dir: str | Path, seed: int, config: dict[str, Any], scenes: list[dict[str, Any]]) -> Path:
    """Write DIR/index.json listing scenes (sorted by id) with their split, kind and path."""
    out = Path(out_dir)
    scenes = sorted(scenes, key=lambda s: s["scene_id"])
    splits: dict[str, list[str]] = {}
    for s in scenes:
        splits.setdefault(s["split"], []).append(s["scene_id"])
    index = {"format_version": FORMAT_VERSION, "seed": seed, "config": config, "scenes": scenes, "splits": splits}
    tmp = out / "index.json.tmp"
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, out / "index.json")
    return out / "index.json"


def load_index(out_dir: str | Path) -> dict[str, Any]:
    """Read DIR/index.json (raises SceneFormatError naming the problem)."""
    return _read_versioned_json(Path(out_dir) / "index.json",
                                f"{out_dir} has no index.json: not a generated vlm3 world directory")


def _read_versioned_json(path: Path, missing: str) -> dict[str, Any]:
    """A JSON file of this format version (SceneFormatError: ``missing``, bad JSON, other version)."""
    if not path.is_file():
        raise SceneFormatError(missing)
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise SceneFormatError(f"{path} is not valid JSON: {exc}") from exc
    if data.get("format_version") != FORMAT_VERSION:
        raise SceneFormatError(f"{path}: format_version {data.get('format_version')!r}, expected {FORMAT_VERSION!r}")
    return data
