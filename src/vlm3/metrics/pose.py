"""Relative-pose metrics: geodesic rotation error, translation-direction angle, and pose
AUC in the two published variants, named for which one they are.

* `pose_auc_binned_deg` -- VGGT `test_relpose.py` / Depth Anything 3 bench: per pair
  error = max(rotation error, translation angle); histogram with 1-degree bins
  ``np.arange(T + 1)``; AUC@T = mean(cumsum(hist / N)). (Pose AUC@30 in the VLM3 paper
  compares against these numbers.)
* `pose_auc_trapezoid_deg` -- SuperGlue / glue-factory ``pose_auc``: errors sorted,
  recall curve from (0, 0), trapezoid integral up to T, divided by T.

Both take per-pair errors in degrees; a pair that failed to parse may be passed as
``inf`` (it then never counts as correct). No alignment of any kind is done here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AUC_THRESHOLDS_DEG = (3, 5, 10, 15, 20, 30)


def _rotations(R, name: str) -> np.ndarray:
    arr = np.asarray(R, dtype=np.float64)
    arr = arr[None] if arr.shape == (3, 3) else arr
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise ValueError(f"{name} must have shape (3, 3) or (N, 3, 3), got {np.shape(R)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def rotation_error_deg(R_pred, R_gt) -> float | np.ndarray:
    """Geodesic angle (degrees, [0, 180]) of R_pred^T R_gt for (3, 3) or (N, 3, 3) inputs.

    Both must be the same kind of rotation (e.g. both R_cam0_from_cam1). Computed as
    atan2(|vee(M - M^T)| / 2, (tr M - 1) / 2), accurate at small and large angles.
    """
    P, G = _rotations(R_pred, "R_pred"), _rotations(R_gt, "R_gt")
    if P.shape != G.shape:
        raise ValueError(f"R_pred and R_gt shapes differ: {P.shape} vs {G.shape}")
    M = np.einsum("nji,njk->nik", P, G)
    cos = (np.trace(M, axis1=1, axis2=2) - 1.0) / 2.0
    v = np.stack([M[:, 2, 1] - M[:, 1, 2], M[:, 0, 2] - M[:, 2, 0], M[:, 1, 0] - M[:, 0, 1]], axis=1)
    sin = np.linalg.norm(v, axis=1) / 2.0
    ang = np.degrees(np.arctan2(sin, cos))
    return float(ang[0]) if np.shape(R_pred) == (3, 3) else ang


def translation_angle_deg(t_pred, t_gt, sign_ambiguous: bool) -> float | np.ndarray:
    """Angle (degrees) between translation directions, (3,) or (N, 3); scale ignored.

    sign_ambiguous=True returns min(err, 180 - err) (VGGT/DA3 ``ambiguity=True``, for
    essential-matrix estimates whose sign is unknown); False is the plain angle in [0, 180]
    (right for VLM3, whose text states the direction). Zero vectors raise ValueError.
    """
    single = np.shape(t_pred) == (3,)
    p = np.asarray(t_pred, dtype=np.float64).reshape(-1, 3)
    g = np.asarray(t_gt, dtype=np.float64).reshape(-1, 3)
    if p.shape != g.shape:
        raise ValueError(f"t_pred and t_gt shapes differ: {p.shape} vs {g.shape}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(g))):
        raise ValueError("translations contain NaN or inf")
    if np.any(np.linalg.norm(p, axis=1) == 0) or np.any(np.linalg.norm(g, axis=1) == 0):
        raise ValueError("a zero translation has no direction")
    ang = np.degrees(np.arctan2(np.linalg.norm(np.cross(p, g), axis=1), np.sum(p * g, axis=1)))
    if sign_ambiguous:
        ang = np.minimum(ang, 180.0 - ang)
    return float(ang[0]) if single else ang


def pose_error_deg(rotation_error, translation_error) -> np.ndarray:
    """Per-pair pose error used by both AUC variants: max(rotation, translation) in degrees."""
    return np.maximum(np.asarray(rotation_error, dtype=np.float64), np.asarray(translation_error, dtype=np.float64))


def _errors(errors_deg) -> np.ndarray:
    e = np.asarray(errors_deg, dtype=np.float64).reshape(-1)
    if e.size == 0:
        raise ValueError("no pose errors to score")
    if np.any(np.isnan(e)) or np.any(e < 0):
        raise ValueError("pose errors must be non-negative (use inf, not NaN, for failures)")
    return e


def pose_auc_binned_deg(errors_deg, thresholds_deg: Sequence[int] = AUC_THRESHOLDS_DEG) -> dict[int, float]:
    """VGGT / DA3 AUC: {T: mean(cumsum(histogram(err, bins=arange(T + 1)) / N))} (fractions)."""
    e = _errors(errors_deg)
    out = {}
    for t in thresholds_deg:
        if int(t) != t or t < 1:
            raise ValueError(f"binned AUC thresholds must be positive integers, got {t}")
        hist, _ = np.histogram(e, bins=np.arange(int(t) + 1))
        out[int(t)] = float(np.mean(np.cumsum(hist.astype(np.float64) / e.size)))
    return out


def pose_auc_trapezoid_deg(errors_deg, thresholds_deg: Sequence[float] = AUC_THRESHOLDS_DEG) -> dict[float, float]:
    """SuperGlue / glue-factory AUC: trapezoid area under the recall-vs-error curve up to T, / T."""
    e = np.sort(_errors(errors_deg))
    recall = (np.arange(e.size) + 1) / e.size
    e = np.r_[0.0, e]
    recall = np.r_[0.0, recall]
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    out = {}
    for t in thresholds_deg:
        if not t > 0:
            raise ValueError(f"AUC thresholds must be positive, got {t}")
        last = int(np.searchsorted(e, t))
        r = np.r_[recall[:last], recall[last - 1]]
        x = np.r_[e[:last], t]
        out[t] = float(trapezoid(r, x=x) / t)
    return out
