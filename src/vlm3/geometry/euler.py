"""Yaw-pitch-roll angles at the text boundary (the pose question `euler_natural`).

Inside vlm3 rotations are 3x3 matrices; Euler angles exist only where the text protocol
needs them. This module owns the one convention the VLM3 release uses:

* Frame: OpenCV camera frame of camera 0, the reference (the first image; the release
  prompts' "first camera"): x right, y down, z forward.
* Order: intrinsic yaw -> pitch -> roll about camera-0's body axes, i.e.
  ``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` with right-handed elementary rotations
  (``Ry(a) = [[c, 0, s], [0, 1, 0], [-s, 0, c]]`` etc.).
* Signs (physical meaning):
  - yaw   about +y (down):    yaw > 0 turns right: the forward axis moves toward +x.
  - pitch about +x (right):   pitch > 0 looks up:  the forward axis moves toward -y.
  - roll  about +z (forward): roll > 0 banks right: the right axis (+x) dips toward +y
    (down), i.e. the camera turns clockwise as seen by its operator looking forward.
  The release sample (yaw 89.6008, pitch 2.5987, roll 6.0723 -> rotation angle
  89.6547 deg) is reproduced by this convention and not by flipping pitch alone or roll
  alone, so the signs are pinned by released data, not only by the prose.
* Meaning of R: ``R_cam0_from_cam1`` -- the columns are camera 1's axes expressed in
  camera 0 (camera 1's orientation relative to camera 0; it maps camera-1 coordinates
  to camera-0 coordinates). The relative transform most datasets store,
  ``T_cam1_from_cam0`` (maps camera-0 points into camera 1, e.g. ScanNet's ``T_0to1``),
  has rotation block ``R_cam1_from_cam0 = R_cam0_from_cam1.T``; use the
  ``*_T_cam1_from_cam0`` helpers below instead of transposing by hand.

Ranges returned: yaw in (-180, 180], pitch in [-90, 90], roll in (-180, 180]. At the
gimbal lock (|pitch| = 90) roll is set to 0 and yaw absorbs the rest.
"""

from __future__ import annotations

import math

import numpy as np

from vlm3.geometry.transforms import check_rotation, check_T

#: |cos(pitch)| below this is treated as gimbal lock.
_GIMBAL_EPS = 1e-9


def _Rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _Ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _Rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _check_angle(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number of degrees, got {value!r}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def R_from_yaw_pitch_roll_deg(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation R_cam0_from_cam1 (3, 3) float64 from intrinsic yaw -> pitch -> roll in degrees.

    ``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)``; see the module docstring for axes and signs.
    Raises ValueError on non-finite angles.
    """
    y = math.radians(_check_angle("yaw_deg", yaw_deg))
    p = math.radians(_check_angle("pitch_deg", pitch_deg))
    r = math.radians(_check_angle("roll_deg", roll_deg))
    return _Ry(y) @ _Rx(p) @ _Rz(r)


def yaw_pitch_roll_deg_from_R(R_cam0_from_cam1: np.ndarray) -> tuple[float, float, float]:
    """Inverse of `R_from_yaw_pitch_roll_deg`: (yaw, pitch, roll) in degrees.

    With R = Ry(a) Rx(b) Rz(c): R[1, 2] = -sin b, (R[0, 2], R[2, 2]) = cos b (sin a, cos a),
    (R[1, 0], R[1, 1]) = cos b (sin c, cos c). Raises GeometryError if R is not a rotation.
    """
    R = check_rotation(R_cam0_from_cam1, name="R_cam0_from_cam1")
    sin_p = float(np.clip(-R[1, 2], -1.0, 1.0))
    cos_p = math.hypot(R[0, 2], R[2, 2])
    pitch = math.atan2(sin_p, cos_p)
    if cos_p > _GIMBAL_EPS:
        yaw = math.atan2(R[0, 2], R[2, 2])
        roll = math.atan2(R[1, 0], R[1, 1])
    else:  # gimbal lock: only yaw -/+ roll is defined; put it all in yaw.
        roll = 0.0
        # With cos b = 0: R[0, 0] = cos(a -/+ c) ... with c = 0 -> R[0,0] = cos a, R[2,0] = -sin a.
        yaw = math.atan2(-R[2, 0], R[0, 0])
    out = [math.degrees(v) for v in (yaw, pitch, roll)]
    # atan2 returns (-180, 180]; map an exact -180 to +180 for a canonical text form.
    return tuple(180.0 if v == -180.0 else v for v in out)  # type: ignore[return-value]


def yaw_pitch_roll_deg_from_T_cam1_from_cam0(T_cam1_from_cam0: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of camera 1 relative to camera 0, from the 4x4
    relative transform that maps camera-0 points into camera 1 (e.g. ScanNet ``T_0to1``)."""
    T = check_T(T_cam1_from_cam0, name="T_cam1_from_cam0")
    return yaw_pitch_roll_deg_from_R(T[:3, :3].T)


def R_cam1_from_cam0_from_yaw_pitch_roll_deg(yaw_deg: float, pitch_deg: float,
                                             roll_deg: float) -> np.ndarray:
    """Rotation block (3, 3) of T_cam1_from_cam0 for the given yaw/pitch/roll (degrees):
    the transpose of `R_from_yaw_pitch_roll_deg`."""
    return R_from_yaw_pitch_roll_deg(yaw_deg, pitch_deg, roll_deg).T
