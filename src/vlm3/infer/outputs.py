"""The files a depth prediction leaves for people to use: ``.npy`` (metres), a 16-bit PNG
(millimetres), a coloured ``.ply`` point cloud and ``depth.json`` (every point, its raw
answer and the settings asked with), beside the picture ``depth.png`` (``vlm3.infer.viz``).

Points are in the camera frame of the image given (OpenCV: x right, y down, z forward;
metres); depth is the ray length (distance to the camera centre), NaN where unparsed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.infer.results import DepthResult


def write_ply(path: str | Path, xyz_m: np.ndarray, rgb: np.ndarray | None = None) -> Path:
    """ASCII PLY point cloud. xyz_m: (N, 3) camera-frame points (OpenCV, metres); rgb: (N, 3) uint8
    (None: grey)."""
    path = Path(path)
    xyz = np.asarray(xyz_m, dtype=np.float64).reshape(-1, 3)
    col = np.full((len(xyz), 3), 200, np.uint8) if rgb is None else np.asarray(rgb, np.uint8).reshape(-1, 3)
    header = ("ply\nformat ascii 1.0\n"
              f"element vertex {len(xyz)}\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    rows = "".join(f"{p[0]:.5f} {p[1]:.5f} {p[2]:.5f} {c[0]} {c[1]} {c[2]}\n" for p, c in zip(xyz, col))
    path.write_text(header + rows)
    return path


def depth_png16(path: str | Path, depth_m: np.ndarray) -> Path:
    """A 16-bit grayscale PNG of a depth grid in millimetres (0 = no answer; capped at 65.535 m).
    depth_m: (H, W) metres, NaN where unparsed."""
    from PIL import Image

    path = Path(path)
    d = np.asarray(depth_m, dtype=np.float64)
    mm = np.where(np.isfinite(d) & (d > 0), np.clip(np.round(d * 1000.0), 1, 65535), 0).astype(np.uint16)
    Image.fromarray(mm).save(path)
    return path


def write_depth(out: Path, image: np.ndarray, res: DepthResult, meta: dict[str, Any]) -> list[str]:
    """Write a depth result into the folder ``out`` (created): depth.png (picture), points.ply
    (parsed points coloured from ``image``, (H, W, 3) uint8 RGB), depth.npy (float32 metres,
    (H, W) for a grid, (N,) for points), depth_mm.png (grids only) and depth.json (``meta`` + the
    result). Returns the names written."""
    from vlm3.infer import viz  # matplotlib: only once there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    viz.depth_png(out / "depth.png", image, res.xy_px, res.depth_m)
    ok = np.isfinite(res.depth_m)
    cols = image[np.clip(np.round(res.xy_px[ok, 1]).astype(int), 0, image.shape[0] - 1),
                 np.clip(np.round(res.xy_px[ok, 0]).astype(int), 0, image.shape[1] - 1)]
    write_ply(out / "points.ply", res.xyz_m[ok], cols)
    depth = res.depth_m.reshape(res.grid_shape) if res.grid_shape else res.depth_m
    np.save(out / "depth.npy", depth.astype(np.float32))
    names = ["depth.png", "depth.json", "depth.npy", "points.ply"]
    if res.grid_shape:
        depth_png16(out / "depth_mm.png", depth)
        names.append("depth_mm.png")
    (out / "depth.json").write_text(json.dumps({**meta, **res.to_json()}, indent=1))
    return names
