"""What a model's answer to a free question becomes: `AskResult` (``vlm3 predict ask``,
``Model.ask``) and its files: ask.json and ask.png (the question's boxes green, the answer's red)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.tasks.predict import Prepared, PredictResult, rounded


@dataclass
class AskResult(PredictResult):
    """A free question: what was typed, what the model was sent, its answer, and the boxes of
    the question and of the answer in ORIGINAL image pixels ([x1, y1, x2, y2])."""

    question: str
    sent: str
    answer: str
    boxes_px: list[list[float]]
    answer_boxes_px: list[list[float]]
    prepared: Prepared

    @property
    def notes(self) -> list[str]:
        """One-line remarks for the user (guessed intrinsics, EXIF orientation)."""
        return self.prepared.notes

    def to_json(self) -> dict[str, Any]:
        """Question, text sent, answer, boxes (rounded to 0.1 px), the camera and the notes."""
        return {"question": self.question, "sent": self.sent, "answer": self.answer,
                "boxes_px": [rounded(b, 1) for b in self.boxes_px],
                "answer_boxes_px": [rounded(b, 1) for b in self.answer_boxes_px],
                "camera": self.prepared.camera_json(), "notes": self.prepared.notes}

    def lines(self, of_many: bool = False) -> list[str]:
        """The answer, and the regions it names in pixels of the image given."""
        out = [self.answer]
        if self.answer_boxes_px:
            out.append(f"regions in the answer (pixels of {self.prepared.label}): "
                       f"{json.dumps(self.to_json()['answer_boxes_px'])}")
        return out

    def parsed_count(self) -> None:
        """None: a free answer has nothing to parse."""
        return None

    def write(self, out: Path, images: Sequence[np.ndarray], meta: dict[str, Any]) -> list[str]:
        """ask.json (``meta`` + the result) and ask.png (the image given, ``images[0]``, with the boxes)."""
        from vlm3.tasks.object.figure import boxes_png  # matplotlib: only once there is something to draw

        self.write_json(out / "ask.json", meta)
        boxes_png(out / "ask.png", images[0], self.boxes_px, self.answer_boxes_px,
                  title=f"Q: {self.question}  A: {self.answer}")
        return ["ask.json", "ask.png"]


__all__ = ["AskResult"]
