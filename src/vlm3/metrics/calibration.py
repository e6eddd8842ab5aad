"""Camera-calibration metrics: field-of-view errors in degrees, pure functions ``f(pred, gt)``.

Single-image calibration papers (GeoCalib, Veicht et al. 2024; AnyCalib, Tirado-Garin &
Civera 2025) report the error of the predicted vertical or horizontal field of view in
degrees: its median, and the fraction of images under 1, 2 and 5 degrees (their "AUC" is
the area under that error curve). Inputs are 1-D sequences of fields of view in degrees,
prediction first, each in (0, 180); ValueError names the problem on empty, mismatched,
non-finite or out-of-range input (parse failures are handled before, see
``vlm3.tasks.failure_policy``).

The conversion between a focal length and the field of view it spans (a pinhole with the
principal point at the image centre; the image's width covers pixel edges 0 .. W):
``hfov = 2 atan(W / (2 fx))``.
"""

from __future__ import annotations

import math

import numpy as np

from vlm3.metrics.values import paired_values

#: thresholds (degrees) of the reported fractions
THRESHOLDS_DEG = (1.0, 2.0, 5.0)


def hfov_deg_from_focal_px(fx_px: float, width_px: float) -> float:
    """Horizontal field of view (degrees) of a pinhole of focal ``fx_px`` over ``width_px`` pixels."""
    if not (fx_px > 0 and width_px > 0 and math.isfinite(fx_px) and math.isfinite(width_px)):
        raise ValueError(f"focal and width must be positive and finite, got fx={fx_px!r}, width={width_px!r}")
    return math.degrees(2.0 * math.atan(width_px / (2.0 * fx_px)))


def focal_px_from_hfov_deg(hfov_deg: float, width_px: float) -> float:
    """Focal length (pixels) that spans ``hfov_deg`` degrees over ``width_px`` pixels."""
    if not (0.0 < hfov_deg < 180.0 and width_px > 0 and math.isfinite(width_px)):
        raise ValueError(f"field of view must be in (0, 180) degrees and the width positive, got "
                         f"{hfov_deg!r}, {width_px!r}")
    return (width_px / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)


def _check(pred_deg, gt_deg) -> tuple[np.ndarray, np.ndarray]:
    return paired_values(pred_deg, gt_deg, "fields of view", 0.0, 180.0)


def fov_errors_deg(pred_deg, gt_deg) -> np.ndarray:
    """(N,) absolute field-of-view errors |pred - gt| in degrees."""
    p, g = _check(pred_deg, gt_deg)
    return np.abs(p - g)


def median_fov_error_deg(pred_deg, gt_deg) -> float:
    """Median absolute field-of-view error (degrees)."""
    return float(np.median(fov_errors_deg(pred_deg, gt_deg)))


def fraction_within_deg(pred_deg, gt_deg, threshold_deg: float) -> float:
    """Fraction of images whose field-of-view error is below ``threshold_deg`` (strict)."""
    return float(np.mean(fov_errors_deg(pred_deg, gt_deg) < threshold_deg))


def fractions_within_deg(pred_deg, gt_deg, thresholds_deg=THRESHOLDS_DEG) -> dict[str, float]:
    """{"within_1deg": ..., "within_2deg": ..., "within_5deg": ...}: `fraction_within_deg` per threshold."""
    err = fov_errors_deg(pred_deg, gt_deg)
    return {f"within_{t:g}deg": float(np.mean(err < t)) for t in thresholds_deg}


__all__ = ["THRESHOLDS_DEG", "focal_px_from_hfov_deg", "fov_errors_deg", "fraction_within_deg",
           "fractions_within_deg", "hfov_deg_from_focal_px", "median_fov_error_deg"]
