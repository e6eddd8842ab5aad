"""Issue #30: the mistakes a newcomer still met end in one line and a non-zero exit, saying
what to do; a command whose result would be empty fails and says why; a command checks its
paths before torch, the tokenizer or a model load.

Each test here failed on the code before the issue (a traceback, an exit 0 having done
nothing, or torch loaded before a path typo was reported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import vlm3
from data_helpers import small_world, write_huge_png
from vlm3.cli import main
from vlm3.io.images import ImageReadError, read_rgb

SRC = Path(vlm3.__file__).resolve().parents[1]  # the code under test, for the subprocesses


def _invoke(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(main, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), \
        f"traceback: {type(res.exception).__name__}: {res.exception}"
    return res.exit_code, res.output


def _one_line_error(code: int, out: str, *needles: str) -> None:
    lines = [ln for ln in out.strip().splitlines() if ln.strip() and not ln.startswith(("Usage:", "Try "))]
    assert code != 0, out
    assert len(lines) == 1, out
    for n in needles:
        assert n in lines[0], out


def _depth_set(tmp_path: Path) -> Path:
    """A built set (2 depth samples from the small world) for the commands that read one."""
    world = small_world(tmp_path)
    out = tmp_path / "set"
    cfg = tmp_path / "set.yaml"
    cfg.write_text(f"""\
output_dir: {out}
tasks: {{depth: {{focal_px: 200, max_pixels: 49152, questions_per_sample: 3, samples: {{train: 2, val: 0, test: 0}}}}}}
sources:
  - {{name: w, adapter: scene_format, path: {world}, split: train, weights: {{depth: 1}}}}
