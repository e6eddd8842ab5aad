"""Depth kinds: z-depth (along the optical axis) and ray length (distance to the camera centre).

Labels in vlm3 are ray lengths unless a source says z ("depth_kind" is stored with every
record). For a pixel with normalised ray (xn, yn, 1) = K^-1 (x, y, 1):
``ray_m = z_m * sqrt(xn^2 + yn^2 + 1)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from vlm3.geometry.camera import Camera, GeometryError

DepthKind = Literal["z", "ray"]
DEPTH_KINDS = ("z", "ray")


def ray_scale(camera: Camera, xy_px: np.ndarray) -> np.ndarray:
    """(N,) factor sqrt(xn^2 + yn^2 + 1) that turns z-depth into ray length at pixels (N, 2)."""
    rays = camera.rays(xy_px)
    return np.linalg.norm(rays, axis=1)


def ray_from_z(camera: Camera, xy_px: np.ndarray, z_m: np.ndarray) -> np.ndarray:
    """Ray length (N,) in metres from z-depth (N,) at pixels (N, 2)."""
    return np.asarray(z_m, dtype=np.float64).reshape(-1) * ray_scale(camera, xy_px)


def z_from_ray(camera: Camera, xy_px: np.ndarray, ray_m: np.ndarray) -> np.ndarray:
    """z-depth (N,) in metres from ray length (N,) at pixels (N, 2)."""
    return np.asarray(ray_m, dtype=np.float64).reshape(-1) / ray_scale(camera, xy_px)


def ray_scale_map(camera: Camera) -> np.ndarray:
    """(H, W) float32 factor |K^-1 (x, y, 1)| per pixel: ray length = z-depth * factor."""
    grid = camera.pixel_grid().reshape(-1, 2)
    return ray_scale(camera, grid).reshape(camera.height, camera.width).astype(np.float32)


def ray_map_from_z_map(camera: Camera, z_map_m: np.ndarray) -> np.ndarray:
    """Dense (H, W) ray-length map from a z-depth map of the camera's size (invalid stays 0/NaN)."""
    check_depth_map(z_map_m, camera)
    return z_map_m * ray_scale_map(camera)


def convert_depth(camera: Camera, xy_px: np.ndarray, depth_m: np.ndarray,
                  src: DepthKind, dst: DepthKind) -> np.ndarray:
    """Convert depths at pixels between kinds ("z" <-> "ray")."""
    for kind in (src, dst):
        if kind not in DEPTH_KINDS:
            raise GeometryError(f"unknown depth kind {kind!r}; use one of {DEPTH_KINDS}")
    if src == dst:
        return np.asarray(depth_m, dtype=np.float64).reshape(-1)
    return ray_from_z(camera, xy_px, depth_m) if dst == "ray" else z_from_ray(camera, xy_px, depth_m)


def check_depth_map(depth_m: np.ndarray, camera: Camera) -> np.ndarray:
    """Check a depth map is (H, W) of the camera's size; returns it as float32.

    NaN and non-positive values are allowed (they mean "no measurement") but a map with
    no positive finite value at all is refused.
    """
    d = np.asarray(depth_m)
    if d.ndim != 2 or d.shape != (camera.height, camera.width):
        raise GeometryError(
            f"depth map has shape {d.shape}, but the camera is {camera.width}x{camera.height} "
            f"(expected ({camera.height}, {camera.width}))")
    d = d.astype(np.float32, copy=False)
    if not np.any(np.isfinite(d) & (d > 0)):
        raise GeometryError("depth map has no valid (finite, positive) value")
    return d


def valid_depth_mask(depth_m: np.ndarray) -> np.ndarray:
    """(H, W) bool: finite and strictly positive depth."""
    d = np.asarray(depth_m)
    return np.isfinite(d) & (d > 0)
