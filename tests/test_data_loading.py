"""Decoding at the boundary: the OpenCV fast path gives Pillow's pixels (JPEG, PNG of every
8-bit colour type, 16-bit depth PNG), and truncated files are refused on either path."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vlm3.io.images import load_depth_m, load_image_rgb
from vlm3.io.records import DepthFile, RecordError


def _pil_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("mode,fmt", [("RGB", "PNG"), ("L", "PNG"), ("RGBA", "PNG"), ("P", "PNG"),
                                      ("LA", "PNG"), ("RGB", "JPEG"), ("L", "JPEG"), ("RGB", "BMP")])
def test_decoded_pixels_match_pillow(tmp_path, mode, fmt):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    im = Image.fromarray(arr, "RGBA")
    im = im.convert("RGB").convert(mode) if mode == "P" else im.convert(mode)
    path = tmp_path / f"im.{fmt.lower()}"
    im.save(path, format=fmt)
    got = load_image_rgb(path)
    assert got.dtype == np.uint8 and got.shape == (37, 53, 3)
    assert np.array_equal(got, _pil_rgb(path))


def test_real_frames_match_pillow(real_root):
    for path in sorted(real_root.glob("*/rgb/*"))[:4]:
        assert np.array_equal(load_image_rgb(path), _pil_rgb(path))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_refused(tmp_path, fmt):
    arr = np.random.default_rng(1).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    raw = buf.getvalue()
    # cut inside the pixel data (a PNG missing only its IEND still holds every pixel,
    # which Pillow accepts too; a JPEG without its end marker is refused)
    for cut in (len(raw) // 2,) + ((len(raw) - 2,) if fmt == "JPEG" else ()):
        path = tmp_path / f"t{cut}.{fmt.lower()}"
        path.write_bytes(raw[:cut])
        with pytest.raises(RecordError, match="truncated"):
            load_image_rgb(path)


def test_depth_png_16_and_8_bit(tmp_path):
    rng = np.random.default_rng(2)
    d16 = rng.integers(0, 65535, (30, 40), dtype=np.uint16)
    Image.fromarray(d16).save(tmp_path / "d16.png")
    got = load_depth_m(DepthFile(str(tmp_path / "d16.png"), 1000.0), 40, 30)
    assert got.dtype == np.float32
    assert np.array_equal(got, d16.astype(np.float32) / np.float32(1000.0))
    d8 = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    Image.fromarray(d8).save(tmp_path / "d8.png")
    got8 = load_depth_m(DepthFile(str(tmp_path / "d8.png"), 10.0), 40, 30)
    assert np.array_equal(got8, d8.astype(np.float32) / np.float32(10.0))
    raw = (tmp_path / "d16.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RecordError, match="truncated"):
        load_depth_m(DepthFile(str(tmp_path / "cut.png"), 1000.0), 40, 30)