""")
    code, out_text = _invoke(["data", "build", str(cfg), "--quiet"])
    assert code == 0, out_text
    return out


def test_data_build_to_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("my notes\n")
    code, out = _invoke(["data", "build", "demo", "--out", "notes.txt"])
    _one_line_error(code, out, "notes.txt is an existing file", "folder")
    assert Path("notes.txt").read_text() == "my notes\n"
    code, out = _invoke(["data", "build", "demo", "--out", "notes.txt/set"])
    _one_line_error(code, out, "notes.txt is a file")


@pytest.mark.parametrize("command", [["data", "build", "demo"], ["train", "tiny_cpu"], ["eval", "--out", "ev"],
                                     ["world", "generate", "--scenes", "1", "--out", "w"], ["demo"]])
def test_broken_yaml_in_an_override(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    bad = "tasks.depth.samples={train: 5" if command[0] in ("data", "demo") else "seed={a: 1"
    code, out = _invoke([*command, bad])
    _one_line_error(code, out, f"override {bad!r}", "is not valid YAML")


def test_broken_override_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in ("=5", "train..seed=1"):
        code, out = _invoke(["train", "tiny_cpu", bad])
        _one_line_error(code, out, "empty key")


def test_inspect_picture_with_an_unsupported_extension(tmp_path):
    root = _depth_set(tmp_path)
    for name in ("insp.txt", "insp", "insp.jpg"):
        code, out = _invoke(["data", "inspect", str(root), "--out", str(tmp_path / name)])
        _one_line_error(code, out, "is not supported", ".png")
    (tmp_path / "notes.txt").write_text("x")
    code, out = _invoke(["data", "inspect", str(root), "--out", str(tmp_path / "notes.txt" / "a.png")])
    _one_line_error(code, out, "is a file")
    code, out = _invoke(["data", "inspect", str(root), "--out", str(tmp_path / "insp.png")])
    assert code == 0 and (tmp_path / "insp.png").is_file(), out


def test_predict_on_a_huge_image_says_the_size_the_limit_and_how_to_raise_it(tmp_path, monkeypatch):
    big = write_huge_png(tmp_path / "big.png")
    monkeypatch.delenv("VLM3_MAX_IMAGE_PIXELS", raising=False)
    code, out = _invoke(["predict", "depth", str(big), "--points", "10,10", "--calibration", "fov60",
                         "--out", str(tmp_path / "out")])
    _one_line_error(code, out, "16000x12000", "192,000,000 px", "limit of 178,956,970 px",
                    "VLM3_MAX_IMAGE_PIXELS=192000000")
    assert not (tmp_path / "out").exists()


def test_the_pixel_limit_is_a_setting(tmp_path, monkeypatch):
    """VLM3_MAX_IMAGE_PIXELS lowers or raises the limit for every format (0 = none)."""
    img = np.zeros((80, 100, 3), np.uint8)
    for ext in ("png", "jpg", "webp", "tif"):
        Image.fromarray(img).save(tmp_path / f"a.{ext}")
        monkeypatch.setenv("VLM3_MAX_IMAGE_PIXELS", "7999")
        with pytest.raises(ImageReadError, match=r"100x80 = 8,000 px, more than the limit of 7,999 px"):
            read_rgb(tmp_path / f"a.{ext}")
        monkeypatch.setenv("VLM3_MAX_IMAGE_PIXELS", "8000")
        assert read_rgb(tmp_path / f"a.{ext}").shape == (80, 100, 3)
    monkeypatch.setenv("VLM3_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ImageReadError, match="not a whole number"):
        read_rgb(tmp_path / "a.png")


def test_pair_list_without_scenes_fails_and_writes_nothing(tmp_path):
    (tmp_path / "root").mkdir()
    out = tmp_path / "pairs.json"
    code, text = _invoke(["data", "pair-list", str(tmp_path / "root"), "--out", str(out), "--min-covisibility", "0.25"])
    _one_line_error(code, text, "0 pairs", "no WAI scenes", "--allow-empty")
    assert not out.exists()
    code, text = _invoke(["data", "pair-list", str(tmp_path / "root"), "--out", str(out), "--min-covisibility", "0.25",
                          "--allow-empty"])
    assert code == 0 and json.loads(out.read_text())["pairs"] == [], text


def test_pair_list_whose_threshold_keeps_nothing(tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "wai" / "plane"
    code, text = _invoke(["data", "pair-list", str(fixture), "--out", str(tmp_path / "p.json"),
                          "--min-covisibility", "0.99"])
    _one_line_error(code, text, "0 pairs", "above --min-covisibility 0.99")


def test_index_of_a_folder_without_shards(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out = _invoke(["data", "index", str(tmp_path / "empty")])
    _one_line_error(code, out, "no .jsonl shards", "nothing to index")
    (tmp_path / "empty.jsonl").write_text("")
    code, out = _invoke(["data", "index", str(tmp_path / "empty.jsonl")])
    _one_line_error(code, out, "empty", "nothing to index")
    assert not (tmp_path / "index").exists()


def test_inspect_of_an_empty_shard(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    code, out = _invoke(["data", "inspect", str(tmp_path / "empty.jsonl")])
    _one_line_error(code, out, "holds no samples")


def _cli_subprocess(args: list[str], cwd: Path) -> tuple[int, str, bool, float]:
    """(exit code, output, whether torch was imported, seconds) of `vlm3 ARGS` in a fresh process."""
    code = ("import sys\nfrom vlm3.cli import main\ntry:\n    main(sys.argv[1:], prog_name='vlm3')\n"
            "except SystemExit as e:\n    print('TORCH', 'torch' in sys.modules, file=sys.stderr)\n    raise\n")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=300)
    dt = time.perf_counter() - t0
    return p.returncode, p.stdout + p.stderr, "TORCH True" in p.stderr, dt


@pytest.mark.parametrize("args", [
    ["train", "tiny_cpu", "data.train_path=/nonexistent"],
    ["train", "tiny_cpu", "data.train_path=empty"],
    ["train", "tiny_cpu", "data.train_path=set.jsonl", "data.eval_path=/nonexistent"],
    ["train", "tiny_cpu", "data.train_path=set.jsonl", "train.output_dir=notes.txt"],
    ["train", "tiny_cpu", "data.train_path=set.jsonl", "model.name_or_path=/nowhere/model"],
    ["train", "tiny_cpu", "data.train_path=set.jsonl", "train.resume=/nowhere/checkpoint-5"],
    ["data", "build", "demo", "--out", "notes.txt"],
    ["data", "index", "empty"],
    ["predict", "depth", "big.png", "--points", "1,1", "--calibration", "fov60"],
    ["predict", "depth", "nothere.png", "--points", "1,1"],
    ["eval", "--out", "ev", "--model", "/nowhere/model"],
])
def test_paths_are_checked_before_torch_loads(tmp_path, args):
    """A typo in a path costs a second: the one-line error comes before torch is imported
    (before #30 `vlm3 train tiny_cpu data.train_path=/nonexistent` built the model first)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "set.jsonl").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("x")
    if "big.png" in args:
        write_huge_png(tmp_path / "big.png")
    code, out, torch_loaded, seconds = _cli_subprocess(args, tmp_path)
    assert code != 0 and "Traceback" not in out, out
    assert not torch_loaded, f"torch was imported before the error ({seconds:.1f} s): {out}"
    assert seconds < 30, seconds  # ~0.3 s idle; generous for a loaded machine


@pytest.mark.parametrize("command", [["world", "generate", "--scenes", "1", "--out", "w"], ["demo", "--out", "d"]])
def test_a_negative_seed(tmp_path, monkeypatch, command):
    """Found by the CLI fuzz: `vlm3 demo --seed -1` was a numpy traceback after the world stage began."""
    monkeypatch.chdir(tmp_path)
    code, out = _invoke([*command, "--seed", "-1"])
    _one_line_error(code, out, "--seed", "x>=0")
