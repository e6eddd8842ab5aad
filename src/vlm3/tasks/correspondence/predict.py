"""``vlm3 predict match`` / ``Model.match``: where pixels of image 1 are in image 2, asked on the
1000-grid of the images the model sees, answered as a `MatchResult` in original pixels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.protocol import codecs
from vlm3.tasks.common import text_format_for
from vlm3.tasks.correspondence.result import MatchResult
from vlm3.tasks.predict import PredictInput, Prepared, Questions, parse_points, to_model_px

INPUTS = (PredictInput("points", "pixels of IMAGE1 'x,y;x,y;...'", "--points", required=True),)


def check(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``points``: (N, 2) pixels of image 1 or "x,y;x,y"."""
    return {"points": parse_points(inputs.get("points"))}


def questions(views: Sequence[Prepared], inputs: Mapping[str, Any], format_version: str) -> Questions:
    """One question per point of image 1 (its 1000-grid position in the image the model sees)."""
    fmt = text_format_for("correspondence", format_version)
    p1, xy = views[0], inputs["points"]
    dst = to_model_px(p1, xy, "point")
    norm = codecs.encode_xy_norm1000(dst, p1.camera.width, p1.camera.height)
    return Questions([fmt.prompt((int(a), int(b))) for a, b in norm], None,
                     [{"query_xy_px": p.tolist(), "query_xy_norm1000": n.tolist()} for p, n in zip(dst, norm)],
                     {"xy_px": xy})


def result(views: Sequence[Prepared], asked: Questions, answers: Sequence[str], format_version: str) -> MatchResult:
    """The answered 1000-grid positions in image 2, back in its original pixels."""
    fmt = text_format_for("correspondence", format_version)
    p1, p2 = views
    xy = asked.context["xy_px"]
    out = np.full_like(xy, np.nan)
    ok = []
    for i, t in enumerate(answers):
        p = fmt.parse_answer(t)
        ok.append(p.ok)
        if p.ok:
            std_px = codecs.decode_xy_norm1000(np.asarray(p.value, float), p2.camera.width, p2.camera.height)
            out[i] = p2.pixmap.to_src(np.asarray(std_px).reshape(1, 2))[0]
    return MatchResult(xy, out, list(answers), ok, [p1.camera_json(), p2.camera_json()], p1.notes + p2.notes)
