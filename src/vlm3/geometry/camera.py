"""The pinhole ``Camera``: intrinsics K always together with the image width and height.

Pixel convention (OpenCV): x is the column, y the row, the centre of pixel (i, j) is at
continuous coordinates (i, j); a pixel covers [i - 0.5, i + 0.5). K maps points in the
camera frame (x right, y down, z forward, metres) to these coordinates. Every image
operation returns a new Camera; nothing mutates one in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vlm3.errors import Vlm3Error


class GeometryError(Vlm3Error, ValueError):
    """Raised for invalid geometric input (bad focal, bad rotation, wrong shapes, NaN)."""


def _check_finite(name: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        raise GeometryError(f"{name} contains NaN or inf: {arr!r}")


@dataclass(frozen=True)
class Camera:
    """Pinhole camera with optional OpenCV distortion.

    Attributes:
        K: (3, 3) float64 intrinsics [[fx, s, cx], [0, fy, cy], [0, 0, 1]] in pixels.
        width, height: image size in pixels that K refers to.
        dist: optional OpenCV distortion coefficients (k1, k2, p1, p2[, k3...]); None = none.
    """

    K: np.ndarray
    width: int
    height: int
    dist: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        if K.shape != (3, 3):
            raise GeometryError(f"K must be 3x3, got shape {K.shape}")
        _check_finite("K", K)
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise GeometryError(f"focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}")
        if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0:
            raise GeometryError(f"K must be upper triangular with last row [0, 0, 1], got {K.tolist()}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise GeometryError(f"image size must be positive, got {self.width}x{self.height}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        if self.dist is not None:
            dist = np.asarray(self.dist, dtype=np.float64).ravel()
            _check_finite("dist", dist)
            object.__setattr__(self, "dist", None if not np.any(dist) else dist)

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_fx_fy_cx_cy(
        cls, fx: float, fy: float, cx: float, cy: float, width: int, height: int,
        dist: np.ndarray | None = None,
    ) -> "Camera":
        """Build from the four pinhole parameters (pixels) and the image size."""
        return cls(np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]), width, height, dist)

    def to_dict(self) -> dict:
        """JSON-friendly form: fx, fy, cx, cy, width, height (and dist when present)."""
        out = {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
               "width": self.width, "height": self.height}
        if self.dist is not None:
            out["dist"] = self.dist.tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        """Inverse of :meth:`to_dict`."""
        return cls.from_fx_fy_cx_cy(d["fx"], d["fy"], d["cx"], d["cy"], d["width"], d["height"],
                                    d.get("dist"))

    # ---------------------------------------------------------------- accessors
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)

    # ---------------------------------------------------------------- image ops
    def scaled(self, sx: float, sy: float, width: int, height: int) -> "Camera":
        """Camera of the image resized by (sx, sy) to (width, height).

        With pixel centres at integer coordinates, x' = (x + 0.5) * sx - 0.5, so
        fx' = fx * sx and cx' = (cx + 0.5) * sx - 0.5 (same for y).
        """
        if sx <= 0 or sy <= 0:
            raise GeometryError(f"scale factors must be positive, got ({sx}, {sy})")
        K = self.K.copy()
        K[0, 0] *= sx
        K[0, 1] *= sx
        K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
        K[1, 1] *= sy
        K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
        return Camera(K, width, height, self.dist)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> "Camera":
        """Camera of the crop whose top-left pixel is (x0, y0) of this image."""
        K = self.K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        return Camera(K, width, height, self.dist)

    # ---------------------------------------------------------------- projection
    def project(self, X_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project camera-frame points (N, 3) in metres to pixels.

        Returns (xy_px (N, 2), z (N,)). Points with z <= 0 get NaN pixels. Distortion is
        ignored (undistort first; see vlm3.geometry.focal).
        """
        X = np.asarray(X_cam, dtype=np.float64).reshape(-1, 3)
        z = X[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uvw = X @ self.K.T
            xy = uvw[:, :2] / uvw[:, 2:3]
        xy[z <= 0] = np.nan
        return xy, z

    def unproject(self, xy_px: np.ndarray, depth_z: np.ndarray) -> np.ndarray:
        """Back-project pixels (N, 2) with z-depth (N,) in metres to camera-frame points (N, 3)."""
        xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
        z = np.asarray(depth_z, dtype=np.float64).reshape(-1)
        if len(z) != len(xy):
            raise GeometryError(f"{len(xy)} pixels but {len(z)} depths")
        rays = self.rays(xy)
        return rays * z[:, None]

    def rays(self, xy_px: np.ndarray) -> np.ndarray:
        """Rays with z = 1 through pixels (N, 2): (N, 3) in the camera frame."""
        xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
        ones = np.ones((len(xy), 1))
        return np.linalg.solve(self.K, np.hstack([xy, ones]).T).T

    def pixel_grid(self) -> np.ndarray:
        """(H, W, 2) pixel-centre coordinates (x, y) of every pixel."""
        xs, ys = np.meshgrid(np.arange(self.width, dtype=np.float64),
                             np.arange(self.height, dtype=np.float64))
        return np.stack([xs, ys], axis=-1)

    def contains(self, xy_px: np.ndarray) -> np.ndarray:
        """(N,) bool: pixel coordinates that fall inside the image."""
        xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
        return ((xy[:, 0] >= -0.5) & (xy[:, 0] < self.width - 0.5)
                & (xy[:, 1] >= -0.5) & (xy[:, 1] < self.height - 0.5))
