"""The `wai` adapter and pose pair lists on the analytic WAI fixture (tests/fixtures/wai/,
written by tests/fixtures/make_wai_fixture.py: a plane Z = 4 m seen by known cameras).

Checked against closed forms: c2w inversion into T_cam1_from_cam0, MapAnything's
covisibility normalisation and strict thresholds, non-metric scenes without depth or
distance questions, split lists, DA3's frame sampling, and `vlm3 data build` through the CLI
(ray and z depth labels, correspondence targets, pose labels, a portrait frame) to 1e-6.
Bad input: a distorted-only scene, a missing modality file, missing intrinsics, a non-pinhole
camera, a covisibility matrix of the wrong size (counted skips), a truncated EXR (a counted
build skip, one line under --strict)."""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from vlm3.data.adapters import wai
from vlm3.data.cli import data
from vlm3.data.config import SourceConfig
from vlm3.data.pair_lists import da3_sample_frames, pose_pair_list, write_pair_list
from vlm3.io.images import read_depth_m, read_map
from vlm3.io.records import DepthFile, PairRecord, Skipped, ViewRecord

FIXTURE = Path(__file__).parent / "fixtures" / "wai"
_spec = importlib.util.spec_from_file_location("make_wai_fixture",
                                               Path(__file__).parent / "fixtures" / "make_wai_fixture.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def _frames(scene: str) -> dict:
    return {f[0]: f for f in gen.SCENES[scene]["frames"]}


def _records(path: Path | str = FIXTURE / "plane", **options) -> list:
    return list(wai.iter_records(SourceConfig("plane", "wai", str(path), options=options)))


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "wai")
    return tmp_path / "wai"


def _edit_meta(scene_dir: Path, fn) -> None:
    meta = json.loads((scene_dir / "scene_meta.json").read_text())
    fn(meta)
    (scene_dir / "scene_meta.json").write_text(json.dumps(meta))


def test_checked_in_fixture_equals_a_fresh_run(tmp_path):
    gen.build(tmp_path)
    files = sorted(p.relative_to(FIXTURE) for p in FIXTURE.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in files:
        a, b = FIXTURE / rel, tmp_path / rel
        if rel.suffix in (".json", ".npy"):
            assert a.read_bytes() == b.read_bytes(), rel
        elif rel.suffix == ".exr":  # the same stored values (not necessarily the same bytes)
            assert np.array_equal(read_map(a), read_map(b)), rel
        else:
            assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))), rel
    assert sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file()) < 100_000


def test_exr_depth_is_the_plane():
    for scene, spec in gen.SCENES.items():
        for name, w, h, fx, fy, cx, cy, T in spec["frames"]:
            path = FIXTURE / "plane" / scene / spec["depth_key"] / f"{name}.exr"
            z = read_depth_m(DepthFile(str(path)), w, h)
            z_true, _ = gen.plane_hit(w, h, fx, fy, cx, cy, T)
            assert np.allclose(z, z_true, rtol=2 ** -11, atol=0)  # half float: 11-bit mantissa
    f0 = read_map(FIXTURE / "plane/metric_scene/rendered_depth/f0.exr")
    assert np.all(f0 == 4.0)  # fronto-parallel frames are exact in half float: 4 m and 3 m
    assert np.all(read_map(FIXTURE / "plane/metric_scene/rendered_depth/f2.exr") == 3.0)


def test_c2w_inversion_into_T_cam1_from_cam0():
    recs = _records()
    views = {r.record_id: r for r in recs if isinstance(r, ViewRecord)}
    pair = next(r for r in recs if isinstance(r, PairRecord) and r.scene_id == "metric_scene")
    assert pair.record_id == "plane/metric_scene/f0+f1"
    c2w1 = _frames("metric_scene")["f1"][7]
    R1, C1 = c2w1[:3, :3], c2w1[:3, 3]
    # camera 0 = world: T_cam1_from_cam0 = [R1^T | -R1^T C1]
    expect = np.eye(4)
    expect[:3, :3], expect[:3, 3] = R1.T, -R1.T @ C1
    assert np.allclose(pair.T_cam1_from_cam0, expect, atol=1e-12)
    assert np.allclose(views["plane/metric_scene/f1"].T_cam_from_world @ c2w1, np.eye(4), atol=1e-12)
    X0 = np.array([0.3, -0.2, 4.0])  # a point on the plane, in camera 0
    X1 = pair.T_cam1_from_cam0[:3, :3] @ X0 + pair.T_cam1_from_cam0[:3, 3]
    assert np.allclose(X1, R1.T @ (X0 - C1), atol=1e-12)
    # yawed right by 10 deg: the plane point straight ahead of camera 0 is left of camera 1's axis
    assert X1[0] < 0 and pair.metric and pair.view0.metric


