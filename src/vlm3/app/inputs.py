"""The page's inputs, checked before the model is asked: uploaded images, clicked points,
typed boxes and grid sizes, each refused with a one-line ``InputError`` that says what to do.

Points and boxes live on the page as text the user can also edit: points ``"x,y; x,y"`` and
boxes ``"x1,y1,x2,y2; ..."``, in pixels of the uploaded image (x = column, y = row, pixel
centres at integers), rounded to 0.1 px.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlm3.infer.api import InputError, as_pixels, parse_box, parse_grid

#: Pillow modes of single-channel images with more than 8 bits: depth maps, not photos
_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def need_image(path: str | None, what: str = "the image") -> str:
    """The uploaded image's file, or InputError when there is none or it is a 16/32-bit
    single-channel map (a depth map uploaded as a photo: the model reads colour photos)."""
    if not path:
        raise InputError(f"no image: upload {what} (or pick an example below)")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            mode = im.mode
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise InputError(f"{what} cannot be read as an image ({type(err).__name__}): upload a PNG or JPEG") from None
    if mode in _DEPTH_MODES:
        raise InputError(f"{what} is a single-channel {mode} image (a depth map?): upload the colour photo; "
                         f"depth is what the model predicts")
    return path


def need_two_images(path1: str | None, path2: str | None) -> tuple[str, str]:
    """Both images of a pair, or InputError naming the one that is missing."""
    if not path1 and not path2:
        raise InputError("no images: upload image 1 and image 2 (or pick an example below)")
    if not path1 or not path2:
        missing = "image 1" if not path1 else "image 2"
        raise InputError(f"{missing} is missing: upload both images of the pair")
    return need_image(path1, "image 1"), need_image(path2, "image 2")


def parse_points(text: str | None) -> np.ndarray:
    """``"x,y; x,y"`` -> (N, 2) float pixels; InputError when empty or malformed."""
    parts = [p.strip() for p in (text or "").replace("\n", ";").split(";") if p.strip()]
    if not parts:
        raise InputError("no points: click on the image (or type x,y; x,y)")
    rows = []
    for p in parts:
        try:
            xy = [float(v) for v in p.replace(" ", ",").split(",") if v]
        except ValueError:
            xy = []
        if len(xy) != 2:
            raise InputError(f"point {p!r} is not x,y (two numbers in pixels)")
        rows.append(xy)
    return as_pixels(np.array(rows), "point")


def add_point(text: str | None, xy: Any) -> str:
    """The points text with the clicked pixel ``xy`` = (x, y) appended."""
    x, y = float(xy[0]), float(xy[1])
    return f"{text.strip()}; {x:.1f},{y:.1f}" if text and text.strip() else f"{x:.1f},{y:.1f}"


def parse_boxes(text: str | None) -> list[list[float]]:
    """``"x1,y1,x2,y2; ..."`` -> boxes in pixels (none for empty text); InputError if malformed."""
    parts = [p.strip() for p in (text or "").replace("\n", ";").split(";") if p.strip()]
    return [parse_box(p.replace(" ", "")) for p in parts]


def add_corner(boxes: str | None, pending: list[float] | None, xy: Any) -> tuple[str, list[float] | None]:
    """A click while drawing boxes: the first click of a box is kept as ``pending``, the second
    closes the box (corners sorted) and appends it. Returns (boxes text, pending corner)."""
    x, y = round(float(xy[0]), 1), round(float(xy[1]), 1)
    if not pending:
        return boxes or "", [x, y]
    x0, y0 = pending
    box = f"{min(x0, x):.1f},{min(y0, y):.1f},{max(x0, x):.1f},{max(y0, y):.1f}"
    return (f"{boxes.strip()}; {box}" if boxes and boxes.strip() else box), None


def need_grid(text: str | None) -> tuple[int, int]:
    """A grid ``"WxH"`` (columns x rows) -> (W, H); InputError when it does not parse."""
    if not text or not text.strip():
        raise InputError("no grid size: write columns x rows, e.g. 16x12")
    return parse_grid(text.strip())


def intrinsics_or_none(text: str | None) -> str | None:
    """The intrinsics text as given (``"fx,fy,cx,cy"``, parsed by the API), None when empty."""
    return text.strip() if text and text.strip() else None

