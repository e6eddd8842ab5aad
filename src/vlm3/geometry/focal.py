"""Focal normalisation: resample an image so its focal length becomes a target (VLM3/DepthLM).

The canonical focal is 1000 px for depth/objects/correspondence and 750 px for pose in
the VLM3 release. Steps:

1. If the camera has lens distortion or skew, undistort and resample to square pixels at
   f0 = max(fx, fy) (OpenCV remap; no detail lost).
2. Resize by (target / fx, target / fy) to (round(W target/fx), round(H target/fy)) with
   area interpolation when shrinking and bicubic when enlarging; non-square pixels
   (fx != fy) become square in this same single resampling. The exact per-axis scale is
   W'/W and H'/H, so the returned camera's focal is the target up to half a pixel over
   the image size; the returned camera is the truth and is what labels and maps use.

Depth maps follow their image with exact nearest-neighbour sampling (no mixing of
depths across edges). A :class:`PixelMap` maps points both ways between the original
and the standardised image (it also absorbs later crops, see ``vlm3.geometry.crop``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vlm3.geometry.camera import Camera, GeometryError
from vlm3.geometry.depth import check_depth_map



@dataclass(frozen=True)
class PixelMap:
    """Point mapping between an original image (``src``) and a standardised one (``dst``).

    Both cameras describe the same optical centre and orientation; only intrinsics,
    distortion and image size differ, so a pixel maps through its viewing ray.
    """

    src: Camera
    dst: Camera

    def to_dst(self, xy_px: np.ndarray) -> np.ndarray:
        """Original-image pixels (N, 2) -> standardised-image pixels (N, 2)."""
        xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
        if self.src.dist is not None:
            und = cv2.undistortPoints(xy[:, None, :], self.src.K, self.src.dist).reshape(-1, 2)
            rays = np.hstack([und, np.ones((len(und), 1))])
        else:
            rays = self.src.rays(xy)
        out, _ = self.dst.project(rays)
        return out

    def to_src(self, xy_px: np.ndarray) -> np.ndarray:
        """Standardised-image pixels (N, 2) -> original-image pixels (N, 2)."""
        xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
        rays = self.dst.rays(xy)
        if self.src.dist is not None:
            out, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), self.src.K, self.src.dist)
            return out.reshape(-1, 2)
        out, _ = self.src.project(rays)
        return out

    def with_dst(self, dst: Camera) -> "PixelMap":
        """Same source, new standardised camera (after a crop or resize of the output)."""
        return PixelMap(self.src, dst)

    def to_dict(self) -> dict:
        return {"src": self.src.to_dict(), "dst": self.dst.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "PixelMap":
        return cls(Camera.from_dict(d["src"]), Camera.from_dict(d["dst"]))


@dataclass(frozen=True)
class Standardized:
    """An image (H, W, C) uint8 with its camera, optional depth map (H, W) and the PixelMap."""

    image: np.ndarray
    camera: Camera
    pixmap: PixelMap
    depth_m: np.ndarray | None = None


def _check_image(image: np.ndarray, camera: Camera) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[:2] != (camera.height, camera.width):
        raise GeometryError(
            f"image has shape {img.shape}, but the camera is {camera.width}x{camera.height}")
    return img


def _needs_undistort(camera: Camera) -> bool:
    return camera.dist is not None or camera.K[0, 1] != 0


def undistort_square(image: np.ndarray, camera: Camera,
                     depth_m: np.ndarray | None = None) -> Standardized:
    """Remap to an undistorted camera with square pixels at f0 = max(fx, fy)."""
    f0 = max(camera.fx, camera.fy)
    width = int(round(camera.width * f0 / camera.fx))
    height = int(round(camera.height * f0 / camera.fy))
    cx = (camera.cx + 0.5) * f0 / camera.fx - 0.5
    cy = (camera.cy + 0.5) * f0 / camera.fy - 0.5
    dst = Camera.from_fx_fy_cx_cy(f0, f0, cx, cy, width, height)
    dist = camera.dist if camera.dist is not None else np.zeros(5)
    map1, map2 = cv2.initUndistortRectifyMap(camera.K, dist, None, dst.K, (width, height),
                                             cv2.CV_32FC1)
    img = cv2.remap(image, map1, map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    depth = None
    if depth_m is not None:
        depth = cv2.remap(depth_m.astype(np.float32), map1, map2, cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return Standardized(img, dst, PixelMap(camera, dst), depth)


def resize(std: Standardized, width: int, height: int) -> Standardized:
    """Resize a standardised image (and its depth) to (width, height); camera and map follow."""
    if width <= 0 or height <= 0:
        raise GeometryError(f"target size must be positive, got {width}x{height}")
    cam = std.camera
    sx, sy = width / cam.width, height / cam.height
    shrink = sx * sy < 1.0
    img = std.image
    if (width, height) != (cam.width, cam.height):
        img = cv2.resize(img, (width, height),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    depth = std.depth_m
    if depth is not None and (width, height) != (cam.width, cam.height):
        depth = cv2.resize(depth, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    new_cam = cam.scaled(sx, sy, width, height)
    return Standardized(img, new_cam, std.pixmap.with_dst(new_cam), depth)


def normalize_focal(image: np.ndarray, camera: Camera, target_focal_px: float,
                    depth_m: np.ndarray | None = None) -> Standardized:
    """Resample ``image`` (H, W[, C]) so that its focal length becomes ``target_focal_px``.

    Args:
        image: (H, W, C) or (H, W) array matching ``camera``'s size.
        camera: intrinsics of ``image`` (distortion allowed).
        target_focal_px: the canonical focal length in pixels (1000 default, 750 for pose).
        depth_m: optional (H, W) depth map (any kind; the kind is not changed) in metres.

    Returns:
        Standardized(image, camera, pixmap, depth_m) with the new camera (fx and fy within
        half a pixel over the image size of the target) and the original <-> new pixel map.
    """
    if not np.isfinite(target_focal_px) or target_focal_px <= 0:
        raise GeometryError(f"target focal length must be positive, got {target_focal_px}")
    img = _check_image(image, camera)
    depth = None if depth_m is None else check_depth_map(depth_m, camera)
    if _needs_undistort(camera):
        std = undistort_square(img, camera, depth)
    else:
        std = Standardized(img, camera, PixelMap(camera, camera), depth)
    width = max(1, int(round(std.camera.width * target_focal_px / std.camera.fx)))
    height = max(1, int(round(std.camera.height * target_focal_px / std.camera.fy)))
    return resize(std, width, height)
