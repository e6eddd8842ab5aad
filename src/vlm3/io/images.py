"""The one reader of pixels: RGB images and depth (or id) maps, checked at the boundary.

Every image vlm3 reads, for data building, training, prediction, evaluation pictures or
scene files, goes through this module:

- ``read_rgb(image)``: a path, an array or a PIL image -> (H, W, 3) uint8 RGB array,
  row-major (row = y down, column = x right), C-contiguous. This is the return type.
- ``read_rgb_oriented(image)``: ``read_rgb`` and the file's EXIF orientation tag, from one read
  of the file (``vlm3 predict`` says when viewers show an image rotated).
- ``read_rgb_pil(image)``: the same pixels as a PIL ``"RGB"`` image, only for the Hugging
  Face image processor (it wants PIL).
- ``read_image_size(path)``: (width, height) in pixels from the header, no decoding.
- ``read_depth_m(depth_file, width, height)``: (H, W) float32 metres, 0 = no measurement.
- ``read_map(path)``: the stored values of a one-channel map file (depth, instance ids):
  ``.npy`` / ``.npz`` raw arrays (float metres or integers), 8/16-bit PNG, OpenEXR (``.exr``,
  half or full float, any compression, read with the ``openexr`` package because the OpenCV
  wheel has no OpenEXR codec), and anything else Pillow reads (float TIFF, ...).
- ``decode_sunrgbd_depth(raw)``: SUN RGB-D's bit-rotated 16-bit depth PNGs to millimetres.

Every problem raises ``ImageReadError`` whose one-line message is ``"<path>: <problem>"``
(unreadable or truncated image or EXR, wrong size, depth with negative values or no valid
pixel, more pixels than the limit; ``missing`` is True when the file does not exist).

Size limit (``vlm3.io.pixel_limit``): an image or map file with more pixels than the limit
(width x height from its header) is refused before it is decoded; the message says the
size, the limit and how to raise it (``VLM3_MAX_IMAGE_PIXELS``; default Pillow's own
refusal threshold, 178,956,970 px).

Callers wrap ``ImageReadError`` in their own error: ``RecordError`` when building data
(``vlm3.standardize``, the adapters), ``InputError`` for a user's prediction inputs
(``vlm3.infer.api.read_image``).

Speed: complete 8-bit JPEG/PNG files (and 16/8-bit grayscale PNG maps) are decoded with
OpenCV, which gives the same pixels as Pillow here at a fraction of the cost; a file is
"complete" when it ends with its format's end marker (JPEG EOI, PNG IEND). Anything else,
and any file OpenCV refuses, goes through Pillow, whose errors name the problem (truncated
data included). EXIF orientation is ignored on both paths (as Pillow's ``convert`` does).
"""

from __future__ import annotations

import io
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from vlm3.errors import Vlm3Error
from vlm3.io.pixel_limit import (_JPEG_SOI, _PNG_SIG, DEFAULT_MAX_IMAGE_PIXELS, MAX_PIXELS_ENV, header_size,
                                  max_image_pixels, pixel_limit_problem)
from vlm3.io.records import DepthFile

#: what ``read_rgb`` accepts: a file path, an (H, W) / (H, W, 3|4) array, or a PIL image
ImageLike = str | Path | np.ndarray | Image.Image

_PNG_IEND = b"IEND\xaeB`\x82"
_PIL_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


class ImageReadError(Vlm3Error, ValueError):
    """An image or map that cannot be used; ``str(err)`` is ``"<path>: <problem>"`` (one line).

    Attributes:
        path: the file (``"<array>"`` for an in-memory array).
        problem: what is wrong, without the path.
        missing: True when the file does not exist.
    """

    def __init__(self, path: str | Path, problem: str, missing: bool = False) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
        self.missing = missing


def _resolve(path: str | Path, root: str | Path | None) -> Path:
    p = Path(path)
    return Path(root) / p if root is not None and not p.is_absolute() else p


def _read_bytes(p: Path, what: str) -> bytes:
    if not p.is_file():
        raise ImageReadError(p, f"{what} file not found", missing=True)
    try:
        return p.read_bytes()
    except OSError as err:
        raise ImageReadError(p, f"unreadable {what} file ({err})") from None


