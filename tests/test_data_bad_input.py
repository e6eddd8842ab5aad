"""Bad input is skipped and counted with its reason, or stops a --strict build with one line
naming the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from data_helpers import write_rgbd_folder
from vlm3.data.build import BuildError, build
from vlm3.data.cli import data
from vlm3.config import ConfigError
from vlm3.data.config import config_from_dict, load_config


def _bad_folder(root: Path) -> Path:
    meta_path = write_rgbd_folder(root, n=1, width=96, height=64, fx=100)
    meta = json.loads(meta_path.read_text())
    good = meta["frames"][0]
    img = np.full((64, 96, 3), 128, np.uint8)
    Image.fromarray(img).save(root / "rgb" / "ok.png")
    raw = (root / "rgb" / "ok.png").read_bytes()
    (root / "rgb" / "trunc.png").write_bytes(raw[: len(raw) // 2])
    np.save(root / "depth" / "nan.npy", np.full((64, 96), np.nan, np.float32))
    neg = np.ones((64, 96), np.float32)
    neg[3, 3] = -1
    np.save(root / "depth" / "neg.npy", neg)
    Image.fromarray(np.zeros((64, 96), np.uint16)).save(root / "depth" / "zero.png")
    np.save(root / "depth" / "small.npy", np.ones((32, 48), np.float32))
    meta["frames"] += [
        {"rgb": "rgb/trunc.png", "depth": good["depth"]},
        {"rgb": "rgb/ok.png", "depth": "depth/nan.npy", "depth_scale": 1.0},
        {"rgb": "rgb/ok.png", "depth": "depth/neg.npy", "depth_scale": 1.0},
        {"rgb": "rgb/ok.png", "depth": "depth/zero.png"},
        {"rgb": "rgb/ok.png", "depth": "depth/small.npy", "depth_scale": 1.0},
        {"rgb": "rgb/ok.png", "depth": good["depth"], "intrinsics_fx_fy_cx_cy": [-100, 100, 48, 32]},
        {"rgb": "rgb/missing.png", "depth": good["depth"]},
        {"rgb": "rgb/ok.png", "depth": "depth/missing.png"},
    ]
    # unique stems so every frame is its own record
    for i, f in enumerate(meta["frames"][1:]):
        f["scene"] = f"bad{i}"
    meta_path.write_text(json.dumps(meta))
    return meta_path


def _pairs(root: Path) -> Path:
    Image.new("RGB", (64, 48)).save(root / "a.png")
    K = "50 0 32 0 50 24 0 0 1"
    good_T = "1 0 0 0.5 0 1 0 0 0 0 1 0 0 0 0 1"
    bad_T = "1.1 0 0 0.5 0 1 0 0 0 0 1 0 0 0 0 1"
    (root / "pairs.txt").write_text(f"a.png a.png 0 0 {K} {K} {good_T}\n"
                                    f"a.png a.png 0 0 {K} {K} {bad_T}\n"
                                    "a.png a.png 0 0 1 2 3\n")
    return root / "pairs.txt"


def _config(folder: Path, pairs: Path, broken_json: Path, out: Path) -> dict:
    return {"output_dir": str(out), "shard_size": 50,
            "tasks": {"depth": {"focal_px": 100, "max_pixels": 96 * 64, "samples": {"train": 40}},
                      "pose": {"focal_px": 100, "max_pixels": 96 * 64, "samples": {"train": 4}}},
            "sources": [
                {"name": "folder", "adapter": "rgbd_folder", "path": str(folder), "split": "train",
                 "weights": {"depth": 1}},
                {"name": "pairs", "adapter": "pairs_txt", "path": str(pairs), "split": "train",
                 "weights": {"pose": 1}},
                {"name": "broken", "adapter": "rgbd_folder", "path": str(broken_json),
                 "split": "train", "weights": {"depth": 1}}]}


@pytest.fixture
def bad_inputs(tmp_path):
    folder = _bad_folder(tmp_path / "f")
    pairs = _pairs(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"frames": [')
    return folder, pairs, broken


def test_bad_inputs_are_skipped_with_reasons(bad_inputs, tmp_path):
    manifest = build(config_from_dict(_config(*bad_inputs, tmp_path / "out")), progress=False)
    skips = manifest["skipped"]["adapters"] + manifest["skipped"]["build"]
    reasons = " | ".join(f"{s['path']}: {s['reason']}" for s in skips)
    for needle in ("trunc.png: unreadable or truncated image",
                   "nan.npy: depth has no valid pixel",
                   "neg.npy: depth has negative values",
                   "zero.png: depth has no valid pixel",
                   "small.npy: depth size 48x32 does not match image size 96x64",
                   "invalid K",
                   "missing.png: image file not found",
                   "depth/missing.png: depth file not found",
                   "T_0to1[:3, :3] is not orthonormal",
                   "expected 38 fields, got 7",
                   "broken.json: malformed JSON"):
        assert needle in reasons, (needle, reasons)
    # only the good frame and the good pair produce samples
    assert manifest["counts"]["train"]["pose"] == {"pairs": 4}
    built = [s for s in manifest["skipped"]["build"]]
    assert manifest["counts"]["train"]["depth"]["folder"] + len(built) == 40


def test_strict_stops_with_one_line_naming_file(bad_inputs, tmp_path):
    cfg_path = tmp_path / "c.yaml"
    import yaml

    cfg_path.write_text(yaml.safe_dump(_config(*bad_inputs, tmp_path / "out")))
    res = CliRunner().invoke(data, ["build", str(cfg_path), "--strict", "--quiet"])
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and line.startswith("error: ") and "Traceback" not in res.output
    assert any(n in line for n in ("missing.png", "meta.json", "pairs.txt", "broken.json",
                                   "trunc.png", ".npy", "zero.png")), line


def test_config_errors_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="^tasks.dpeth: unknown task; use depth, correspondence, pose, object"):
        config_from_dict({"tasks": {"dpeth": {}}})
    with pytest.raises(ConfigError, match="^tasks.depth.eval_questions_per_sample: 11 is not an integer in 1..10"):
        config_from_dict({"tasks": {"depth": {"eval_questions_per_sample": 11}}})
    with pytest.raises(ConfigError, match="^tasks.depth.samples.train: 'many' is not an integer"):
        config_from_dict({"tasks": {"depth": {"samples": {"train": "many"}}}})
    with pytest.raises(ConfigError, match="^tasks.depth.focal: unknown key; allowed: focal_px, max_pixels"):
        config_from_dict({"tasks": {"depth": {"focal": 100}}})
    with pytest.raises(ConfigError, match=r"^sources\[0\].options.qualitative_fraction must be a number in"):
        config_from_dict({"sources": [{"name": "w", "adapter": "scene_format", "path": "x",
                                       "options": {"qualitative_fraction": 2}}]})
    with pytest.raises(ConfigError, match=r"^sources\[0\].path: missing \(required\)"):
        config_from_dict({"sources": [{"name": "w", "adapter": "scene_format"}]})
    with pytest.raises(ConfigError, match="VLM3_NOT_SET"):
        config_from_dict({"output_dir": "${VLM3_NOT_SET}"})
    assert config_from_dict({"output_dir": "${VLM3_NOT_SET}/x"}, {"VLM3_NOT_SET": "o"}).output_dir == "o/x"
    res = CliRunner().invoke(data, ["build", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2 and "not found" in res.output and "Traceback" not in res.output
    (tmp_path / "bad.yaml").write_text("shard_size: big\n")
    res = CliRunner().invoke(data, ["build", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2
    assert res.output.strip() == "config error: shard_size: 'big' is not an integer (from bad.yaml)"
    res = CliRunner().invoke(data, ["build", "demo", "tasks.depth.questions_per_sample=0"])
    assert res.exit_code == 2 and "tasks.depth.questions_per_sample: 0 is not an integer in 1..10" in res.output


def test_demo_data_config_resolves_with_overrides_and_variables(tmp_path):
    cfg = load_config("demo", {"VLM3_WORLD": str(tmp_path / "w"), "VLM3_REAL_DATA": "/r"},
                      ["seed=3", "tasks.pose.samples={train: 7, val: 1, test: 2}"])
    assert cfg.seed == 3 and cfg.tasks["pose"].samples == {"train": 7, "val": 1, "test": 2}
    assert cfg.tasks["depth"].focal_px == 200.0 and isinstance(cfg.tasks["depth"].focal_px, float)
    paths = {s.name: s.path for s in cfg.sources}
    assert paths["world"] == str(tmp_path / "w") and paths["nyu"] == "/r/nyu/meta.json"
    assert {s.name: s.split for s in cfg.sources if s.optional} == {"nyu": "test", "kitti": "test", "scannet": None}
    helped = CliRunner().invoke(data, ["build", "--help-config"]).output
    assert "tasks.<name>.focal_px = None" in helped and "release value: 1000, pose 750" in helped


def test_missing_intrinsics_refused_unless_fallback(tmp_path):
    meta_path = write_rgbd_folder(tmp_path / "f", n=1, width=96, height=64, fx=100)
    meta = json.loads(meta_path.read_text())
    del meta["intrinsics_fx_fy_cx_cy"]
    meta_path.write_text(json.dumps(meta))
    cfg = {"output_dir": str(tmp_path / "o"),
           "tasks": {"depth": {"focal_px": 100, "max_pixels": 96 * 64, "samples": {"train": 2}}},
           "sources": [{"name": "f", "adapter": "rgbd_folder", "path": str(meta_path),
                        "split": "train", "weights": {"depth": 1}}]}
    with pytest.raises(BuildError, match="^0 samples built .*fov60"):
        build(config_from_dict(cfg), progress=False)
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["total_samples"] == 0 and "fov60" in m["skipped"]["build"][0]["reason"]
    m = build(config_from_dict({**cfg, "calibration": "fov60", "output_dir": str(tmp_path / "p")}),
              progress=False)
    assert m["total_samples"] == 2
