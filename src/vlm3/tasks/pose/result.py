"""What a model's pose answers become: `PoseResult` (``vlm3 predict pose``, ``Model.pose``) and its
files: pose.json and frustums.png (the two cameras, camera 2 placed by the answers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.geometry.transforms import make_T
from vlm3.tasks.predict import PredictResult, rounded


@dataclass
class PoseResult(PredictResult):
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
                "R_cam0_from_cam1": None if self.R_cam0_from_cam1 is None else rounded(self.R_cam0_from_cam1, 5),
                "t_unit_cam0": None if self.t_unit_cam0 is None else rounded(self.t_unit_cam0, 4),
                "distance_m": None if self.distance_m is None else round(float(self.distance_m), 3),
                "yaw_pitch_roll_deg": None if self.yaw_pitch_roll_deg is None else rounded(self.yaw_pitch_roll_deg, 2),
                "raw": self.raw, "cameras": self.cameras, "notes": self.notes}

    def lines(self, of_many: bool = False) -> list[str]:
        """The pose as JSON."""
        return [json.dumps(self.to_json(), indent=1)]

    def warnings(self) -> list[str]:
        """Why frustums.png is missing (the answers did not parse) or places camera 2 at 1 m."""
        if not self.ok:
            return [f"warning: the pose answers did not parse ({self.reason})"]
        if not self.has_distance:
            return ["note: the model gave no distance: frustums.png draws camera 2 at 1 m (direction only)"]
        return []

    def parsed_count(self) -> tuple[int, int]:
        """(1, 1) when the four answers parsed to a pose, else (0, 1)."""
        return int(self.ok), 1

    def write(self, out: Path, images: Sequence[np.ndarray], meta: dict[str, Any]) -> list[str]:
        """pose.json (``meta`` + the result) and, when the answers give a pose, frustums.png."""
        self.write_json(out / "pose.json", meta)
        T = self.T_cam0_from_cam1()
        if not self.ok or T is None:
            return ["pose.json"]
        from vlm3.tasks.pose.figure import frustum_png  # matplotlib: only once there is something to draw

        frustum_png(out / "frustums.png", T)
        return ["pose.json", "frustums.png"]


__all__ = ["PoseResult"]
