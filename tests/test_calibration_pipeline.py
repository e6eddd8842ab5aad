"""The calibration task through the same commands as the other four: `vlm3 data build` with
`tasks: {calibration: ...}`, `vlm3 data inspect`, `vlm3 eval` (oracle and trivial baselines) and
`vlm3 report` (a calibration column with the trivial row), on the procedural world."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_helpers import small_world
from vlm3.data.cli import data
from vlm3.data.inspect import read_shard_samples, resolve_shards, stats, text_points


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("calib")
    world = small_world(tmp_path_factory.getbasetemp())
    out = tmp / "data"
    (tmp / "data.yaml").write_text(f"""\
output_dir: {out}
tasks:
  calibration: {{text_format: compact, max_pixels: 49152, samples: {{train: 12, val: 0, test: 6}}}}
sources:
  - {{name: world, adapter: scene_format, path: {world}, split: train, weights: {{calibration: 1}}}}
  - {{name: world_test, adapter: scene_format, path: {world}, split: test, weights: {{calibration: 1}}}}
""")
    res = CliRunner().invoke(data, ["build", str(tmp / "data.yaml"), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


def test_data_build_writes_calibration_samples_from_the_worlds_k(built):
    root, files = resolve_shards(built)
    samples = read_shard_samples(files)
    assert {s["task"] for s in samples} == {"calibration"} and len(samples) == 18
    for s in samples:
        cam = s["labels"]["camera"]
        assert s["messages"][0]["content"] == "Horizontal FoV?"
        assert s["labels"]["hfov_deg"] == round(math.degrees(2 * math.atan(cam["width"] / (2 * cam["fx"]))), 1)
        assert float(s["messages"][1]["content"]) == pytest.approx(s["labels"]["hfov_deg"], abs=0.05)
        assert cam["width"] * cam["height"] <= 49152
    fovs = [s["labels"]["hfov_deg"] for s in samples]
    assert max(fovs) - min(fovs) > 5  # the world's lenses vary (demo world: 35-100 deg)
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["config"]["tasks"]["calibration"]["focal_px"] is None  # asked before focal normalisation
    st = stats(samples)
    assert st["hfov_deg"]["min"] == pytest.approx(min(fovs))
    pts = text_points(samples[0], [(1, 1)])
    assert pts["caption"][0].startswith("horizontal field of view ")


def test_calibration_eval_and_report_with_the_baselines(built, tmp_path):
    from vlm3.evaluate.pipeline import run_eval
    from vlm3.evaluate.report import build_report

    cfg = tmp_path / "eval.yaml"
    cfg.write_text(f"""\
trivial_fit: {{root: {built}, split: train}}
benchmarks:
  - {{name: world_test, kind: shards, root: {built}, split: test, tasks: [calibration]}}
""")
    run = tmp_path / "run"
    report = run_eval(str(cfg), run, baselines=["oracle", "trivial"], log=lambda *_: None)
    oracle = report["calibration"]["baselines"]["oracle"]
    trivial = report["calibration"]["baselines"]["trivial"]
    assert oracle["fov_err_deg_median"] == 0.0 and oracle["within_1deg"] == 1.0  # labels state the answer text
    train = [s["labels"]["hfov_deg"] for s in read_shard_samples(resolve_shards(built)[1]) if s["split"] == "train"]
    test = [s["labels"]["hfov_deg"] for s in read_shard_samples(resolve_shards(built)[1]) if s["split"] == "test"]
    med = round(sorted(train)[len(train) // 2 - 1: len(train) // 2 + 1][0] / 2
                + sorted(train)[len(train) // 2 - 1: len(train) // 2 + 1][1] / 2, 1)  # median of 12, 1 decimal
    errors = sorted(abs(med - g) for g in test)
    assert trivial["fov_err_deg_median"] == pytest.approx((errors[2] + errors[3]) / 2, abs=1e-9)
    numbers = build_report([run], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "<th colspan='2'>calibration</th>" in page and "FoV err° ↓" in page
    assert "calibration FoV error: median" in page and "predicted vs true horizontal field of view" in page
    assert numbers[str(run)]["report"]["calibration"]["baselines"]["trivial"]["fov_err_deg_median"] > 1.0


@pytest.mark.parametrize("adapter, path", [
    ("depthlm_jsonl", "depthlm/ibims1/ibims1_val.jsonl"),   # DepthLM lines: K per line
    ("wai", "wai/plane"),                                    # WAI scenes: K per frame
])
def test_a_records_benchmark_labels_any_view_with_known_k(tmp_path, adapter, path):
    """`kind: records` feeds the calibration task from any adapter whose views carry K; every
    label is the field of view of the image the model sees, as its answer text states it (0.1 deg)."""
    import shutil

    from vlm3.evaluate.own_queries import record_samples

    fixtures = Path(__file__).parent / "fixtures"
    src = fixtures / path
    if adapter == "wai":  # the adapter writes nothing, but keep the fixture read-only all the same
        shutil.copytree(fixtures / "wai", tmp_path / "wai")
        src = tmp_path / path
    samples, skipped = record_samples("b", {"adapter": adapter, "task": "calibration", "max_pixels": 2048},
                                      src, tmp_path / "cache")
    assert samples and not skipped, skipped
    for s in samples:
        cam = s["labels"]["camera"]
        assert cam["width"] * cam["height"] <= 2048 < s["pixmaps"][0]["src"]["width"] * s["pixmaps"][0]["src"]["height"]
        hfov = math.degrees(2 * math.atan(cam["width"] / (2 * cam["fx"])))
        assert s["labels"]["hfov_deg"] == round(hfov, 1)  # the answer's 0.1 deg
        src_cam = s["pixmaps"][0]["src"]  # the original K: resizing kept the field of view
        assert hfov == pytest.approx(math.degrees(2 * math.atan(src_cam["width"] / (2 * src_cam["fx"]))), abs=1e-9)


def test_a_focal_for_the_calibration_task_is_a_one_line_config_error(tmp_path):
    """Calibration is asked on the image as given: a focal_px for it would be silently unused."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tasks: {calibration: {focal_px: 500}}\nsources: []\n")
    res = CliRunner().invoke(data, ["build", str(cfg)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "tasks.calibration.focal_px" in res.output and "without focal normalisation" in res.output
    assert len(res.output.strip().splitlines()) == 1
