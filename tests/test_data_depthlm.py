"""DepthLM's curated jsonl (adapter depthlm_jsonl): the fixture's analytic plane gives known
labels (ray for iBims-1, z for DDAD), the given points are asked (none picked), 10 per
sample, DepthLM's ScanNet++ split rule, and bad lines are counted skips or one line under
--strict. Fixture: tests/fixtures/depthlm (regenerate with its make_fixture.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from vlm3.data.adapters import load_adapter
from vlm3.data.build import BuildError, build, enumerate_sources
from vlm3.data.config import SourceConfig, config_from_dict
from vlm3.io.records import Skipped, ViewRecord, record_from_dict
from vlm3.tasks.common import BuildContext, TaskConfig
from vlm3.tasks.depth import build as depth_build

FIX = Path(__file__).parent / "fixtures" / "depthlm"
sys.path.insert(0, str(FIX))
import make_fixture as plane  # noqa: E402  (the analytic scene the fixture was written from)


def _records(dataset: str, **options) -> list:
    src = SourceConfig(dataset, "depthlm_jsonl", str(FIX / dataset / f"{dataset}_val.jsonl"), options=options)
    return list(load_adapter("depthlm_jsonl").iter_records(src))


def test_points_are_packed_ten_per_record_with_the_label_kind_of_each_dataset():
    ib, dd = _records("ibims1"), _records("ddad")
    assert len(ib) == 4 and all(isinstance(r, ViewRecord) and len(r.depth_points.xy_px) == 10 for r in ib)
    assert {r.depth_points.kind for r in ib} == {"ray"} and {r.depth_points.kind for r in dd} == {"z"}
    assert ib[0].scene_id == ib[1].scene_id != ib[2].scene_id  # one image = one scene = one split
    assert record_from_dict(ib[0].to_dict()).to_dict() == ib[0].to_dict()  # round-trips (Ray, markers)
    u, v = ib[1].depth_points.xy_px[3]
    assert ib[1].depth_points.depth_m[3] == pytest.approx(plane.plane_ray(u, v), abs=1e-12)


@pytest.mark.parametrize("dataset,kind_option,truth", [("ibims1", None, plane.plane_ray), ("ddad", None, plane.plane_z),
                                                       ("ddad", "ray", plane.plane_ray)])
def test_built_sample_asks_the_given_points_with_analytic_labels(dataset, kind_option, truth):
    opts = {} if kind_option is None else {"depth_label_kind": kind_option}
    rec = _records(dataset)[2]
    ctx = BuildContext(TaskConfig(focal_px=1000.0), options=opts)
    draft = depth_build.build(rec, ctx, np.random.default_rng(0))
    pts = draft.labels["points"]
    assert draft.labels["points_given"] and draft.labels["depth_kind"] == (kind_option or rec.depth_points.kind)
    assert [p["src_xy_px"] for p in pts] == [list(x) for x in rec.depth_points.xy_px]  # the given points, in order
    from vlm3.geometry.focal import PixelMap
    pm = PixelMap.from_dict(draft.pixmaps[0])
    assert pm.dst.fx == pytest.approx(1000.0)
    for p in pts:
        np.testing.assert_allclose(p["xy_px"], pm.to_dst(np.array([p["src_xy_px"]]))[0], atol=1e-9)
        assert p["depth_m"] == pytest.approx(truth(*p["src_xy_px"]), abs=1e-6)
    assert len(draft.qa) == 10


def test_data_build_on_the_fixture_writes_the_analytic_labels(tmp_path):
    cfg = config_from_dict({
        "output_dir": str(tmp_path / "set"), "shard_size": 8,
        "tasks": {"depth": {"focal_px": 1000, "samples": {"train": 0, "val": 0, "test": 4}}},
        "sources": [{"name": "ibims1", "adapter": "depthlm_jsonl", "path": str(FIX / "ibims1" / "ibims1_val.jsonl"),
                     "split": "test", "weights": {"depth": 1.0}}]})
    manifest = build(cfg, progress=False)
    assert manifest["total_samples"] == 4
    lines = [json.loads(x) for p in sorted((tmp_path / "set" / "shards").rglob("*.jsonl")) for x in p.read_text().splitlines()]
    pts = [p for s in lines for p in s["labels"]["points"]]
    assert len(pts) == 40 and all(s["labels"]["depth_kind"] == "ray" for s in lines)
    assert max(abs(p["depth_m"] - plane.plane_ray(*p["src_xy_px"])) for p in pts) < 1e-6


def test_scannetpp_split_rule_last_two_percent_is_test(tmp_path):
    line = json.dumps({"image": "rgb/ibims1_0.png", "intrinsics": [400.0, 400.0, 159.5, 119.5, 320, 240],
                       "pixel_coords": [[10, 10]], "depth": [2.0]})
    path = tmp_path / "scannetpp_all.jsonl"
    path.write_text("\n".join([line] * 100) + "\n")
    opts = {"image_dir": str(FIX / "ibims1")}
    recs = list(load_adapter("depthlm_jsonl").iter_records(SourceConfig("spp", "depthlm_jsonl", str(path), options=opts)))
    assert [r.split_hint for r in recs] == ["train"] * 98 + ["test"] * 2
    test_only = list(load_adapter("depthlm_jsonl").iter_records(
        SourceConfig("spp", "depthlm_jsonl", str(path), options={**opts, "split": "test"})))
    assert [r.record_id for r in test_only] == ["spp/98:0", "spp/99:0"]


def _bad_file(tmp_path) -> Path:
    good = json.loads((FIX / "ibims1" / "ibims1_val.jsonl").read_text().splitlines()[0])
    bad = [dict(good, intrinsics=[400.0, 400.0, 159.5, 119.5, 320]),            # 5 numbers
           dict(good, intrinsics=[400.0, 400.0, 159.5, 119.5, 640, 480]),       # another image size
           dict(good, image="missing.png"),
           dict(good, depth=good["depth"][:-1]),
           dict(good, pixel_coords=[[400, 10]] + good["pixel_coords"][1:])]
    path = tmp_path / "ibims1_bad.jsonl"
    path.write_text("\n".join([json.dumps(b) for b in bad] + ["{not json", json.dumps(good)]) + "\n")
    return path


def test_bad_lines_are_counted_skips_with_their_reason(tmp_path):
    src = SourceConfig("b", "depthlm_jsonl", str(_bad_file(tmp_path)), options={"image_dir": str(FIX / "ibims1")})
    items = list(load_adapter("depthlm_jsonl").iter_records(src))
    reasons = [i.reason for i in items if isinstance(i, Skipped)]
    assert len(reasons) == 6 and sum(isinstance(i, ViewRecord) for i in items) == 2
    for needle in ("6 finite numbers", "intrinsics are for a 640x480 image", "not found",
                   "one length", "outside the 320x240 image", "malformed JSON line"):
        assert any(needle in r for r in reasons), (needle, reasons)


def test_bad_lines_stop_a_strict_build_with_one_line(tmp_path):
    cfg = config_from_dict({"tasks": {"depth": {}}, "sources": [
        {"name": "b", "adapter": "depthlm_jsonl", "path": str(_bad_file(tmp_path)), "weights": {"depth": 1.0},
         "options": {"image_dir": str(FIX / "ibims1")}}]})
    with pytest.raises(BuildError) as err:
        enumerate_sources(cfg, strict=True)
    assert "\n" not in str(err.value) and "6 finite numbers" in str(err.value)
