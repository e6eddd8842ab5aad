"""``vlm3 predict ask`` / ``Model.ask``: a free question about one image whose placeholders
``[A]``, ``[B]``, ... are boxes in its pixels, written as the text format's regions (the [0, 1000]
grid of the image the model sees); regions in the answer come back in original pixels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.errors import InputError
from vlm3.protocol import codecs
from vlm3.tasks.common import text_format_for
from vlm3.tasks.object.choice import REGION_BOX
from vlm3.tasks.object.result import AskResult
from vlm3.tasks.predict import PredictInput, Prepared, Questions, parse_box, to_model_px

INPUTS = (PredictInput("question", "the question, with [A], [B], ... where the boxes go", required=True),
          PredictInput("boxes", "x1,y1,x2,y2 in pixels of IMAGE, one per placeholder [A], [B], ... in QUESTION",
                       "--box", multiple=True, default=()))
PLACEHOLDERS = ("[A]", "[B]", "[C]", "[D]")


def check(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A question with one box ([x1, y1, x2, y2] or "x1,y1,x2,y2") per placeholder, in order."""
    question = inputs.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty: write it as text, with [A], [B], ... where boxes go")
    boxes = [parse_box(b) for b in inputs.get("boxes") or ()]
    wanted = [p for p in PLACEHOLDERS if p in question]
    if len(wanted) != len(boxes) or wanted != list(PLACEHOLDERS[:len(boxes)]):
        raise InputError(f"the question has placeholders {wanted or 'none'} but {len(boxes)} --box given: "
                         f"write [A] (then [B], ...) where each box goes, one --box x1,y1,x2,y2 per placeholder")
    return {"question": question, "boxes": boxes}


def questions(views: Sequence[Prepared], inputs: Mapping[str, Any], format_version: str) -> Questions:
    """The question with each placeholder replaced by its box as the format's region."""
    fmt = text_format_for("object", format_version)
    prep = views[0]
    cam, sent = prep.camera, inputs["question"]
    for name, box in zip(PLACEHOLDERS, inputs["boxes"]):
        corners = to_model_px(prep, np.array([box[:2], box[2:]]), "box corner")
        norm = codecs.encode_box_norm1000(np.r_[corners[0], corners[1]], cam.width, cam.height)
        sent = sent.replace(name, fmt.region_text(norm.tolist()))
    return Questions([sent], context={"question": inputs["question"], "boxes": inputs["boxes"]})


def result(views: Sequence[Prepared], asked: Questions, answers: Sequence[str], format_version: str) -> AskResult:
    """The answer, with the regions it writes mapped back to original pixels."""
    prep = views[0]
    cam, answer = prep.camera, answers[0] if answers else ""
    back = []
    for m in REGION_BOX.finditer(answer):
        n = np.array([int(v) for v in m.groups()], dtype=np.float64)
        if n[2] >= n[0] and n[3] >= n[1]:
            px = codecs.decode_box_norm1000(n, cam.width, cam.height)
            c = prep.pixmap.to_src(np.array([px[:2], px[2:]]))
            back.append([*c[0].tolist(), *c[1].tolist()])
    return AskResult(asked.context["question"], asked.texts[0], answer, asked.context["boxes"], back, prep)
