"""What a model's depth answers become: `DepthResult` (``vlm3 predict depth``, ``Model.depth``)
and the files people use: ``.npy`` (metres), a 16-bit PNG (millimetres), a coloured ``.ply``
point cloud and ``depth.json`` (every point, its raw answer and the settings asked with),
beside the picture ``depth.png`` (``vlm3.tasks.depth.figure.depth_png``).

Points are in the camera frame of the image given (OpenCV: x right, y down, z forward;
metres); depth is the ray length (distance to the camera centre), NaN where unparsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.tasks.predict import Prepared, PredictResult, rounded

#: point lines ``vlm3 predict depth`` prints for one image
PRINTED_POINTS = 20


@dataclass
class DepthResult(PredictResult):
    """Depth at query pixels of one image.

    ``xy_px``: (N, 2) pixels of the image given; ``depth_m``: (N,) metres along the ray (distance
    to the camera centre, not z), NaN where the answer did not parse; ``xyz_m``: (N, 3) points in
    the given camera's OpenCV frame (x right, y down, z forward; metres); ``raw`` / ``ok``: the
    answer text and its parse status per point; ``grid_shape``: (H, W) rows x columns for a grid
    query (rows of the arrays row-major), None for points."""

    xy_px: np.ndarray
    depth_m: np.ndarray
    xyz_m: np.ndarray
    raw: list[str]
    ok: list[bool]
    prepared: Prepared
    grid_shape: tuple[int, int] | None = None

    @property
    def notes(self) -> list[str]:
        """One-line remarks for the user (guessed intrinsics, EXIF orientation)."""
        return self.prepared.notes

    def to_json(self) -> dict[str, Any]:
        """Rows per point (rounded: 0.01 px, 1 mm), the camera, the notes and the parse count."""
        rows = [{"xy_px": rounded(p, 2), "depth_m": None if not np.isfinite(d) else round(float(d), 3), "ok": o,
                 "raw": r} for p, d, o, r in zip(self.xy_px, self.depth_m, self.ok, self.raw)]
        return {"camera": self.prepared.camera_json(), "notes": self.prepared.notes, "grid_shape": self.grid_shape,
                "parsed": int(sum(self.ok)), "points": rows}

    def lines(self, of_many: bool = False) -> list[str]:
        """The first points and their depth (none for one image of a folder)."""
        if of_many:
            return []
        return [f"({r['xy_px'][0]:.1f}, {r['xy_px'][1]:.1f}) -> "
                f"{'%.2f m' % r['depth_m'] if r['ok'] else 'unparsed: ' + repr(r['raw'][:40])}"
                for r in self.to_json()["points"][:PRINTED_POINTS]]

    def parsed_count(self) -> tuple[int, int]:
        return int(sum(self.ok)), len(self.ok)

    def write(self, out: Path, images: Sequence[np.ndarray], meta: dict[str, Any]) -> list[str]:
        """``write_depth`` into ``out`` with the image given (``images[0]``)."""
        return write_depth(out, images[0], self, meta)


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
    from vlm3.tasks.depth.figure import depth_png  # matplotlib: only once there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    depth_png(out / "depth.png", image, res.xy_px, res.depth_m)
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
    res.write_json(out / "depth.json", meta)
    return names


__all__ = ["DepthResult", "depth_png16", "write_depth", "write_ply"]
