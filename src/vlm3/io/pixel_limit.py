"""The pixel limit of every image vlm3 reads: a guard against decompression bombs that says
how to lift it.

A 16000 x 12000 PNG of a few megabytes decodes to 576 MB; a crafted one to far more. Every
reader (``vlm3.io.images``) checks width x height from the file's header before decoding
against ``max_image_pixels()``: the environment variable ``VLM3_MAX_IMAGE_PIXELS`` (a whole
number; ``0`` = no limit), else ``DEFAULT_MAX_IMAGE_PIXELS``, Pillow's own refusal threshold
(178,956,970 px, twice ``PIL.Image.MAX_IMAGE_PIXELS``). The setting applies to every command
and to the Python API alike; with it set, Pillow's own guard is switched off so that this
one decides. ``header_size`` reads (width, height) of a PNG or JPEG from its bytes.
"""

from __future__ import annotations

import os

from PIL import Image

#: the environment variable that sets the pixel limit (``0`` = no limit)
MAX_PIXELS_ENV = "VLM3_MAX_IMAGE_PIXELS"
#: the default pixel limit: Pillow's refusal threshold (2 x its default MAX_IMAGE_PIXELS)
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"


def max_image_pixels() -> int | None:
    """The most pixels (width x height) an image file may have: ``$VLM3_MAX_IMAGE_PIXELS``
    (``0``: None, no limit), else ``DEFAULT_MAX_IMAGE_PIXELS``. ValueError for a value that is
    not a whole number >= 0."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return DEFAULT_MAX_IMAGE_PIXELS
    if not raw.isdigit():
        raise ValueError(f"{MAX_PIXELS_ENV}={os.environ[MAX_PIXELS_ENV]!r} is not a whole number of pixels "
                         f"(0 = no limit)")
    Image.MAX_IMAGE_PIXELS = None  # the user set the limit: Pillow's own guard would refuse first
    return int(raw) or None


def pixel_limit_problem(width: int, height: int) -> str | None:
    """None when a width x height image is within the limit, else the one-line problem: the
    size, the limit and the setting that raises it. ValueError for an unusable setting."""
    limit = max_image_pixels()
    if limit is None or width * height <= limit:
        return None
    return (f"image is {width}x{height} = {width * height:,} px, more than the limit of {limit:,} px (a guard "
            f"against decompression bombs); to read it, set {MAX_PIXELS_ENV}={width * height} or more "
            f"(0 = no limit)")


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's SOF marker, without decoding; None otherwise."""
    if data.startswith(_PNG_SIG) and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not data.startswith(_JPEG_SOI):
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn: height, width
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


__all__ = ["MAX_PIXELS_ENV", "DEFAULT_MAX_IMAGE_PIXELS", "max_image_pixels", "pixel_limit_problem", "header_size"]