def _reason(err: Exception) -> str:
    """Pillow's error without the file name (the message names the file once, in front)."""
    if isinstance(err, UnidentifiedImageError):
        return "not an image format Pillow can identify"
    return str(err) or type(err).__name__


def _check_header_pixels(p: Path, data: bytes) -> None:
    """The pixel limit checked from a PNG/JPEG header, before anything is decoded."""
    size = header_size(data)
    if size is not None:
        _check_pixels(p, *size)


def _check_pixels(p: Path | str, width: int, height: int) -> None:
    """ImageReadError when a width x height image has more pixels than the limit (or the
    limit's setting is not a number)."""
    try:
        problem = pixel_limit_problem(width, height)
    except ValueError as err:
        raise ImageReadError(p, str(err)) from None
    if problem is not None:
        raise ImageReadError(p, problem)


@contextmanager
def _pil_open(p: Path, check: bool = True) -> Iterator[Image.Image]:
    """``Image.open`` (header only) with the pixel limit checked before any decoding (``check``;
    without it, only Pillow's own guard, reported in the same words)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            max_image_pixels()  # sets Pillow's guard off when the user set the limit
        except ValueError as err:
            raise ImageReadError(p, str(err)) from None
        try:
            im = Image.open(p)
        except Image.DecompressionBombError as err:  # beyond Pillow's default guard (= the default limit)
            m = re.search(r"\((\d+) pixels\)", str(err))
            n = f"{int(m.group(1)):,} px" if m else "too many pixels"
            raise ImageReadError(p, f"image has {n}, more than the limit of {DEFAULT_MAX_IMAGE_PIXELS:,} px (a "
                                    f"guard against decompression bombs); to read it, set {MAX_PIXELS_ENV} to its "
                                    f"pixel count or more (0 = no limit)") from None
        with im:
            if check:
                _check_pixels(p, im.width, im.height)
            yield im


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


def _rgb_of_file(p: Path, data: bytes | None = None) -> np.ndarray:
    """Pixels of the image file ``p`` (its bytes ``data`` when already read)."""
    data = _read_bytes(p, "image") if data is None else data
    _check_header_pixels(p, data)
    arr = _fast_rgb(data)
    if arr is None:
        try:
            with _pil_open(p) as im:
                im.load()  # raises on truncated data (Pillow does not load truncated images by default)
                arr = np.asarray(im.convert("RGB"))
        except ImageReadError:
            raise
        except _PIL_ERRORS as err:
            raise ImageReadError(p, f"unreadable or truncated image ({_reason(err)})") from None
    return arr


def _rgb_of_array(image: np.ndarray) -> np.ndarray:
    """(H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA (alpha dropped) -> (H, W, 3) uint8."""
    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return arr[..., :3]
    raise ImageReadError("<array>", f"image array must be (H, W) or (H, W, 3), got shape {arr.shape}")


def read_rgb(image: ImageLike, root: str | Path | None = None) -> np.ndarray:
    """Pixels of an image as an (H, W, 3) uint8 RGB array (C-contiguous).

    Args:
        image: a file path (relative paths are taken under ``root`` when given), an
            (H, W) / (H, W, 3) / (H, W, 4) array (cast to uint8; gray repeated, alpha
            dropped) or a PIL image (converted to RGB).
        root: folder for relative paths (e.g. a dataset folder); None = as given.

    Raises:
        ImageReadError: missing, unreadable or truncated file, an array of another shape,
        or an image smaller than 2x2 pixels.
    """
    return _rgb_and_bytes(image, root)[0]


def _rgb_and_bytes(image: ImageLike, root: str | Path | None) -> tuple[np.ndarray, bytes | None]:
    """`read_rgb`'s pixels and the file's bytes (None for arrays and PIL images)."""
    where: str | Path = "<array>"
    data = None
    if isinstance(image, Image.Image):
        arr = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        arr = _rgb_of_array(image)
    else:
        where = _resolve(image, root)
        data = _read_bytes(where, "image")
        arr = _rgb_of_file(where, data)
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ImageReadError(where, f"image has unusable shape {arr.shape}")
    return np.ascontiguousarray(arr), data


def exif_orientation_of(data: bytes) -> int:
    """The EXIF orientation tag (1 = upright) of an encoded image, from its header; 1 when it has
    none or the header cannot say."""
    if data.startswith(_PNG_SIG) and b"eXIf" not in data:
        return 1  # no eXIf chunk: Pillow would decode the whole PNG looking for one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(data)) as im:
                return int(im.getexif().get(0x0112, 1) or 1)
        except (*_PIL_ERRORS, Image.DecompressionBombError, TypeError):
            return 1


def read_rgb_oriented(image: ImageLike, root: str | Path | None = None) -> tuple[np.ndarray, int]:
    """``read_rgb`` and the file's EXIF orientation tag (1 = upright; 1 for arrays and PIL
    images) from ONE read of the file. The pixels are the stored ones (not rotated); the tag
    lets a caller say that viewers show them rotated (``vlm3 predict``)."""
    arr, data = _rgb_and_bytes(image, root)
    return arr, 1 if data is None else exif_orientation_of(data)


def read_rgb_pil(image: ImageLike, root: str | Path | None = None) -> Image.Image:
    """``read_rgb``'s pixels as a PIL ``"RGB"`` image (for the Hugging Face image processor)."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")  # no array round trip for images already in memory
    return Image.fromarray(read_rgb(image, root), "RGB")


