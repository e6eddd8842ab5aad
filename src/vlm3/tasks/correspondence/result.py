"""What a model's match answers become: `MatchResult` (``vlm3 predict match``, ``Model.match``) and
its files: matches.png (the two images, a line per match) and matches.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.tasks.predict import PredictResult, rounded


@dataclass
class MatchResult(PredictResult):
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
        rows = [{"xy1_px": rounded(a, 2), "xy2_px": rounded(b, 2) if o else None, "ok": o, "raw": r}
                for a, b, o, r in zip(self.xy0_px, self.xy1_px, self.ok, self.raw)]
        return {"cameras": self.cameras, "notes": self.notes, "parsed": int(sum(self.ok)), "matches": rows}

    def lines(self, of_many: bool = False) -> list[str]:
        """One line per match: the pixel of image 1 -> the pixel of image 2 (or the raw answer)."""
        return [f"{r['xy1_px']} -> {r['xy2_px'] if r['ok'] else 'unparsed: ' + repr(r['raw'][:40])}"
                for r in self.to_json()["matches"]]

    def parsed_count(self) -> tuple[int, int]:
        return int(sum(self.ok)), len(self.ok)

    def write(self, out: Path, images: Sequence[np.ndarray], meta: dict[str, Any]) -> list[str]:
        """matches.png (``images``: the two images given) and matches.json (``meta`` + the result)."""
        from vlm3.tasks.correspondence.figure import match_png  # matplotlib: only once there is something to draw

        match_png(out / "matches.png", images[0], images[1], self.xy0_px, self.xy1_px)
        self.write_json(out / "matches.json", meta)
        return ["matches.png", "matches.json"]


__all__ = ["MatchResult"]
