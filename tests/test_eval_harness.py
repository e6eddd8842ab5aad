"""Two-stage harness with the oracle and hand-made predictors: known scores, counted parse
failures, cached/resumable stage 1, report.json layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval_helpers import H, W, corr_case, depth_case, object_case, pose_case
from vlm3.evaluate.stages import predict_benchmark, predictions_path, read_jsonl, score_run
from vlm3.predictors.base import Prediction
from vlm3.predictors.oracle import OraclePredictor
from vlm3.predictors.trivial import TrivialPredictor
from vlm3.tasks.depth import text as depth_text


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(0)
    return ([depth_case(i, rng) for i in range(4)] + [corr_case(i, rng) for i in range(4)]
            + [pose_case(i, rng) for i in range(6)] + [object_case(i) for i in range(4)])


def test_oracle_reaches_the_quantisation_ceiling(tmp_path, cases):
    oracle = OraclePredictor()
    predict_benchmark(oracle, "synthetic", cases, tmp_path, config={"a": 1}, progress=False)
    summary = score_run(tmp_path, model_name="oracle")
    r = summary["benchmarks"]["synthetic"]["oracle"]
    assert r["depth"]["delta1"] == 1.0 and r["depth"]["parse_rate"] == 1.0
    assert r["depth"]["abs_rel"] <= 0.005 / 0.5
    # EPE bounded by half a cell of the 1000-grid in each axis
    assert r["correspondence"]["epe_px"] <= 0.5 * np.hypot(W / 1000, H / 1000) + 1e-9
    assert r["correspondence"]["pck_5px"] == 1.0
    assert r["pose"]["auc30"] == pytest.approx(100.0)
    assert r["pose"]["rot_err_deg_median"] < 0.2
    assert r["object"]["qual_acc"] == 1.0 and r["object"]["quant_success"] == 1.0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["depth"]["delta1"] == 1.0 and "timing_s" in report
    assert set(report["pose"]) >= {"auc30", "rot_err_deg_median", "trans_err_deg_median", "parse_rate"}
    assert "| oracle |" in (tmp_path / "table.md").read_text()


class HalfBroken:
    """Answers like the oracle (it reads the ground truth), but every other depth answer is
    garbage; counts calls."""

    name = "halfbroken"
    tasks = ("depth",)
    needs_ground_truth = True

    def __init__(self):
        self.calls = 0

    def fingerprint(self):
        return "halfbroken-v1"

    def predict(self, reqs, truths):
        self.calls += len(reqs)
        out = []
        for r, truth in zip(reqs, truths):
            texts = [depth_text.render_answer(p["depth_m"], "plain") if k % 2 == 0 else "I cannot tell."
                     for k, p in enumerate(truth.labels["points"])]
            out.append(Prediction(r.id, texts))
        return out


def test_parse_failures_are_counted_not_dropped(tmp_path, cases):
    p = HalfBroken()
    predict_benchmark(p, "synthetic", cases, tmp_path, progress=False)
    s = score_run(tmp_path, model_name="halfbroken")["benchmarks"]["synthetic"]["halfbroken"]["depth"]
    assert s["n_items"] == 32 and s["n_failed"] == 16 and s["parse_rate"] == 0.5
    assert s["delta1"] == 0.5  # failures scored as wrong
    recs = read_jsonl(predictions_path(tmp_path, "synthetic", "halfbroken"))
    assert recs[0]["parse_ok"] == [True, False] * 4 and recs[0]["raw"][1] == "I cannot tell."
    assert recs[0]["format_version"] and recs[0]["config_hash"] and recs[0]["fingerprint"] == "halfbroken-v1"


def test_stage1_resumes_from_cache(tmp_path, cases):
    p = HalfBroken()
    depth = [c for c in cases if c.request.task == "depth"]
    predict_benchmark(p, "b", depth[:2], tmp_path, progress=False)
    assert p.calls == 2
    # an interrupted write leaves a truncated last line: it is dropped and redone
    path = predictions_path(tmp_path, "b", p.name)
    path.write_text(path.read_text() + '{"id": "d2", "trunc')
    stats = predict_benchmark(p, "b", depth, tmp_path, progress=False)
    assert stats["reused"] == 2 and stats["predicted"] == 2 and p.calls == 4
    stats = predict_benchmark(p, "b", depth, tmp_path, progress=False)
    assert stats["predicted"] == 0 and p.calls == 4
    # a different config invalidates the cache
    stats = predict_benchmark(p, "b", depth, tmp_path, config={"changed": True}, progress=False)
    assert stats["predicted"] == 4 and len(read_jsonl(path)) == 4


def test_trivial_baseline_fits_training_statistics(tmp_path, cases):
    train = [{"task": "depth", "labels": {"points": [{"depth_m": v} for v in (1.0, 2.0, 9.0)]}},
             {"task": "pose", "labels": {"t_cam0_from_cam1_m": [0.0, 0.0, 2.0]}},
             {"task": "object", "labels": {"questions": [{"kind": "qualitative", "truth": False}] * 3}}]
    triv = TrivialPredictor().fit(train)
    assert triv.stats["depth"]["median_depth_m"] == 2.0 and triv.stats["object"]["qual_majority"] is False
    assert triv.stats["pose"]["mean_t_m"] == [0.0, 0.0, 2.0]
    assert triv.stats["object"]["direction_mode_hour"] == 12  # no direction questions: the default stays
    predict_benchmark(triv, "synthetic", cases, tmp_path, progress=False)
    predict_benchmark(OraclePredictor(), "synthetic", cases, tmp_path, progress=False)
    s = score_run(tmp_path, model_name="oracle")
    t = s["benchmarks"]["synthetic"]["trivial"]
    assert all(t[k]["parse_rate"] == 1.0 for k in ("depth", "correspondence", "pose", "object"))
    assert t["object"]["qual_acc"] == 0.5  # truths alternate, majority says "no"
    assert t["pose"]["rot_err_deg_median"] > 4.0  # identity rotation vs 5-60 degree rotations
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["depth"]["baselines"]["trivial"]["delta1"] < 1.0
    assert rep["correspondence"]["baselines"]["trivial"]["epe_px"] > rep["correspondence"]["epe_px"]


def test_object_truths_of_zero_metres_are_left_out_of_relative_errors_and_counted():
    from vlm3.evaluate.scoring import score_task
    from vlm3.protocol import COMPACT_FORMAT_VERSION
    from vlm3.tasks.object import compact as obj_compact
    ba, bb = [10, 20, 300, 400], [500, 500, 900, 990]
    values = [2.0, 2.7e-15, 0.0]  # two objects on one floor: vertical distance 0
    raw = [obj_compact.render_quantitative("vertical_distance", ba, bb, v)[1] for v in values]
    qs = [{"kind": "quantitative", "predicate": "vertical_distance", "value": v} for v in values]
    s = score_task("object", [{"raw": raw, "question_ids": None, "labels": {"questions": qs},
                               "format_version": COMPACT_FORMAT_VERSION}])
    assert s["quant_success"] == 1.0 and s["n_quantitative"] == 1
    assert s["n_quantitative_zero_truth_skipped"] == 2 and s["parse_rate"] == 1.0


def test_a_model_is_not_run_on_a_benchmark_that_is_not_standardised(tmp_path, monkeypatch):
    """#20 item 10: pairs_txt keeps the original images (640-px long side, f ~ 574 px); a model
    is refused there with one line (the baselines still run), and runs on the same pairs as
    ``kind: records`` (standardised as training: focal 750 px)."""
    from vlm3.evaluate import pipeline
    from vlm3.evaluate.benchmarks import Benchmark
    from vlm3.evaluate.config import load_eval_config

    b = Benchmark("p", "pairs_txt", {"pairs": "x.txt", "resize_max_side": 640})
    case = pose_case(0, np.random.default_rng(0))
    assert "640-px long side (f ~ 200 px)" in b.model_refusal([case])
    assert Benchmark("r", "records", {"path": "x"}).model_refusal() is None

    class FakeModel(OraclePredictor):
        name = "model"

    oracle = OraclePredictor()
    monkeypatch.setattr(pipeline, "build_predictors", lambda *a, **k: [FakeModel(), oracle])
    monkeypatch.setattr(Benchmark, "available", lambda self: (True, ""))
    monkeypatch.setattr(Benchmark, "cases", lambda self, cache_dir=None: [case])
    cfg = load_eval_config({"benchmarks": [
        {"name": "scannet_pairs", "kind": "pairs_txt", "pairs": "x.txt", "resize_max_side": 640},
        {"name": "scannet_pairs_std", "kind": "records", "adapter": "pairs_txt", "task": "pose", "path": "x.txt"}]})
    log: list[str] = []
    pipeline.run_eval(cfg, tmp_path, model="some/checkpoint", baselines=["oracle"], log=log.append)
    refused = [line for line in log if line.startswith("model model not run on scannet_pairs:")]
    assert len(refused) == 1 and "\n" not in refused[0] and "kind: records" in refused[0]
    done = {p.name for p in (tmp_path / "predictions").glob("*.jsonl")}
    assert done == {"scannet_pairs__oracle.jsonl", "scannet_pairs_std__model.jsonl", "scannet_pairs_std__oracle.jsonl"}
    assert any("model model not run" in s for s in json.loads((tmp_path / "run.json").read_text())["skipped_benchmarks"])


def test_a_records_benchmark_with_bad_keys_is_one_line(tmp_path):
    from vlm3.config import ConfigError
    from vlm3.evaluate.config import load_eval_config
    from vlm3.evaluate.pipeline import run_eval
    from vlm3.errors import InputError

    base = {"name": "b", "kind": "records", "adapter": "depthlm_jsonl", "path": str(tmp_path / "x.jsonl")}
    with pytest.raises(ConfigError, match=r"benchmarks\[0\]\.task: missing"):
        load_eval_config({"benchmarks": [base]})
    with pytest.raises(ConfigError, match="not one of"):
        load_eval_config({"benchmarks": [dict(base, task="dept")]})
    with pytest.raises(ConfigError, match=r"benchmarks\[0\]\.root: not a key of a records benchmark"):
        load_eval_config({"benchmarks": [dict(base, task="depth", root="x")]})
    (tmp_path / "x.jsonl").write_text("")
    cfg = load_eval_config({"benchmarks": [dict(base, task="depth", adapter="no_such_adapter")]})
    with pytest.raises(InputError) as err:
        run_eval(cfg, tmp_path / "run", baselines=["oracle"], log=lambda s: None)
    assert "\n" not in str(err.value) and "unknown adapter 'no_such_adapter'" in str(err.value)
