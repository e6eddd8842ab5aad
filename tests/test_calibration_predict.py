"""Asking a model for the field of view: `Model.calibrate` (generated from the task registry),
`predict_image_task` (the image read once, downsized as the data engine does, never focal-
normalised) and the `calibration: model:DIR` policy that labels views without K."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

import vlm3
from _echo import Echo
from _train_helpers import write_micro_preset
from vlm3.infer import api
from vlm3.standardize import calibration as calib_policy
from vlm3.tasks.asking import TaskAsking, release_asking, write_asking


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """A saved micro model (random weights) whose vlm3.json asks calibration compact, 64x48 cap."""
    from vlm3.model.factory import load_model_and_processor

    d = tmp_path_factory.mktemp("calib_model")
    model, proc = load_model_and_processor(str(write_micro_preset(d)), min_pixels=1024)
    model.save_pretrained(d / "model")
    proc.save_pretrained(d / "model")
    base = release_asking()
    tasks = dict(base.tasks, calibration=TaskAsking(None, 64 * 48, "compact"))
    write_asking(d / "model", base.__class__(tasks, numbers="greedy", name="vlm3-micro-calib", learnt_from="file"))
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(d / "img.png")
    return d


def test_model_calibrate_is_generated_and_asks_the_downsized_image(micro):
    assert "calibrate" in api.image_task_verbs() and callable(getattr(api.Model, "calibrate"))
    model = vlm3.load(micro / "model")
    model.predictor.max_new_tokens = 6
    spy = Echo("")
    inner = model.predictor

    class Spy:
        name = inner.name

        def predict(self, requests):
            spy.requests += list(requests)
            return inner.predict(requests)

    model.predictor = Spy()
    res = model.calibrate(micro / "img.png")
    (req,) = spy.requests
    assert req.task == "calibration" and req.questions == ["Horizontal FoV?"]  # the saved compact format
    assert req.format_version == "vlm3-compact-v3" and req.images[0].shape == (48, 64, 3)  # 320x240 capped, aspect kept
    assert (res.width, res.height, res.model_size) == (320, 240, (64, 48)) and isinstance(res.raw, str)
    assert res.to_json()["ok"] == res.ok


def test_answers_become_the_field_of_view_and_intrinsics():
    img = np.zeros((480, 640, 3), np.uint8)
    res = api.predict_image_task(Echo("063.4"), "calibration", img, 49152, "compact")
    assert res.ok and res.hfov_deg == 63.4 and res.model_size == (256, 192)
    assert res.fx_px == pytest.approx(320 / math.tan(math.radians(31.7)))
    assert res.intrinsics_fx_fy_cx_cy()[2:] == [319.5, 239.5] and "63.4 deg" in res.lines()[0]
    bad = api.predict_image_task(Echo("wide"), "calibration", img, 49152, "compact")
    assert not bad.ok and math.isnan(bad.hfov_deg) and bad.to_json()["hfov_deg"] is None
    assert "did not parse" in bad.lines()[0]
    with pytest.raises(api.InputError, match="not asked about an image alone"):
        api.predict_image_task(Echo("1"), "depth", img, 49152, "compact")
    with pytest.raises(api.InputError, match="max-pixels"):
        api.predict_image_task(Echo("1"), "calibration", img, 10, "compact")


def _build_without_k(tmp_path, policy, engine="local"):
    """An RGB-D folder whose meta.json has no intrinsics, built for depth with ``calibration: policy``."""
    from data_helpers import write_rgbd_folder
    from vlm3.data.build import build
    from vlm3.data.config import config_from_dict

    meta = write_rgbd_folder(tmp_path / "rgbd", n=3, width=160, height=120)
    raw = json.loads(meta.read_text())
    del raw["intrinsics_fx_fy_cx_cy"]
    meta.write_text(json.dumps(raw))
    cfg = config_from_dict({"output_dir": str(tmp_path / "data"), "calibration": policy,
                            "tasks": {"depth": {"focal_px": 100, "max_pixels": 96 * 64, "questions_per_sample": 2,
                                                "samples": {"train": 3, "val": 0, "test": 0}}},
                            "sources": [{"name": "r", "adapter": "rgbd_folder", "path": str(meta), "split": "train",
                                         "weights": {"depth": 1}}]})
    build(cfg, engine=engine, progress=False)
    root = tmp_path / "data"
    samples = [json.loads(line) for p in sorted(root.rglob("*.jsonl")) for line in p.read_text().splitlines()]
    return samples, json.loads((root / "manifest.json").read_text())


def test_the_model_policy_labels_views_without_k(tmp_path, micro, monkeypatch):
    monkeypatch.setattr(calib_policy, "_PROVIDED", {})
    monkeypatch.setattr(calib_policy, "_CACHE", {})
    with pytest.raises(ValueError, match="register_model_calibration"):
        calib_policy.get_calibrator("model:somewhere")
    # the policy asks a model: here one that always answers 75 deg
    echo = api.Model(Echo("075.0"), release_asking())
    calib_policy.register_policy("model", lambda d: (lambda image: calib_policy.fov_camera(
        image.shape[1], image.shape[0], echo.calibrate(image).hfov_deg)))
    samples, _ = _build_without_k(tmp_path / "echo", "model:echo")
    assert samples and all(s["labels"]["camera_from"] == "calibrated:model:echo" for s in samples)
    src = samples[0]["pixmaps"][0]["src"]
    assert src["fx"] == pytest.approx(80 / math.tan(math.radians(37.5)))  # 160 px wide at 75 deg
    # the real provider: the saved micro model is loaded and asked; an answer that is no field of
    # view is a counted skip naming the model, never a crash or a silent guess
    api.register_model_calibration()
    from vlm3.data.build import BuildError

    policy = f"model:{micro / 'model'}"
    try:
        samples, _ = _build_without_k(tmp_path / "micro", policy)
    except BuildError as err:  # the random-weight model writes no number: every view skipped, reason named
        assert f"calibrated:{policy}: calibration model {micro / 'model'} gave no field of view" in str(err)
    else:
        assert all(s["labels"]["camera_from"] == f"calibrated:{policy}" for s in samples)


def test_predict_calibrate_cli_is_generated_from_the_registry(micro, tmp_path):
    """`vlm3 predict calibrate IMAGE --model DIR`: the saved settings, one JSON per image, one-line errors."""
    from click.testing import CliRunner

    from vlm3.cli import main

    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["predict", "calibrate", str(micro / "img.png"), "--model", str(micro / "model"),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "asking vlm3-micro-calib: the image as given, at most 3,072 px, compact format" in res.output
    js = json.loads((out / "calibrate.json").read_text())
    assert js["model"] == "vlm3-micro-calib" and js["width"] == 320 and js["model_size"] == [64, 48]
    assert "answers parsed" in res.output
    bad = CliRunner().invoke(main, ["predict", "calibrate", str(micro / "img.png"), "--model", str(micro / "model"),
                                    "--focal-px", "500"])
    assert bad.exit_code == 2 and "--focal-px does not apply" in bad.output and "Traceback" not in bad.output
    missing = CliRunner().invoke(main, ["predict", "calibrate", str(tmp_path / "nope.png"), "--model",
                                        str(micro / "model")])
    assert missing.exit_code == 2 and "image not found" in missing.output
    helped = CliRunner().invoke(main, ["predict", "--help"]).output
    assert "calibrate" in helped


def test_the_vlm3_command_provides_the_model_policy_to_data_build(micro, tmp_path, monkeypatch):
    """`vlm3 data build` with `calibration: model:DIR` reaches the model (no 'has not loaded' error)."""
    from click.testing import CliRunner

    from data_helpers import write_rgbd_folder
    from vlm3.cli import main

    monkeypatch.setattr(calib_policy, "_PROVIDED", {})
    monkeypatch.setattr(calib_policy, "_CACHE", {})
    meta = write_rgbd_folder(tmp_path / "rgbd", n=2, width=160, height=120)
    raw = json.loads(meta.read_text())
    del raw["intrinsics_fx_fy_cx_cy"]
    meta.write_text(json.dumps(raw))
    (tmp_path / "d.yaml").write_text(f"""\
output_dir: {tmp_path / 'data'}
calibration: model:{micro / 'model'}
tasks: {{depth: {{focal_px: 100, max_pixels: 6144, questions_per_sample: 2, samples: {{train: 2, val: 0, test: 0}}}}}}
sources: [{{name: r, adapter: rgbd_folder, path: {meta}, split: train, weights: {{depth: 1}}}}]
""")
    res = CliRunner().invoke(main, ["data", "build", str(tmp_path / "d.yaml"), "--quiet"])
    assert "has not loaded" not in res.output and "Traceback" not in res.output, res.output
    assert res.exit_code == 0 or "gave no field of view" in res.output, res.output