def test_covisibility_normalisation_and_strict_thresholds():
    C = np.asarray(gen.SCENES["metric_scene"]["covisibility"])
    S = wai.normalized_covisibility(C)
    assert S[0, 1] == pytest.approx(0.32, abs=1e-6)  # (0.3 + 0.1) / 2 / 0.625
    assert S[0, 2] == pytest.approx(0.064, abs=1e-6) and S[1, 2] == pytest.approx(0.0125, abs=1e-6)
    assert (C[0, 1] + C[1, 0]) / 2 < 0.25 < S[0, 1]  # kept only because of the normalisation
    assert S[1, 0] == pytest.approx(0.25, abs=1e-6)  # asymmetric: reference view 1

    def pairs(**opt):
        return sorted((r.record_id, round(r.covisibility, 6)) for r in _records(**opt)
                      if isinstance(r, PairRecord) and r.scene_id == "metric_scene")

    assert pairs() == [("plane/metric_scene/f0+f1", 0.32)]  # default 0.25
    assert pairs(min_covisibility=0.025) == [("plane/metric_scene/f0+f1", 0.32),
                                             ("plane/metric_scene/f0+f2", 0.064)]  # ETH3D's value
    stored = wai.normalized_covisibility(wai.load_covisibility(FIXTURE / "plane/metric_scene", 3))
    assert pairs(min_covisibility=float(stored[0, 1])) == []  # strictly above, as MapAnything
    assert pairs(min_covisibility=float(stored[0, 1]) - 1e-9) == [("plane/metric_scene/f0+f1", 0.32)]


def test_non_metric_scene_has_no_depth_records_and_non_metric_pairs():
    recs = [r for r in _records() if r.scene_id == "colmap_scene"]
    assert [type(r).__name__ for r in recs] == ["PairRecord"]
    assert recs[0].metric is False and recs[0].view0.metric is False
    assert recs[0].view0.depth is not None  # correspondence still uses its (scaled) depth
    assert recs[0].covisibility == pytest.approx(0.55, abs=1e-6)
    # shared intrinsics come from the scene level
    assert recs[0].view1.camera.fx == 60.0 and recs[0].view1.camera.cx == 31.5


def test_split_lists_and_scene_filters():
    recs = _records(split_lists=str(FIXTURE / "metadata"))
    assert {r.scene_id: r.split_hint for r in recs} == {"metric_scene": "test", "colmap_scene": "train"}
    only_test = _records(split_lists=str(FIXTURE / "metadata"), splits=["test"])
    assert {r.scene_id for r in only_test} == {"metric_scene"}
    assert {r.scene_id for r in _records(scenes=["colmap_scene"])} == {"colmap_scene"}
    one = _records(FIXTURE / "plane" / "metric_scene", split_lists=str(FIXTURE / "metadata"))
    assert {r.split_hint for r in one} == {"test"}  # a single scene folder: dataset = its parent
    bad = _records(splits=["test"])
    assert len(bad) == 1 and "options.splits needs options.split_lists" in bad[0].reason


def test_depth_key_nested_and_missing():
    meta = {"frame_modalities": {"pred_depth": {"mvsanywhere": {"frame_key": "mvsa_depth",
                                                                "format": "depth"}}}}
    assert wai.modality_frame_key(meta, "pred_depth/mvsanywhere") == "mvsa_depth"
    with pytest.raises(wai.SceneError, match="is nested"):
        wai.modality_frame_key(meta, "pred_depth")
    with pytest.raises(wai.SceneError, match="no depth modality"):
        wai.default_depth_key(meta)


