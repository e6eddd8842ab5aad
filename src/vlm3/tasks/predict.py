"""What a task unit needs to be asked about a user's images (``vlm3 predict <verb>``, ``Model.<verb>()``).

The generic part (``vlm3.infer``: model loading, settings, reading and standardising the images,
the output folder, progress, the parsed-count lines) and a task unit (``vlm3.tasks.unit.Task``,
its "asking a model" section) meet through the types here:

* ``PredictInput`` -- one input of the task besides its images and their intrinsics, as data
  (depth: ``--points`` / ``--grid``; match: ``--points``; ask: ``QUESTION`` and ``--box``): the
  generic CLI makes it a click argument or option, the generated ``Model`` method a parameter.
* ``Prepared`` -- a user's image as the model sees it, with the record mapping its pixels back.
* ``Questions`` -- what the unit asks about the prepared images (texts, ids, per-question
  inputs) and what it keeps to read the answers (``context``).

The result a unit returns (``Task.predict_result``: ``tasks/<task>/result.py``) has ``to_json()``,
``lines(of_many=False)`` (what ``vlm3 predict`` prints; ``of_many``: one image of a folder),
``notes`` (said as ``note:`` lines), ``warnings()`` (whole lines for stderr, after the printed ones),
``parsed_count()`` ((parsed, asked), or None for a free-text answer) and ``write(out, images,
meta)`` (its output files in the folder ``out``; ``images``: the images given, (H, W, 3) uint8;
returns the names written); ``PredictResult`` gives the defaults (no warnings, the JSON file).

The checks of a user's points, grids and boxes live here too (``parse_points``, ``to_model_px``,
``grid_over_model_image``, ``parse_grid``, ``parse_box``): every bad input raises ``InputError``
with one line that says what to fix. Pixels are continuous (x = column, y = row, the centre of
pixel i at i), in the image given unless the name says otherwise.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from vlm3.errors import InputError
from vlm3.geometry.camera import Camera

#: the most questions one call asks (a 64 x 64 depth grid)
MAX_QUERIES = 4096


@dataclass(frozen=True)
class PredictInput:
    """One input of a task's ``vlm3 predict <verb>`` and ``Model.<verb>()`` besides its images and
    intrinsics, as data.

    ``name``: the keyword of the generated method and of the click parameter; ``help``: its help
    line; ``flag``: the CLI option (``"--points"``), None for a positional argument (shown as
    ``name`` in capitals); ``multiple``: the option is given once per item (``--box``; a tuple);
    ``required``: the call needs it (required inputs come before the intrinsics in the method's
    parameters and the command's options; a default otherwise); ``default``: the method's default
    (the CLI's is None, or () for ``multiple``)."""

    name: str
    help: str
    flag: str | None = None
    multiple: bool = False
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class Questions:
    """What a unit asks about prepared images: ``texts`` (one question each), ``question_ids``
    (pose: which question; None), ``queries`` (per-question inputs, ``vlm3.predictors.base.
    Request.queries``) and ``context`` (what the unit keeps to read the answers: the query pixels,
    the grid, the boxes)."""

    texts: list[str]
    question_ids: list[str] | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """An image as the model sees it plus the record mapping its pixels to the original.

    ``image``: (h, w, 3) uint8, the focal-normalised, grid-cropped image the model is sent;
    ``camera``: its pinhole camera (pixels of ``image``, fx = fy = the model's focal);
    ``pixmap``: ``PixelMap`` with ``to_dst`` (original -> model pixels) and ``to_src`` (back);
    ``original_camera``: the camera of the image as given (its pixels), the frame every answer
    is returned in; ``camera_from``: "given", "fallback:fov60", "calibrated:anycalib";
    ``notes``: one-line remarks for the user (guessed intrinsics, EXIF orientation); ``label``: the
    image's path as given ("<array>" for pixels). A task asked on the image as given (no focal
    normalisation: calibration) has no cameras: ``camera``, ``pixmap`` and ``original_camera`` are
    None, and ``original_size`` says the size of the image given."""

    image: np.ndarray
    camera: Camera | None
    pixmap: Any
    original_camera: Camera | None
    camera_from: str
    notes: list[str] = field(default_factory=list)
    label: str = "<array>"
    original_size: tuple[int, int] | None = None

    def camera_json(self) -> dict[str, Any]:
        """The camera the answers assume (original image pixels) and where it came from."""
        c = self.original_camera
        return {"from": self.camera_from, "fx": round(c.fx, 3), "fy": round(c.fy, 3), "cx": round(c.cx, 3),
                "cy": round(c.cy, 3), "width": c.width, "height": c.height,
                "model_image": [self.camera.width, self.camera.height], "model_focal_px": round(self.camera.fx, 3)}


class PredictResult:
    """The defaults of a task's result type (the protocol above): no warnings, and its JSON file."""

    def warnings(self) -> list[str]:
        return []

    def write_json(self, path: Path, meta: Mapping[str, Any], **extra: Any) -> None:
        """``meta``, then ``extra``, then ``to_json()`` as one indented JSON file at ``path``."""
        path.write_text(json.dumps({**meta, **extra, **self.to_json()}, indent=1))  # type: ignore[attr-defined]


# ------------------------------------------------------------------ checks of a user's inputs
def parse_grid(text: str | Sequence[int]) -> tuple[int, int]:
    """``"WxH"`` (e.g. ``"32x24"``: columns x rows) or (W, H) -> two whole numbers >= 1 with
    W * H <= MAX_QUERIES; InputError otherwise."""
    try:
        parts = text.lower().split("x") if isinstance(text, str) else list(text)
        if not all(isinstance(v, str) or float(v).is_integer() for v in parts):
            raise ValueError("not whole numbers")
        gw, gh = (int(v) for v in parts)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"--grid must look like 32x24 (columns x rows), got {text!r}") from None
    if gw < 1 or gh < 1:
        raise InputError(f"--grid needs at least 1 column and 1 row, got {gw}x{gh}")
    if gw * gh > MAX_QUERIES:
        raise InputError(f"--grid {gw}x{gh} asks {gw * gh:,} questions; at most {MAX_QUERIES:,} per call "
                         f"(e.g. 64x64): use a coarser grid")
    return gw, gh


def as_pixels(xy_px: Any, what: str = "point") -> np.ndarray:
    """User pixels (N pairs x, y: an (N, 2) array, a list of pairs) -> (N, 2) float64; InputError for
    non-numbers, no pairs, odd counts or non-finite values."""
    try:
        xy = np.asarray(xy_px, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what}s must be numbers: pairs x,y (pixels), got {str(xy_px)[:80]}") from None
    if xy.size == 0 or xy.size % 2 or xy.ndim > 2 or (xy.ndim == 2 and xy.shape[1] != 2):
        raise InputError(f"{what}s must be N pairs x,y (pixels, shape (N, 2)), got shape {xy.shape}")
    xy = xy.reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise InputError(f"{what}s must be finite numbers, got {xy[~np.isfinite(xy).all(1)][0].tolist()}")
    return xy


def to_model_px(prep: Prepared, xy_px: np.ndarray, what: str = "point") -> np.ndarray:
    """(N, 2) original-image pixels -> (N, 2) pixels of the image the model sees. InputError (naming
    the ``what``, e.g. "point" or "box corner") for more than MAX_QUERIES, a pixel outside the
    original image, or one the crop cut away."""
    xy = as_pixels(xy_px, what)
    cam0 = prep.original_camera
    if len(xy) > MAX_QUERIES:
        raise InputError(f"{len(xy):,} {what}s in one call; at most {MAX_QUERIES:,}")
    bad = ~cam0.contains(xy)
    if bad.any():
        raise InputError(f"{what} {xy[bad][0].tolist()} is outside the {cam0.width}x{cam0.height} image")
    dst = prep.pixmap.to_dst(xy)
    cut = ~prep.camera.contains(dst)
    if cut.any():
        raise InputError(f"{what} {xy[cut][0].tolist()} falls outside the part of the image the model sees "
                         f"(the centre {prep.camera.width}x{prep.camera.height} px at focal {prep.camera.fx:.0f} px); "
                         f"pick points nearer the centre, or use --grid (laid over what the model sees)")
    return dst


def grid_points_px(width: int, height: int, grid_w: int, grid_h: int) -> np.ndarray:
    """(grid_w * grid_h, 2) cell-centre pixels of a regular grid over a width x height image, row-major."""
    if grid_w < 1 or grid_h < 1:
        raise InputError(f"grid must be at least 1x1, got {grid_w}x{grid_h}")
    xs = (np.arange(grid_w) + 0.5) * width / grid_w - 0.5
    ys = (np.arange(grid_h) + 0.5) * height / grid_h - 0.5
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def grid_over_model_image(prep: Prepared, grid_w: int, grid_h: int) -> np.ndarray:
    """(grid_w * grid_h, 2) ORIGINAL-image pixels of a grid laid over the image the model sees."""
    cam = prep.camera
    if grid_w > cam.width or grid_h > cam.height:
        raise InputError(f"--grid {grid_w}x{grid_h} is finer than the {cam.width}x{cam.height} px the model sees; "
                         f"use at most {min(grid_w, cam.width)}x{min(grid_h, cam.height)}")
    return prep.pixmap.to_src(grid_points_px(cam.width, cam.height, grid_w, grid_h))


def parse_box(text: str | Sequence[float]) -> list[float]:
    """``"x1,y1,x2,y2"`` (pixels) or 4 numbers -> a box with x1 <= x2, y1 <= y2; InputError otherwise."""
    parts = [p for p in text.replace(" ", "").split(",") if p] if isinstance(text, str) else list(text)
    try:
        box = [float(v) for v in parts]
    except (TypeError, ValueError):
        raise InputError(f"a box is 4 numbers x1,y1,x2,y2 (pixels), got {text!r}") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] < box[0] or box[3] < box[1]:
        raise InputError(f"a box is 4 finite numbers x1,y1,x2,y2 with x1 <= x2 and y1 <= y2, got {text!r}")
    return box


