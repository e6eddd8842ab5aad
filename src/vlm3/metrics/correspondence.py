"""Correspondence metrics: end-point error in pixels of a STATED image and PCK.

All pixel inputs are (N, 2) arrays of (x, y) in pixels of the same image -- the image the
ground-truth point lies in (image 2 of the pair), at the resolution the caller states
when reporting (original or standardised). Model answers live on the 1000-grid; convert
them with `px_from_norm1000` (x * W / 1000, y * H / 1000 with that image's W, H) or use
`epe_px_from_norm1000`, which scales x and y separately (the grid is anisotropic when
W != H, so a 1000-grid distance is not a pixel distance times one factor).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _points(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    arr = arr.reshape(1, 2) if arr.shape == (2,) else arr
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {np.shape(a)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    p, g = _points(pred, "pred_xy_px"), _points(gt, "gt_xy_px")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same shape, got {p.shape} and {g.shape}")
    if p.shape[0] == 0:
        raise ValueError("no points to score")
    return p, g


def epe_px(pred_xy_px, gt_xy_px) -> np.ndarray:
    """Per-point end-point error (N,) = ||pred - gt||_2 in pixels of the stated image."""
    p, g = _pair(pred_xy_px, gt_xy_px)
    return np.linalg.norm(p - g, axis=1)


def mean_epe_px(pred_xy_px, gt_xy_px) -> float:
    """Mean end-point error in pixels."""
    return float(np.mean(epe_px(pred_xy_px, gt_xy_px)))


def pck(pred_xy_px, gt_xy_px, thresholds_px: Sequence[float] = (1.0, 3.0, 5.0)) -> dict[float, float]:
    """Percentage of correct keypoints as fractions: {t: mean(EPE <= t)} for each t in pixels."""
    e = epe_px(pred_xy_px, gt_xy_px)
    return {float(t): float(np.mean(e <= t)) for t in thresholds_px}


def px_from_norm1000(xy_norm1000, width: float, height: float) -> np.ndarray:
    """1000-grid (N, 2) -> pixels of an image of size (width, height): x*W/1000, y*H/1000."""
    if not (width > 0 and height > 0):
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return _points(xy_norm1000, "xy_norm1000") * np.array([width, height], dtype=np.float64) / 1000.0


def epe_px_from_norm1000(pred_norm1000, gt_norm1000, width: float, height: float) -> np.ndarray:
    """Per-point EPE (N,) in pixels of the image of size (width, height) from 1000-grid points."""
    return epe_px(px_from_norm1000(pred_norm1000, width, height), px_from_norm1000(gt_norm1000, width, height))
