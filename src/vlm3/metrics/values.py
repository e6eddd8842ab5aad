"""The input check every scalar metric shares: predictions and truths as two 1-D float arrays.

``paired_values(pred, gt, what, low, high)`` returns (pred, gt) as float64 arrays of one non-zero
length, every value finite and inside the open interval (low, high); otherwise ValueError naming
the problem (parse failures are handled before the metrics, ``vlm3.tasks.failure_policy``).
"""

from __future__ import annotations

import math

import numpy as np


def paired_values(pred, gt, what: str, low: float = -math.inf, high: float = math.inf
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(pred, gt) as (N,) float64 arrays, N >= 1, finite, each value in (low, high); ``what``
    names the values in the messages ("depths", "fields of view")."""
    p = np.asarray(pred, dtype=np.float64).reshape(-1)
    g = np.asarray(gt, dtype=np.float64).reshape(-1)
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same length, got {p.size} and {g.size}")
    if p.size == 0:
        raise ValueError(f"no {what} to score")
    for name, a in (("pred", p), ("gt", g)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} {what} contain NaN or inf")
        if np.any((a <= low) | (a >= high)):
            bounds = "positive" if (low, high) == (0.0, math.inf) else f"in ({low:g}, {high:g})"
            raise ValueError(f"{name} {what} must be {bounds} (got min {a.min():g}, max {a.max():g})")
    return p, g


__all__ = ["paired_values"]
