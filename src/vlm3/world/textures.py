"""Procedural textures: albedo as a vectorised function of surface coordinates (u, v) in metres.

Patterns (noise, checker, stripes, tiles, wood, dots, windows, street, plain) are built
from a hashed value-noise lattice, so they are deterministic for a seed, need no image
assets, and carry corners and blobs at several scales for feature matching. Every
pattern is modulated around the surface's base colour so its colour name stays true,
and gets a fine grain.
"""

from __future__ import annotations

import numpy as np

from vlm3.world.scenes import Texture

_N = 256  # lattice period of the noise table (cells)
_TABLE = np.random.default_rng(20260101).random((_N + 1) * (_N + 1)).astype(np.float32)
_TABLE.reshape(_N + 1, _N + 1)[_N, :] = _TABLE.reshape(_N + 1, _N + 1)[0, :]  # wrap row / column so that
_TABLE.reshape(_N + 1, _N + 1)[:, _N] = _TABLE.reshape(_N + 1, _N + 1)[:, 0]  # i + 1 needs no modulo


def _offsets(seed: int) -> tuple[int, int]:
    s = (int(seed) * 2654435761) & 0xFFFFFFFF
    return s & (_N - 1), (s >> 8) & (_N - 1)


def hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random values in [0, 1) for integer lattice points (same shape).

    A fixed random table of 256 x 256 cells, shifted per seed (period 256 cells)."""
    ox, oy = _offsets(seed)
    ix = (np.asarray(ix).astype(np.int64) + ox) & (_N - 1)
    iy = (np.asarray(iy).astype(np.int64) + oy) & (_N - 1)
    return _TABLE[ix * (_N + 1) + iy]


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1) with unit lattice spacing."""
    fu = np.floor(u)
    fv = np.floor(v)
    ox, oy = _offsets(seed)
    base = ((fu.astype(np.int64) + ox) & (_N - 1)) * (_N + 1) + ((fv.astype(np.int64) + oy) & (_N - 1))
    fu = u - fu
    fv = v - fv
    fu = fu * fu * (3.0 - 2.0 * fu)
    fv = fv * fv * (3.0 - 2.0 * fv)
    a = _TABLE[base]
    b = _TABLE[base + (_N + 1)]
    c = _TABLE[base + 1]
    d = _TABLE[base + (_N + 2)]
    top = a + (b - a) * fu
    bot = c + (d - c) * fu
    return top + (bot - top) * fv


def fbm(u: np.ndarray, v: np.ndarray, seed: int, octaves: int = 3) -> np.ndarray:
    """Fractal sum of ``octaves`` value-noise layers, in [0, 1)."""
    total = np.zeros_like(u)
    amp, norm, freq = 1.0, 0.0, 1.0
    for k in range(octaves):
        total += amp * value_noise(u * freq, v * freq, seed + 7919 * k)
        norm += amp
        amp *= 0.5
        freq *= 2.03
    return total / norm


def _mix(c1: np.ndarray, c2: np.ndarray, w: np.ndarray) -> np.ndarray:
    return c1[None, :] * (1.0 - w[:, None]) + c2[None, :] * w[:, None]


