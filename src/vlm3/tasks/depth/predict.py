"""``vlm3 predict depth`` / ``Model.depth``: depth questions at a user's pixels, or on a grid laid
over what the model sees, and their answers as a `DepthResult` (original-image pixels, metres
along the ray)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.errors import InputError
from vlm3.protocol import codecs
from vlm3.tasks.common import text_format_for
from vlm3.tasks.depth.result import DepthResult
from vlm3.tasks.predict import (PredictInput, Prepared, Questions, grid_over_model_image, parse_grid, parse_points,
                                to_model_px)

INPUTS = (PredictInput("points", "query pixels 'x,y;x,y;...' (original image pixels)", "--points"),
          PredictInput("grid", "query a regular WxH grid over the image the model sees, e.g. 32x24", "--grid"))


def check(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly one of ``points`` ((N, 2) pixels or "x,y;x,y") and ``grid`` ((W, H) or "WxH")."""
    points, grid = inputs.get("points"), inputs.get("grid")
    if (points is None) == (grid is None):
        raise InputError("give exactly one of --points 'x,y;x,y;...' or --grid WxH")
    return {"points": None if points is None else parse_points(points),
            "grid": None if grid is None else parse_grid(grid)}


def questions(views: Sequence[Prepared], inputs: Mapping[str, Any], format_version: str) -> Questions:
    """One question per point (its 2000-grid position in the image the model sees)."""
    fmt = text_format_for("depth", format_version)
    prep, grid = views[0], inputs.get("grid")
    if grid is not None:
        xy = grid_over_model_image(prep, *grid)
        dst = prep.pixmap.to_dst(xy)
    else:
        xy = inputs["points"]
        dst = to_model_px(prep, xy, "point")
    norm = codecs.encode_xy_norm2000(dst, prep.camera.width, prep.camera.height)
    return Questions([fmt.prompt((int(a), int(b))) for a, b in norm], None,
                     [{"xy_px": p.tolist(), "xy_norm2000": n.tolist()} for p, n in zip(dst, norm)],
                     {"xy_px": xy, "grid": grid})


def result(views: Sequence[Prepared], asked: Questions, answers: Sequence[str], format_version: str) -> DepthResult:
    """Parsed depths at the query pixels, and the points they make in the given camera's frame."""
    fmt = text_format_for("depth", format_version)
    parsed = [fmt.parse_answer(t) for t in answers]
    d = np.array([p.value if p.ok else np.nan for p in parsed], dtype=np.float64)
    xy, cam, grid = asked.context["xy_px"], views[0].original_camera, asked.context["grid"]
    rays = np.c_[(xy[:, 0] - cam.cx) / cam.fx, (xy[:, 1] - cam.cy) / cam.fy, np.ones(len(xy))]
    xyz = rays / np.linalg.norm(rays, axis=1, keepdims=True) * d[:, None]
    return DepthResult(xy, d, xyz, list(answers), [p.ok for p in parsed], views[0],
                       (grid[1], grid[0]) if grid is not None else None)
