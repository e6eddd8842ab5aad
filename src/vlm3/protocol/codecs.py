"""Coordinate codecs: pixels <-> the integer grids written in prompts and answers.

Pixel convention (docs/conventions.md): OpenCV, x = column, y = row, the centre of pixel
i is at coordinate i. The codecs are the release's plain ratios ``x / W`` on these
coordinates (they do not add half-pixel offsets), so that prompts written here are
interchangeable with the published VLM3 samples.

* 2000-grid (depth queries): ``n = round(x / W * 2000)`` with Python's round (half to
  even), clamped to [0, 1999]; decoded as ``x = n * W / 2000``. Worst-case round-trip
  error: W / 4000 px (plus the clamp at the right/bottom edge).
* 1000-grid (correspondences): ``n = int(round(x / W * 1000))`` clamped to [0, 1000];
  decoded as ``x = n * W / 1000``. The release stores the un-rounded ratio with 3
  decimals (`xy_norm1000_float`) and writes the rounded integer in text.
* 1000-grid boxes (objects): ``round(v / W * 1000)`` per coordinate of an
  [x1, y1, x2, y2] box given in pixels of the ORIGINAL image (the release rounds
  the original-resolution box, e.g. 562.5 -> 562), clamped to [0, 1000].

x is always relative to the width and y to the height of the image the pixels refer to.

Fixed-width numbers (the compact format, ``fixed_int`` / ``fixed_number``): zero-padded to
a constant number of digits, so the first digit a model writes is the most significant
one (``012.0`` vs ``001.2``: with ``12`` and ``1.2`` both start with ``1``) and every digit
sits at a constant offset from the answer's start.

Bad input (non-positive size, NaN, wrong shape) raises ValueError naming the problem.
"""

from __future__ import annotations

import numpy as np

GRID_2000 = 2000
GRID_1000 = 1000


def _check_size(width: float, height: float) -> tuple[float, float]:
    w, h = float(width), float(height)
    if not (np.isfinite(w) and np.isfinite(h)) or w <= 0 or h <= 0:
        raise ValueError(f"image size must be positive and finite, got width={width}, height={height}")
    return w, h


def _as_rows(values, name: str, cols: int, what: str = "") -> tuple[np.ndarray, bool]:
    """(N, cols) finite float64 and whether the input was a single (cols,) row."""
    arr = np.asarray(values, dtype=np.float64)
    single = arr.ndim == 1
    rows = arr.reshape(1, -1) if single else arr
    if rows.ndim != 2 or rows.shape[1] != cols:
        raise ValueError(f"{name} must have shape ({cols},) or (N, {cols}){what}, got {arr.shape}")
    if not np.all(np.isfinite(rows)):
        raise ValueError(f"{name} contains NaN or inf")
    return rows, single


def _as_points(xy: np.ndarray | tuple | list, name: str) -> tuple[np.ndarray, bool]:
    """Return (N, 2) float64 and whether the input was a single (2,) point."""
    return _as_rows(xy, name, 2)


def int_pair(xy, name: str, lo: int, hi: int) -> tuple[int, int]:
    """``(x, y)`` as two integers in [lo, hi]; ValueError naming ``name`` otherwise."""
    try:
        x, y = xy
        xi, yi = int(x), int(y)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be two integers, got {xy!r}") from exc
    if xi != x or yi != y:
        raise ValueError(f"{name} must be integers on the grid (the codecs' encode_* give them), got {xy!r}")
    if not (lo <= xi <= hi and lo <= yi <= hi):
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {xy!r}")
    return xi, yi


def _round_half_even(values: np.ndarray) -> np.ndarray:
    # np.rint rounds half to even on the exact float64 value, like Python's round().
    return np.rint(values)


def _encode(xy_px, width, height, grid: int, lo: int, hi: int, name: str):
    w, h = _check_size(width, height)
    pts, single = _as_points(xy_px, name)
    norm = pts / np.array([w, h]) * grid
    out = np.clip(_round_half_even(norm), lo, hi).astype(np.int64)
    return out[0] if single else out


def _decode(xy_norm, width, height, grid: int, name: str):
    w, h = _check_size(width, height)
    pts, single = _as_points(xy_norm, name)
    out = pts * np.array([w, h]) / grid
    return out[0] if single else out


def encode_xy_norm2000(xy_px, width: float, height: float) -> np.ndarray:
    """Pixels (2,) or (N, 2) -> int64 2000-grid coordinates in [0, 1999] (depth queries)."""
    return _encode(xy_px, width, height, GRID_2000, 0, GRID_2000 - 1, "xy_px")


