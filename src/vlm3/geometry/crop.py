"""Qwen3-VL's 32-px grid: crop (or pad) a standardised image without changing its focal.

Qwen3-VL turns each 32x32 block into one visual token (patch 16, merge 2) and would
*resize* any other size, silently changing the focal length. So standardised images are
cropped to multiples of ``grid`` pixels and to at most ``max_pixels`` pixels
(`crop_to_grid`, training); the crop only shifts the principal point, recorded in the
camera and the PixelMap. `pad_to_grid` keeps every pixel instead (evaluation: no benchmark
point is cut away): zeros are added on the right and bottom up to the next multiple of
``grid``, so the camera keeps its K and only grows.
"""

from __future__ import annotations

import numpy as np

from vlm3.geometry.camera import GeometryError
from vlm3.geometry.focal import Standardized


def grid_crop_size(width: int, height: int, max_pixels: int, grid: int = 32) -> tuple[int, int]:
    """Largest (w, h), multiples of ``grid``, with w <= width, h <= height, w*h <= max_pixels.

    Keeps the aspect ratio when the pixel budget binds. Raises GeometryError when the
    image is smaller than one grid cell.
    """
    if width < grid or height < grid:
        raise GeometryError(
            f"image {width}x{height} is smaller than one {grid}-px cell after standardisation; "
            f"raise the target focal length or use larger images")
    if max_pixels < grid * grid:
        raise GeometryError(f"max_pixels={max_pixels} is below one {grid}x{grid} cell")
    a = min(1.0, float(np.sqrt(max_pixels / (width * height))))
    w = max(grid, int(width * a) // grid * grid)
    h = max(grid, int(height * a) // grid * grid)
    while w * h > max_pixels:  # rounding guard
        if w >= h:
            w -= grid
        else:
            h -= grid
    return w, h


def crop(std: Standardized, x0: int, y0: int, width: int, height: int) -> Standardized:
    """Crop (x0, y0, width, height) of a standardised image; camera and PixelMap follow."""
    cam = std.camera
    if x0 < 0 or y0 < 0 or x0 + width > cam.width or y0 + height > cam.height:
        raise GeometryError(
            f"crop ({x0}, {y0}, {width}, {height}) exceeds the image {cam.width}x{cam.height}")
    img = std.image[y0:y0 + height, x0:x0 + width]
    depth = None if std.depth_m is None else std.depth_m[y0:y0 + height, x0:x0 + width]
    new_cam = cam.cropped(x0, y0, width, height)
    # The image is made contiguous (encoders and processors want that); the depth map
    # stays a view (callers only read it).
    return Standardized(np.ascontiguousarray(img), new_cam, std.pixmap.with_dst(new_cam), depth)


def pad_to_grid(std: Standardized, grid: int = 32) -> Standardized:
    """Pad (zeros, right and bottom) to the next multiple of ``grid`` on each side.

    Every original pixel keeps its coordinates, so K is unchanged (the camera only grows)
    and the PixelMap still maps the original image onto the same pixels. Padded depth is 0
    (no measurement). Adds fewer than ``grid`` pixels per side.
    """
    cam = std.camera
    w, h = -(-cam.width // grid) * grid, -(-cam.height // grid) * grid
    if (w, h) == (cam.width, cam.height):
        return std
    pad = ((0, h - cam.height), (0, w - cam.width))
    img = np.pad(std.image, pad + ((0, 0),) * (std.image.ndim - 2))
    depth = None if std.depth_m is None else np.pad(std.depth_m, pad)
    new_cam = cam.cropped(0, 0, w, h)
    return Standardized(img, new_cam, std.pixmap.with_dst(new_cam), depth)


def crop_to_grid(std: Standardized, max_pixels: int, grid: int = 32,
                 center: tuple[float, float] | None = None,
                 rng: np.random.Generator | None = None) -> Standardized:
    """Crop to the grid/pixel budget: centred on ``center`` (pixels), random with ``rng``,
    or the image centre by default. The window is clamped inside the image."""
    cam = std.camera
    w, h = grid_crop_size(cam.width, cam.height, max_pixels, grid)
    if center is not None:
        x0 = int(round(center[0] - w / 2))
        y0 = int(round(center[1] - h / 2))
    elif rng is not None:
        x0 = int(rng.integers(0, cam.width - w + 1))
        y0 = int(rng.integers(0, cam.height - h + 1))
    else:
        x0, y0 = (cam.width - w) // 2, (cam.height - h) // 2
    x0 = min(max(x0, 0), cam.width - w)
    y0 = min(max(y0, 0), cam.height - h)
    return crop(std, x0, y0, w, h)