def read_image_size(path: str | Path, root: str | Path | None = None) -> tuple[int, int]:
    """(width, height) in pixels from the image header, without decoding the pixels."""
    p = _resolve(path, root)
    if not p.is_file():
        raise ImageReadError(p, "image file not found", missing=True)
    try:
        with _pil_open(p, check=False) as im:
            return int(im.width), int(im.height)
    except ImageReadError:
        raise
    except _PIL_ERRORS as err:
        raise ImageReadError(p, f"unreadable image ({_reason(err)})") from None


def _fast_map_png(data: bytes) -> np.ndarray | None:
    """OpenCV decode of a complete 8/16-bit grayscale PNG (stored values); None = use Pillow."""
    header = _png_header(data)
    if header is None or header[0] not in (8, 16) or header[1] != 0:
        return None
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return raw if raw is not None and raw.ndim == 2 else None


def _read_exr(p: Path, what: str) -> np.ndarray:
    """The one channel of an OpenEXR file (half floats come back as float32).

    A file with several channels is accepted when exactly one of them is a depth-like
    name (``Y``, ``Z``, ``depth``, ``R`` of an all-equal ``R, G, B``); anything else is refused.
    """
    try:
        import OpenEXR
    except ImportError:  # a core dependency; only a broken install gets here
        raise ImageReadError(p, f"reading {what} EXR files needs the openexr package: "
                                "pip install openexr") from None
    try:
        with OpenEXR.File(str(p), separate_channels=True) as f:
            channels = {name: np.asarray(ch.pixels) for name, ch in f.channels().items()}
    except Exception as err:  # the bindings raise RuntimeError/ValueError/OSError on bad data
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ImageReadError(p, f"unreadable or truncated {what} EXR ({reason})") from None
    if len(channels) == 1:
        raw = next(iter(channels.values()))
    else:
        named = [k for k in ("Y", "Z", "depth", "D") if k in channels]
        if named:
            raw = channels[named[0]]
        elif set(channels) == {"R", "G", "B"} and np.array_equal(channels["R"], channels["G"]) \
                and np.array_equal(channels["R"], channels["B"]):
            raw = channels["R"]
        else:
            raise ImageReadError(p, f"{what} EXR has channels {sorted(channels)}; expected one "
                                    "(Y, Z or depth)")
    return raw.astype(np.float32) if raw.dtype == np.float16 else raw


