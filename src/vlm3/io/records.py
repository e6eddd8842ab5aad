"""The canonical record model: every adapter turns its source into these records.

A record names files and geometry; pixels are read later, inside the per-shard
function (``vlm3.io.images``), so enumerating a source is cheap.

- ``ViewRecord``: one image with its camera (K at the image's own resolution, or None
  when the source has no intrinsics and calibration must supply them), an optional depth
  file (``DepthFile``: path, scale to metres, stored kind "z" or "ray"), an optional
  ``T_cam_from_world`` (4x4, OpenCV camera frame) and optional 3D objects.
- ``PairRecord``: two views of one scene with ``T_cam1_from_cam0`` (maps camera-0 points
  into camera 1, metres) and whether the translation is metric.
- every record may carry ``split_hint`` (the source's own train/val/test for its scene),
  used when the source config says ``split: source``.
- ``ObjectQARecord``: one view plus boxes (pixels of the source image, [x1, y1, x2, y2])
  and existing question/answer turns that refer to boxes by index (pass-through sets).

All records round-trip through ``to_dict``/``record_from_dict`` (plain JSON types), so a
shard's work can be shipped to another process (Ray) and written in done-markers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from vlm3.errors import Vlm3Error
from vlm3.geometry.camera import Camera

DEPTH_KINDS = ("z", "ray")
#: how stored integers become values before ``/ scale``: "linear" (as stored) or "sunrgbd"
#: (SUN RGB-D's bit-rotated PNGs: ``((v >> 3) | (v << 13)) & 0xFFFF``, vlm3.io.images)
DEPTH_ENCODINGS = ("linear", "sunrgbd")


class RecordError(Vlm3Error, ValueError):
    """A record (or a file it names) is unusable; ``str(err)`` names the file and the problem."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class DepthFile:
    """Where a depth map lives and how to read it.

    Attributes:
        path: file path (.png 16-bit integer, .npy float, or .npz with key ``depth``).
        scale: stored value / scale = metres (e.g. 1000 for mm PNGs, 256 for KITTI, 1 for .npy).
        kind: "z" (along the optical axis) or "ray" (distance to the camera centre).
        encoding: "linear" (default) or "sunrgbd" (see ``DEPTH_ENCODINGS``).
    """

    path: str
    scale: float = 1.0
    kind: str = "z"
    encoding: str = "linear"

    def __post_init__(self) -> None:
        if self.kind not in DEPTH_KINDS:
            raise RecordError(self.path, f"unknown depth kind {self.kind!r}; use one of {DEPTH_KINDS}")
        if self.encoding not in DEPTH_ENCODINGS:
            raise RecordError(self.path, f"unknown depth encoding {self.encoding!r}; use one of "
                                         f"{DEPTH_ENCODINGS}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise RecordError(self.path, f"depth scale must be a positive number, got {self.scale!r}")


@dataclass(frozen=True)
class DepthPoints:
    """Depth labels given at a few pixels (a curated sparse-points set, e.g. DepthLM's jsonl).

    Attributes:
        xy_px: (N, 2) pixel coordinates of the image (x = column, y = row, pixel centres at
            integers), as the source gives them.
        depth_m: (N,) label per point, metres.
        kind: what the labels are: "ray" (distance to the camera centre) or "z".
    """

    xy_px: tuple[tuple[float, float], ...]
    depth_m: tuple[float, ...]
    kind: str = "ray"

    def __post_init__(self) -> None:
        if self.kind not in DEPTH_KINDS:
            raise RecordError("depth_points", f"unknown depth kind {self.kind!r}; use one of {DEPTH_KINDS}")
        if len(self.xy_px) != len(self.depth_m):
            raise RecordError("depth_points", f"{len(self.xy_px)} points but {len(self.depth_m)} depths")


@dataclass(frozen=True)
class Object3D:
    """One object seen in a view.

    Attributes:
        box_xyxy_px: 2D box [x1, y1, x2, y2] in pixels of the source image.
        name: class or short description ("chair").
        center_cam_m: (3,) box centre in the camera frame (OpenCV), metres; None if unknown.
        size_m: (3,) box extent (width along x, height along y, depth along z), metres.
    """

    box_xyxy_px: tuple[float, float, float, float]
    name: str = "object"
    center_cam_m: tuple[float, float, float] | None = None
    size_m: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class ViewRecord:
    """One image of a source, in the canonical conventions (see module docstring)."""

    record_id: str
    source: str
    scene_id: str
    image_path: str
    camera: Camera | None
    depth: DepthFile | None = None
    T_cam_from_world: np.ndarray | None = None
    metric: bool = True
    objects: tuple[Object3D, ...] = ()
    split_hint: str | None = None
    depth_points: DepthPoints | None = None

    kind = "view"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "view", "record_id": self.record_id, "source": self.source,
            "scene_id": self.scene_id, "image_path": self.image_path,
            "camera": None if self.camera is None else self.camera.to_dict(),
            "depth": None if self.depth is None else
            {"path": self.depth.path, "scale": self.depth.scale, "kind": self.depth.kind,
             **({"encoding": self.depth.encoding} if self.depth.encoding != "linear" else {})},
            "T_cam_from_world": None if self.T_cam_from_world is None
            else np.asarray(self.T_cam_from_world).tolist(),
            "metric": self.metric,
            "objects": [{"box_xyxy_px": list(o.box_xyxy_px), "name": o.name,
                         "center_cam_m": None if o.center_cam_m is None else list(o.center_cam_m),
                         "size_m": None if o.size_m is None else list(o.size_m)}
                        for o in self.objects],
            "split_hint": self.split_hint,
            "depth_points": None if self.depth_points is None else
            {"xy_px": [list(p) for p in self.depth_points.xy_px], "depth_m": list(self.depth_points.depth_m),
             "kind": self.depth_points.kind},
        }


