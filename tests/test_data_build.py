"""Whole builds: resume after a kill gives the same bytes, shards load with `datasets`,
mixture proportions follow the weights, splits never share a scene
(Ray = local: tests/test_data_ray.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from data_helpers import small_world, write_rgbd_folder
from vlm3.data.build import FAIL_AFTER_ENV, build
from vlm3.data.config import config_from_dict
from vlm3.data.mixture import plan, split_of
from vlm3.io.records import DepthFile, ViewRecord
from vlm3.data.shards import read_samples, shard_paths


def _cfg(world: Path, rgbd: Path, out: Path) -> dict:
    small = {"focal_px": 150, "max_pixels": 160 * 128}
    return {
        "seed": 1, "output_dir": str(out), "shard_size": 3,
        "tasks": {"depth": {**small, "samples": {"train": 8, "val": 2, "test": 2}},
                  "correspondence": {**small, "questions_per_sample": 4, "samples": {"train": 4}},
                  "pose": {**small, "samples": {"train": 4}},
                  "object": {**small, "questions_per_sample": 3, "samples": {"train": 4}}},
        "sources": [
            {"name": "world", "adapter": "scene_format", "path": str(world), "split": "source",
             "weights": {"depth": 1, "correspondence": 1, "pose": 1, "object": 1},
             "options": {"world_up": [0, 0, 1]}},
            {"name": "folder", "adapter": "rgbd_folder", "path": str(rgbd), "weights": {"depth": 1},
             "split_fractions": {"val": 0.25, "test": 0.25}},
        ]}


def _tree(root: Path) -> dict[str, bytes]:
    """Every file's bytes; the manifest and config.yaml without their (differing) output_dir."""
    out = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    manifest = json.loads(out.pop("manifest.json"))
    manifest["config"].pop("output_dir")
    out["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    resolved = yaml.safe_load(out.pop("config.yaml"))
    assert resolved.pop("output_dir") == str(root)
    out["config.yaml"] = json.dumps(resolved, sort_keys=True).encode()
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    return small_world(base), write_rgbd_folder(base / "rgbd", n=8, width=192, height=144, fx=200)


def test_killed_build_resumes_to_identical_bytes(inputs, tmp_path, monkeypatch):
    world, rgbd = inputs
    full = tmp_path / "full"
    manifest = build(config_from_dict(_cfg(world, rgbd, full)), progress=False)
    assert set(manifest["counts"]["train"]) == {"depth", "correspondence", "pose", "object"}
    assert len(manifest["shards"]) >= 6
    part = tmp_path / "part"
    monkeypatch.setenv(FAIL_AFTER_ENV, "2")
    with pytest.raises(RuntimeError, match="testing hook"):
        build(config_from_dict(_cfg(world, rgbd, part)), progress=False)
    assert len(list((part / "shards").rglob("*.done.json"))) == 2
    (part / "shards" / "train" / "half-written.jsonl").write_text('{"id": "trunc')  # junk
    monkeypatch.delenv(FAIL_AFTER_ENV)
    build(config_from_dict(_cfg(world, rgbd, part)), progress=False)
    (part / "shards" / "train" / "half-written.jsonl").unlink()
    a = _tree(full)
    b = _tree(part)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]
    # a corrupted shard is detected by its checksum and rebuilt
    shard = full / manifest["shards"][0]["name"]
    shard.write_text("corrupt\n")
    build(config_from_dict(_cfg(world, rgbd, full)), progress=False)
    assert shard.read_bytes() == a[manifest["shards"][0]["name"]]


