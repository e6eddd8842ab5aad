"""Release-compatible preprocessing (issue #20, item 11): the published checkpoints saw the
focal-normalised image uncropped, at a truncated size; `vlm3.standardize.release`
reproduces the release samples' sizes and numbers exactly.

Numbers: the release's object sample (SpatialRGPT-Bench qualitative_3TrgWgKqnf), from
tests/golden/release_strings.json (original size, intrinsics, boxes; on a fresh clone) and,
when present, ../shared/data/vlm3_release/formats.json (resized size and intrinsics). The
resized size 1134 x 851 and resized boxes below are the sample's published values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vlm3.geometry.camera import Camera
from vlm3.geometry.crop import crop_to_grid
from vlm3.geometry.focal import normalize_focal
from vlm3.io.records import ViewRecord
from vlm3.protocol import codecs
from vlm3.standardize import standardize_view
from vlm3.standardize.release import (release_box_px, release_focal_resize, release_intrinsics,
                                      release_size)

GOLDEN = Path(__file__).parent / "golden" / "release_strings.json"
#: the object sample's published resized size and resized boxes (formats.json)
RESIZED = (1134, 851)
RESIZED_BOXES = ([0, 33, 740, 850], [7, 324, 258, 479])


@pytest.fixture(scope="module")
def sample():
    obj = json.loads(GOLDEN.read_text())["object"]
    size, k = obj["image_size_original"], obj["intrinsics_original"]
    return obj, Camera.from_fx_fy_cx_cy(k["fx"], k["fy"], k["cx"], k["cy"], size["width"], size["height"])


def test_release_resize_reproduces_the_object_sample(sample):
    obj, cam = sample
    assert release_size(cam, 1000.0, one_scale=True) == RESIZED
    std = release_focal_resize(np.zeros((cam.height, cam.width, 3), np.uint8), cam, 1000.0, one_scale=True)
    assert std.image.shape[:2] == (RESIZED[1], RESIZED[0])
    assert (std.camera.width, std.camera.height) == RESIZED
    for b, want_px in zip(obj["bboxes"], RESIZED_BOXES):
        assert release_box_px(b["bbox_original_pixels"], cam, 1000.0, one_scale=True) == want_px
        # the exact pixel map of the resized image agrees after rounding
        corners = np.reshape(b["bbox_original_pixels"], (2, 2)).astype(float)
        assert np.rint(std.pixmap.to_dst(corners)).reshape(-1).astype(int).tolist() == want_px
        assert codecs.encode_box_norm1000(b["bbox_original_pixels"], cam.width, cam.height).tolist() \
            == b["bbox_normalized_1000"]
    # the project's own path crops to the grid instead: a different image
    proj = crop_to_grid(normalize_focal(np.zeros((cam.height, cam.width, 3), np.uint8), cam, 1000.0), 1310720)
    assert (proj.camera.width, proj.camera.height) == (1120, 832)


def test_release_intrinsics_match_the_published_numbers(sample, release_formats_path):
    _, cam = sample
    formats = json.loads(Path(release_formats_path).read_text())["object"]
    assert (formats["image_size_resized"]["width"], formats["image_size_resized"]["height"]) == RESIZED
    assert [b["bbox_resized_pixels"] for b in formats["bboxes"]] == list(RESIZED_BOXES)
    got = release_intrinsics(cam, 1000.0, one_scale=True)
    for key, want in formats["intrinsics_after_focal_normalization_to_1000"].items():
        assert got[key] == pytest.approx(want, rel=1e-12, abs=1e-9), key


def test_standardize_view_release_option_keeps_the_image_uncropped(sample, tmp_path):
    import cv2

    _, cam = sample
    img = (np.random.default_rng(0).random((cam.height, cam.width, 3)) * 255).astype(np.uint8)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), img)
    view = ViewRecord("r", "test", "s", str(path), cam)
    rel = standardize_view(view, 1000.0, 1310720, preprocessing="release", one_scale=True)
    assert (rel.std.camera.width, rel.std.camera.height) == RESIZED
    proj = standardize_view(view, 1000.0, 1310720)
    assert (proj.std.camera.width, proj.std.camera.height) == (1120, 832)
    with pytest.raises(ValueError, match="unknown preprocessing"):
        standardize_view(view, 1000.0, 1310720, preprocessing="vggt")


def test_the_builders_take_the_release_preprocessing_option(sample, tmp_path):
    """Source option ``preprocessing: release`` reaches the builders (pose shown)."""
    import cv2

    from vlm3.io.records import PairRecord
    from vlm3.tasks import get_task
    from vlm3.tasks.common import BuildContext, TaskConfig

    _, cam = sample
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((cam.height, cam.width, 3), np.uint8))
    views = [ViewRecord(f"r{k}", "test", "s", str(path), cam) for k in (0, 1)]
    T = np.eye(4)
    T[:3, 3] = [0.3, 0.0, 0.1]
    pair = PairRecord("p", "test", "s", views[0], views[1], T)
    rng = np.random.default_rng(0)
    for options, size in (({"preprocessing": "release"}, (1134, 852)), ({}, (1120, 832))):
        ctx = BuildContext(TaskConfig(focal_px=1000.0), options=options)
        draft = get_task("pose").build(pair, ctx, rng)
        assert draft.images[0].shape[:2] == (size[1], size[0]), options
    with pytest.raises(ValueError, match="unknown preprocessing"):
        get_task("pose").build(pair, BuildContext(TaskConfig(), options={"preprocessing": "x"}), rng)
