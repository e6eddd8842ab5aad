"""The one drawing module (vlm3.drawing) and the pictures built on it: side-by-side canvases are
exact, frustums sit where the transform puts them, and every picture writer produces a PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlm3 import drawing


def test_side_by_side_places_each_image_at_its_offset():
    a = np.full((4, 3, 3), 10, np.uint8)
    b = np.full((6, 5, 3), 200, np.uint8)
    canvas, offsets = drawing.side_by_side([a, b])
    assert canvas.shape == (6, 8, 3) and offsets == [0, 3]
    assert (canvas[:4, :3] == 10).all() and (canvas[:, 3:] == 200).all() and (canvas[4:, :3] == 0).all()
    with pytest.raises(ValueError):
        drawing.side_by_side([])


def test_frustums_follow_the_transform():
    T = np.eye(4)
    T[:3, 3] = [1.0, 2.0, 3.0]
    segs = drawing.frustum_segments(T, 2.0)
    assert len(segs) == 8 and np.allclose(segs[0][0], [1, 2, 3])  # the apex at the camera centre
    assert np.allclose(segs[0][1], [1 - 2, 2 - 1.5, 3 + 3])
    # 90 deg field of view seen from above: edges at x = +-size at depth size
    poly = drawing.frustum_top_down(np.eye(3), np.zeros(3), 90.0, 2.0)
    assert np.allclose(poly, [[0, 0], [-2, 2], [2, 2]])


def test_every_picture_writer_makes_a_png(tmp_path):
    from vlm3.infer import viz

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    xy = np.array([[5.0, 6.0], [30.0, 20.0], [60.0, 40.0]])
    outs = [viz.depth_png(tmp_path / "d.png", img, xy, np.array([1.0, np.nan, 3.0])),
            viz.match_png(tmp_path / "m.png", img, img[:40], xy, xy + [[1, 1], [np.nan, np.nan], [0, 0]], xy),
            viz.frustum_png(tmp_path / "f.png", np.eye(4), np.eye(4)),
            viz.boxes_png(tmp_path / "b.png", img, [[1, 2, 20, 30]], [[5, 5, 10, 10]], title="Q")]
    fig = drawing.pyplot().figure()
    uri = drawing.png_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    for p in outs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.width > 100
