"""Shared helpers for the data-engine tests (tests/test_data_*.py): small worlds and folders."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

_WORLD: dict[str, Path] = {}


def small_world(base: Path) -> Path:
    """A 2-scene demo world generated once per test session (a few seconds)."""
    if "w" not in _WORLD:
        from vlm3.world.config import preset
        from vlm3.world.generate import generate_world

        out = base / "world"
        generate_world(out, 2, 0, preset("demo"), progress=False)
        _WORLD["w"] = out
    return _WORLD["w"]


def write_rgbd_folder(root: Path, n: int = 4, width: int = 320, height: int = 240,
                      fx: float = 300.0, seed: int = 0) -> Path:
    """A synthetic RGB-D folder: random images, smooth positive z-depth (mm PNG), meta.json."""
    rng = np.random.default_rng(seed)
    (root / "rgb").mkdir(parents=True, exist_ok=True)
    (root / "depth").mkdir(parents=True, exist_ok=True)
    frames = []
    ys, xs = np.mgrid[0:height, 0:width]
    for i in range(n):
        img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        depth_m = 1.0 + 3.0 * xs / width + 2.0 * ys / height + i
        depth_mm = (depth_m * 1000).astype(np.uint16)
        depth_mm[rng.random((height, width)) < 0.2] = 0  # holes
        Image.fromarray(img).save(root / "rgb" / f"f{i}.png")
        Image.fromarray(depth_mm).save(root / "depth" / f"f{i}.png")
        frames.append({"rgb": f"rgb/f{i}.png", "depth": f"depth/f{i}.png", "scene": f"s{i}"})
    meta = {"intrinsics_fx_fy_cx_cy": [fx, fx, width / 2 - 0.5, height / 2 - 0.5],
            "depth_scale": 1000.0, "frames": frames}
    (root / "meta.json").write_text(json.dumps(meta))
    return root / "meta.json"


def write_huge_png(path: Path, width: int = 16000, height: int = 12000, bits: int = 8) -> Path:
    """A valid PNG of width x height black pixels, never held in memory as pixels: 8-bit RGB
    (2.5 MB on disk, ~0.5 s; decoded by OpenCV) or ``bits=1`` gray (0.1 MB; decoded by Pillow)."""
    c = zlib.compressobj(1)
    row = b"\x00" * ((width * (3 * bits if bits == 8 else bits) + 7) // 8 + 1)  # filter byte + black pixels
    idat = b"".join([c.compress(row) for _ in range(height)] + [c.flush()])

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bits, 2 if bits == 8 else 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
