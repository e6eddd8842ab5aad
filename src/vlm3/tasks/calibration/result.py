"""What a model's calibration answer becomes: `CalibrationResult` (``vlm3 predict calibrate``,
``Model.calibrate``, the ``calibration: model:DIR`` policy) and its file, calibrate.json."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vlm3.metrics.calibration import focal_px_from_hfov_deg
from vlm3.tasks.predict import PredictResult


@dataclass
class CalibrationResult(PredictResult):
    """The horizontal field of view of one image, as the model answered it.

    ``hfov_deg``: degrees (NaN when the answer did not parse); ``width`` / ``height``: the image
    as given (pixels); ``fx_px``: the focal length that field of view means for that width (a
    pinhole with the principal point at the centre, square pixels); ``raw`` / ``ok`` / ``reason``:
    the answer text, whether it parsed and why not; ``model_size``: (w, h) the model saw;
    ``label``: the image's path as given ("<array>" for pixels)."""

    hfov_deg: float
    width: int
    height: int
    raw: str
    ok: bool
    reason: str | None = None
    model_size: tuple[int, int] | None = None
    label: str = "<array>"
    notes: list[str] = field(default_factory=list)

    @property
    def fx_px(self) -> float:
        """Focal length (pixels of the image given) of the answered field of view; NaN if unparsed."""
        return focal_px_from_hfov_deg(self.hfov_deg, self.width) if self.ok else math.nan

    def intrinsics_fx_fy_cx_cy(self) -> list[float] | None:
        """[fx, fy, cx, cy] of the image given (square pixels, centred principal point), or None."""
        if not self.ok:
            return None
        f = self.fx_px
        return [f, f, (self.width - 1) / 2.0, (self.height - 1) / 2.0]

    def to_json(self) -> dict[str, Any]:
        """The answer with rounded numbers (0.01 deg, 0.1 px)."""
        k = self.intrinsics_fx_fy_cx_cy()
        return {"hfov_deg": round(self.hfov_deg, 2) if self.ok else None, "width": self.width, "height": self.height,
                "intrinsics_fx_fy_cx_cy": None if k is None else [round(v, 1) for v in k], "ok": self.ok,
                "reason": self.reason, "raw": self.raw,
                "model_size": None if self.model_size is None else list(self.model_size)}

    def lines(self, of_many: bool = False) -> list[str]:
        """What ``vlm3 predict calibrate`` prints (the same for one image of a folder)."""
        if not self.ok:
            return [f"the answer did not parse ({self.reason}): {self.raw[:120]!r}"]
        fx, fy, cx, cy = self.intrinsics_fx_fy_cx_cy() or [0.0] * 4
        return [f"horizontal field of view {self.hfov_deg:.1f} deg",
                f"intrinsics for {self.width}x{self.height}: fx=fy={fx:.1f} px, cx={cx:.1f}, cy={cy:.1f} "
                f"(square pixels, centred principal point)"]

    def parsed_count(self) -> tuple[int, int]:
        return int(self.ok), 1

    def write(self, out: Path, images: Sequence[Any], meta: dict[str, Any]) -> list[str]:
        """calibrate.json: ``meta``, the image's name and the result."""
        self.write_json(out / "calibrate.json", meta, image=self.label)
        return ["calibrate.json"]


__all__ = ["CalibrationResult"]
