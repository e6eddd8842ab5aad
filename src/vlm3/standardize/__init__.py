"""Per-task standardisation of a view: decode, calibrate if needed, focal-normalise, grid-crop.

``standardize_view`` returns the ``Standardized`` image (H, W, 3 uint8, both sides multiples
of the grid, H*W <= max_pixels) with its camera (focal = the task's target), the depth map
(metres, of the kind requested, 0 = no measurement; a view into the resampled map, not
necessarily contiguous) and the ``PixelMap`` to the original image. Geometry comes from ``vlm3.geometry.focal`` / ``vlm3.geometry.crop``; this module
only wires loading, calibration and depth kinds together and turns geometry errors into
``RecordError`` naming the file. ``preprocessing="release"`` reproduces the published
checkpoints' resize instead (`vlm3.standardize.release`: truncated size, no grid crop);
``preprocessing="pad"`` keeps the whole focal-normalised image, padded to the grid (how
evaluation feeds the project's own models: no benchmark point is cut away).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlm3.standardize.calibration import camera_for
from vlm3.io.images import ImageReadError, read_depth_m, read_rgb
from vlm3.io.records import RecordError, ViewRecord
from vlm3.geometry.camera import Camera, GeometryError
from vlm3.geometry.crop import crop_to_grid, pad_to_grid
from vlm3.geometry.depth import ray_scale_map
from vlm3.geometry.focal import Standardized, normalize_focal
from vlm3.standardize.release import PREPROCESSING, release_focal_resize


@dataclass(frozen=True)
class StandardView:
    """A standardised view plus provenance: ``camera_from`` and the depth kind of ``std.depth_m``."""

    std: Standardized
    camera_from: str
    depth_kind: str | None


def _check_image_matches_camera(path: str, image: np.ndarray, camera: Camera) -> None:
    """Refuse an image whose size differs from the size the intrinsics refer to."""
    h, w = image.shape[:2]
    if (w, h) != (camera.width, camera.height):
        raise RecordError(path, f"image size {w}x{h} does not match the intrinsics' "
                                f"{camera.width}x{camera.height}")


def convert_depth_map(std: Standardized, src_kind: str, dst_kind: str) -> np.ndarray:
    """(H, W) depth of ``std`` converted between "z" and "ray" with the standardised camera."""
    depth = std.depth_m
    if depth is None:
        raise ValueError("standardised view has no depth")
    if src_kind == dst_kind:
        return depth
    scale = ray_scale_map(std.camera)  # |K^-1 (x, y, 1)|, >= 1 everywhere
    return depth * scale if dst_kind == "ray" else depth / scale


def standardize_view(view: ViewRecord, focal_px: float, max_pixels: int, grid: int = 32,
                     calibration: str = "none", with_depth: bool = False,
                     depth_kind: str | None = None, preprocessing: str = "project",
                     one_scale: bool = False, image: np.ndarray | None = None) -> StandardView:
    """Load and standardise one view for a task.

    Args:
        view: the record (image path, camera or None, optional depth file).
        focal_px: target focal length (pixels) after normalisation.
        max_pixels: pixel budget of the output (tokens * grid**2).
        grid: side multiple (Qwen3-VL: 32).
        calibration: policy for views without K (see ``vlm3.standardize.calibration``).
        with_depth: load the depth map too (RecordError if the view has none).
        depth_kind: kind of the returned depth ("z" or "ray"); None = as stored.
        preprocessing: "project" (focal-normalise, each axis rounded, crop to the grid and
            ``max_pixels``), "pad" (focal-normalise, pad right/bottom to the grid; every
            pixel kept, ``max_pixels`` unused) or "release" (the published checkpoints' resize: truncated size,
            no crop, ``max_pixels`` and ``grid`` unused; `vlm3.standardize.release`).
        one_scale: release only: scale y by target / fx too (the release's object sample).
        image: the view's pixels, (H, W, 3) uint8 RGB, when the caller has read them already
            (``vlm3 predict`` reads a user's image once); None: read ``view.image_path``.

    Raises:
        RecordError naming the file and the problem (unreadable image, size mismatch,
        bad depth, no intrinsics, image too small for one grid cell).
    """
    if image is None:
        try:
            image = read_rgb(view.image_path)
        except ImageReadError as err:
            raise RecordError(err.path, err.problem) from None
    camera, camera_from = camera_for(view.image_path, image, view.camera, calibration)
    _check_image_matches_camera(view.image_path, image, camera)
    depth = None
    kind = None
    if with_depth:
        if view.depth is None:
            raise RecordError(view.image_path, "this task needs depth but the view has none")
        try:
            depth = read_depth_m(view.depth, camera.width, camera.height)
        except ImageReadError as err:
            raise RecordError(err.path, err.problem) from None
        kind = view.depth.kind
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {preprocessing!r}; choose one of {PREPROCESSING}")
    try:
        if preprocessing == "release":
            std = release_focal_resize(image, camera, focal_px, depth, one_scale)
        elif preprocessing == "pad":
            std = pad_to_grid(normalize_focal(image, camera, focal_px, depth), grid)
        else:
            std = normalize_focal(image, camera, focal_px, depth)
            std = crop_to_grid(std, max_pixels, grid)  # the depth map comes back as a view
    except GeometryError as err:
        raise RecordError(view.image_path, str(err)) from None
    if with_depth:
        if not std.depth_m.any():  # loaded maps hold no NaN or negative values
            raise RecordError(view.depth.path, "no valid depth left after standardisation")
        if depth_kind is not None and depth_kind != kind:
            std = Standardized(std.image, std.camera, std.pixmap,
                               convert_depth_map(std, kind, depth_kind))
            kind = depth_kind
    return StandardView(std, camera_from, kind)


__all__ = ["StandardView", "standardize_view", "convert_depth_map"]