def test_shards_load_with_datasets_and_reference_stored_images(inputs, tmp_path):
    datasets = pytest.importorskip("datasets")
    world, rgbd = inputs
    out = tmp_path / "ds"
    manifest = build(config_from_dict(_cfg(world, rgbd, out)), progress=False)
    for task in ("depth", "correspondence", "pose", "object"):
        files = [str(p) for p in shard_paths(out, "train", task)]
        ds = datasets.load_dataset("json", data_files=files, split="train")
        assert len(ds) == manifest["counts"]["train"][task][next(iter(manifest["counts"]["train"][task]))] \
            or len(ds) == sum(manifest["counts"]["train"][task].values())
        row = ds[0]
        assert row["format_version"] == "vlm3-release-v1" and row["task"] == task
        assert [m["role"] for m in row["messages"]][:2] == ["user", "assistant"]
        for img in row["images"]:
            assert (out / img).is_file()
    samples = read_samples(shard_paths(out))
    assert len({s["id"] for s in samples}) == len(samples) == manifest["total_samples"]
    # images are stored once: fewer files than references when a record is reused
    refs = [i for s in samples for i in s["images"]]
    assert manifest["images"] == len(set(refs)) <= len(refs)
    assert json.loads((out / "manifest.json").read_text())["shards"][0]["sha256"]


def test_mixture_proportions_follow_weights():
    recs = {name: [ViewRecord(f"{name}/{i}", name, f"sc{i}", "x.png", None, DepthFile("d.png"))
                   for i in range(50)] for name in ("a", "b", "c")}
    cfg = config_from_dict({"seed": 7, "tasks": {"depth": {"samples": {"train": 6000}}},
                            "sources": [{"name": n, "adapter": "rgbd_folder", "path": ".",
                                         "weights": {"depth": w}, "split": "train"}
                                        for n, w in (("a", 0.21), ("b", 0.78), ("c", 0.01))]})
    planned, report = plan(cfg, recs)
    n = len(planned)
    for name, w in (("a", 0.21), ("b", 0.78), ("c", 0.01)):
        k = sum(p.source == name for p in planned)
        p = w / 1.0
        assert abs(k / n - p) <= 4 * np.sqrt(p * (1 - p) / n), (name, k)
        assert report["depth"]["train"]["sources"][name]["planned"] == k
    # deterministic, and records are used evenly before repeating
    again, _ = plan(cfg, recs)
    assert again == planned
    used = [p.record_index for p in planned if p.source == "c"]
    assert len(set(used)) == min(len(used), 50)


def test_splits_are_per_scene_and_stable():
    fr = {"val": 0.2, "test": 0.2}
    splits = [split_of("src", f"scene{i}", fr) for i in range(2000)]
    share = {s: splits.count(s) / 2000 for s in ("train", "val", "test")}
    assert abs(share["val"] - 0.2) < 0.04 and abs(share["test"] - 0.2) < 0.04
    assert split_of("src", "scene5", fr) == splits[5]  # a scene always lands in one split


def test_built_splits_share_no_scene(inputs, tmp_path):
    world, rgbd = inputs
    out = tmp_path / "s"
    build(config_from_dict(_cfg(world, rgbd, out)), progress=False)
    scenes = {}
    for s in read_samples(shard_paths(out)):
        key = (s["source"], s["labels"]["scene_id"])
        scenes.setdefault(key, set()).add(s["split"])
    assert all(len(v) == 1 for v in scenes.values())



def test_eval_questions_per_sample_sets_test_turns_only(inputs, tmp_path):
    world, rgbd = inputs
    cfg = _cfg(world, rgbd, tmp_path / "q")
    cfg["tasks"]["depth"].update(questions_per_sample=2, eval_questions_per_sample=5)
    build(config_from_dict(cfg), progress=False)
    turns = {}
    for s in read_samples(shard_paths(tmp_path / "q")):
        if s["task"] == "depth":
            turns.setdefault(s["split"], set()).add(sum(m["role"] == "user" for m in s["messages"]))
    assert turns == {"train": {2}, "val": {5}, "test": {5}}


def test_ray_engine_without_ray_says_how_to_install(inputs, tmp_path, monkeypatch):
    import sys

    from vlm3.data.build import BuildError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    world, rgbd = inputs
    with pytest.raises(BuildError, match=r"pip install 'vlm3\[ray\]'"):
        build(config_from_dict(_cfg(world, rgbd, tmp_path / "r")), engine="ray", progress=False)
