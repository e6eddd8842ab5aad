"""The harness on samples built by the data engine's task builders from the procedural world:
the oracle through case_from_sample reaches the quantisation ceiling on every task, and
the trivial and SIFT baselines score on the same samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from data_helpers import small_world
from vlm3.predictors.oracle import OraclePredictor
from vlm3.predictors.sift import SiftPredictor
from vlm3.predictors.trivial import TrivialPredictor
from vlm3.evaluate.benchmarks import case_from_sample
from vlm3.evaluate.stages import predict_benchmark, score_run


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from vlm3.data.adapters import load_adapter
    from vlm3.data.config import SourceConfig
    from vlm3.tasks.common import TaskConfig
    from vlm3.io.records import PairRecord, RecordError, ViewRecord
    from vlm3.tasks.common import BuildContext
    from vlm3.tasks.correspondence import build as correspondence
    from vlm3.tasks.depth import build as depth
    from vlm3.tasks.object import build as objects
    from vlm3.tasks.pose import build as pose
    from vlm3.tasks.packing import build_messages

    world = small_world(tmp_path_factory.getbasetemp())
    root = tmp_path_factory.mktemp("set")
    recs = list(load_adapter("scene_format").iter_records(SourceConfig("w", "scene_format", str(world))))
    views = [r for r in recs if isinstance(r, ViewRecord)][:3]
    pairs = [r for r in recs if isinstance(r, PairRecord) and r.covisibility >= 0.4][:3]
    out = []
    rng = np.random.default_rng(0)
    for task, mod, rs in (("depth", depth, views), ("object", objects, views),
                          ("correspondence", correspondence, pairs), ("pose", pose, pairs)):
        ctx = BuildContext(TaskConfig(focal_px=200, max_pixels=256 * 192, min_covisibility=0.25))
        for i, r in enumerate(rs):
            try:
                d = mod.build(r, ctx, rng)
            except RecordError:
                continue
            paths = []
            for k, im in enumerate(d.images):
                p = f"images/{task}{i}_{k}.png"
                (root / "images").mkdir(exist_ok=True)
                Image.fromarray(im).save(root / p)
                paths.append(p)
            out.append(json.loads(json.dumps({"id": f"{task}{i}", "task": task, "images": paths,
                                              "messages": build_messages(d.qa), "labels": d.labels,
                                              "pixmaps": d.pixmaps, "format_version": "vlm3-release-v1"})))
    return root, out


def test_oracle_and_baselines_on_data_engine_samples(samples, tmp_path):
    root, smp = samples
    cases = [case_from_sample(s, root) for s in smp]
    assert {c.request.task for c in cases} == {"depth", "object", "correspondence", "pose"}
    triv = TrivialPredictor().fit(smp)
    for p in (OraclePredictor(), triv, SiftPredictor()):
        predict_benchmark(p, "world", cases, tmp_path, progress=False)
    res = score_run(tmp_path, model_name="oracle")["benchmarks"]["world"]
    o = res["oracle"]
    assert all(o[t]["parse_rate"] == 1.0 for t in o)
    assert o["depth"]["delta1"] == 1.0
    assert o["pose"]["auc30"] == pytest.approx(100.0)
    assert o["correspondence"]["pck_5px"] == 1.0 and o["correspondence"]["epe_px"] < 0.5
    assert o["object"]["qual_acc"] in (1.0, None) and o["object"]["quant_success"] in (1.0, None)
    assert res["trivial"]["correspondence"]["epe_px"] > o["correspondence"]["epe_px"]
    assert set(res["sift"]) == {"correspondence", "pose"}


def test_spatialrgpt_bench_through_data_build_and_shards_scores_every_category(tmp_path):
    """SpatialRGPT-Bench as published -> `vlm3 data build` -> a shards benchmark: every
    passed-through question keeps its truth (before: score_task("object") raised KeyError
    'truth'/'value'), the oracle is 1.0 on every category, and the labels say where K came from."""
    from pathlib import Path

    from vlm3.data.build import build
    from vlm3.data.config import config_from_dict
    from vlm3.evaluate.benchmarks import Benchmark
    from vlm3.evaluate.paper import object_by_category
    from vlm3.evaluate.stages import predictions_path, read_jsonl

    fix = Path(__file__).parent / "fixtures" / "spatialrgpt"
    cfg = config_from_dict({"output_dir": str(tmp_path / "set"), "calibration": "anycalib|fov60",
                            "tasks": {"object": {"samples": {"train": 0, "val": 0, "test": 30}}},
                            "sources": [{"name": "srg", "adapter": "spatialrgpt_json", "split": "test",
                                         "path": str(fix / "SpatialRGPT-Bench_v1.json"),
                                         "options": {"image_dir": "images"}, "weights": {"object": 1.0}}]})
    manifest = build(cfg, progress=False)
    assert manifest["total_samples"] == 30 and not manifest["skipped"]["build"]
    cases = Benchmark("srg", "shards", {"root": str(tmp_path / "set"), "tasks": ["object"]}).cases()
    predict_benchmark(OraclePredictor(), "srg", cases, tmp_path / "run", progress=False)
    o = score_run(tmp_path / "run", model_name="oracle")["benchmarks"]["srg"]["oracle"]["object"]
    assert o["qual_acc"] == 1.0 and o["quant_success"] == 1.0 and o["parse_rate"] == 1.0
    recs = read_jsonl(predictions_path(tmp_path / "run", "srg", "oracle"))
    assert len({r["labels"]["questions"][0]["category"] for r in recs}) <= 30
    cat = object_by_category(recs)
    assert all(v.get("acc", v.get("success")) == 100.0 for v in cat.values())
    assert {r["labels"]["camera_from"] for r in recs} <= {"calibrated:anycalib", "fallback:fov60 (AnyCalib not installed)"}
