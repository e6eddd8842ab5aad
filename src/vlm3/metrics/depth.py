"""Depth metrics on matched points: pure functions ``f(pred, gt)``, no alignment or scaling.

Inputs are 1-D arrays (or sequences) of positive, finite depths in metres, prediction
first. Every function raises ValueError naming the problem on empty, mismatched,
non-finite or non-positive input (parse failures are handled before, see `summary`).
"""

from __future__ import annotations

import numpy as np

from vlm3.metrics.values import paired_values


def _check(pred_m, gt_m) -> tuple[np.ndarray, np.ndarray]:
    return paired_values(pred_m, gt_m, "depth values", 0.0)


def delta_accuracy(pred_m, gt_m, k: int = 1) -> float:
    """δk: fraction of points with max(p/g, g/p) < 1.25**k (strict, as DepthLM/VLM3)."""
    p, g = _check(pred_m, gt_m)
    return float(np.mean(np.maximum(p / g, g / p) < 1.25 ** k))


def delta1(pred_m, gt_m) -> float:
    """δ1 = fraction with max(p/g, g/p) < 1.25."""
    return delta_accuracy(pred_m, gt_m, 1)


def delta2(pred_m, gt_m) -> float:
    """δ2 = fraction with max(p/g, g/p) < 1.25**2."""
    return delta_accuracy(pred_m, gt_m, 2)


def delta3(pred_m, gt_m) -> float:
    """δ3 = fraction with max(p/g, g/p) < 1.25**3."""
    return delta_accuracy(pred_m, gt_m, 3)


def abs_rel(pred_m, gt_m) -> float:
    """AbsRel = mean(|p - g| / g)."""
    p, g = _check(pred_m, gt_m)
    return float(np.mean(np.abs(p - g) / g))


def rmse_m(pred_m, gt_m) -> float:
    """RMSE in metres = sqrt(mean((p - g)^2))."""
    p, g = _check(pred_m, gt_m)
    return float(np.sqrt(np.mean((p - g) ** 2)))


def log10_error(pred_m, gt_m) -> float:
    """log10 error = mean(|log10 p - log10 g|)."""
    p, g = _check(pred_m, gt_m)
    return float(np.mean(np.abs(np.log10(p) - np.log10(g))))


def depth_metrics(pred_m, gt_m) -> dict[str, float]:
    """All of the above in one dict: delta1, delta2, delta3, abs_rel, rmse_m, log10."""
    return {"delta1": delta1(pred_m, gt_m), "delta2": delta2(pred_m, gt_m), "delta3": delta3(pred_m, gt_m),
            "abs_rel": abs_rel(pred_m, gt_m), "rmse_m": rmse_m(pred_m, gt_m), "log10": log10_error(pred_m, gt_m)}
