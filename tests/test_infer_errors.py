"""`vlm3 predict` user mistakes end in one line that says what to do (exit 2, no traceback),
before any weights load. Each case was a traceback, a huge allocation or a silent default
before (issue #21 item 3)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from _train_helpers import write_micro_preset
from vlm3.infer.cli import predict


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("errors")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(d / "img.png")
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(d / "tiny.png")
    (d / "afile").write_text("x")
    from vlm3.model.factory import load_model_and_processor

    model, proc = load_model_and_processor(str(write_micro_preset(d)), min_pixels=1024)
    model.save_pretrained(d / "model")
    proc.save_pretrained(d / "model")
    shutil.copytree(d / "model", d / "truncated")
    with open(d / "truncated" / "model.safetensors", "r+b") as f:
        f.truncate(f.seek(0, 2) // 2)
    shutil.copytree(d / "model", d / "no_tokenizer")
    (d / "no_tokenizer" / "tokenizer.json").unlink()
    return d


def _err(args) -> str:
    r = CliRunner().invoke(predict, [str(a) for a in args])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    return last


K = ["--intrinsics", "100,100,80,60"]


@pytest.mark.parametrize("grid,match", [("0x6", "at least 1 column"), ("-1x4", "at least 1 column"),
                                        ("100000x100000", "at most 4,096"), ("8by6", "must look like 32x24")])
def test_bad_grids(files, grid, match):
    assert match in _err(["depth", files / "img.png", *K, "--grid", grid])


@pytest.mark.parametrize("k,match", [("nan,nan,320,240", "finite"), ("inf,inf,320,240", "finite"),
                                     ("0.001,0.001,320,240", "would resample"), ("1e9,1e9,80,60", "smaller than one"),
                                     ("0,100,80,60", "positive")])
def test_bad_intrinsics(files, k, match):
    """0.001 px asked for a 36 PB image and 1e9 px a 0-px one (GeometryError traceback) before."""
    assert match in _err(["depth", files / "img.png", "--intrinsics", k, "--grid", "4x3"])
    assert match in _err(["match", files / "img.png", files / "img.png", "--intrinsics1", k, "--points", "80,60"])


@pytest.mark.parametrize("flag,value,match", [("--focal-px", "0", "--focal-px must be a positive"),
                                              ("--focal-px", "-1", "--focal-px must be a positive"),
                                              ("--focal-px", "nan", "--focal-px must be a positive"),
                                              ("--max-pixels", "0", "--max-pixels must be at least 1024")])
def test_bad_settings(files, flag, value, match):
    for cmd in (["depth", files / "img.png", *K, "--grid", "4x3"],
                ["match", files / "img.png", files / "img.png", "--intrinsics1", K[1], "--points", "80,60"],
                ["pose", files / "img.png", files / "img.png", "--intrinsics1", K[1], "--intrinsics2", K[1]],
                ["ask", files / "img.png", "Is it far?", *K]):
        assert match in _err([*cmd, flag, value])


def test_image_smaller_than_one_visual_token(files):
    assert "needs at least 32x32" in _err(["depth", files / "tiny.png", "--intrinsics", "8,8,4,4", "--grid", "2x2"])


def test_broken_model_folders(files):
    line = _err(["depth", files / "img.png", *K, "--grid", "2x2", "--model", files / "truncated"])
    assert "truncated or corrupt" in line and "model.safetensors" in line
    line = _err(["depth", files / "img.png", *K, "--grid", "2x2", "--model", files / "no_tokenizer"])
    assert "no tokenizer.json" in line


def test_out_naming_an_existing_file(files):
    assert "is a file" in _err(["depth", files / "img.png", *K, "--grid", "2x2", "--out", files / "afile"])
    assert "is a file" in _err(["ask", files / "img.png", "Is it?", "--out", files / "afile"])


def test_ask_boxes_need_their_placeholders(files):
    assert "placeholders none but 1 --box" in _err(["ask", files / "img.png", "Is it big?", "--box", "10,10,50,50"])
    assert "placeholders ['[A]', '[B]'] but 1" in _err(["ask", files / "img.png", "Is [A] left of [B]?",
                                                       "--box", "10,10,50,50"])
    assert "x1 <= x2" in _err(["ask", files / "img.png", "Is [A] big?", "--box", "50,10,10,50"])
    assert "outside the 160x120 image" in _err(["ask", files / "img.png", "Is [A] big?", "--box", "10,10,500,50",
                                                *K])


class _Never:
    """A predictor that must not be reached: the input check comes first."""

    name = "never"

    def predict(self, requests):
        raise AssertionError("asked the model despite bad input")


@pytest.mark.parametrize("points, match", [([], "N pairs x,y"), ([1.0, 2.0, 3.0], "N pairs x,y"),
                                           ([[1, 2, 3]], "N pairs x,y"), ([["a", "b"]], "must be numbers"),
                                           ([[np.nan, 3.0]], "finite")])
def test_python_api_points_are_checked(files, points, match):
    """The Python API's points: no pairs, odd counts, non-numbers, NaN were a reshape traceback,
    or (empty) a call that asked nothing."""
    from vlm3.infer import api

    with pytest.raises(api.InputError, match=match):
        api.predict_depth(_Never(), files / "img.png", points, "100,100,80,60", focal_px=100.0, max_pixels=4096)


@pytest.mark.parametrize("call, match", [
    (lambda api: api.parse_grid((8.5, 6)), "32x24"),             # was silently truncated to 8x6
    (lambda api: api.parse_intrinsics(518.9), "3x3 K"),          # was a TypeError traceback
    (lambda api: api.parse_intrinsics([[1, 0], [0, 1], [0, 0]]), "must be 3x3"),
    (lambda api: api.check_focal_px("two hundred"), "--focal-px must be a positive"),
    (lambda api: api.check_max_pixels(4096.5), "--max-pixels must be at least"),
    (lambda api: api.ask(_Never(), files_img(), None), "question is empty")])
def test_python_api_values_are_checked(call, match):
    from vlm3.infer import api

    with pytest.raises(api.InputError, match=match):
        call(api)


def files_img():
    return np.zeros((64, 64, 3), np.uint8)


def test_load_names_its_model():
    """`vlm3.load()` used to load a random-weight preset without a word: the model is required."""
    import inspect

    import vlm3
    from vlm3.infer import api

    for fn in (vlm3.load, api.load):
        assert inspect.signature(fn).parameters["model"].default is inspect.Parameter.empty