@dataclass(frozen=True)
class PairRecord:
    """Two views of one scene with their relative pose T_cam1_from_cam0 (4x4, metres)."""

    record_id: str
    source: str
    scene_id: str
    view0: ViewRecord
    view1: ViewRecord
    T_cam1_from_cam0: np.ndarray
    metric: bool = True
    covisibility: float | None = None
    split_hint: str | None = None

    kind = "pair"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "pair", "record_id": self.record_id, "source": self.source,
            "scene_id": self.scene_id, "view0": self.view0.to_dict(), "view1": self.view1.to_dict(),
            "T_cam1_from_cam0": np.asarray(self.T_cam1_from_cam0).tolist(),
            "metric": self.metric, "covisibility": self.covisibility,
            "split_hint": self.split_hint,
        }


@dataclass(frozen=True)
class ObjectQARecord:
    """Existing object Q&A about one view (SpatialRGPT style), boxes referenced by index.

    ``turns`` holds (question, answer) strings in which ``{region0}``, ``{region1}``, ...
    stand for the boxes; the object builder writes them as text boxes after
    standardisation. ``qa_type`` is "qualitative", "quantitative" or "".
    """

    record_id: str
    source: str
    scene_id: str
    view: ViewRecord
    boxes_xyxy_px: tuple[tuple[float, float, float, float], ...]
    turns: tuple[tuple[str, str], ...]
    qa_type: str = ""
    category: str = ""
    split_hint: str | None = None
    #: per turn, the ground truth read from the reference answer (kind, predicate, regions,
    #: truth | value, category); empty when the source gives none
    truths: tuple[dict[str, Any], ...] = ()

    kind = "object_qa"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "object_qa", "record_id": self.record_id, "source": self.source,
            "scene_id": self.scene_id, "view": self.view.to_dict(),
            "boxes_xyxy_px": [list(b) for b in self.boxes_xyxy_px],
            "turns": [list(t) for t in self.turns], "qa_type": self.qa_type,
            "category": self.category, "split_hint": self.split_hint,
            "truths": [dict(t) for t in self.truths],
        }


Record = Union[ViewRecord, PairRecord, ObjectQARecord]


@dataclass(frozen=True)
class Skipped:
    """A record an adapter or builder refused: where and why (one line)."""

    source: str
    path: str
    reason: str
    record_id: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "record_id": self.record_id, "path": self.path,
                "reason": self.reason}


def _view_from_dict(d: dict[str, Any]) -> ViewRecord:
    cam = None if d["camera"] is None else Camera.from_dict(d["camera"])
    depth = None if d["depth"] is None else DepthFile(**d["depth"])
    T = None if d["T_cam_from_world"] is None else np.asarray(d["T_cam_from_world"], dtype=np.float64)
    objects = tuple(
        Object3D(tuple(o["box_xyxy_px"]), o["name"],
                 None if o["center_cam_m"] is None else tuple(o["center_cam_m"]),
                 None if o["size_m"] is None else tuple(o["size_m"]))
        for o in d.get("objects", []))
    pts = d.get("depth_points")
    points = None if pts is None else DepthPoints(tuple(tuple(p) for p in pts["xy_px"]), tuple(pts["depth_m"]),
                                                  pts.get("kind", "ray"))
    return ViewRecord(d["record_id"], d["source"], d["scene_id"], d["image_path"], cam, depth, T,
                      d.get("metric", True), objects, d.get("split_hint"), points)


def record_from_dict(d: dict[str, Any]) -> Record:
    """Inverse of ``Record.to_dict`` for all three record kinds."""
    kind = d.get("kind")
    if kind == "view":
        return _view_from_dict(d)
    if kind == "pair":
        return PairRecord(d["record_id"], d["source"], d["scene_id"], _view_from_dict(d["view0"]),
                          _view_from_dict(d["view1"]),
                          np.asarray(d["T_cam1_from_cam0"], dtype=np.float64),
                          d.get("metric", True), d.get("covisibility"), d.get("split_hint"))
    if kind == "object_qa":
        return ObjectQARecord(d["record_id"], d["source"], d["scene_id"], _view_from_dict(d["view"]),
                              tuple(tuple(b) for b in d["boxes_xyxy_px"]),
                              tuple(tuple(t) for t in d["turns"]), d.get("qa_type", ""),
                              d.get("category", ""), d.get("split_hint"),
                              tuple(dict(t) for t in d.get("truths", [])))
    raise ValueError(f"unknown record kind {kind!r}")


def record_views(record: Record) -> list[ViewRecord]:
    """The views a record needs, in order (one for views and Q&A, two for pairs)."""
    if isinstance(record, PairRecord):
        return [record.view0, record.view1]
    if isinstance(record, ObjectQARecord):
        return [record.view]
    return [record]


__all__ = ["DEPTH_ENCODINGS", "DepthFile", "DepthPoints", "Object3D", "ViewRecord", "PairRecord", "ObjectQARecord", "Record",
           "Skipped", "RecordError", "record_from_dict", "record_views", "DEPTH_KINDS"]
