"""`vlm3 eval --config paper` on the fixtures (oracle): the paper's tables in paper.md with
the run's rows beside the published ones (cited), each missing dataset skipped with one
line; benchmarks with their own queries keep their points (nothing re-sampled)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlm3.evaluate.paper import CITATION, DEPTH_COLUMNS, PUBLISHED

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    missing = tmp_path_factory.mktemp("nothing")
    mp.setenv("VLM3_DEPTHLM", str(FIX / "depthlm"))
    mp.setenv("VLM3_SPATIALRGPT", str(FIX / "spatialrgpt"))
    mp.setenv("VLM3_CORR_LISTS", str(missing))
    # ETH3D pose: the WAI plane fixture as the eth3d test scene, with a pair list written once
    from vlm3.data.pair_lists import pose_pair_list, write_pair_list

    wai = tmp_path_factory.mktemp("wai")
    (wai / "eth3d").symlink_to((FIX / "wai" / "plane").resolve(), target_is_directory=True)
    pairs = tmp_path_factory.mktemp("pairs")
    write_pair_list(pose_pair_list(wai / "eth3d", min_covisibility=0.025, scenes=["metric_scene"]),
                    pairs / "eth3d_pose.json")
    mp.setenv("VLM3_WAI", str(wai))
    mp.setenv("VLM3_POSE_PAIRS", str(pairs))
    from vlm3.evaluate.pipeline import run_eval

    run_dir = tmp_path_factory.mktemp("paper")
    log: list[str] = []
    try:
        run_eval("paper", run_dir, baselines=["oracle"], log=log.append)
    finally:
        mp.undo()
    return run_dir, log


def test_paper_tables_put_the_run_beside_the_cited_published_rows(paper_run):
    run_dir, _ = paper_run
    text = (run_dir / "paper.md").read_text()
    assert CITATION in text
    depth = text.split("## Depth")[1].split("## ")[0]
    assert "| VLM3-4B [paper] | .896 | .818 | .970 | .810 | .976 | .867 | .960 | .935 | .904 |" in depth
    row = next(line for line in depth.splitlines() if line.startswith("| **oracle** (this run)"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells[1] == "1.000 (40/40)" and cells[6] == "1.000 (40/40)"  # DDAD, iBims1: every given point
    assert cells[0] == "–" and cells[-1] == "–"  # Argoverse2 missing: no average over a partial row
    qual = text.split("## SpatialRGPT-Bench qualitative")[1].split("## ")[0]
    # no intrinsics in SpatialRGPT-Bench and no AnyCalib here: every cell flagged as on a guessed camera
    assert ("| **oracle** (this run) | " + " | ".join(["100.00 (4/4)‡"] * 6) + " | 100.00 (24/24)‡ |") in qual
    assert "‡ spatialrgpt_bench / oracle: 30/30 scored (cameras: FoV 60° guess x 30)" in qual
    quant = text.split("## SpatialRGPT-Bench quantitative")[1]
    assert "| **oracle** (this run) | 100.00/0.00 (1/1)‡ |" in quant and "100.00/0.0° (1/1)‡ | 100.00/0.00 (6/6)‡ |" in quant
    pose = text.split("## Pose")[1].split("## ")[0]
    # ETH3D from the WAI fixture + pair list: auc30 / auc30_signed, both pairs scored
    assert "| **oracle** (this run) | 100.0 / 100.0 (2/2) | – | – |" in pose
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["paper_tables"]["depth"]["oracle"]["iBims1"] == 1.0


def test_each_missing_dataset_is_skipped_with_one_line(paper_run):
    run_dir, log = paper_run
    skips = [line for line in log if line.startswith("skip benchmark")]
    assert len(skips) == 10 and all("\n" not in s for s in skips)  # 6 depth, 3 correspondence, 1 pose
    assert any(s.startswith("skip benchmark depth_argoverse2 (") and "not found" in s for s in skips)
    text = (run_dir / "paper.md").read_text()
    assert "- pose_scannetpp: not run (" in text and "- depth_nyuv2: not run (" in text
    # the FoV guess for SpatialRGPT-Bench (no AnyCalib here) is said at run time too, not only per sample
    assert any(line.startswith("spatialrgpt_bench: 30 image(s) on a guessed camera") for line in log)


def test_own_query_benchmarks_keep_the_benchmarks_points(paper_run):
    from vlm3.evaluate.stages import predictions_path, read_jsonl

    run_dir, _ = paper_run
    recs = read_jsonl(predictions_path(run_dir, "depth_ibims1", "oracle"))
    src = [p["src_xy_px"] for r in sorted(recs, key=lambda r: r["id"]) for p in r["labels"]["points"]]
    lines = (FIX / "depthlm" / "ibims1" / "ibims1_val.jsonl").read_text().splitlines()
    given = [xy for line in lines for xy in json.loads(line)["pixel_coords"]]
    assert sorted(map(tuple, src)) == sorted(map(tuple, given)) and len(src) == 40
    assert all(r["labels"]["camera"]["fx"] == pytest.approx(1000.0) for r in recs)  # standardised as training


def test_published_averages_match_their_columns_except_two_printed_ones():
    """The quoted rows are kept as printed; their averages agree with their columns except
    two (Qwen3-VL-4B depth .101 vs a column mean of .097; DKM EPE 41.30 vs 40.93): a
    transcription check, so a typo in PUBLISHED shows up here."""
    odd = []
    for table, width, tol in (("depth", len(DEPTH_COLUMNS), 0.0006), ("correspondence", 3, 0.006), ("pose", 2, 0.051)):
        for name, row in PUBLISHED[table].items():
            vals = [float(v) for v in row[:width]]
            if abs(sum(vals) / width - float(row[width])) > tol:
                odd.append((table, name))
    assert odd == [("depth", "Qwen3-VL-4B"), ("correspondence", "DKM")]


def _corr_list(tmp_path: Path, lines: list[dict]) -> Path:
    path = tmp_path / "matches.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_a_fixed_correspondence_list_keeps_its_matches_through_the_standardisation(tmp_path):
    """The list's queries and targets are mapped through each image's PixelMap, in order; the
    oracle's EPE is the 1000-grid's quantisation; bad lines are counted or one line (strict)."""
    import numpy as np

    from vlm3.evaluate.config import load_eval_config
    from vlm3.evaluate.pipeline import run_eval
    from vlm3.evaluate.stages import predictions_path, read_jsonl
    from vlm3.geometry.focal import PixelMap
    from vlm3.errors import InputError

    img = FIX / "depthlm" / "ibims1" / "rgb"
    intr = [400.0, 400.0, 159.5, 119.5]
    m = [{"img1_pixel_orig": [16.0 + 24 * k, 8.0 + 16 * k], "img2_pixel_orig": [20.5 + 24 * k, 10.0 + 16 * k]}
         for k in range(12)] + [{"img1_pixel_orig": [5.0, 5.0], "img2_pixel_orig": [900.0, 5.0]}]  # target outside
    good = {"image1": str(img / "ibims1_0.png"), "image2": str(img / "ibims1_1.png"),
            "intrinsics1": intr, "intrinsics2": intr, "matches": m}
    path = _corr_list(tmp_path, [good, dict(good, intrinsics2=intr[:3]), dict(good, image2="missing.png")])
    bench = {"name": "corr", "kind": "records", "adapter": "correspondence_list", "task": "correspondence",
             "path": str(path)}
    log: list[str] = []
    rep = run_eval(load_eval_config({"benchmarks": [bench]}), tmp_path / "run", baselines=["oracle"], log=log.append)
    (rec,) = read_jsonl(predictions_path(tmp_path / "run", "corr", "oracle"))
    labels = rec["labels"]
    assert labels["matches_dropped"] == 1 and len(labels["matches"]) == 12
    assert labels["items_dropped"] == {"outside a standardised image": 1}
    pm0, pm1 = (PixelMap.from_dict(p) for p in rec["pixmaps"])
    np.testing.assert_allclose([x["query_xy_px"] for x in labels["matches"]],
                               pm0.to_dst(np.array([x["img1_pixel_orig"] for x in m[:12]])), atol=1e-9)
    np.testing.assert_allclose([x["target_xy_px"] for x in labels["matches"]],
                               pm1.to_dst(np.array([x["img2_pixel_orig"] for x in m[:12]])), atol=1e-9)
    assert labels["cameras"][0]["fx"] == pytest.approx(1000.0)
    w, h = labels["cameras"][1]["width"], labels["cameras"][1]["height"]
    assert rep["correspondence"]["baselines"]["oracle"]["epe_px"] <= 0.5 * np.hypot(w / 1000, h / 1000) + 1e-9
    assert any(line.startswith("corr: 2 input(s) skipped") for line in log)
    with pytest.raises(InputError) as err:
        run_eval(load_eval_config({"benchmarks": [dict(bench, strict=True)]}), tmp_path / "strict",
                 baselines=["oracle"], log=lambda s: None)
    assert "\n" not in str(err.value) and "invalid K" in str(err.value)
