"""The task registry and units: one TASKS, one-line errors, question inputs without truth,
ground truth only for predictors that ask for it, and the parse-failure policy by hand."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from eval_helpers import corr_case, depth_case, object_case, pose_case
from vlm3.evaluate.stages import predict_benchmark, read_jsonl, predictions_path
from vlm3.metrics import depth as md
from vlm3.metrics import pose as mp
from vlm3.predictors.base import Prediction, Request
from vlm3.predictors.trivial import TrivialPredictor
from vlm3.protocol.parsing import Parsed
from vlm3.tasks import TASKS, get_task
from vlm3.tasks.failure_policy import score_counting_failures
from vlm3.tasks.packing import pack_sample

SRC = Path(__file__).resolve().parents[1] / "src" / "vlm3"
#: label keys that hold answers (never allowed in a request's question inputs)
TRUTH_KEYS = {"depth_m", "target_xy_px", "target_xy_norm1000", "target_xy_norm1000_float", "truth", "value",
              "R_cam0_from_cam1", "t_cam0_from_cam1_m", "T_cam1_from_cam0"}


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(3)
    return [depth_case(0, rng), corr_case(0, rng), pose_case(0, rng), object_case(1)]


def test_tasks_is_defined_once_and_every_unit_is_registered():
    assert TASKS == ("depth", "correspondence", "pose", "object", "calibration")
    defs = [p for p in SRC.rglob("*.py") if re.search(r"^TASKS\b.*=", p.read_text(), re.MULTILINE)]
    assert [p.relative_to(SRC).as_posix() for p in defs] == ["tasks/__init__.py"]
    for name in TASKS:
        unit = get_task(name)
        assert unit.name == name and unit.n_images in (1, 2)
        assert unit.metrics and set(unit.metrics) | set(unit.table_metrics) <= set(unit.higher_is_better)
        assert {k for k, _, _ in unit.summary_columns} <= set(unit.metrics)


def test_unknown_task_is_one_line_naming_the_tasks():
    with pytest.raises(ValueError) as err:
        get_task("segmentation")
    msg = str(err.value)
    assert "\n" not in msg and "'segmentation'" in msg and all(t in msg for t in TASKS)
    with pytest.raises(ValueError, match="unknown task 'segmentation'"):
        pack_sample([("q", "a")], ["a.png"], "segmentation", "src")
    with pytest.raises(ValueError, match="needs 2 image"):
        pack_sample([("q", "a")], ["a.png"], "pose", "src")


def test_requests_carry_question_inputs_but_no_ground_truth(cases):
    fields = {f.name for f in dataclasses.fields(Request)}
    assert "labels" not in fields and not any("answer" in f for f in fields)
    for c in cases:
        r = c.request
        keys = {k for q in r.queries for k in q} | {k for k in r.meta}
        assert not keys & TRUTH_KEYS, (r.task, keys & TRUTH_KEYS)
        assert r.queries == [] or len(r.queries) == len(r.questions)
        assert c.truth.labels  # the truth stays with the case
    depth, corr, pose, obj = (c.request for c in cases)
    assert set(depth.queries[0]) == {"xy_px", "xy_norm2000"} and depth.cameras[0]["width"] == 320
    assert set(corr.queries[0]) == {"query_xy_px", "query_xy_norm1000"} and len(corr.cameras) == 2
    assert pose.question_ids == list(get_task("pose").text.QUESTION_IDS) and pose.queries == []
    assert obj.queries[0]["kind"] == "qualitative" and obj.queries[1]["predicate"] == "direct_distance"


class Spy:
    """A model-like predictor: its predict takes requests only; it records what it was given."""

    name = "spy"
    tasks = TASKS

    def __init__(self):
        self.seen: list[Request] = []

    def fingerprint(self):
        return "spy"

    def predict(self, requests):
        self.seen += list(requests)
        return [Prediction(r.id, ["?"] * len(r.questions)) for r in requests]


def test_the_harness_hands_truth_only_to_predictors_that_need_it(cases, tmp_path):
    spy = Spy()
    predict_benchmark(spy, "b", cases, tmp_path, progress=False)
    assert [r.id for r in spy.seen] == [c.request.id for c in cases]
    recs = read_jsonl(predictions_path(tmp_path, "b", "spy"))
    assert [r["labels"] for r in recs] == [c.truth.labels for c in cases]  # the record keeps them for scoring
    assert all(not any(r["parse_ok"]) for r in recs)


def test_trivial_answers_from_inputs_alone_parse_for_every_task(cases):
    triv = TrivialPredictor({"depth": {"median_depth_m": 2.5}})
    assert triv.stats["depth"]["median_depth_m"] == 2.5 and triv.stats["pose"]["mean_t_m"] == [0.0, 0.0, 0.5]
    for c, pred in zip(cases, triv.predict([c.request for c in cases])):
        parsed = get_task(c.request.task).parse(pred.texts, c.request)
        assert parsed and all(p.ok for p in parsed), (c.request.task, [p.reason for p in parsed])
    corr = cases[1].request
    got = get_task("correspondence").parse(triv.predict([corr])[0].texts, corr)
    want = [q["query_xy_px"] for q in corr.queries]  # identity: the query pixel, within one grid cell
    assert np.abs(np.subtract([p.value for p in got], want)).max() <= 320 / 1000
    with pytest.raises(ValueError, match="unknown tasks"):
        TrivialPredictor({"segmentation": {}})


def test_failure_policy_scores_failures_as_wrong_for_rates_and_excludes_them_from_errors():
    parsed = [Parsed.success(1.0), Parsed.success(3.0), Parsed.failure("empty answer"),
              Parsed.failure("empty answer")]
    gt = [1.0, 2.0, 5.0, 7.0]
    s = score_counting_failures(parsed, gt, rate_metrics={"delta1": md.delta1},
                                error_metrics={"abs_rel": md.abs_rel})
    assert s["n_total"] == 4 and s["n_parsed"] == 2 and s["parse_rate"] == 0.5
    assert s["failure_reasons"] == {"empty answer": 2}
    assert s["delta1"] == pytest.approx(0.25)  # 1 correct of 4
    assert s["abs_rel"] == pytest.approx(0.25)  # (0 + 0.5) / 2 over parsed only
    s2 = score_counting_failures([Parsed.failure("x")], [1.0], rate_metrics={"delta1": md.delta1},
                                 error_metrics={"abs_rel": md.abs_rel})
    assert s2["delta1"] == 0.0 and s2["abs_rel"] is None
    s3 = score_counting_failures(parsed[:2], gt[:2],
                                 rate_metrics={"auc": lambda p, g: mp.pose_auc_binned_deg(
                                     np.abs(np.subtract(p, g)), (3,))})
    assert s3["auc"][3] == pytest.approx(mp.pose_auc_binned_deg([0.0, 1.0], (3,))[3])
    with pytest.raises(ValueError, match="lengths differ"):
        score_counting_failures(parsed, gt[:3])