def test_bad_input_counted_skips(tmp_path):
    root = _copy(tmp_path) / "plane"
    distorted = root / "raw_scene"
    distorted.mkdir()
    (distorted / "scene_meta_distorted.json").write_text('{"frames": []}')
    (root / "metric_scene" / "rendered_depth" / "f2.exr").unlink()
    _edit_meta(root / "metric_scene", lambda m: m["frames"][1].pop("fl_y"))
    _edit_meta(root / "colmap_scene", lambda m: m.update(camera_model="OPENCV"))
    recs = _records(root)
    skips = [r for r in recs if isinstance(r, Skipped)]
    reasons = sorted(s.reason for s in skips)
    assert any("only scene_meta_distorted.json: the scene is not undistorted yet" in r for r in reasons)
    assert any(r == "rendered_depth file not found" for r in reasons)
    assert any(r == "missing intrinsic fl_y (neither on the frame nor the scene)" for r in reasons)
    assert sum("camera_model 'OPENCV'" in r for r in reasons) == 2  # both frames of the scene
    assert [r.record_id for r in recs if not isinstance(r, Skipped)] == ["plane/metric_scene/f0"]
    assert all("\n" not in r for r in reasons) and len(skips) == 5
    # a covisibility matrix of the wrong size: the scene's pairs are left out, with the reason
    np.save(root / "metric_scene/covisibility/v0/pairwise_covisibility--3x3.npy", np.eye(2, dtype=np.float32))
    got = [r.reason for r in _records(root, scenes=["metric_scene"]) if isinstance(r, Skipped)]
    assert any("covisibility is (2, 2), expected 3x3" in r for r in got)


def _config(tmp_path: Path, root: Path, extra_sources: list | None = None, **wai_opts) -> Path:
    small = {"focal_px": 60, "max_pixels": 4096}
    cfg = {"seed": 0, "output_dir": str(tmp_path / "out"), "grid": 16, "shard_size": 50,
           "tasks": {"depth": {**small, "questions_per_sample": 6, "samples": {"train": 6, "test": 6}},
                     "correspondence": {**small, "questions_per_sample": 6, "samples": {"train": 2, "test": 2}},
                     "pose": {**small, "samples": {"train": 2, "test": 2}}},
           "sources": [{"name": "plane", "adapter": "wai", "path": str(root), "split": "source",
                        "weights": {"depth": 1, "correspondence": 1, "pose": 1},
                        "options": {"split_lists": str(root.parent / "metadata"), **wai_opts}},
                       *(extra_sources or [])]}
    path = tmp_path / "wai.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _samples(out: Path) -> list[dict]:
    return [json.loads(line) for f in sorted((out / "shards").rglob("*.jsonl")) for line in f.open()]


def _K(cam: dict) -> np.ndarray:
    return np.array([[cam["fx"], 0, cam["cx"]], [0, cam["fy"], cam["cy"]], [0, 0, 1]], dtype=np.float64)


def test_cli_build_labels_match_the_analytic_truth(tmp_path):
    root = FIXTURE / "plane"
    z_source = {"name": "plane_z", "adapter": "wai", "path": str(root), "split": "source",
                "weights": {"depth": 1}, "options": {"split_lists": str(FIXTURE / "metadata"),
                                                      "depth_label_kind": "z"}}
    res = CliRunner().invoke(data, ["build", str(_config(tmp_path, root, [z_source])), "--quiet"])
    assert res.exit_code == 0, res.output
    samples = _samples(tmp_path / "out")
    by_task = {t: [s for s in samples if s["task"] == t] for t in ("depth", "correspondence", "pose")}
    assert all(by_task.values())
    kinds_seen, names_seen = set(), set()
    for s in by_task["depth"]:
        L = s["labels"]
        assert L["scene_id"] == "metric_scene" and L["metric"] is True  # never the colmap scene
        name = L["record_id"].rsplit("/", 1)[1]
        _, w, h, *_, T = _frames("metric_scene")[name]
        K, cam = _K(L["camera"]), L["camera"]
        assert (cam["width"] > cam["height"]) == (w > h)  # the portrait frame stays portrait
        for p in L["points"]:
            x, y = p["xy_px"]
            q = np.linalg.solve(K, [x, y, 1.0])  # ray with z = 1 in the camera
            d = T[:3, :3] @ q
            z = (gen.PLANE_Z - T[2, 3]) / d[2]
            truth = z if L["depth_kind"] == "z" else z * np.linalg.norm(q)
            tol = 1e-6 if name != "f1" else 2 ** -11 * truth  # f1's EXR is half float (not flat)
            assert abs(p["depth_m"] - truth) <= tol, (name, p, truth)
        kinds_seen.add((L["depth_kind"], s["source"]))
        names_seen.add(name)
    assert kinds_seen == {("ray", "plane"), ("z", "plane_z")}
    assert names_seen == {"f0", "f1", "f2"}  # f2 is the portrait frame
    for s in by_task["correspondence"]:
        L = s["labels"]
        scene = L["scene_id"]
        n0, n1 = L["record_id"].rsplit("/", 1)[1].split("+")
        T0, T1 = _frames(scene)[n0][7], _frames(scene)[n1][7]
        K0, K1 = _K(L["cameras"][0]), _K(L["cameras"][1])
        for m in L["matches"]:
            q = np.linalg.solve(K0, [*m["query_xy_px"], 1.0])
            Xw = T0[:3, :3] @ (q * (gen.PLANE_Z - T0[2, 3]) / (T0[:3, :3] @ q)[2]) + T0[:3, 3]
            X1 = T1[:3, :3].T @ (Xw - T1[:3, 3])
            xy1 = (K1 @ (X1 / X1[2]))[:2]
            assert np.allclose(m["target_xy_px"], xy1, atol=1e-6), (m, xy1)
    for s in by_task["pose"]:
        L = s["labels"]
        scene = L["scene_id"]
        n0, n1 = L["record_id"].rsplit("/", 1)[1].split("+")
        T_truth = np.linalg.inv(_frames(scene)[n1][7]) @ _frames(scene)[n0][7]
        assert np.allclose(L["T_cam1_from_cam0"], T_truth, atol=1e-6)
        assert L["metric"] == (scene == "metric_scene")
        assert ("translation_distance" in L["question_ids"]) == (scene == "metric_scene")
        assert len(s["messages"]) == 2 * len(L["question_ids"])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["skipped"]["adapters"] == [] and manifest["skipped"]["build"] == []


