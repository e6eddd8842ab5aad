"""Object-level (SpatialRGPT-Bench style) metrics: pure functions ``f(pred, gt)``.

* qualitative: `qualitative_accuracy` of parsed yes/no answers;
* quantitative: `quantitative_success_rate` (0.75 g <= p <= 1.25 g, inclusive: the rule
  of SpatialRGPT's ``evaluate_spatial_with_gpt4.py`` after converting both to metres) and
  `abs_rel`;
* direction: clock hours, `clock_error_hours` / `clock_error_deg` (circular, 30 deg per
  hour) and `clock_success_rate` (within 1 hour, SpatialRGPT's rule).
"""

from __future__ import annotations

import numpy as np

SUCCESS_MAX_REL_ERR = 0.25
#: A clock answer succeeds within this many hours of the truth (SpatialRGPT).
CLOCK_SUCCESS_MAX_HOURS = 1
#: ground truths below this (metres) write as 0.00 at the answers' 0.01 m precision: a
#: relative error is undefined for them, so scoring leaves them out and counts them
MIN_RELATIVE_GT_M = 0.005


def qualitative_accuracy(pred, gt) -> float:
    """Fraction of answers whose polarity (bool) equals the ground truth."""
    p = np.asarray(pred, dtype=bool).reshape(-1)
    g = np.asarray(gt, dtype=bool).reshape(-1)
    if p.shape != g.shape or p.size == 0:
        raise ValueError(f"pred and gt must be non-empty and the same length, got {p.size} and {g.size}")
    return float(np.mean(p == g))


def _lengths(pred_m, gt_m) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred_m, dtype=np.float64).reshape(-1)
    g = np.asarray(gt_m, dtype=np.float64).reshape(-1)
    if p.shape != g.shape or p.size == 0:
        raise ValueError(f"pred and gt must be non-empty and the same length, got {p.size} and {g.size}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(g))):
        raise ValueError("lengths contain NaN or inf")
    if np.any(g <= 0):
        raise ValueError("ground-truth lengths must be positive for relative errors")
    return p, g


def relative_error(pred_m, gt_m) -> np.ndarray:
    """Per-item |p - g| / g (N,)."""
    p, g = _lengths(pred_m, gt_m)
    return np.abs(p - g) / g


def quantitative_success_rate(pred_m, gt_m, max_rel_err: float = SUCCESS_MAX_REL_ERR) -> float:
    """Fraction with (1 - max_rel_err) g <= p <= (1 + max_rel_err) g, both ends inclusive and
    written as SpatialRGPT writes it (``0.75 * g <= p <= 1.25 * g``), so an answer exactly
    on a bound succeeds (``|p - g| / g <= 0.25`` loses some of them to rounding)."""
    p, g = _lengths(pred_m, gt_m)
    return float(np.mean((p >= (1.0 - max_rel_err) * g) & (p <= (1.0 + max_rel_err) * g)))


def abs_rel(pred_m, gt_m) -> float:
    """Mean |p - g| / g."""
    return float(np.mean(relative_error(pred_m, gt_m)))


def clock_error_hours(pred_hour, gt_hour) -> np.ndarray:
    """Circular difference (hours, 0..6) between clock hours 1..12: min(d, 12 - d)."""
    return clock_error_deg(pred_hour, gt_hour) / 30.0


def clock_success_rate(pred_hour, gt_hour, max_hours: float = CLOCK_SUCCESS_MAX_HOURS) -> float:
    """Fraction of clock answers within ``max_hours`` (1, SpatialRGPT) of the truth, circularly."""
    return float(np.mean(clock_error_hours(pred_hour, gt_hour) <= max_hours))


def clock_error_deg(pred_hour, gt_hour) -> np.ndarray:
    """Circular angle (degrees, 0..180) between clock hours 1..12 (30 deg per hour)."""
    p = np.asarray(pred_hour, dtype=np.float64).reshape(-1)
    g = np.asarray(gt_hour, dtype=np.float64).reshape(-1)
    if p.shape != g.shape or p.size == 0:
        raise ValueError("pred and gt must be non-empty and the same length")
    if np.any((p < 1) | (p > 12)) or np.any((g < 1) | (g > 12)):
        raise ValueError("clock hours must lie in 1..12")
    d = np.abs(p - g) % 12
    return np.minimum(d, 12 - d) * 30.0
