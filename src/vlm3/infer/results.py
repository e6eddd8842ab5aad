"""What a model's answers become: each task unit's result type (``vlm3.tasks.<task>.result``), kept
here under their earlier names. Each keeps the raw answer text and whether it parsed beside the
decoded values (never a silent drop), the camera each answer assumes and the notes said to the
user; ``to_json`` writes them with rounded numbers (NaN / None where an answer did not parse)."""

from __future__ import annotations

from vlm3.tasks.calibration.result import CalibrationResult
from vlm3.tasks.correspondence.result import MatchResult
from vlm3.tasks.depth.result import DepthResult
from vlm3.tasks.object.result import AskResult
from vlm3.tasks.pose.result import PoseResult

__all__ = ["AskResult", "CalibrationResult", "DepthResult", "MatchResult", "PoseResult"]
