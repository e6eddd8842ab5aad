"""What a model's answers become: one result type per task, in the pixels of the images given.

``DepthResult``, ``MatchResult``, ``PoseResult`` and ``AskResult`` keep the raw answer text
and whether it parsed beside the decoded values (never a silent drop), the camera each
answer assumes and how it was obtained, and the notes said to the user. ``to_json`` writes
them with rounded numbers (no 16-digit floats); NaN / None where an answer did not parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlm3.geometry.transforms import make_T
from vlm3.infer.inputs import Prepared


@dataclass
class DepthResult:
    """Depth at query pixels of one image.

    ``xy_px``: (N, 2) pixels of the image given; ``depth_m``: (N,) metres along the ray (distance
    to the camera centre, not z), NaN where the answer did not parse; ``xyz_m``: (N, 3) points in
    the given camera's OpenCV frame (x right, y down, z forward; metres); ``raw`` / ``ok``: the
    answer text and its parse status per point; ``grid_shape``: (H, W) rows x columns for a grid
    query (rows of the arrays row-major), None for points."""

    xy_px: np.ndarray
    depth_m: np.ndarray
    xyz_m: np.ndarray
    raw: list[str]
    ok: list[bool]
    prepared: Prepared
    grid_shape: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        """Rows per point (rounded: 0.01 px, 1 mm), the camera, the notes and the parse count."""
        rows = [{"xy_px": _r(p, 2), "depth_m": None if not np.isfinite(d) else round(float(d), 3), "ok": o, "raw": r}
                for p, d, o, r in zip(self.xy_px, self.depth_m, self.ok, self.raw)]
        return {"camera": self.prepared.camera_json(), "notes": self.prepared.notes, "grid_shape": self.grid_shape,
                "parsed": int(sum(self.ok)), "points": rows}


@dataclass
class MatchResult:
    """Correspondences: ``xy0_px`` (N, 2) pixels of the first image -> ``xy1_px`` (N, 2) pixels of
    the second (NaN rows where the answer did not parse; JSON keys ``xy1_px`` / ``xy2_px`` count
    the images from 1); ``cameras``: the camera each image was taken with (``Prepared.camera_json``)."""

    xy0_px: np.ndarray
    xy1_px: np.ndarray
    raw: list[str]
    ok: list[bool]
    cameras: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Rows per query (rounded to 0.01 px), the cameras, the notes and the parse count."""
        rows = [{"xy1_px": _r(a, 2), "xy2_px": _r(b, 2) if o else None, "ok": o, "raw": r}
                for a, b, o, r in zip(self.xy0_px, self.xy1_px, self.ok, self.raw)]
        return {"cameras": self.cameras, "notes": self.notes, "parsed": int(sum(self.ok)), "matches": rows}


@dataclass
class PoseResult:
    """Camera 1 (the second image) relative to camera 0 (the first), in camera 0's OpenCV
    frame: ``R_cam0_from_cam1`` (columns = camera 1's axes in camera 0) and ``t_unit_cam0``
    (unit direction of camera 1's centre in camera-0 coordinates); ``distance_m``: metres between
    the camera centres; ``yaw_pitch_roll_deg``: the rotation as answered (intrinsic yaw -> pitch ->
    roll, degrees; ``vlm3.geometry.euler``). Fields are None where an answer is missing, with
    ``reason`` saying which; ``raw``: question id -> answer text."""

    ok: bool
    R_cam0_from_cam1: np.ndarray | None
    t_unit_cam0: np.ndarray | None
    distance_m: float | None
    yaw_pitch_roll_deg: tuple[float, float, float] | None
    raw: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    cameras: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_distance(self) -> bool:
        """True when the distance answer parsed to a finite number of metres."""
        return self.distance_m is not None and bool(np.isfinite(self.distance_m))

    def T_cam0_from_cam1(self, default_distance_m: float = 1.0) -> np.ndarray | None:
        """4x4 float64 pose of camera 1 in camera 0's frame (OpenCV axes, metres): the answered
        rotation and direction, scaled by the answered distance, or ``default_distance_m`` when that
        is missing or not finite (direction only); None without a rotation or a direction."""
        if self.R_cam0_from_cam1 is None or self.t_unit_cam0 is None:
            return None
        d = float(self.distance_m) if self.has_distance else default_distance_m
        return make_T(self.R_cam0_from_cam1, np.asarray(self.t_unit_cam0, float) * d)

    def to_json(self) -> dict[str, Any]:
        """The pose with rounded numbers, the raw answers, the cameras and the notes."""
        return {"ok": self.ok, "reason": self.reason,
                "R_cam0_from_cam1": None if self.R_cam0_from_cam1 is None else _r(self.R_cam0_from_cam1, 5),
                "t_unit_cam0": None if self.t_unit_cam0 is None else _r(self.t_unit_cam0, 4),
                "distance_m": None if self.distance_m is None else round(float(self.distance_m), 3),
                "yaw_pitch_roll_deg": None if self.yaw_pitch_roll_deg is None else _r(self.yaw_pitch_roll_deg, 2),
                "raw": self.raw, "cameras": self.cameras, "notes": self.notes}


@dataclass
class AskResult:
    """A free question: what was typed, what the model was sent, its answer, and the boxes of
    the question and of the answer in ORIGINAL image pixels ([x1, y1, x2, y2])."""

    question: str
    sent: str
    answer: str
    boxes_px: list[list[float]]
    answer_boxes_px: list[list[float]]
    prepared: Prepared

    def to_json(self) -> dict[str, Any]:
        """Question, text sent, answer, boxes (rounded to 0.1 px), the camera and the notes."""
        return {"question": self.question, "sent": self.sent, "answer": self.answer,
                "boxes_px": [_r(b, 1) for b in self.boxes_px], "answer_boxes_px": [_r(b, 1) for b in self.answer_boxes_px],
                "camera": self.prepared.camera_json(), "notes": self.prepared.notes}


def _r(values: Any, digits: int) -> list:
    """Nested lists of floats rounded to ``digits`` (JSON output: no 16-digit floats)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()