def test_truncated_exr_is_a_counted_build_skip_or_one_line_under_strict(tmp_path):
    root = _copy(tmp_path) / "plane"
    exr = root / "metric_scene" / "rendered_depth" / "f2.exr"
    exr.write_bytes(exr.read_bytes()[:-30])
    cfg = _config(tmp_path, root)
    res = CliRunner().invoke(data, ["build", str(cfg), "--quiet"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    reasons = [s["reason"] for s in manifest["skipped"]["build"]]
    assert reasons and all(r.startswith("unreadable or truncated depth EXR") for r in reasons)
    assert {s["path"] for s in manifest["skipped"]["build"]} == {str(exr)}
    strict = CliRunner().invoke(data, ["build", str(cfg), "--quiet", "--strict", "--out",
                                       str(tmp_path / "strict")])
    assert strict.exit_code == 2
    lines = [ln for ln in strict.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "f2.exr: unreadable or truncated depth EXR" in lines[0]


def test_da3_frame_sampling_matches_their_code():
    state = random.getstate()
    try:
        random.seed(42)  # DA3's bench/evaluator.py _sample_frames, verbatim
        indices = list(range(250))
        random.shuffle(indices)
        theirs = sorted(indices[:100])
    finally:
        random.setstate(state)
    assert da3_sample_frames(250) == theirs and len(theirs) == 100
    assert da3_sample_frames(80) == list(range(80))  # small scenes keep every frame
    assert da3_sample_frames(250, max_frames=0) == list(range(250))


def _big_scene(root: Path, n: int) -> Path:
    """A scene_meta with n frames and a covisibility of 0.4 everywhere (diagonal 0.8)."""
    d = root / "big"
    (d / "covisibility" / "v0").mkdir(parents=True)
    frames = [{"frame_name": f"k{i:03d}", "file_path": f"images/k{i:03d}.png",
               "transform_matrix": np.eye(4).tolist()} for i in range(n)]
    (d / "scene_meta.json").write_text(json.dumps({"frames": frames, "scale_type": "metric"}))
    C = np.full((n, n), 0.4, np.float32)
    np.fill_diagonal(C, 0.8)
    np.save(d / "covisibility" / "v0" / f"pairwise_covisibility--{n}x{n}.npy", C)
    return d


def test_pose_pair_list_rule(tmp_path):
    doc = pose_pair_list(FIXTURE / "plane", 0.25)
    assert [(p["scene"], p["frame0"], p["frame1"], p["covisibility"]) for p in doc["pairs"]] == \
        [("colmap_scene", "g0", "g1", 0.55), ("metric_scene", "f0", "f1", 0.32)]
    doc = pose_pair_list(FIXTURE / "plane", 0.025, split_lists=FIXTURE / "metadata")
    assert {p["scene"] for p in doc["pairs"]} == {"metric_scene"}  # the test split only
    assert [(p["frame0"], p["frame1"]) for p in doc["pairs"]] == [("f0", "f1"), ("f0", "f2")]
    _big_scene(tmp_path / "ds", 130)
    big = pose_pair_list(tmp_path / "ds", 0.25)  # 0.4 / 0.8 = 0.5 > 0.25: all pairs of 100 frames
    kept = big["scenes"]["big"]["frames"]
    assert kept == [f"k{i:03d}" for i in da3_sample_frames(130)] and len(kept) == 100
    assert len(big["pairs"]) == 100 * 99 // 2
    assert pose_pair_list(tmp_path / "ds", 0.5)["pairs"] == []  # strict


def test_pair_list_cli_file_compares_and_feeds_the_adapter(tmp_path):
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    for out in (out1, out2):
        res = CliRunner().invoke(data, ["pair-list", str(FIXTURE / "plane"), "--out", str(out),
                                        "--min-covisibility", "0.025"])
        assert res.exit_code == 0, res.output
    assert out1.read_bytes() == out2.read_bytes()  # runs compare
    assert "3 pairs from 2 scenes (5 frames)" in res.output
    recs = _records(pair_list=str(out1))
    assert sorted(r.record_id for r in recs) == ["plane/colmap_scene/g0+g1", "plane/metric_scene/f0+f1",
                                                 "plane/metric_scene/f0+f2"]
    assert all(isinstance(r, PairRecord) for r in recs)  # exactly the list: no depth records
    assert {r.record_id: round(r.covisibility, 6) for r in recs}["plane/metric_scene/f0+f2"] == 0.064
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    bad = _records(pair_list=str(tmp_path / "bad.json"))
    assert len(bad) == 1 and "not a vlm3-pair-list-v1 file" in bad[0].reason
    write_pair_list({"format": "vlm3-pair-list-v1", "pairs": [
        {"scene": "metric_scene", "frame0": "f0", "frame1": "zz", "covisibility": 0.5},
        {"scene": "nowhere", "frame0": "a", "frame1": "b", "covisibility": 0.5}]}, tmp_path / "gone.json")
    got = _records(pair_list=str(tmp_path / "gone.json"))
    assert [type(r) for r in got] == [Skipped, Skipped]
    assert "frame missing or unusable" in got[0].reason and "'nowhere' of the pair list" in got[1].reason


def test_covisibility_where_scene_meta_names_it(tmp_path):
    """MapAnything's DL3DV layout: the matrix lives in covisibility/v0_mvsa_based/, named by
    scene_meta.json's scene_modalities.pairwise_covisibility.scene_key (WAI's covisibility
    script writes that entry); the adapter used to look in covisibility/v0/ only and lost
    every pair of such a scene."""
    root = _copy(tmp_path) / "plane"
    scene = root / "metric_scene"
    (scene / "covisibility" / "v0_mvsa_based").mkdir()
    (scene / "covisibility" / "v0" / "pairwise_covisibility--3x3.npy").rename(
        scene / "covisibility" / "v0_mvsa_based" / "pairwise_covisibility--3x3.npy")
    (scene / "covisibility" / "v0").rmdir()
    meta = json.loads((scene / "scene_meta.json").read_text())
    meta["scene_modalities"]["pairwise_covisibility"] = {
        "scene_key": "covisibility/v0_mvsa_based/pairwise_covisibility--3x3.npy", "format": "mmap"}
    (scene / "scene_meta.json").write_text(json.dumps(meta))
    recs = _records(root, min_covisibility=0.025, scenes=["metric_scene"])
    assert sorted(r.record_id for r in recs if isinstance(r, PairRecord)) == \
        ["plane/metric_scene/f0+f1", "plane/metric_scene/f0+f2"]
    assert not [r for r in recs if isinstance(r, Skipped)]
    # a scene_key naming a missing file, and no v0 folder: one counted skip naming both places
    meta["scene_modalities"]["pairwise_covisibility"]["scene_key"] = "covisibility/v9/missing.npy"
    (scene / "scene_meta.json").write_text(json.dumps(meta))
    (skip,) = [r for r in _records(root, scenes=["metric_scene"]) if isinstance(r, Skipped)]
    assert "covisibility/v9/missing.npy (scene_meta's scene_key)" in skip.reason and "covisibility/v0" in skip.reason
