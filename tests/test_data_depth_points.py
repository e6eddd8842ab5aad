"""Depth samples: the point written in the text lands on the pixel whose depth is the label,
after standardisation, for every adapter that has depth (RGB-D folder: NYU, KITTI and a
synthetic folder; scene format: the synthetic world)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from data_helpers import small_world, write_rgbd_folder
from vlm3.data.adapters import load_adapter
from vlm3.data.config import SourceConfig
from vlm3.tasks.common import TaskConfig
from vlm3.io.images import read_depth_m
from vlm3.io.records import ViewRecord
from vlm3.standardize import standardize_view
from vlm3.tasks.common import BuildContext
from vlm3.tasks.depth import build as depth_task
from vlm3.geometry.depth import ray_from_z
from vlm3.geometry.focal import PixelMap
from vlm3.protocol import codecs
from vlm3.tasks.depth import text as depth_text
_Q = re.compile(r"coordinates \((\d+), (\d+)\)")


def _check_view(view: ViewRecord, focal_px: float, max_pixels: int, kind: str = "ray") -> int:
    ctx = BuildContext(TaskConfig(focal_px=focal_px, max_pixels=max_pixels, depth_label_kind=kind))
    draft = depth_task.build(view, ctx, np.random.default_rng(0))
    std = standardize_view(view, focal_px, max_pixels, with_depth=True, depth_kind=kind).std
    h, w = draft.images[0].shape[:2]
    assert (w % 32, h % 32) == (0, 0) and w * h <= max_pixels
    assert np.array_equal(draft.images[0], std.image)
    pm = PixelMap.from_dict(draft.pixmaps[0])
    src_depth = read_depth_m(view.depth, view.camera.width, view.camera.height)
    for (q, a), point in zip(draft.qa, draft.labels["points"]):
        # text -> pixel: decoding the written 2000-grid point gives back the labelled pixel
        m = _Q.search(q)
        xy = codecs.decode_xy_norm2000((int(m[1]), int(m[2])), w, h)
        x, y = (int(round(v)) for v in xy)
        assert [x, y] == point["xy_px"]
        # the label is the standardised depth at that pixel, and the answer says it (2 dp)
        assert point["depth_m"] == pytest.approx(float(std.depth_m[y, x]), rel=1e-6)
        assert depth_text.parse_answer(a).value == pytest.approx(point["depth_m"], abs=0.005)
        # ... and it is the source depth at the same scene point: a source pixel within one
        # pixel of the mapped point (nearest-neighbour resampling, twice when fx != fy)
        sx, sy = pm.to_src(np.array([[x, y]], float))[0]
        z_near = [float(src_depth[j, i])
                  for j in range(int(np.floor(sy)) - 1, int(np.floor(sy)) + 3)
                  for i in range(int(np.floor(sx)) - 1, int(np.floor(sx)) + 3)
                  if 0 <= j < src_depth.shape[0] and 0 <= i < src_depth.shape[1]
                  and np.hypot(i - sx, j - sy) <= 1.0 + 1e-9]
        scale = 1.0 if kind == "z" else float(ray_from_z(std.camera, np.array([[x, y]], float),
                                                         np.array([1.0]))[0])
        assert min(abs(point["depth_m"] - z * scale) for z in z_near) <= 1e-4 * point["depth_m"]
    return len(draft.qa)


def _views(adapter: str, path: str, **options) -> list[ViewRecord]:
    recs = load_adapter(adapter).iter_records(SourceConfig("t", adapter, path, options=options))
    return [r for r in recs if isinstance(r, ViewRecord) and r.depth is not None]


def test_nyu_and_kitti_points_land_on_labelled_depth(real_root):
    for name in ("nyu", "kitti"):
        views = _views("rgbd_folder", str(real_root / name / "meta.json"))
        assert len(views) == 3
        for v in views[:2]:
            assert _check_view(v, 200.0, 256 * 192) == 10


def test_synthetic_rgbd_folder_z_and_ray(tmp_path):
    meta = write_rgbd_folder(tmp_path / "f", n=1)
    v = _views("rgbd_folder", str(meta))[0]
    _check_view(v, 150.0, 128 * 96, kind="ray")
    _check_view(v, 450.0, 256 * 192, kind="z")  # upsampling path too


def test_world_scene_format_points(tmp_path_factory):
    world = small_world(tmp_path_factory.getbasetemp())
    views = _views("scene_format", str(world))
    assert views and all(v.depth.kind == "z" for v in views)
    _check_view(views[0], 200.0, 256 * 192)


def test_depth_points_spread_over_image(tmp_path):
    meta = write_rgbd_folder(tmp_path / "f", n=1)
    v = _views("rgbd_folder", str(meta))[0]
    draft = depth_task.build(v, BuildContext(TaskConfig(focal_px=300, max_pixels=320 * 224)),
                             np.random.default_rng(1))
    xy = np.array([p["xy_px"] for p in draft.labels["points"]])
    w, h = draft.images[0].shape[1], draft.images[0].shape[0]
    cells = {(int(x * 3 // w), int(y * 3 // h)) for x, y in xy}
    assert len(xy) == 10 and len({tuple(p) for p in xy}) == 10
    assert len(cells) >= 6  # 10 points over a 3x3 grid of cells
