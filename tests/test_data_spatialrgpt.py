"""SpatialRGPT-Bench and OSD as published (adapter spatialrgpt_json): COCO RLE masks, the
ground truth read from every reference answer (so every category scores; before, scoring a
passed-through record raised KeyError 'truth'/'value'), ``*_choice`` answered by region,
calibration recorded in the labels, bad input counted or one line under --strict.
Fixture: tests/fixtures/spatialrgpt (regenerate with its make_fixture.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vlm3.data.adapters import load_adapter
from vlm3.data.build import BuildError, enumerate_sources
from vlm3.data.config import SourceConfig, config_from_dict
from vlm3.io.records import ObjectQARecord, Skipped, record_from_dict
from vlm3.tasks.object.choice import parse_region_choice

FIX = Path(__file__).parent / "fixtures" / "spatialrgpt"
BENCH = FIX / "SpatialRGPT-Bench_v1.json"


def _items(name: str, **options) -> list:
    src = SourceConfig("srg", "spatialrgpt_json", str(FIX / name), options={"image_dir": "images", **options})
    return list(load_adapter("spatialrgpt_json").iter_records(src))


def test_every_bench_category_gets_its_truth_from_the_reference_answer():
    recs = _items(BENCH.name)
    expected = json.loads((FIX / "expected.json").read_text())
    assert len(recs) == 30 and all(isinstance(r, ObjectQARecord) for r in recs)
    cats = {r.category for r in recs}
    assert len(cats) == 30 and {"left_choice", "tall_predicate", "distance_data", "direction"} <= cats
    for r in recs:
        (t,) = r.truths
        got = t["truth"] if "truth" in t else t["value"]
        want = expected[r.record_id.split("/")[1]]
        assert got == pytest.approx(want, abs=1e-9), (r.category, t)
    by_cat = {r.category: r.truths[0] for r in recs}
    assert by_cat["horizontal_distance_data"]["value"] == pytest.approx(31.2 * 0.0254)  # inches -> metres
    assert by_cat["right_choice"]["choice_region"] == 1 and by_cat["right_choice"]["truth"] is False
    assert by_cat["width_data"]["regions"] == [0] and by_cat["direction"]["value"] == 2
    assert record_from_dict(recs[0].to_dict()).to_dict() == recs[0].to_dict()


def test_truths_of_spatialrgpts_other_answer_templates():
    """SpatialRGPT's templates also answer with a bare value ("[X]") and open false answers
    with "In fact" / "Actually" / "That is False." (osdsynth prompt_template.py)."""
    from vlm3.data.adapters.spatialrgpt_json import truth_of_turn

    q = "What is the height of {region0}?"
    assert truth_of_turn(q, "6.91 feet", "quantitative", "height_data")["value"] == pytest.approx(6.91 * 0.3048)
    left = "Is {region0} to the left of {region1}?"
    for answer, truth in (("In fact, {region0} is to the right of {region1}.", False),
                          ("Actually, {region0} is below {region1}.", False), ("That is False.", False),
                          ("That is True.", True), ("Correct, you'll find {region0} to the left of {region1}.", True)):
        assert truth_of_turn(left, answer, "qualitative", "left_predicate")["truth"] is truth, answer
    with pytest.raises(ValueError, match="unknown SpatialRGPT question"):
        truth_of_turn(left, "Yes.", "qualitative", "sideways_predicate")
    with pytest.raises(ValueError, match="reference answer"):
        truth_of_turn(left, "They are horizontally aligned.", "qualitative", "left_predicate")


def test_masks_are_decoded_and_give_the_box_in_spatialrgpts_convention():
    from vlm3.data.adapters.spatialrgpt_json import decode_mask, mask_box

    entry = json.loads(BENCH.read_text())[0]
    m = decode_mask("x", entry["rle"][0], 160, 120)
    assert m.shape == (120, 160) and m.sum() == 60 * 80 and mask_box(m) == (10.0, 20.0, 70.0, 100.0)
    from_mask = _items(BENCH.name, boxes_from="mask")[0]
    assert from_mask.boxes_xyxy_px == tuple(tuple(float(v) for v in b) for b in entry["bbox"])


def test_osd_entries_keep_all_turns_without_truth():
    (rec,) = _items("osd_train.json")
    assert len(rec.turns) == 2 and rec.truths == () and "<depth>" not in rec.turns[0][0]
    assert rec.turns[1] == ("How wide is {region1}?", "{region1} is 1.2 meters wide.")


def test_bad_entries_are_counted_skips_with_reasons():
    items = _items("bad_entries.json")
    assert all(isinstance(i, Skipped) for i in items)
    reasons = [i.reason for i in items]
    assert "RLE of size 80x60 (WxH) does not match the 160x120 image" in reasons[0]
    assert "need 4 finite numbers" in reasons[1] and "not found" in reasons[2]


def test_bad_entries_stop_a_strict_build_with_one_line():
    cfg = config_from_dict({"tasks": {"object": {}}, "sources": [
        {"name": "b", "adapter": "spatialrgpt_json", "path": str(FIX / "bad_entries.json"),
         "options": {"image_dir": "images"}, "weights": {"object": 1.0}}]})
    with pytest.raises(BuildError) as err:
        enumerate_sources(cfg, strict=True)
    assert "\n" not in str(err.value) and "does not match the 160x120 image" in str(err.value)


def test_choice_answers_are_read_by_region_not_yes_no():
    a, b = [10, 20, 300, 400], [500, 500, 900, 990]
    assert parse_region_choice("bounding box region (10, 20, 300, 400) is taller.", [a, b]).value is True
    assert parse_region_choice("Standing taller is region (500, 500, 900, 990).", [a, b]).value is False
    for text in ("Yes.", "bounding box region (10, 20, 300, 400) and bounding box region (500, 500, 900, 990)",
                 "bounding box region (1, 2, 3, 4) is taller."):
        assert not parse_region_choice(text, [a, b]).ok


def test_bench_scores_end_to_end_oracle_is_one_on_every_category(tmp_path):
    from vlm3.evaluate.config import load_eval_config
    from vlm3.evaluate.paper import object_by_category
    from vlm3.evaluate.pipeline import run_eval
    from vlm3.evaluate.stages import predictions_path, read_jsonl

    cfg = load_eval_config({"benchmarks": [{"name": "spatialrgpt_bench", "kind": "records", "task": "object",
                                            "adapter": "spatialrgpt_json", "path": str(BENCH),
                                            "options": {"image_dir": "images"}, "calibration": "anycalib|fov60"}]})
    rep = run_eval(cfg, tmp_path, baselines=["oracle"], log=lambda s: None)
    assert rep["object"]["baselines"]["oracle"]["qual_acc"] == 1.0
    recs = read_jsonl(predictions_path(tmp_path, "spatialrgpt_bench", "oracle"))
    cat = object_by_category(recs)
    assert all(v.get("acc", v.get("success")) == 100.0 for v in cat.values()), cat
    assert cat["overall_qualitative"]["n"] == 24 and cat["overall_quantitative"]["n"] == 6
    assert cat["Direction"]["err_deg"] == 0.0
    labels = recs[0]["labels"]
    assert labels["camera_from"] in ("calibrated:anycalib", "fallback:fov60 (AnyCalib not installed)")
    # a wrong region for a choice question scores 0, a wrong polarity too
    choice = next(r for r in recs if r["labels"]["questions"][0]["category"] == "tall_choice")
    q = choice["labels"]["questions"][0]
    boxes = [choice["labels"]["regions"][i]["box_norm1000"] for i in q["regions"]]
    other = boxes[1] if q["truth"] else boxes[0]
    wrong = dict(choice, raw=["bounding box region ({}, {}, {}, {}) is taller.".format(*other)])
    assert object_by_category([wrong])["Tall/Short"]["acc"] == 0.0
    assert np.isclose(object_by_category([choice])["Tall/Short"]["acc"], 100.0)
