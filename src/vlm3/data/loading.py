"""Reading pixels of records: RGB images and depth maps, checked at the boundary.

Every problem is raised as ``RecordError(path, problem)`` with a one-line reason
(unreadable or truncated image, wrong size, depth with negative values or no valid
pixel), which the builder counts as a skip or, with ``--strict``, stops on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vlm3.data.records import DepthFile, RecordError
from vlm3.geometry.camera import Camera


def load_image_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB; refuses missing, unreadable, truncated files."""
    p = Path(path)
    if not p.is_file():
        raise RecordError(str(p), "image file not found")
    try:
        with Image.open(p) as im:
            im.load()  # raises on truncated data (PIL does not load truncated images by default)
            arr = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise RecordError(str(p), f"unreadable or truncated image ({err})") from None
    if arr.ndim != 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise RecordError(str(p), f"image has unusable shape {arr.shape}")
    return arr


def load_depth_m(depth: DepthFile, width: int, height: int) -> np.ndarray:
    """Read a depth map as (H, W) float32 metres of the stored kind; invalid pixels become 0.

    Accepted: 16-bit/8-bit/float PNG or TIFF (value / scale), ``.npy`` or ``.npz`` (key
    ``depth``). NaN and inf pixels are treated as "no measurement" (set to 0). Refused:
    missing or unreadable file, a size other than (height, width), any negative value
    (a sign or convention error) and maps with no finite positive value.
    """
    p = Path(depth.path)
    if not p.is_file():
        raise RecordError(str(p), "depth file not found")
    try:
        if p.suffix == ".npy":
            raw = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "depth" not in z:
                    raise RecordError(str(p), f"npz has no 'depth' array (keys {sorted(z.keys())})")
                raw = z["depth"]
        else:
            with Image.open(p) as im:
                im.load()
                raw = np.asarray(im)
    except RecordError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as err:
        raise RecordError(str(p), f"unreadable or truncated depth file ({err})") from None
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise RecordError(str(p), f"depth must be one channel, got shape {raw.shape}")
    if raw.shape != (height, width):
        raise RecordError(str(p), f"depth size {raw.shape[1]}x{raw.shape[0]} does not match "
                                  f"image size {width}x{height}")
    depth_m = raw.astype(np.float32) / np.float32(depth.scale)
    finite = np.isfinite(depth_m)
    if np.any(depth_m[finite] < 0):
        raise RecordError(str(p), "depth has negative values (wrong sign or encoding?)")
    depth_m[~finite] = 0.0
    if not np.any(depth_m > 0):
        raise RecordError(str(p), "depth has no valid pixel (all zero, NaN or inf)")
    return depth_m


def check_image_matches_camera(path: str, image: np.ndarray, camera: Camera) -> None:
    """Refuse an image whose size differs from the size the intrinsics refer to."""
    h, w = image.shape[:2]
    if (w, h) != (camera.width, camera.height):
        raise RecordError(path, f"image size {w}x{h} does not match the intrinsics' "
                                f"{camera.width}x{camera.height}")


__all__ = ["load_image_rgb", "load_depth_m", "check_image_matches_camera"]
