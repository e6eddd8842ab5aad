"""Reading pixels of records: RGB images and depth maps, checked at the boundary.

Every problem is raised as ``RecordError(path, problem)`` with a one-line reason
(unreadable or truncated image, wrong size, depth with negative values or no valid
pixel), which the builder counts as a skip or, with ``--strict``, stops on.

Speed: complete 8-bit JPEG/PNG files (and 16/8-bit grayscale depth PNGs) are decoded
with OpenCV, which gives the same pixels as Pillow here at a fraction of the cost; a
file is "complete" when it ends with its format's end marker (JPEG EOI, PNG IEND).
Anything else, and any file OpenCV refuses, goes through Pillow, whose errors name the
problem (truncated data included). EXIF orientation is ignored on both paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import cv2
from PIL import Image, UnidentifiedImageError

from vlm3.io.records import DepthFile, RecordError
from vlm3.geometry.camera import Camera


_JPEG_SOI = b"\xff\xd8\xff"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND\xaeB`\x82"


def _png_header(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) of a complete PNG (IHDR first, IEND last), else None."""
    if len(data) < 45 or not data.startswith(_PNG_SIG) or data[12:16] != b"IHDR" \
            or not data.endswith(_PNG_IEND):
        return None
    return data[24], data[25]


def _fast_rgb(data: bytes) -> np.ndarray | None:
    """OpenCV decode of a complete 8-bit JPEG or PNG to RGB; None = use Pillow."""
    if data.startswith(_JPEG_SOI):
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            return None
    else:
        header = _png_header(data)
        if header is None or header[0] != 8:
            return None
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8),
                       cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_bytes(p: Path, what: str) -> bytes:
    if not p.is_file():
        raise RecordError(str(p), f"{what} file not found")
    try:
        return p.read_bytes()
    except OSError as err:
        raise RecordError(str(p), f"unreadable {what} file ({err})") from None


def load_image_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB; refuses missing, unreadable, truncated files."""
    p = Path(path)
    arr = _fast_rgb(_read_bytes(p, "image"))
    if arr is None:
        try:
            with Image.open(p) as im:
                im.load()  # raises on truncated data (PIL does not load truncated images by default)
                arr = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise RecordError(str(p), f"unreadable or truncated image ({err})") from None
    if arr.ndim != 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise RecordError(str(p), f"image has unusable shape {arr.shape}")
    return arr


def _fast_depth_png(data: bytes) -> np.ndarray | None:
    """OpenCV decode of a complete 8/16-bit grayscale PNG (stored values); None = use Pillow."""
    header = _png_header(data)
    if header is None or header[0] not in (8, 16) or header[1] != 0:
        return None
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return raw if raw is not None and raw.ndim == 2 else None


def _read_depth_array(p: Path) -> np.ndarray:
    """Stored depth values of ``.npy``/``.npz`` (key ``depth``) or any image Pillow reads."""
    if not p.is_file():
        raise RecordError(str(p), "depth file not found")
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "depth" not in z:
                    raise RecordError(str(p), f"npz has no 'depth' array (keys {sorted(z.keys())})")
                return z["depth"]
        with Image.open(p) as im:
            im.load()
            return np.asarray(im)
    except RecordError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as err:
        raise RecordError(str(p), f"unreadable or truncated depth file ({err})") from None


def load_depth_m(depth: DepthFile, width: int, height: int) -> np.ndarray:
    """Read a depth map as (H, W) float32 metres of the stored kind; invalid pixels become 0.

    Accepted: 16-bit/8-bit/float PNG or TIFF (value / scale), ``.npy`` or ``.npz`` (key
    ``depth``). NaN and inf pixels are treated as "no measurement" (set to 0). Refused:
    missing or unreadable file, a size other than (height, width), any negative value
    (a sign or convention error) and maps with no finite positive value.
    """
    p = Path(depth.path)
    raw = _fast_depth_png(_read_bytes(p, "depth")) if p.suffix.lower() == ".png" else None
    if raw is None:
        raw = _read_depth_array(p)
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise RecordError(str(p), f"depth must be one channel, got shape {raw.shape}")
    if raw.shape != (height, width):
        raise RecordError(str(p), f"depth size {raw.shape[1]}x{raw.shape[0]} does not match "
                                  f"image size {width}x{height}")
    if raw.dtype.kind == "u":  # unsigned integers: no NaN, inf or negative values possible
        if not raw.any():
            raise RecordError(str(p), "depth has no valid pixel (all zero, NaN or inf)")
        return np.divide(raw, np.float32(depth.scale), dtype=np.float32)  # one pass
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
