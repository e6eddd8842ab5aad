"""The checks and preparation of a user's inputs before a model is asked: intrinsics, settings
and images in, an image as the model sees it out (the checks of points, grids and boxes, which
the task units use, live in ``vlm3.tasks.predict`` and are re-exported here).

``given_image`` reads a user's image once (``GivenImage``: its pixels, name and EXIF tag);
``prepare_image`` standardises it through the data engine's own function
(``vlm3.standardize.standardize_view``: focal normalisation to ``focal_px``, then the model's
``preprocessing``: the crop to the 32-px grid and pixel budget, a pad, or the release's resize)
and keeps the record (``PixelMap``) that maps its pixels back to the ORIGINAL image. Missing intrinsics follow the data engine's
calibration policy (``vlm3.standardize.calibration``): ``"none"`` refuses with a message
saying how to fix it, ``"fov60"`` etc. is a stated guess (said in ``Prepared.notes`` and
recorded as ``camera_from``), ``"anycalib"`` uses AnyCalib when installed. An EXIF
orientation tag is noted, not applied (the stored pixels are used, and intrinsics are those
of the stored pixels).

Pixels are continuous (x = column, y = row, centre of pixel i at i); intrinsics fx, fy, cx,
cy are in pixels of the image they belong to. Every bad input raises ``InputError`` with one
line that says what to fix.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from vlm3.errors import InputError
from vlm3.geometry.camera import Camera
from vlm3.io.images import ImageLike, ImageReadError, exif_orientation_of, read_rgb_oriented
from vlm3.tasks.predict import (MAX_QUERIES, Prepared, as_pixels, grid_over_model_image, grid_points_px, parse_box,
                                parse_grid, parse_points, to_model_px)

#: intrinsics as a user gives them: "fx,fy,cx,cy" (pixels), 4 numbers, a 3x3 K, or None (the calibration policy)
IntrinsicsLike = str | Sequence[float] | np.ndarray | None

#: the largest focal-normalised image (px area) before the crop: beyond it the intrinsics are wrong
MAX_RESAMPLED_PIXELS = 100_000_000
#: the smallest image a model can see: one 32 x 32 visual token
MIN_IMAGE_PX = 32


# ------------------------------------------------------------------ checks of user input
def check_focal_px(value: float) -> float:
    """A canonical focal length in px (> 0, finite); InputError otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"--focal-px must be a positive number of pixels (the training focal, e.g. 1000), got {value}")
    return v


def check_max_pixels(value: int, grid: int = 32) -> int:
    """An image cap in px area (an integer, at least one ``grid`` x ``grid`` cell); InputError otherwise."""
    try:
        v = int(value) if float(value).is_integer() else -1
    except (TypeError, ValueError, OverflowError):
        v = -1
    if v < grid * grid:
        raise InputError(f"--max-pixels must be at least {grid * grid} (one {grid}x{grid} visual token; a whole "
                         f"number of px), got {value}")
    return v


def parse_intrinsics(text: IntrinsicsLike) -> tuple[float, float, float, float] | None:
    """``"fx,fy,cx,cy"`` (pixels), 4 numbers or a 3x3 K -> (fx, fy, cx, cy) floats in pixels, None
    for None; InputError for the wrong count, non-numbers, non-finite values or non-positive focal
    lengths."""
    if text is None:
        return None
    if not isinstance(text, (str, Sequence, np.ndarray)) or np.ndim(text) == 0 and not isinstance(text, str):
        raise InputError(f"intrinsics are 'fx,fy,cx,cy' (pixels), 4 numbers or a 3x3 K, got {type(text).__name__}")
    if not isinstance(text, str) and len(text) == 3 and all(hasattr(r, "__len__") and not isinstance(r, str)
                                                            for r in text):
        try:
            k = np.asarray(text, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"a 3x3 K must hold numbers, got {text!r}") from None
        if k.shape != (3, 3):
            raise InputError(f"a K matrix must be 3x3, got shape {k.shape}")
        text = [k[0, 0], k[1, 1], k[0, 2], k[1, 2]]
    parts = [p for p in text.replace(" ", "").split(",") if p] if isinstance(text, str) else list(text)
    if len(parts) != 4:
        raise InputError(f"intrinsics need exactly 4 numbers fx,fy,cx,cy (pixels), got {len(parts)}: {text!r}")
    try:
        vals = tuple(float(v) for v in parts)
    except (TypeError, ValueError):
        raise InputError(f"intrinsics must be numbers fx,fy,cx,cy, got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"intrinsics must be finite numbers fx,fy,cx,cy (pixels), got {text!r}")
    if vals[0] <= 0 or vals[1] <= 0:
        raise InputError(f"focal lengths fx, fy must be positive, got {vals[0]}, {vals[1]}")
    return vals  # type: ignore[return-value]


def path_exists(path: str | Path) -> bool:
    """``Path.exists`` that is False (not OSError) for names the file system refuses (too long, ...)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class GivenImage:
    """A user's image, read once: ``pixels`` (H, W, 3) uint8 RGB as stored, ``label`` (its path,
    or "<array>"), ``orientation`` (its EXIF tag, 1 = upright; noted, never applied)."""

    pixels: np.ndarray
    label: str = "<array>"
    orientation: int = 1


def given_image(image: ImageLike | GivenImage) -> GivenImage:
    """A user's image (path, array or PIL image) read ONCE and checked (``GivenImage``; one given
    is returned as it is); InputError if unusable."""
    if isinstance(image, GivenImage):
        return image
    try:
        arr, orientation = read_rgb_oriented(image)
    except OSError as err:  # a name the file system refuses (too long, ...)
        raise InputError(f"cannot read image {str(image)[:80]}: {err.strerror or err}") from None
    except ImageReadError as err:
        if err.missing:
            raise InputError(f"image not found: {err.path} (check the path)") from None
        raise InputError(f"cannot read image {err.path}: {err.problem}") from None
    if min(arr.shape[:2]) < MIN_IMAGE_PX:
        raise InputError(f"image {_label(image)} is {arr.shape[1]}x{arr.shape[0]} px; the model needs at least "
                         f"{MIN_IMAGE_PX}x{MIN_IMAGE_PX} (one visual token)")
    return GivenImage(arr, _label(image), orientation)


def read_image(image: ImageLike | GivenImage) -> np.ndarray:
    """A user's image (path, array or PIL image) as (H, W, 3) uint8 RGB; InputError if unusable."""
    return given_image(image).pixels


