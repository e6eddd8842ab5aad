"""Ray engine: `--engine ray` writes the same bytes as the local engine (shards, images,
done-markers, manifest up to its output path), resumes a build the local engine left
half done, and stops on bad input under --strict with the local engine's message.

Runs on a local single-node Ray instance started by the test (Ray >= 2.x no longer has
``local_mode``); skipped when the ray extra is absent (pip install 'vlm3[ray]')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_helpers import small_world, write_rgbd_folder
from test_calibration_predict import micro  # noqa: F401  (a saved micro model: the fixture)
from test_data_build import _cfg, _tree
from vlm3.data.build import FAIL_AFTER_ENV, BuildError, build
from vlm3.data.config import config_from_dict

ray = pytest.importorskip("ray", reason="ray extra not installed (pip install 'vlm3[ray]')")
pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance for the module (2 CPUs), shut down afterwards."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    return small_world(base), write_rgbd_folder(base / "rgbd", n=8, width=192, height=144, fx=200)


@pytest.fixture(scope="module")
def local_tree(inputs, tmp_path_factory):
    world, rgbd = inputs
    out = tmp_path_factory.mktemp("local")
    manifest = build(config_from_dict(_cfg(world, rgbd, out)), progress=False)
    return manifest, _tree(out)


def test_ray_engine_writes_the_local_bytes(inputs, local_tree, ray_local, tmp_path):
    world, rgbd = inputs
    manifest, expected = local_tree
    out = tmp_path / "ray"
    got_manifest = build(config_from_dict(_cfg(world, rgbd, out)), engine="ray", progress=False)
    got = _tree(out)
    assert sorted(got) == sorted(expected)
    assert [k for k in expected if got[k] != expected[k]] == []
    # the comparison covers real content: every task, images and one marker per shard
    assert set(manifest["counts"]["train"]) == {"depth", "correspondence", "pose", "object"}
    assert sum(k.startswith("images/") for k in got) == manifest["images"] > 0
    assert sum(k.endswith(".done.json") for k in got) == len(manifest["shards"]) >= 6
    assert got_manifest["total_samples"] == manifest["total_samples"]


def test_ray_resumes_a_killed_local_build(inputs, local_tree, ray_local, tmp_path, monkeypatch):
    world, rgbd = inputs
    _, expected = local_tree
    out = tmp_path / "mixed"
    monkeypatch.setenv(FAIL_AFTER_ENV, "2")
    with pytest.raises(RuntimeError, match="testing hook"):
        build(config_from_dict(_cfg(world, rgbd, out)), progress=False)
    monkeypatch.delenv(FAIL_AFTER_ENV)
    kept = {p: p.stat().st_mtime_ns for p in (out / "shards").rglob("*.done.json")}
    assert len(kept) == 2
    build(config_from_dict(_cfg(world, rgbd, out)), engine="ray", progress=False)
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # finished shards kept
    assert _tree(out) == expected


def test_ray_strict_stops_naming_the_file(ray_local, tmp_path):
    meta = write_rgbd_folder(tmp_path / "bad", n=2, width=96, height=64, fx=100)
    depth = tmp_path / "bad" / "depth" / "f1.png"
    depth.write_bytes(depth.read_bytes()[:60])  # truncated PNG
    cfg = {"seed": 0, "output_dir": str(tmp_path / "out"), "shard_size": 1,
           "tasks": {"depth": {"focal_px": 100, "max_pixels": 96 * 64, "samples": {"train": 2}}},
           "sources": [{"name": "bad", "adapter": "rgbd_folder", "path": str(meta),
                        "split": "train", "weights": {"depth": 1}}]}
    with pytest.raises(BuildError) as ray_err:
        build(config_from_dict(cfg), engine="ray", strict=True, progress=False)
    with pytest.raises(BuildError) as local_err:
        build(config_from_dict({**cfg, "output_dir": str(tmp_path / "out2")}), strict=True,
              progress=False)
    assert str(ray_err.value) == str(local_err.value)
    assert str(depth) in str(ray_err.value) and "truncated" in str(ray_err.value)
    # without --strict the record is skipped and counted, as locally
    manifest = build(config_from_dict(cfg), engine="ray", progress=False)
    assert manifest["total_samples"] == 1 and len(manifest["skipped"]["build"]) == 1
    assert json.loads(Path(cfg["output_dir"], "manifest.json").read_text())["skipped"]["by_reason"]


def test_ray_workers_ask_the_model_of_the_calibration_policy(ray_local, micro, tmp_path, monkeypatch):
    """`calibration: model:DIR` under --engine ray: the worker processes get the policy the command
    registered (a worker that lacked it would skip every view as 'has not loaded')."""
    from test_calibration_predict import _build_without_k
    from vlm3.cli import _model_calibrator
    from vlm3.standardize import calibration as calib_policy

    monkeypatch.setattr(calib_policy, "_PROVIDED", {})
    monkeypatch.setattr(calib_policy, "_CACHE", {})
    calib_policy.register_policy("model", _model_calibrator)  # as the vlm3 command does
    policy = f"model:{micro / 'model'}"
    try:
        samples, _ = _build_without_k(tmp_path, policy, engine="ray")
    except BuildError as err:  # the random-weight model writes no number: every view skipped, reason named
        assert "has not loaded" not in str(err)
        assert f"calibration model {micro / 'model'} gave no field of view" in str(err)
    else:
        assert samples and all(s["labels"]["camera_from"] == f"calibrated:{policy}" for s in samples)
