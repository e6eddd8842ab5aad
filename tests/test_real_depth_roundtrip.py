"""RGB-D frames: depth -> standardise -> text -> parse -> map back is lossless.

For every valid pixel sampled in the standardised image: the label (ray length) is
written in the release prompt/answer, parsed back, the 2000-grid coordinate decoded and
mapped to the original image, and compared with the original ground truth there.
Expect delta1 == 1.0; the worst pixel and metre quantisation errors are printed.

Synthetic folders (tests/data_helpers.py: 20 % holes, focal 300 px upsampled and 1400 px
downsampled to 1000 px) run on every clone; the real NYU / KITTI frames (dense indoor,
sparse LiDAR outdoor) only where ../shared holds them: their images cannot live in tests/.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from data_helpers import write_rgbd_folder
from vlm3.geometry import Camera
from vlm3.geometry.crop import crop_to_grid
from vlm3.geometry.depth import ray_map_from_z_map, valid_depth_mask
from vlm3.geometry.focal import normalize_focal
from vlm3.io.images import read_map, read_rgb
from vlm3.metrics.depth import delta1
from vlm3.tasks.depth import text as depth_text
from vlm3.protocol.codecs import decode_xy_norm2000, encode_xy_norm2000


def _frames(folder):
    """(rgb (H, W, 3) uint8, z-depth (H, W) m, Camera) of a folder laid out like ../shared/data/real/nyu."""
    meta = json.loads((folder / "meta.json").read_text())
    fx, fy, cx, cy = meta["intrinsics_fx_fy_cx_cy"]
    for frame in meta["frames"]:
        rgb = read_rgb(folder / frame["rgb"])
        depth = read_map(folder / frame["depth"]).astype(np.float32) / meta["depth_scale"]
        h, w = depth.shape
        yield rgb, depth, Camera.from_fx_fy_cx_cy(fx, fy, cx, cy, w, h)


@pytest.mark.parametrize("name", ["nyu", "kitti"])
def test_depth_text_round_trip_on_real_frames(real_root, name, capsys):
    _check_round_trip(real_root / name, name, capsys)


@pytest.mark.parametrize("fx", [300.0, 1400.0])
def test_depth_text_round_trip_on_synthetic_frames(tmp_path, fx, capsys):
    write_rgbd_folder(tmp_path / "f", n=2, fx=fx)
    _check_round_trip(tmp_path / "f", f"synthetic fx={fx:g}", capsys)


def _check_round_trip(folder, name, capsys):
    rng = np.random.default_rng(0)
    worst_px, worst_m, preds, gts = 0.0, 0.0, [], []
    for rgb, depth_z, cam in _frames(folder):
        ray_src = ray_map_from_z_map(cam, depth_z)
        std = crop_to_grid(normalize_focal(rgb, cam, 1000.0, ray_src), 1280 * 960)
        valid = valid_depth_mask(std.depth_m)
        ys, xs = np.nonzero(valid)
        pick = rng.choice(len(xs), size=min(300, len(xs)), replace=False)
        xy_std = np.stack([xs[pick], ys[pick]], axis=1).astype(np.float64)
        labels = std.depth_m[ys[pick], xs[pick]]
        w, h = std.camera.width, std.camera.height
        for xy, label in zip(xy_std, labels):
            n = encode_xy_norm2000(xy, w, h)
            assert f"({n[0]}, {n[1]})" in depth_text.prompt(n)
            parsed = depth_text.parse_answer(depth_text.render_answer(float(label)))
            assert parsed.ok, parsed.reason
            xy_back = decode_xy_norm2000(n, w, h)
            worst_px = max(worst_px, float(np.abs(xy_back - xy).max()))
            xy_src = std.pixmap.to_src(xy_back)[0]
            i, j = int(round(xy_src[0])), int(round(xy_src[1]))
            gt = float(ray_src[j, i])
            if gt <= 0:  # sparse KITTI: the decoded location fell on an unmeasured neighbour
                continue
            worst_m = max(worst_m, abs(parsed.value - gt))
            preds.append(parsed.value)
            gts.append(gt)
    d1 = delta1(np.array(preds), np.array(gts))
    with capsys.disabled():
        print(f"\n[{name}] {len(preds)} points: delta1={d1:.4f}, worst grid error {worst_px:.3f} px "
              f"(standardised image), worst depth error {worst_m:.4f} m")
    assert d1 == 1.0
    assert worst_px <= max(w, h) / 4000 + 1e-9
