"""Adapters: thin readers that turn one source layout into canonical records.

An adapter is a module with ``iter_records(source: SourceConfig) -> Iterator[Record | Skipped]``.
It converts units and conventions at the boundary (metres, OpenCV camera frame,
``T_<to>_from_<from>``), checks them, and yields a ``Skipped`` with a one-line reason
for anything it cannot use. A config names an adapter by module: a bare name is looked
up in this package (``rgbd_folder``), a dotted name is imported as is
(``mypkg.my_adapter``), so new sources need no edit here.

Shared helpers for adapters live in this module.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Sequence

import numpy as np

from vlm3.io.images import ImageReadError, read_image_size
from vlm3.io.records import RecordError
from vlm3.geometry.camera import Camera, GeometryError


def load_adapter(name: str) -> ModuleType:
    """Import an adapter module by short name (this package) or dotted path; checks its API."""
    modname = name if "." in name else f"vlm3.data.adapters.{name}"
    try:
        mod = importlib.import_module(modname)
    except ModuleNotFoundError as err:
        raise ValueError(f"unknown adapter {name!r}: cannot import {modname} ({err})") from None
    if not callable(getattr(mod, "iter_records", None)):
        raise ValueError(f"adapter {modname} has no iter_records(source) function")
    return mod


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the image header, without decoding; RecordError if unreadable."""
    try:
        return read_image_size(path)
    except ImageReadError as err:
        raise RecordError(err.path, err.problem) from None


def camera_from_intrinsics(where: str, fx_fy_cx_cy: Sequence[float], width: int,
                           height: int) -> Camera:
    """Checked pinhole camera: finite positive focals, principal point inside the image."""
    try:
        vals = [float(v) for v in fx_fy_cx_cy]
    except (TypeError, ValueError):
        raise RecordError(where, f"invalid K: intrinsics must be 4 numbers, got {fx_fy_cx_cy!r}") from None
    if len(vals) != 4 or not all(np.isfinite(vals)):
        raise RecordError(where, f"invalid K: need 4 finite numbers fx, fy, cx, cy, got {fx_fy_cx_cy!r}")
    fx, fy, cx, cy = vals
    if not (0 <= cx <= width and 0 <= cy <= height):
        raise RecordError(where, f"invalid K: principal point ({cx}, {cy}) outside the "
                                 f"{width}x{height} image")
    try:
        return Camera.from_fx_fy_cx_cy(fx, fy, cx, cy, width, height)
    except GeometryError as err:
        raise RecordError(where, f"invalid K: {err}") from None


def camera_from_K(where: str, K: Sequence[Sequence[float]] | Sequence[float], width: int,
                  height: int) -> Camera:
    """Checked camera from a 3x3 K (nested or 9 numbers row-major, or 4x4 with K top-left)."""
    try:
        arr = np.asarray(K, dtype=np.float64)
    except (TypeError, ValueError):
        raise RecordError(where, f"invalid K: not numeric ({K!r})") from None
    if arr.size == 9:
        arr = arr.reshape(3, 3)
    elif arr.size == 16:
        arr = arr.reshape(4, 4)[:3, :3]
    else:
        raise RecordError(where, f"invalid K: expected 9 or 16 numbers, got {arr.size}")
    if not np.all(np.isfinite(arr)) or abs(arr[0, 1]) > 1e-9 or not np.allclose(arr[2], [0, 0, 1]) \
            or abs(arr[1, 0]) > 1e-9:
        raise RecordError(where, f"invalid K: expected [[fx,0,cx],[0,fy,cy],[0,0,1]], got {arr.tolist()}")
    return camera_from_intrinsics(where, (arr[0, 0], arr[1, 1], arr[0, 2], arr[1, 2]), width, height)


def resolve_path(base: Path, rel: str) -> Path:
    """A path from a metadata file: absolute stays, relative is taken from ``base``."""
    p = Path(rel)
    return p if p.is_absolute() else base / p


__all__ = ["load_adapter", "image_size", "camera_from_intrinsics", "camera_from_K", "resolve_path"]