def _pattern(tex: Texture, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weight of colour2 in [0, 1], brightness multiplier) for the texture kind."""
    s = tex.scale_m
    x, y = u / s, v / s
    one = np.ones_like(u)
    if tex.kind == "noise":
        n = fbm(x, y, tex.seed, 3)
        return np.clip((n - 0.3) * 2.0, 0.0, 1.0), one
    if tex.kind == "checker":
        chk = ((np.floor(x).astype(np.int64) + np.floor(y).astype(np.int64)) & 1).astype(np.float32)
        return chk, 0.85 + 0.3 * hash01(np.floor(x), np.floor(y), tex.seed)
    if tex.kind == "stripes":
        w = 0.5 + 0.5 * np.sin(2 * np.pi * (x + 0.6 * value_noise(x * 0.5, y * 0.5, tex.seed)))
        return (w > 0.5).astype(np.float32) * 0.8 + 0.2 * w, one
    if tex.kind == "wood":
        ring = x * 3.0 + 2.0 * fbm(x * 0.7, y * 4.0, tex.seed, 2)
        return (ring - np.floor(ring)) ** 2, 0.9 + 0.2 * value_noise(x * 8, y * 0.5, tex.seed + 1)
    if tex.kind == "tiles":
        ix, iy = np.floor(x), np.floor(y)
        fx, fy = x - ix, y - iy
        grout = (np.minimum(np.minimum(fx, 1 - fx), np.minimum(fy, 1 - fy)) < 0.05).astype(np.float32)
        return 0.6 * hash01(ix, iy, tex.seed), 1.0 - 0.55 * grout
    if tex.kind == "dots":
        ix, iy = np.floor(x), np.floor(y)
        ox = 0.25 + 0.5 * hash01(ix, iy, tex.seed)
        oy = 0.25 + 0.5 * hash01(ix, iy, tex.seed + 3)
        r = 0.12 + 0.15 * hash01(ix, iy, tex.seed + 5)
        dot = (((x - ix - ox) ** 2 + (y - iy - oy) ** 2) < r * r).astype(np.float32)
        return dot, one
    if tex.kind == "windows":
        # u along the facade, v = height; one window per (scale x 1.3 scale) cell
        x, y = u / s, v / (1.3 * s)
        ix, iy = np.floor(x), np.floor(y)
        fx, fy = x - ix, y - iy
        win = ((fx > 0.2) & (fx < 0.8) & (fy > 0.25) & (fy < 0.8) & (v > 0.8)).astype(np.float32)
        lit = hash01(ix, iy, tex.seed)
        frame = 0.92 + 0.16 * value_noise(u * 2.0, v * 2.0, tex.seed + 9)
        return win, np.where(win > 0, 0.35 + 0.9 * lit, frame)
    if tex.kind == "street":
        road_half = tex.param
        on_road = np.abs(v) < road_half
        grain = fbm(u * 1.5, v * 1.5, tex.seed, 2)
        dash = (np.abs(v) < 0.08) & ((np.floor(u / 3.0).astype(np.int64) & 1) == 0)
        edge = np.abs(np.abs(v) - (road_half - 0.3)) < 0.07
        slab_x, slab_y = np.floor(u / 1.2), np.floor(v / 1.2)
        fx, fy = u / 1.2 - slab_x, v / 1.2 - slab_y
        seam = np.minimum(np.minimum(fx, 1 - fx), np.minimum(fy, 1 - fy)) < 0.03
        w = np.where(on_road, 0.0, 1.0)
        bright = np.where(on_road, 0.75 + 0.5 * grain,
                          (0.85 + 0.3 * hash01(slab_x, slab_y, tex.seed)) * np.where(seam, 0.55, 1.0))
        paint = on_road & (dash | edge)
        return np.where(paint, 1.0, w), np.where(paint, 2.2, bright)
    return np.zeros_like(u), one  # plain


def albedo(tex: Texture, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Albedo (N, 3) in [0, 1] of texture ``tex`` at surface coordinates u, v (N,) metres."""
    u = np.asarray(u, dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    w, bright = _pattern(tex, u, v)
    c1 = np.asarray(tex.colour, dtype=np.float32)
    c2 = np.asarray(tex.colour2, dtype=np.float32)
    if tex.kind == "street":  # road is dark grey, sidewalk is colour2, paint is white-ish
        c1 = np.array([0.16, 0.16, 0.17], dtype=np.float32)
    col = _mix(c1, c2, w)
    grain = 0.9 + 0.2 * hash01(np.floor(u * 40.0), np.floor(v * 40.0), tex.seed + 17)  # 2.5 cm texels
    return np.clip(col * (bright * grain)[:, None], 0.0, 1.0)


def shade_variant(rgb: tuple[float, float, float], factor: float) -> tuple[float, float, float]:
    """The same hue, lighter (factor > 1) or darker (factor < 1), clipped to [0, 1]."""
    return tuple(float(min(1.0, max(0.0, c * factor))) for c in rgb)  # type: ignore[return-value]


def random_texture(rng: np.random.Generator, colour: tuple[float, float, float],
                   kinds: tuple[str, ...] = ("noise", "checker", "stripes", "tiles", "wood", "dots"),
                   scale_m: tuple[float, float] = (0.04, 0.25)) -> Texture:
    """A per-object random pattern around ``colour`` (secondary colour a lighter/darker shade)."""
    kind = str(rng.choice(kinds))
    factor = float(rng.choice([0.45, 0.6, 1.5, 1.8]))
    scale = float(np.exp(rng.uniform(np.log(scale_m[0]), np.log(scale_m[1]))))
    return Texture(kind, colour, shade_variant(colour, factor), scale, int(rng.integers(0, 2**31 - 1)))