def parse_points(value: Any, what: str = "point") -> np.ndarray:
    """A user's points: ``"x,y;x,y;..."`` (pixels) or N pairs (an (N, 2) array, a list of pairs) ->
    (N, 2) float64; InputError for non-numbers, no pairs, odd counts or non-finite values."""
    if not isinstance(value, str):
        return as_pixels(value, what)
    try:
        pts = [[float(v) for v in p.split(",")] for p in value.split(";") if p.strip()]
    except ValueError:
        raise InputError(f"{what}s must be numbers 'x,y;x,y', got {value!r}") from None
    if not pts or any(len(p) != 2 for p in pts):
        raise InputError(f"{what}s must be pairs 'x,y;x,y' (pixels), got {value!r}")
    xy = np.asarray(pts, dtype=np.float64)
    if not np.isfinite(xy).all():
        raise InputError(f"{what}s must be finite numbers, got {value!r}")
    return xy


def rounded(values: Any, digits: int) -> list:
    """Nested lists of floats rounded to ``digits`` (JSON output: no 16-digit floats)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


__all__ = ["MAX_QUERIES", "PredictInput", "PredictResult", "Prepared", "Questions", "as_pixels", "grid_over_model_image",
           "grid_points_px", "parse_box", "parse_grid", "parse_points", "rounded", "to_model_px"]
