"""SE(3) helpers: 4x4 float64 rigid transforms named by direction.

``T_b_from_a`` maps points expressed in frame a to frame b: ``X_b = R @ X_a + t``.
Example: ``T_cam_from_world`` takes world points into the camera frame (OpenCV:
x right, y down, z forward); ``T_cam1_from_cam0`` takes camera-0 points into camera 1.
The inverse is closed-form (R^T, -R^T t) and used everywhere.
"""

from __future__ import annotations

import numpy as np

from vlm3.geometry.camera import GeometryError

ORTHONORMAL_TOL = 1e-4


def check_rotation(R: np.ndarray, name: str = "R", tol: float = ORTHONORMAL_TOL) -> np.ndarray:
    """Return R as (3, 3) float64 after checking it is a proper rotation.

    Raises GeometryError naming the problem: wrong shape, NaN/inf, not orthonormal
    (max |R^T R - I| > tol) or a reflection (det < 0).
    """
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3):
        raise GeometryError(f"{name} must be 3x3, got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise GeometryError(f"{name} contains NaN or inf")
    err = float(np.abs(R.T @ R - np.eye(3)).max())
    if err > tol:
        raise GeometryError(f"{name} is not orthonormal (max |R^T R - I| = {err:.2e} > {tol:g})")
    if np.linalg.det(R) < 0:
        raise GeometryError(f"{name} is a reflection (det < 0), not a rotation")
    return R


def make_T(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Build a 4x4 transform from a rotation (3, 3) and translation (3,) in metres."""
    R = check_rotation(R)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise GeometryError(f"translation must be 3 finite numbers, got {t!r}")
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = t
    return T


def check_T(T: np.ndarray, name: str = "T") -> np.ndarray:
    """Return T as (4, 4) float64 after checking shape, last row and rotation block."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise GeometryError(f"{name} must be 4x4, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise GeometryError(f"{name} contains NaN or inf")
    if not np.allclose(T[3], [0, 0, 0, 1]):
        raise GeometryError(f"{name} last row must be [0, 0, 0, 1], got {T[3].tolist()}")
    check_rotation(T[:3, :3], name=f"{name}[:3, :3]")
    return T


def invert_T(T_b_from_a: np.ndarray) -> np.ndarray:
    """Closed-form inverse: returns T_a_from_b = [R^T, -R^T t]."""
    T = check_T(T_b_from_a)
    R, t = T[:3, :3], T[:3, 3]
    out = np.eye(4)
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ t
    return out


def compose(T_c_from_b: np.ndarray, T_b_from_a: np.ndarray) -> np.ndarray:
    """T_c_from_a = T_c_from_b @ T_b_from_a."""
    return check_T(T_c_from_b) @ check_T(T_b_from_a)


def relative_T_cam1_from_cam0(T_cam0_from_world: np.ndarray,
                              T_cam1_from_world: np.ndarray) -> np.ndarray:
    """Relative pose of two views: T_cam1_from_cam0 = T_cam1_from_world @ inv(T_cam0_from_world).

    It maps camera-0 points into camera 1. Camera 1's centre in camera-0 coordinates is
    ``invert_T(T_cam1_from_cam0)[:3, 3]`` (the camera motion seen from view 0).
    """
    return compose(T_cam1_from_world, invert_T(T_cam0_from_world))


def apply_T(T_b_from_a: np.ndarray, X_a: np.ndarray) -> np.ndarray:
    """Transform points (N, 3) from frame a to frame b."""
    T = np.asarray(T_b_from_a, dtype=np.float64)
    X = np.asarray(X_a, dtype=np.float64).reshape(-1, 3)
    return X @ T[:3, :3].T + T[:3, 3]


def rotation_angle_deg(R: np.ndarray) -> float:
    """Geodesic angle of a rotation in degrees, in [0, 180]."""
    R = check_rotation(R)
    c = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    return float(np.degrees(np.arccos(c)))
