"""Release-compatible preprocessing: the resize the published VLM3 checkpoints were fed.

The project standardises a view by resizing it to the target focal (each axis rounded)
and cropping to Qwen3-VL's 32-px grid (`vlm3.geometry.focal` / `vlm3.geometry.crop`). The
release's samples (tests/golden/release_strings.json, ../shared/data/vlm3_release/
formats.json) show another rule, reproduced here exactly:

* scale ``s = target_focal_px / fx`` (and ``target_focal_px / fy`` for y, except where the
  release uses ONE scale for both axes: its object sample, SpatialRGPT-Bench, keeps
  fy' = fy * 1000 / fx = 998.81);
* size ``(int(W * sx), int(H * sy))`` -- truncated, not rounded (1024 x 768 at fx 902.47
  -> 1134 x 851, where rounding gives 1135 x 852);
* no crop: the image goes to the processor uncropped (Qwen3-VL's own resize then applies);
* the intrinsics the release writes are K scaled by (sx, sy), principal point included
  (``cx * sx``; the pixel-centre rule ``(cx + 0.5) sx - 0.5`` differs by about half a pixel):
  `release_intrinsics`. Boxes in resized pixels are ``round(v * s)`` (`release_box_px`);
  1000-grid boxes are computed on the ORIGINAL box and size (`codecs.encode_box_norm1000`),
  so they do not depend on the resize at all.

`release_focal_resize` returns a `Standardized` whose camera is the exact camera of the
resized pixels (project convention, so geometry stays right) with the release's size.
"""

from __future__ import annotations

import math

import numpy as np

from vlm3.geometry.camera import Camera, GeometryError
from vlm3.geometry.depth import check_depth_map
from vlm3.geometry.focal import PixelMap, Standardized, resize, undistort_square

#: The preprocessing choices of `vlm3.standardize.standardize_view`: "project" (training:
#: focal-normalise, crop to the grid and the image budget), "pad" (evaluation of the project's
#: own models: focal-normalise, pad to the grid, nothing cut away, no budget), "release" (the
#: published checkpoints' truncated resize, no crop).
PREPROCESSING = ("project", "pad", "release")

#: The release image budget of one view: 1,280 x 1,024 = 1,310,720 pixels = 1,280 visual
#: tokens of 32 x 32 px (depth, correspondence, object). Each task's focal length and budget
#: are its unit's (``vlm3.tasks.unit.Task.focal_px`` / ``max_pixels``; pose: 750 px, 5,529,600 px).
RELEASE_MAX_PIXELS = 1310720


def preprocessing_of(options, default: str = "project") -> str:
    """The ``preprocessing`` source option (else ``default``); ValueError naming the choices."""
    value = str((options or {}).get("preprocessing", default))
    if value not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {value!r}; choose one of {PREPROCESSING}")
    return value


def release_scales(camera: Camera, target_focal_px: float, one_scale: bool = False) -> tuple[float, float]:
    """(sx, sy) of the release's resize: target / fx, and target / fy (or target / fx when
    ``one_scale``, as the release's object sample)."""
    if not math.isfinite(target_focal_px) or target_focal_px <= 0:
        raise GeometryError(f"target focal length must be positive, got {target_focal_px}")
    sx = target_focal_px / camera.fx
    return sx, (sx if one_scale else target_focal_px / camera.fy)


def release_size(camera: Camera, target_focal_px: float, one_scale: bool = False) -> tuple[int, int]:
    """(width, height) the release resizes to: ``int(W * sx)``, ``int(H * sy)`` (truncated)."""
    sx, sy = release_scales(camera, target_focal_px, one_scale)
    w, h = int(camera.width * sx), int(camera.height * sy)
    if w < 1 or h < 1:
        raise GeometryError(f"release resize of {camera.width}x{camera.height} to focal {target_focal_px} "
                            f"leaves no pixels")
    return w, h


def release_intrinsics(camera: Camera, target_focal_px: float, one_scale: bool = False) -> dict[str, float]:
    """The intrinsics the release states for the resized image: fx, fy, cx, cy scaled by (sx, sy)."""
    sx, sy = release_scales(camera, target_focal_px, one_scale)
    return {"fx": camera.fx * sx, "fy": camera.fy * sy, "cx": camera.cx * sx, "cy": camera.cy * sy}


def release_box_px(box_xyxy_px, camera: Camera, target_focal_px: float, one_scale: bool = False) -> list[int]:
    """A box [x1, y1, x2, y2] of the original image in the release's resized pixels: round(v * s)."""
    sx, sy = release_scales(camera, target_focal_px, one_scale)
    b = np.asarray(box_xyxy_px, dtype=np.float64).reshape(4)
    return [int(round(v)) for v in b * np.array([sx, sy, sx, sy])]


def release_focal_resize(image: np.ndarray, camera: Camera, target_focal_px: float,
                         depth_m: np.ndarray | None = None, one_scale: bool = False) -> Standardized:
    """Resize ``image`` (H, W[, C]) (and depth) as the release does: `release_size`, no crop.

    Distorted cameras are undistorted first (as in the project's path). The returned camera
    is exact for the resized pixels (x' = (x + 0.5) * W'/W - 0.5); its focal is within
    ``target * 1/W`` of the target (truncation), and the PixelMap maps back to the original.
    """
    img = np.asarray(image)
    if img.shape[:2] != (camera.height, camera.width):
        raise GeometryError(f"image {img.shape[1]}x{img.shape[0]} does not match the camera "
                            f"{camera.width}x{camera.height}")
    depth = None if depth_m is None else check_depth_map(depth_m, camera)
    if camera.dist is not None or camera.K[0, 1] != 0:  # as vlm3.geometry.focal.normalize_focal
        std = undistort_square(img, camera, depth)
    else:
        std = Standardized(img, camera, PixelMap(camera, camera), depth)
    w, h = release_size(std.camera, target_focal_px, one_scale)
    return resize(std, w, h)


__all__ = ["PREPROCESSING", "RELEASE_MAX_PIXELS", "preprocessing_of", "release_box_px", "release_focal_resize", "release_intrinsics",
           "release_scales", "release_size"]
