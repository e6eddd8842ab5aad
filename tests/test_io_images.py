"""vlm3.io.images, the one pixel reader: the OpenCV fast path gives Pillow's pixels (JPEG, PNG
of every 8-bit colour type, 16-bit depth PNG), paths / arrays / PIL images give one return
type, truncated files are refused on either path, and every problem is one ImageReadError
line naming the file (wrapped as RecordError for data, InputError for predictions)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vlm3.infer.api import read_image
from vlm3.io.images import (ImageReadError, read_depth_m, read_image_size, read_map, read_rgb,
                            read_rgb_pil)
from vlm3.io.records import DepthFile
from vlm3.errors import InputError


def _pil_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _noise(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


@pytest.mark.parametrize("mode,fmt", [("RGB", "PNG"), ("L", "PNG"), ("RGBA", "PNG"), ("P", "PNG"),
                                      ("LA", "PNG"), ("RGB", "JPEG"), ("L", "JPEG"), ("RGB", "BMP")])
def test_decoded_pixels_match_pillow(tmp_path, mode, fmt):
    im = Image.fromarray(_noise(37, 53, 4), "RGBA")
    im = im.convert("RGB").convert(mode) if mode == "P" else im.convert(mode)
    path = tmp_path / f"im.{fmt.lower()}"
    im.save(path, format=fmt)
    got = read_rgb(path)
    assert got.dtype == np.uint8 and got.shape == (37, 53, 3) and got.flags.c_contiguous
    assert np.array_equal(got, _pil_rgb(path))


def test_real_frames_match_pillow(real_root):
    for path in sorted(real_root.glob("*/rgb/*"))[:4]:
        assert np.array_equal(read_rgb(path), _pil_rgb(path))


def test_path_array_and_pil_inputs_give_the_same_array(tmp_path):
    rgba = _noise(20, 30, 4, seed=3)
    Image.fromarray(rgba[..., :3]).save(tmp_path / "a.png")
    want = rgba[..., :3]
    for image in (tmp_path / "a.png", str(tmp_path / "a.png"), want, rgba,
                  Image.fromarray(want), Image.fromarray(rgba, "RGBA")):
        got = read_rgb(image)
        assert got.dtype == np.uint8 and got.shape == (20, 30, 3) and got.flags.c_contiguous
        assert np.array_equal(got, want)
    assert np.array_equal(read_rgb("a.png", root=tmp_path), want)  # relative to a dataset folder
    gray = rgba[..., 0]
    assert np.array_equal(read_rgb(gray), np.asarray(Image.fromarray(gray).convert("RGB")))


def test_pil_view_has_the_same_pixels(tmp_path):
    arr = _noise(24, 32, 3, seed=4)
    Image.fromarray(arr).save(tmp_path / "b.png")
    for image in (tmp_path / "b.png", arr, Image.fromarray(arr)):
        pil = read_rgb_pil(image)
        assert pil.mode == "RGB" and pil.size == (32, 24)
        assert np.array_equal(np.asarray(pil), arr)
    assert read_image_size("b.png", root=tmp_path) == (32, 24)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_refused(tmp_path, fmt):
    buf = io.BytesIO()
    Image.fromarray(_noise(64, 80, 3, seed=1)).save(buf, format=fmt)
    raw = buf.getvalue()
    # cut inside the pixel data (a PNG missing only its IEND still holds every pixel,
    # which Pillow accepts too; a JPEG without its end marker is refused)
    for cut in (len(raw) // 2,) + ((len(raw) - 2,) if fmt == "JPEG" else ()):
        path = tmp_path / f"t{cut}.{fmt.lower()}"
        path.write_bytes(raw[:cut])
        with pytest.raises(ImageReadError, match="truncated"):
            read_rgb(path)


def test_errors_are_one_line_naming_the_file_once(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    cases = [(lambda: read_rgb(tmp_path / "gone.png"), "gone.png: image file not found", True),
             (lambda: read_rgb(bad), "bad.png: unreadable or truncated image (not an image format", False),
             (lambda: read_image_size(tmp_path / "gone.png"), "gone.png: image file not found", True),
             (lambda: read_image_size(bad), "bad.png: unreadable image (not an image format", False),
             (lambda: read_rgb(np.zeros((4, 4, 2))), "<array>: image array must be (H, W) or (H, W, 3)", False),
             (lambda: read_rgb(np.zeros((1, 5, 3))), "<array>: image has unusable shape (1, 5, 3)", False)]
    for fn, needle, missing in cases:
        with pytest.raises(ImageReadError) as info:
            fn()
        msg = str(info.value)
        assert needle in msg and "\n" not in msg and info.value.missing is missing
        assert msg.count(info.value.path) == 1


def test_prediction_inputs_wrap_the_error_in_input_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(InputError, match=r"^image not found: .*gone\.png \(check the path\)$"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(InputError, match=r"^cannot read image .*bad\.png: unreadable or truncated image"):
        read_image(bad)


def test_maps_npy_npz_and_16_bit_png(tmp_path):
    ids = np.random.default_rng(5).integers(0, 65535, (12, 16), dtype=np.uint16)
    Image.fromarray(ids).save(tmp_path / "ids.png")
    got = read_map(tmp_path / "ids.png", what="ids")
    assert got.dtype == np.uint16 and np.array_equal(got, ids)
    d = np.random.default_rng(6).random((12, 16, 1)).astype(np.float32)
    np.save(tmp_path / "d.npy", d)
    np.savez(tmp_path / "d.npz", depth=d[..., 0])
    np.savez(tmp_path / "other.npz", z=d)
    assert np.array_equal(read_map(tmp_path / "d.npy"), d[..., 0])
    assert np.array_equal(read_map(tmp_path / "d.npz"), d[..., 0])
    with pytest.raises(ImageReadError, match=r"other\.npz: npz has no 'depth' array \(keys \['z'\]\)"):
        read_map(tmp_path / "other.npz")
    with pytest.raises(ImageReadError, match="ids file not found") as info:
        read_map(tmp_path / "gone.png", what="ids")
    assert info.value.missing


def test_depth_png_16_and_8_bit(tmp_path):
    rng = np.random.default_rng(2)
    d16 = rng.integers(0, 65535, (30, 40), dtype=np.uint16)
    Image.fromarray(d16).save(tmp_path / "d16.png")
    got = read_depth_m(DepthFile(str(tmp_path / "d16.png"), 1000.0), 40, 30)
    assert got.dtype == np.float32
    assert np.array_equal(got, d16.astype(np.float32) / np.float32(1000.0))
    d8 = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    Image.fromarray(d8).save(tmp_path / "d8.png")
    got8 = read_depth_m(DepthFile(str(tmp_path / "d8.png"), 10.0), 40, 30)
    assert np.array_equal(got8, d8.astype(np.float32) / np.float32(10.0))
    raw = (tmp_path / "d16.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_depth_m(DepthFile(str(tmp_path / "cut.png"), 1000.0), 40, 30)


def test_float_depth_invalid_pixels_and_refusals(tmp_path):
    d = np.full((6, 8), 2.0, dtype=np.float32)
    d[0, 0], d[0, 1] = np.nan, np.inf
    np.save(tmp_path / "d.npy", d)
    got = read_depth_m(DepthFile(str(tmp_path / "d.npy"), 1.0), 8, 6)
    assert got[0, 0] == 0 and got[0, 1] == 0 and got[1, 1] == 2.0  # NaN / inf = no measurement
    np.save(tmp_path / "neg.npy", -d)
    np.save(tmp_path / "zero.npy", np.zeros((6, 8), np.float32))
    np.save(tmp_path / "rgb.npy", np.ones((6, 8, 3), np.float32))
    for name, w, needle in (("d.npy", 9, "depth size 8x6 does not match image size 9x6"),
                            ("neg.npy", 8, "depth has negative values"),
                            ("zero.npy", 8, "depth has no valid pixel"),
                            ("rgb.npy", 8, "depth must be one channel, got shape (6, 8, 3)")):
        with pytest.raises(ImageReadError, match=f"{name}: {needle}".replace("(", r"\(").replace(")", r"\)")):
            read_depth_m(DepthFile(str(tmp_path / name), 1.0), w, 6)


@pytest.mark.parametrize("subsampling,progressive", [(2, False), (2, True), (1, False)])
def test_camera_style_jpeg_matches_pillow(tmp_path, subsampling, progressive):
    """The fresh-clone twin of the real-frame check: chroma subsampling, progressive scans and
    an EXIF rotation tag (ignored on both paths), on a smooth photo-like image."""
    ys, xs = np.mgrid[0:90, 0:120]
    arr = np.stack([xs * 2, ys * 2, (xs + ys)], axis=2) % 256 + _noise(90, 120, 3, seed=7) // 8
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 deg CW to display
    path = tmp_path / "cam.jpg"
    Image.fromarray(arr.astype(np.uint8)).save(path, quality=92, subsampling=subsampling,
                                               progressive=progressive, exif=exif)
    got = read_rgb(path)
    assert got.shape == (90, 120, 3)
    assert np.array_equal(got, _pil_rgb(path))


# ---------------------------------------------------------------- EXR and SUN RGB-D (issue 19)
def _write_exr(path, channels: dict, compression=None) -> None:
    import OpenEXR

    header = {"compression": compression or OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as f:
        f.write(str(path))


def test_exr_half_float_depth_is_read_exactly(tmp_path):
    """WAI stores z-depth as half-float ZIP EXR: every half value comes back exactly (float32)."""
    import OpenEXR

    d = (np.random.default_rng(3).random((30, 40)) * 9 + 0.5).astype(np.float16)
    d[0, 0] = np.float16(np.inf)  # no measurement
    _write_exr(tmp_path / "d.exr", {"Y": d})
    _write_exr(tmp_path / "piz.exr", {"Z": d.astype(np.float32)}, OpenEXR.PIZ_COMPRESSION)
    raw = read_map(tmp_path / "d.exr")
    assert raw.dtype == np.float32 and raw.shape == (30, 40)
    assert np.array_equal(raw[1:], d[1:].astype(np.float32))
    got = read_depth_m(DepthFile(str(tmp_path / "d.exr"), 1.0), 40, 30)
    assert got[0, 0] == 0 and np.array_equal(got[1:], d[1:].astype(np.float32))
    assert np.array_equal(read_depth_m(DepthFile(str(tmp_path / "piz.exr")), 40, 30)[1:],
                          d[1:].astype(np.float32))


def test_exr_refusals_are_one_line(tmp_path):
    d = np.full((16, 20), 2.5, np.float16)
    _write_exr(tmp_path / "ok.exr", {"Y": d})
    data = (tmp_path / "ok.exr").read_bytes()
    (tmp_path / "cut.exr").write_bytes(data[: len(data) - 40])
    (tmp_path / "junk.exr").write_bytes(b"not an exr at all")
    _write_exr(tmp_path / "uv.exr", {"U": d, "V": d})
    for name, needle in (("cut.exr", "unreadable or truncated depth EXR"),
                         ("junk.exr", "unreadable or truncated depth EXR"),
                         ("uv.exr", r"depth EXR has channels \['U', 'V'\]; expected one")):
        with pytest.raises(ImageReadError, match=f"{name}: {needle}") as info:
            read_depth_m(DepthFile(str(tmp_path / name)), 20, 16)
        assert "\n" not in str(info.value)
    with pytest.raises(ImageReadError, match="depth file not found") as info:
        read_map(tmp_path / "gone.exr")
    assert info.value.missing
    _write_exr(tmp_path / "rgb.exr", {"R": d, "G": d, "B": d})  # a grey RGB EXR: one depth
    assert np.array_equal(read_map(tmp_path / "rgb.exr"), d.astype(np.float32))


def test_sunrgbd_decoding_rule(tmp_path):
    """SUN RGB-D's PNGs hold mm rotated left by 3 bits; the toolbox / Open3D rule undoes it.

    Read as plain millimetres the same file gives 8x the depth (the old behaviour), and
    DepthLM's v / 10000 gives 0.8x the toolbox's metres."""
    from vlm3.io.images import decode_sunrgbd_depth

    mm = np.array([[1234, 9000], [65535 >> 3, 1]], dtype=np.uint16)
    stored = ((mm.astype(np.uint32) << 3) | (mm.astype(np.uint32) >> 13)) & 0xFFFF  # SUN RGB-D's writer
    assert stored.tolist() == [[9872, 6465], [65528, 8]]
    assert np.array_equal(decode_sunrgbd_depth(stored.astype(np.uint16)), mm)
    Image.fromarray(stored.astype(np.uint16)).save(tmp_path / "sun.png")
    got = read_depth_m(DepthFile(str(tmp_path / "sun.png"), 1000.0, "z", "sunrgbd"), 2, 2)
    assert np.allclose(got, mm / 1000.0, rtol=0, atol=1e-6)
    assert got[0, 0] == pytest.approx(1.234, abs=1e-6) and got[0, 1] == pytest.approx(9.0, abs=1e-6)
    plain = read_depth_m(DepthFile(str(tmp_path / "sun.png"), 1000.0), 2, 2)
    assert plain[0, 0] == pytest.approx(8 * 1.234, abs=1e-6)  # 9.872: 8x too far
    dlm = read_depth_m(DepthFile(str(tmp_path / "sun.png"), 10000.0), 2, 2)
    assert dlm[0, 0] == pytest.approx(0.8 * 1.234, abs=1e-6)
    np.save(tmp_path / "f.npy", np.ones((2, 2), np.float32))
    with pytest.raises(ImageReadError, match="SUN RGB-D depth must be a 16-bit PNG"):
        read_depth_m(DepthFile(str(tmp_path / "f.npy"), 1.0, "z", "sunrgbd"), 2, 2)
    with pytest.raises(ValueError, match="unknown depth encoding 'rot3'"):
        DepthFile("x.png", 1000.0, "z", "rot3")
