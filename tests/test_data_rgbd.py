"""The `rgbd_folder` adapter on real layouts: SUN RGB-D's own tree (bit-rotated depth PNGs
decoded by the toolbox's rule, intrinsics.txt, DepthLM's NYU include/exclude split), JSON
folders with EXR and raw float .npy depth, and intrinsics of the wrong length (a counted skip,
one line under --strict). Labels are checked against the stored millimetres to 1e-6."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from vlm3.data.adapters import rgbd_folder
from vlm3.data.cli import data
from vlm3.data.config import SourceConfig
from vlm3.io.records import Skipped, ViewRecord, record_from_dict

W, H, F = 64, 48, 100.0
K_TXT = f"{F} 0 {W / 2 - 0.5}\n0 {F} {H / 2 - 0.5}\n0 0 1\n"


def _depth_mm(offset: int) -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W]
    return (1500 + offset + 10 * xs + 7 * ys).astype(np.uint16)  # 1.5 m .. 2.5 m


def _sun_frame(root: Path, rel: str, offset: int, k_text: str = K_TXT) -> np.ndarray:
    """One SUN RGB-D frame folder: image/<n>.jpg, depth/<n>.png (bit-rotated mm), intrinsics.txt."""
    d = root / rel
    (d / "image").mkdir(parents=True)
    (d / "depth").mkdir()
    name = Path(rel).name
    img = (np.random.default_rng(offset).random((H, W, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(d / "image" / f"{name}.jpg", quality=95)
    mm = _depth_mm(offset)
    stored = ((mm.astype(np.uint32) << 3) | (mm.astype(np.uint32) >> 13)) & 0xFFFF
    Image.fromarray(stored.astype(np.uint16)).save(d / "depth" / f"{name}.png")
    (d / "intrinsics.txt").write_text(k_text)
    return mm


@pytest.fixture
def sun(tmp_path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "SUNRGBD"
    mms = {"kv1/NYUdata/NYU0001": _sun_frame(root, "kv1/NYUdata/NYU0001", 0),
           "kv2/kinect2data/000002_2014": _sun_frame(root, "kv2/kinect2data/000002_2014", 300)}
    _sun_frame(root, "kv2/kinect2data/bad_k", 600, k_text="100 0 31.5 0 100 23.5 0 0")  # 8 numbers
    return root, mms


def _recs(path, **options) -> list:
    return list(rgbd_folder.iter_records(SourceConfig("sun", "rgbd_folder", str(path), options=options)))


def test_sunrgbd_layout_records(sun):
    root, _ = sun
    recs = _recs(root, layout="sunrgbd")
    views = [r for r in recs if isinstance(r, ViewRecord)]
    assert [v.scene_id for v in views] == ["kv1/NYUdata/NYU0001", "kv2/kinect2data/000002_2014"]
    assert all(v.depth.encoding == "sunrgbd" and v.depth.scale == 1000.0 and v.depth.kind == "z"
               for v in views)
    assert views[0].camera.fx == F and views[0].camera.cx == W / 2 - 0.5
    assert record_from_dict(views[0].to_dict()).depth.encoding == "sunrgbd"  # survives shipping
    skips = [r for r in recs if isinstance(r, Skipped)]
    assert len(skips) == 1 and skips[0].path.endswith("bad_k/intrinsics.txt")
    assert skips[0].reason == "invalid K: expected 9 or 16 numbers, got 8"
    # DepthLM's split: its SUN RGB-D leaves the NYU frames out, its "NYUv2" is exactly them
    assert [r.scene_id for r in _recs(root, layout="sunrgbd", exclude=["kv1/NYUdata"])
            if isinstance(r, ViewRecord)] == ["kv2/kinect2data/000002_2014"]
    assert [r.scene_id for r in _recs(root, layout="sunrgbd", include=["kv1/NYUdata"])] == \
        ["kv1/NYUdata/NYU0001"]
    assert "layout sunrgbd needs the SUN RGB-D root folder" in _recs(root / "x.json", layout="sunrgbd")[0].reason
    assert "options.layout: sunrgbd" in _recs(root)[0].reason  # a folder given as a JSON source


def test_sunrgbd_layout_with_a_relative_root_finds_every_frame(sun, monkeypatch):
    """A relative ``path`` (as configs write it, e.g. data/SUNRGBD) was joined to itself
    (``data/SUNRGBD/data/SUNRGBD/...``: "image file not found" for every frame)."""
    root, _ = sun
    monkeypatch.chdir(root.parent)
    recs = _recs(Path(root.name), layout="sunrgbd")
    views = [r for r in recs if isinstance(r, ViewRecord)]
    assert [v.scene_id for v in views] == ["kv1/NYUdata/NYU0001", "kv2/kinect2data/000002_2014"]
    assert all(Path(v.image_path).is_file() and Path(v.depth.path).is_file() for v in views)
    assert Path(views[0].image_path) == Path("SUNRGBD/kv1/NYUdata/NYU0001/image/NYU0001.jpg")
    skips = [r for r in recs if isinstance(r, Skipped)]
    assert len(skips) == 1 and skips[0].path == "SUNRGBD/kv2/kinect2data/bad_k/intrinsics.txt"


def _config(tmp_path: Path, sources: list) -> Path:
    cfg = {"seed": 0, "output_dir": str(tmp_path / "out"), "grid": 16, "shard_size": 20,
           "tasks": {"depth": {"focal_px": F, "max_pixels": W * H, "questions_per_sample": 8,
                               "samples": {"train": 4}}},
           "sources": sources}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _depth_samples(out: Path) -> list[dict]:
    return [json.loads(line) for f in sorted((out / "shards").rglob("*.jsonl")) for line in f.open()]


def _check_labels(samples: list[dict], truth_mm: dict[str, np.ndarray], by: str = "scene_id") -> None:
    for s in samples:
        L = s["labels"]
        mm = truth_mm[L[by]]
        cam = L["camera"]
        for p in L["points"]:
            x, y = p["xy_px"]
            z = mm[y, x] / 1000.0  # std image = source image here (same focal, grid-aligned size)
            q = np.array([(x - cam["cx"]) / cam["fx"], (y - cam["cy"]) / cam["fy"], 1.0])
            truth = z if L["depth_kind"] == "z" else z * np.linalg.norm(q)
            assert abs(p["depth_m"] - truth) <= 1e-6, (p, truth)


def test_sunrgbd_build_gives_true_metres_not_8x(sun, tmp_path):
    root, mms = sun
    sources = [{"name": "sunrgbd", "adapter": "rgbd_folder", "path": str(root), "split": "train",
                "weights": {"depth": 1}, "options": {"layout": "sunrgbd", "exclude": ["kv1/NYUdata"]}},
               {"name": "nyu", "adapter": "rgbd_folder", "path": str(root), "split": "train",
                "weights": {"depth": 1}, "options": {"layout": "sunrgbd", "include": ["kv1/NYUdata"],
                                                     "depth_label_kind": "z"}}]
    res = CliRunner().invoke(data, ["build", str(_config(tmp_path, sources)), "--quiet"])
    assert res.exit_code == 0, res.output
    samples = _depth_samples(tmp_path / "out")
    assert {s["source"]: s["labels"]["depth_kind"] for s in samples} == {"sunrgbd": "ray", "nyu": "z"}
    _check_labels(samples, mms)
    all_depths = [p["depth_m"] for s in samples for p in s["labels"]["points"]]
    assert 1.5 <= min(all_depths) and max(all_depths) < 3.0  # read as plain mm: 12 m .. 20 m


def test_json_folder_with_exr_and_npy_depth_and_bad_intrinsics(tmp_path):
    import OpenEXR

    root = tmp_path / "f"
    (root / "rgb").mkdir(parents=True)
    truth = {}
    frames = []
    for i, ext in enumerate((".exr", ".npy", ".png")):
        Image.fromarray(np.full((H, W, 3), 40 * i, np.uint8)).save(root / "rgb" / f"a{i}.png")
        mm = _depth_mm(100 * i)
        if ext == ".exr":  # half floats: choose values they hold exactly (multiples of 1/256 m)
            mm = (np.round(mm / 1000 * 256) / 256 * 1000)
            with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                              {"Y": (mm / 1000).astype(np.float16)}) as f:
                f.write(str(root / f"d{i}.exr"))
        elif ext == ".npy":
            np.save(root / f"d{i}.npy", (mm / 1000).astype(np.float64))
        else:
            Image.fromarray(mm.astype(np.uint16)).save(root / f"d{i}.png")
        scale = 1000.0 if ext == ".png" else 1.0
        frames.append({"rgb": f"rgb/a{i}.png", "depth": f"d{i}{ext}", "depth_scale": scale,
                       "scene": f"s{i}"})
        truth[f"s{i}"] = mm
    frames.append({"rgb": "rgb/a0.png", "depth": "d0.exr", "scene": "wrong",
                   "intrinsics_fx_fy_cx_cy": [F, F, 31.5]})  # 3 numbers
    (root / "meta.json").write_text(json.dumps({"intrinsics_fx_fy_cx_cy": [F, F, W / 2 - 0.5, H / 2 - 0.5],
                                                "frames": frames}))
    src = [{"name": "folder", "adapter": "rgbd_folder", "path": str(root / "meta.json"),
            "split": "train", "weights": {"depth": 1}, "options": {"depth_label_kind": "z"}}]
    cfg = _config(tmp_path, src)
    res = CliRunner().invoke(data, ["build", str(cfg), "--quiet"])
    assert res.exit_code == 0, res.output
    _check_labels(_depth_samples(tmp_path / "out"), truth)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    (skip,) = manifest["skipped"]["adapters"]
    assert skip["reason"].startswith("invalid K: need 4 finite numbers fx, fy, cx, cy")
    strict = CliRunner().invoke(data, ["build", str(cfg), "--quiet", "--strict", "--out", str(tmp_path / "s")])
    assert strict.exit_code == 2
    lines = [ln for ln in strict.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "frames[3]: invalid K: need 4 finite numbers" in lines[0]
    bad = json.loads((root / "meta.json").read_text())
    bad["frames"][0]["depth_encoding"] = "rot3"
    (root / "meta.json").write_text(json.dumps(bad))
    reasons = [r.reason for r in _recs(root / "meta.json") if isinstance(r, Skipped)]
    assert any("unknown depth_encoding 'rot3'" in r for r in reasons)