def _label(image: ImageLike) -> str:
    return str(image) if isinstance(image, (str, Path)) else "<array>"


def exif_orientation(image: ImageLike) -> int:
    """The EXIF orientation tag of an image file (1 = upright, also for arrays and PIL images)."""
    if not isinstance(image, (str, Path)):
        return 1
    try:
        data = Path(image).read_bytes()
    except OSError:
        return 1  # read_image says what is wrong with the file
    return exif_orientation_of(data)


def prepare_image(image: ImageLike | GivenImage, intrinsics: IntrinsicsLike, focal_px: float, max_pixels: int,
                  calibration: str = "none", grid: int = 32, preprocessing: str = "project") -> Prepared:
    """Standardise one image as the data engine does, through its own function
    (``vlm3.standardize.standardize_view``): resample it to ``focal_px`` (px), then, by
    ``preprocessing`` (``vlm3.tasks.asking.Asking.preprocessing``), crop it centred to a multiple of
    ``grid`` px within ``max_pixels`` (px area; "project"), pad it to the grid ("pad") or resize it as
    the published checkpoints were fed ("release"). ``image`` is read once (a ``GivenImage`` is not
    read again); ``intrinsics`` are in pixels of ``image`` (None: the ``calibration`` policy decides).
    InputError (one line) for an unreadable or too small image, bad intrinsics, or intrinsics that
    make the model image absurd."""
    from vlm3.io.records import RecordError, ViewRecord
    from vlm3.standardize import standardize_view
    from vlm3.standardize.calibration import camera_for
    from vlm3.standardize.release import PREPROCESSING

    focal_px, max_pixels = check_focal_px(focal_px), check_max_pixels(max_pixels, grid)
    if preprocessing not in PREPROCESSING:
        raise InputError(f"unknown preprocessing {preprocessing!r}: use one of {', '.join(PREPROCESSING)}")
    given = given_image(image)
    arr, label = given.pixels, given.label
    h, w = arr.shape[:2]
    k = parse_intrinsics(intrinsics)
    cam = Camera.from_fx_fy_cx_cy(*k, w, h) if k is not None else None
    try:
        cam, source = camera_for(label, arr, cam, calibration)
    except (RecordError, ValueError) as err:
        if calibration == "none":
            raise InputError(f"no intrinsics for {label}: pass --intrinsics fx,fy,cx,cy (pixels of the image), or "
                             f"--calibration fov60 for a stated guess (anycalib: AnyCalib, when installed)") from None
        raise InputError(f"no intrinsics for {label}: pass --intrinsics fx,fy,cx,cy "
                         f"({getattr(err, 'problem', err)})") from None
    notes = []
    if source.startswith("fallback:"):
        deg = re.search(r"fov(\d+(?:\.\d+)?)", source)
        notes.append(f"{label} has no intrinsics: assumed a {deg.group(1) if deg else '?'} deg horizontal field of view "
                     f"(fx = fy = {cam.fx:.1f} px, centred); metric answers scale with this guess, pass "
                     f"--intrinsics fx,fy,cx,cy")
    if given.orientation != 1:
        notes.append(f"{label} has EXIF orientation {given.orientation} (shown rotated by viewers): vlm3 uses the "
                     f"stored pixels as they are; give intrinsics and points for the stored (unrotated) image")
    sw, sh = w * focal_px / cam.fx, h * focal_px / cam.fy
    if sw * sh > MAX_RESAMPLED_PIXELS:
        raise InputError(f"fx={cam.fx:g}, fy={cam.fy:g} would resample the {w}x{h} image to {sw:.3g}x{sh:.3g} px "
                         f"to reach the model's focal {focal_px:g} px: intrinsics are in pixels of the image "
                         f"(fx is typically 0.5-2x its width)")
    view = ViewRecord(label, "predict", "", label, cam)
    try:
        std = standardize_view(view, focal_px, max_pixels, grid, preprocessing=preprocessing, image=arr).std
    except RecordError:
        raise InputError(f"fx={cam.fx:g}, fy={cam.fy:g} shrink the {w}x{h} image to {sw:.3g}x{sh:.3g} px at the "
                         f"model's focal {focal_px:g} px, smaller than one {grid}-px cell: check --intrinsics "
                         f"(pixels of the image) and --focal-px") from None
    return Prepared(std.image, std.camera, std.pixmap, cam, source, notes, label)


__all__ = ["MAX_QUERIES", "MAX_RESAMPLED_PIXELS", "MIN_IMAGE_PX", "GivenImage", "IntrinsicsLike", "Prepared",
           "as_pixels", "check_focal_px", "check_max_pixels", "exif_orientation", "given_image",
           "grid_over_model_image", "grid_points_px", "parse_box", "parse_grid", "parse_intrinsics", "parse_points",
           "path_exists", "prepare_image", "read_image", "to_model_px"]