def read_map(path: str | Path, what: str = "depth") -> np.ndarray:
    """Stored values of a one-channel map file, unscaled, in the file's dtype.

    Accepted: ``.npy``, ``.npz`` (key ``depth``), 8/16-bit grayscale PNG, OpenEXR ``.exr``
    (one channel; half floats as float32), and any image Pillow reads (float TIFF, ...).
    ``what`` names the map in messages ("depth", "ids"). A trailing channel axis of size 1
    is dropped; the result is not checked further.
    """
    p = Path(path)
    if p.suffix.lower() == ".png":
        data = _read_bytes(p, what)
        _check_header_pixels(p, data)
        raw = _fast_map_png(data)
        if raw is not None:
            return raw
    elif not p.is_file():
        raise ImageReadError(p, f"{what} file not found", missing=True)
    if p.suffix.lower() == ".exr":
        raw = _read_exr(p, what)
        return raw[..., 0] if raw.ndim == 3 and raw.shape[2] == 1 else raw
    try:
        if p.suffix == ".npy":
            raw = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "depth" not in z:
                    raise ImageReadError(p, f"npz has no 'depth' array (keys {sorted(z.keys())})")
                raw = z["depth"]
        else:
            with _pil_open(p) as im:
                im.load()
                raw = np.asarray(im)
    except ImageReadError:
        raise
    except _PIL_ERRORS as err:
        raise ImageReadError(p, f"unreadable or truncated {what} file ({_reason(err)})") from None
    return raw[..., 0] if raw.ndim == 3 and raw.shape[2] == 1 else raw


def decode_sunrgbd_depth(raw: np.ndarray) -> np.ndarray:
    """SUN RGB-D depth PNG values -> millimetres (uint16), the toolbox's rule.

    SUN RGB-D stores each 16-bit depth rotated left by 3 bits; its toolbox (``read3dPoints.m``)
    and Open3D (``RGBDImageFactory.cpp``, ``CreateFromSUNFormat``) undo it with
    ``((v >> 3) | (v << 13)) & 0xFFFF``. Dividing the stored value by 1000 instead gives
    depths 8x too far; DepthLM's ``v / 10000`` is 0.8x this rule (../shared/FORMATS.md).
    """
    v = np.asarray(raw)
    if v.dtype != np.uint16:
        raise ValueError(f"SUN RGB-D depth must be a 16-bit PNG, got {v.dtype}")
    return ((v >> np.uint16(3)) | (v << np.uint16(13))).astype(np.uint16)


def read_depth_m(depth: DepthFile, width: int, height: int) -> np.ndarray:
    """Read a depth map as (H, W) float32 metres of the stored kind; invalid pixels become 0.

    Accepted: what ``read_map`` reads; metres = decoded value / ``depth.scale``, where the
    decoding is ``depth.encoding`` ("linear": as stored; "sunrgbd": ``decode_sunrgbd_depth``).
    NaN and inf pixels are treated as "no measurement" (set to 0). Refused: missing or
    unreadable file, more than one channel, a size other than (height, width), any negative
    value (a sign or convention error) and maps with no finite positive value.
    """
    p = Path(depth.path)
    raw = read_map(p)
    if getattr(depth, "encoding", "linear") == "sunrgbd":
        try:
            raw = decode_sunrgbd_depth(raw)
        except ValueError as err:
            raise ImageReadError(p, str(err)) from None
    if raw.ndim != 2:
        raise ImageReadError(p, f"depth must be one channel, got shape {raw.shape}")
    if raw.shape != (height, width):
        raise ImageReadError(p, f"depth size {raw.shape[1]}x{raw.shape[0]} does not match "
                                f"image size {width}x{height}")
    if raw.dtype.kind == "u":  # unsigned integers: no NaN, inf or negative values possible
        if not raw.any():
            raise ImageReadError(p, "depth has no valid pixel (all zero, NaN or inf)")
        return np.divide(raw, np.float32(depth.scale), dtype=np.float32)  # one pass
    depth_m = raw.astype(np.float32) / np.float32(depth.scale)
    finite = np.isfinite(depth_m)
    if np.any(depth_m[finite] < 0):
        raise ImageReadError(p, "depth has negative values (wrong sign or encoding?)")
    depth_m[~finite] = 0.0
    if not np.any(depth_m > 0):
        raise ImageReadError(p, "depth has no valid pixel (all zero, NaN or inf)")
    return depth_m


__all__ = ["ImageLike", "ImageReadError", "MAX_PIXELS_ENV", "DEFAULT_MAX_IMAGE_PIXELS", "max_image_pixels",
           "exif_orientation_of", "read_rgb", "read_rgb_oriented", "read_rgb_pil", "read_image_size", "read_map", "read_depth_m", "decode_sunrgbd_depth"]
