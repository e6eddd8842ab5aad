"""`vlm3 predict` bad input: one-line errors saying what to fix (no model needed), and the
user functions' pixel round trip with the oracle-free trivial path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vlm3.infer.api import grid_points_px, parse_intrinsics, prepare_image
from vlm3.infer.cli import predict
from vlm3.errors import InputError


@pytest.fixture()
def image_path(tmp_path):
    p = tmp_path / "img.png"
    Image.fromarray((np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)).save(p)
    return p


def _err(args):
    r = CliRunner().invoke(predict, args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    return r.output.strip().splitlines()[-1]


def test_missing_image(tmp_path):
    assert "image not found" in _err(["depth", str(tmp_path / "nope.png"), "--points", "1,1"])


def test_unreadable_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert "cannot read image" in _err(["depth", str(bad), "--points", "1,1"])


def test_intrinsics_wrong_arity(image_path):
    line = _err(["depth", str(image_path), "--intrinsics", "100,100,80", "--points", "1,1"])
    assert "exactly 4 numbers" in line


def test_points_outside_image(image_path):
    line = _err(["depth", str(image_path), "--intrinsics", "100,100,80,60", "--points", "500,10",
                 "--model", "tiny"])
    assert "outside the 160x120 image" in line


def test_model_dir_not_qwen3vl(tmp_path, image_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    line = _err(["depth", str(image_path), "--intrinsics", "100,100,80,60", "--points", "1,1", "--model", str(d)])
    assert "Qwen3-VL" in line
    line = _err(["depth", str(image_path), "--intrinsics", "100,100,80,60", "--points", "1,1",
                 "--model", str(tmp_path)])
    assert "no config.json" in line


def test_median_numbers_need_the_transformers_backend(image_path):
    line = _err(["depth", str(image_path), "--intrinsics", "100,100,80,60", "--points", "1,1",
                 "--model", "vllm:/nowhere", "--numbers", "median"])
    assert "transformers backend" in line
    assert "'mean' is not one of" in _err(["depth", str(image_path), "--points", "1,1", "--numbers", "mean"])


def test_points_and_grid_exclusive(image_path):
    assert "exactly one of" in _err(["depth", str(image_path), "--intrinsics", "100,100,80,60"])


def test_missing_intrinsics_follows_calibration_policy(image_path):
    with pytest.raises(InputError, match="intrinsics"):
        prepare_image(image_path, None, 100.0, 100_000, calibration="none")
    prep = prepare_image(image_path, None, 100.0, 100_000, calibration="fov60")
    assert prep.camera_from == "fallback:fov60"


def test_pixel_round_trip_through_standardisation(image_path):
    prep = prepare_image(image_path, "100,100,80,60", 150.0, 10**6)
    assert abs(prep.camera.fx - 150.0) < 1.0
    xy = grid_points_px(160, 120, 4, 3)
    back = prep.pixmap.to_src(prep.pixmap.to_dst(xy))
    assert np.abs(back - xy).max() < 1e-6
    assert parse_intrinsics("1,2,3,4") == (1.0, 2.0, 3.0, 4.0)


def test_predict_sees_the_image_size_the_data_engine_trains_on():
    """The Python API and a model without vlm3.json default to the data engine's release cap
    (1280 x 1024), so a release-size training frame is not cropped at inference; `vlm3 predict`
    reads its settings from the model (flags default to None: only overrides)."""
    import inspect

    from vlm3.infer import api
    from vlm3.infer.cli import predict
    from vlm3.tasks.asking import release_asking
    from vlm3.tasks.common import TaskConfig

    caps = {t: TaskConfig().for_task(t).max_pixels for t in ("depth", "correspondence", "pose", "object")}
    assert caps["depth"] == caps["correspondence"] == caps["object"] == 1280 * 1024
    assert caps["pose"] == 2880 * 1920  # the release's pose frame (2830x1884 at 750 px) whole up to the grid
    for fn, task in ((api.predict_depth, "depth"), (api.predict_match, "correspondence"), (api.predict_pose, "pose"),
                     (api.ask, "object")):
        assert inspect.signature(fn).parameters["max_pixels"].default == caps[task], task
    assert {t: a.max_pixels for t, a in release_asking().tasks.items() if t in caps} == caps
    assert release_asking().task("calibration").max_pixels == TaskConfig().for_task("calibration").max_pixels
    for cmd in predict.commands.values():
        opts = {p.name: p.default for p in cmd.params}
        assert opts["max_pixels"] is None and opts["focal_px"] is None and opts["text_format"] is None


def test_predict_depth_reads_the_image_once(image_path, tmp_path, monkeypatch):
    """One read of the file per command (issue #29): it used to be read 4 times (the checks, the
    preparation for the checks, the prediction, the outputs) and opened twice more for EXIF."""
    import vlm3.io.images as images

    reads = []
    real = images._read_bytes
    monkeypatch.setattr(images, "_read_bytes", lambda p, what: reads.append(str(p)) or real(p, what))
    r = CliRunner().invoke(predict, ["depth", str(image_path), "--grid", "4x3", "--intrinsics", "100,100,80,60",
                                     "--model", "tiny", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert reads == [str(image_path)] and (tmp_path / "out" / "depth_mm.png").is_file()


def test_a_published_checkpoint_is_asked_with_the_release_preprocessing(tmp_path, image_path):
    """A model folder without vlm3.json is a published checkpoint: `vlm3 predict` resizes its images
    as the release did (as `vlm3 eval` does); a preset keeps the project's crop; an old vlm3.json
    without the key is the project's crop too."""
    from vlm3.infer import api
    from vlm3.tasks.asking import asking_from_dict, release_asking

    folder = tmp_path / "published"
    folder.mkdir()
    assert api.default_asking(str(folder)).preprocessing == "release"
    assert api.default_asking("tiny").preprocessing == "project"
    old = release_asking().to_dict()
    del old["preprocessing"]
    assert asking_from_dict(old).preprocessing == "project"
    s = api.asked_settings(api.default_asking(str(folder)), "depth")
    prep = api.prepare_image(image_path, "100,100,80,60", s["focal_px"], s["max_pixels"],
                             preprocessing=s["preprocessing"])
    assert (prep.camera.width, prep.camera.height) == (1600, 1200)  # int(160 * 10), uncropped, no grid
    crop = api.prepare_image(image_path, "100,100,80,60", 1000.0, s["max_pixels"])
    assert crop.camera.width % 32 == 0 and crop.camera.height % 32 == 0
