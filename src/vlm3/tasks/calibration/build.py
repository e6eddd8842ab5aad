"""Calibration task: one "what is the horizontal field of view" question about one image.

The image is NOT focal-normalised (that would make every answer the target focal): it is
only downsized to the task's image budget (`cap_to_budget`, aspect kept, nothing cropped),
which keeps the field of view. Labels need a known K (the world, WAI, RGB-D folders, DepthLM
lines): a view without intrinsics is refused, never labelled through a calibration policy's
guess. A distorted camera is undistorted first (square pixels, `undistort_square`), so the
label is the pinhole field of view of the pixels the model sees.

Labels: ``{"hfov_deg": h, "vfov_deg": v, "camera": the camera of the stored image,
"camera_from": "given", "record_id", "scene_id"}`` (degrees). ``hfov_deg`` is the value the
answer text states (its 0.1 deg precision: what the model is taught is what it is scored
against, so the oracle scores 0); ``vfov_deg`` and the camera keep full precision.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vlm3.geometry.camera import GeometryError
from vlm3.geometry.focal import PixelMap, Standardized, resize, undistort_square
from vlm3.io.images import ImageReadError, read_rgb
from vlm3.io.records import RecordError, ViewRecord
from vlm3.metrics.calibration import hfov_deg_from_focal_px
from vlm3.tasks.common import BuildContext, SampleDraft, draft_format_version, text_format_for


def budget_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """(w, h) of a ``width`` x ``height`` image downsized (never enlarged) to at most
    ``max_pixels`` pixels, aspect kept (each side rounded down, at least 1)."""
    s = min(1.0, math.sqrt(max_pixels / float(width * height)))
    return max(1, int(width * s)), max(1, int(height * s))


def cap_to_budget(std: Standardized, max_pixels: int) -> Standardized:
    """A view downsized to ``max_pixels`` (`budget_size`; INTER_AREA), camera and pixel map following."""
    return resize(std, *budget_size(std.camera.width, std.camera.height, max_pixels))


def cap_image(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """``image`` (H, W, 3) uint8 downsized to ``max_pixels`` as `cap_to_budget` does, for an image
    without a camera (``vlm3 predict calibrate``: the camera is what is asked)."""
    h, w = image.shape[:2]
    tw, th = budget_size(w, h, max_pixels)
    return image if (tw, th) == (w, h) else cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)


def build(record: ViewRecord, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
    """One calibration sample from a view with intrinsics (RecordError if unusable)."""
    if not isinstance(record, ViewRecord):
        raise RecordError(record.record_id, "calibration task needs a single view record")
    if record.camera is None:
        raise RecordError(record.image_path, "calibration labels need the view's intrinsics (K); this view has none")
    try:
        image = read_rgb(record.image_path)
    except ImageReadError as err:
        raise RecordError(err.path, err.problem) from None
    camera = record.camera
    if image.shape[:2] != (camera.height, camera.width):
        raise RecordError(record.image_path, f"image size {image.shape[1]}x{image.shape[0]} does not match the "
                                             f"intrinsics' {camera.width}x{camera.height}")
    try:
        if camera.dist is not None or camera.K[0, 1] != 0:
            std = undistort_square(image, camera)
        else:
            std = Standardized(image, camera, PixelMap(camera, camera))
        std = cap_to_budget(std, int(ctx.task.max_pixels))
        hfov = hfov_deg_from_focal_px(std.camera.fx, std.camera.width)
        vfov = hfov_deg_from_focal_px(std.camera.fy, std.camera.height)
    except (GeometryError, ValueError) as err:
        raise RecordError(record.image_path, str(err)) from None
    fmt = text_format_for("calibration", draft_format_version(ctx))
    answer = fmt.render_answer(hfov)
    labels = {"hfov_deg": float(fmt.parse_answer(answer).value), "vfov_deg": vfov, "camera": std.camera.to_dict(), "camera_from": "given",
              "record_id": record.record_id, "scene_id": record.scene_id}
    return SampleDraft([std.image], [(fmt.prompt(), answer)], labels, [std.pixmap.to_dict()],
                       draft_format_version(ctx))