def decode_xy_norm2000(xy_norm2000, width: float, height: float) -> np.ndarray:
    """2000-grid coordinates (2,) or (N, 2) -> float64 pixels ``n * size / 2000``."""
    return _decode(xy_norm2000, width, height, GRID_2000, "xy_norm2000")


def xy_norm1000_float(xy_px, width: float, height: float, decimals: int = 3) -> np.ndarray:
    """Pixels -> un-rounded 1000-grid ratios ``x / W * 1000`` with `decimals` decimals,
    as stored in the release's correspondence labels (e.g. 59.971)."""
    w, h = _check_size(width, height)
    pts, single = _as_points(xy_px, "xy_px")
    out = np.round(pts / np.array([w, h]) * GRID_1000, decimals)
    return out[0] if single else out


def encode_xy_norm1000(xy_px, width: float, height: float) -> np.ndarray:
    """Pixels (2,) or (N, 2) -> int64 1000-grid coordinates ``int(round(x / W * 1000))``
    clamped to [0, 1000] (correspondence prompts and answers)."""
    return _encode(xy_px, width, height, GRID_1000, 0, GRID_1000, "xy_px")


def round_norm1000(xy_norm1000_float) -> np.ndarray:
    """Un-rounded 1000-grid ratios -> the integers written in text (``int(round(v))``,
    clamped to [0, 1000])."""
    pts, single = _as_points(xy_norm1000_float, "xy_norm1000")
    out = np.clip(_round_half_even(pts), 0, GRID_1000).astype(np.int64)
    return out[0] if single else out


def decode_xy_norm1000(xy_norm1000, width: float, height: float) -> np.ndarray:
    """1000-grid coordinates (2,) or (N, 2) -> float64 pixels ``n * size / 1000``."""
    return _decode(xy_norm1000, width, height, GRID_1000, "xy_norm1000")


def _as_boxes(box, name: str) -> tuple[np.ndarray, bool]:
    boxes, single = _as_rows(box, name, 4, " as [x1, y1, x2, y2]")
    if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
        raise ValueError(f"{name} must satisfy x1 <= x2 and y1 <= y2, got {np.asarray(box).tolist()}")
    return boxes, single


def encode_box_norm1000(box_px, width: float, height: float) -> np.ndarray:
    """Box [x1, y1, x2, y2] (4,) or (N, 4) in pixels of the image of size (width, height)
    -> int64 ``round(v / size * 1000)`` clamped to [0, 1000]."""
    w, h = _check_size(width, height)
    boxes, single = _as_boxes(box_px, "box_px")
    scale = np.array([w, h, w, h])
    out = np.clip(_round_half_even(boxes / scale * GRID_1000), 0, GRID_1000).astype(np.int64)
    return out[0] if single else out


def decode_box_norm1000(box_norm1000, width: float, height: float) -> np.ndarray:
    """1000-grid box (4,) or (N, 4) -> float64 pixels ``n * size / 1000``."""
    w, h = _check_size(width, height)
    boxes, single = _as_boxes(box_norm1000, "box_norm1000")
    out = boxes * np.array([w, h, w, h]) / GRID_1000
    return out[0] if single else out


def fixed_int(value: int, digits: int, max_value: int | None = None) -> str:
    """``value`` zero-padded to ``digits`` digits (``7`` -> ``007``), clamped to ``max_value``.

    ``max_value`` lets a 1000-grid coordinate keep 3 digits: 1000 (only reachable at the
    far edge of a box or of an image more than 2000 px wide) is written 999.
    """
    v = int(value)
    if v < 0:
        raise ValueError(f"fixed-width integers are non-negative, got {value!r}")
    if max_value is not None:
        v = min(v, int(max_value))
    return f"{v:0{digits}d}"


def fixed_number(value: float, int_digits: int, decimals: int, signed: bool = False) -> str:
    """``value`` with ``decimals`` decimals and at least ``int_digits`` integer digits
    (``2.84`` -> ``002.8`` for 3, 1; ``-4.5`` -> ``-004.5`` signed). Larger values widen."""
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"fixed-width numbers must be finite, got {value!r}")
    if round(v, decimals) == 0:
        v = 0.0  # no "-000.0"
    width = int_digits + (decimals + 1 if decimals else 0) + (1 if signed or v < 0 else 0)
    return f"{v:{'+' if signed else ''}0{width}.{decimals}f}"

