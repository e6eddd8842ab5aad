"""Issue #28: every point a benchmark gives is scored, and every protocol choice is visible.

* DepthLM-jsonl benchmarks at the curated sizes (Argoverse2 1215x920 at fx 1000, ETH3D
  1920x1280 at fx ~1083, a 2048x1550 frame) with points in the border 2 % of the image: the
  oracle scores delta1 1.000 over 100 % of the points, in the project's evaluation
  preprocessing (whole image padded to the grid) and in the release's, and paper.md shows the
  counts. The training crop (``preprocessing: project``) still drops points, and the tables say
  so, with the reason counted.
* ``preprocessing`` reaches every builder that standardises a view (given depth points and
  fixed correspondence lists included).
* The release's depth, object and pose samples, rebuilt from their original sizes and
  intrinsics through the adapters, give the published image sizes and prompts character for
  character (strings: tests/golden/release_strings.json, a copy of
  ../shared/data/vlm3_release/formats.json checked by tests/test_protocol_golden.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlm3.evaluate.own_queries import record_samples

#: (benchmark name, width, height, fx): DepthLM's curated sizes named by the issue
SIZES = (("depth_argoverse2", 1215, 920, 1000.0), ("depth_eth3d", 1920, 1280, 1083.0),
         ("depth_ibims1", 2048, 1550, 1000.0))


def _border_points(w: int, h: int) -> list[list[int]]:
    """100 points: a 10 x 10 grid from corner to corner, so 36 of them lie in the border 2 %."""
    xs = np.rint(np.linspace(0, w - 1, 10)).astype(int)
    ys = np.rint(np.linspace(0, h - 1, 10)).astype(int)
    pts = [[int(x), int(y)] for y in ys for x in xs]
    in_border = [p for p in pts if min(p[0], w - 1 - p[0]) < 0.02 * w or min(p[1], h - 1 - p[1]) < 0.02 * h]
    assert len(in_border) == 36
    return pts


def _depthlm_line(folder: Path, name: str, w: int, h: int, fx: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(folder / f"{name}.png")
    pts = _border_points(w, h)
    line = {"image": f"{name}.png", "intrinsics": [fx, fx, (w - 1) / 2, (h - 1) / 2, w, h],
            "pixel_coords": pts, "depth": [2.0 + 0.05 * k for k in range(len(pts))]}
    path = folder / f"{name}_val.jsonl"
    path.write_text(json.dumps(line) + "\n")
    return path


@pytest.fixture(scope="module")
def depthlm_benchmarks(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("depthlm")
    return {name: _depthlm_line(root / name, name, w, h, fx) for name, w, h, fx in SIZES}


def _paper_run(tmp: Path, paths: dict[str, Path], preprocessing: str | None) -> tuple[dict, str, list[str]]:
    from vlm3.evaluate.config import load_eval_config
    from vlm3.evaluate.pipeline import run_eval

    opts = {"dataset": "other"} | ({"preprocessing": preprocessing} if preprocessing else {})
    benches = [{"name": n, "kind": "records", "adapter": "depthlm_jsonl", "task": "depth", "path": str(p),
                "options": opts} for n, p in paths.items()]
    log: list[str] = []
    rep = run_eval(load_eval_config({"paper_tables": True, "benchmarks": benches}), tmp, baselines=["oracle"],
                   log=log.append)
    summary = json.loads((tmp / "summary.json").read_text())
    return summary, (tmp / "paper.md").read_text(), log


def _depth_row(paper: str) -> list[str]:
    depth = paper.split("## Depth")[1].split("## ")[0]
    row = next(line for line in depth.splitlines() if line.startswith("| **oracle** (this run)"))
    return [c.strip() for c in row.strip("|").split("|")][1:]


@pytest.mark.parametrize("preprocessing", [None, "release"])
def test_every_border_point_is_scored_and_paper_md_shows_the_counts(depthlm_benchmarks, tmp_path, preprocessing):
    """Default (the project's own models: whole image padded to the grid) and the release's
    resize both keep all 100 points of each size; before, 94, 56 and 36 were left."""
    summary, paper, _ = _paper_run(tmp_path, depthlm_benchmarks, preprocessing)
    for name, *_ in SIZES:
        cell = summary["benchmarks"][name]["oracle"]["depth"]
        assert cell["delta1"] == 1.0 and cell["n_items"] == 100, name
        assert cell["coverage"]["given"] == cell["coverage"]["scored"] == 100 and not cell["coverage"]["lost"]
        assert cell["coverage"]["calibration"] == {"given K": 10}
    cells = _depth_row(paper)
    assert cells[0] == cells[3] == cells[6] == "1.000 (100/100)"  # Argo2, ETH3D, iBims1 columns
    assert "†" not in paper.split("## Correspondence")[0].split("| **oracle**")[1]


def test_the_training_crop_drops_points_and_the_tables_say_why(depthlm_benchmarks, tmp_path):
    """``preprocessing: project`` is training's grid crop within the 1.3 Mpx budget: the points
    it cuts away are counted per cell, the cell is marked, the reason is under the table."""
    summary, paper, _ = _paper_run(tmp_path, depthlm_benchmarks, "project")
    from vlm3.geometry.crop import grid_crop_size

    kept = {n: summary["benchmarks"][n]["oracle"]["depth"]["coverage"] for n, *_ in SIZES}
    for name, w, h, fx in SIZES:  # the centred crop window of the focal-normalised image, by hand
        nw, nh = round(w * 1000 / fx), round(h * 1000 / fx)
        cw, ch = grid_crop_size(nw, nh, 1310720)
        xy = (np.asarray(_border_points(w, h), float) + 0.5) * [nw / w, nh / h] - 0.5
        lo = np.array([(nw - cw) // 2, (nh - ch) // 2]) - 0.5
        inside = int(np.all((xy >= lo) & (xy < lo + [cw, ch]), axis=1).sum())
        assert inside < 100 and kept[name]["given"] == 100 and kept[name]["scored"] == inside, name
        # points cut from kept samples, and whole 10-point samples with none left: all counted
        assert sum(kept[name]["lost"].values()) == 100 - inside, kept[name]
        assert all("standardised" in reason for reason in kept[name]["lost"])
    assert kept["depth_ibims1"]["scored"] == 36  # the count for 2048x1550
    cells = _depth_row(paper)
    assert cells[6] == "1.000 (36/100)†" and all(c.endswith("/100)†") for c in (cells[0], cells[3]))
    assert "- † iBims1 / oracle: 36/100 scored (40 none of the 10 given points lies inside the standardised " \
           "1312x992 image; 24 outside the standardised image (crop); cameras: given K x 6)" in paper


def _view(tmp_path: Path, w: int, h: int, f: float, name: str = "a.png"):
    from vlm3.geometry.camera import Camera
    from vlm3.io.records import ViewRecord

    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / name)
    return ViewRecord(name, "test", "s", str(tmp_path / name), Camera.from_fx_fy_cx_cy(f, f, (w - 1) / 2,
                                                                                        (h - 1) / 2, w, h))


@pytest.mark.parametrize("preprocessing,size", [("release", (2000, 1500)), ("pad", (2016, 1504)),
                                                ("project", (1312, 960))])
def test_given_points_and_correspondence_lists_honour_preprocessing(tmp_path, preprocessing, size):
    """A 1600x1200 image at fx 800 with points near its corners: the release size is 2000x1500
    and keeps all 3; the old builders cropped to 1312x960 in every mode and dropped 2 of 3."""
    from dataclasses import replace

    from vlm3.evaluate.correspondence_list import build_pair
    from vlm3.io.records import DepthPoints
    from vlm3.tasks.common import BuildContext, TaskConfig
    from vlm3.tasks.depth.given_points import build_given

    view = _view(tmp_path, 1600, 1200, 800.0)
    pts = ((10.0, 10.0), (800.0, 600.0), (1590.0, 1190.0))
    ctx = BuildContext(TaskConfig(), options={"preprocessing": preprocessing})
    draft = build_given(replace(view, depth_points=DepthPoints(pts, (1.0, 2.0, 3.0), "ray")), ctx)
    assert draft.images[0].shape[:2] == (size[1], size[0])
    lost = 2 if preprocessing == "project" else 0
    assert len(draft.labels["points"]) == 3 - lost and draft.labels["points_dropped"] == lost
    intr = [800.0, 800.0, 799.5, 599.5]
    entry = {"image1": "a.png", "image2": "a.png", "intrinsics1": intr, "intrinsics2": intr,
             "matches": [{"img1_pixel_orig": list(p), "img2_pixel_orig": list(p)} for p in pts]}
    pair = build_pair(entry, "list:1", tmp_path, ctx)
    assert [im.shape[:2] for im in pair.images] == [(size[1], size[0])] * 2
    assert len(pair.labels["matches"]) == 3 - lost and pair.labels["items_dropped"] == (
        {"outside a standardised image": lost} if lost else {})


# ------------------------------------------------------------------ the release samples


def _release_samples(name: str, adapter: str, task: str, path: Path, options: dict) -> list[dict]:
    samples, skipped = record_samples(name, {"adapter": adapter, "task": task, "options": options}, path,
                                      path.parent / "cache")
    assert not skipped, skipped
    return samples


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_release_depth_sample_through_the_depthlm_adapter(release_formats, tmp_path):
    """The release's depth sample (Argoverse2, 1215x920 curated at fx 1000): the DepthLM line of
    its points gives the published size and its 12 prompts exactly (the point [10, 488] too,
    which the old grid crop cut away)."""
    d = release_formats["depth"]
    w, h = d["image_size_resized"]["width"], d["image_size_resized"]["height"]
    k = d["intrinsics_after_focal_normalization_to_1000"]
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / "argo.png")
    line = {"image": "argo.png", "intrinsics": [k["fx"], k["fy"], k["cx"], k["cy"], w, h],
            "pixel_coords": [s["pixel_coord_resized"] for s in d["samples"]],
            "depth": [s["depth_meters"] for s in d["samples"]]}
    (tmp_path / "argoverse2_val.jsonl").write_text(json.dumps(line) + "\n")
    samples = _release_samples("depth_argoverse2", "depthlm_jsonl", "depth", tmp_path / "argoverse2_val.jsonl",
                               {"preprocessing": "release"})
    assert len(samples) == 2  # 10 points per sample, in the line's order
    assert all(_image_size(tmp_path / "cache" / s["images"][0]) == (w, h) for s in samples)
    prompts = [m["content"] for s in samples for m in s["messages"] if m["role"] == "user"]
    answers = [m["content"] for s in samples for m in s["messages"] if m["role"] == "assistant"]
    want = [d["prompt_template"].format(norm_x=p["pixel_coord_normalized_2000"][0],
                                        norm_y=p["pixel_coord_normalized_2000"][1]) for p in d["samples"]]
    assert prompts == want
    assert answers == [d["training_answer_style_of_predecessor_DepthLM"].format(depth=p["depth_meters"])
                       for p in d["samples"]]


def test_release_object_sample_through_the_spatialrgpt_adapter(release_formats, tmp_path):
    """The release's object sample (SpatialRGPT-Bench, 1024x768, fx 902.47): a bench entry with
    its boxes and intrinsics gives 1134x851 and the published prompt and answer exactly; the
    second box's y2 is 562 (the original box on the original size), not the resized box's 563."""
    o = release_formats["object"]
    w, h = o["image_size_original"]["width"], o["image_size_original"]["height"]
    k = o["intrinsics_original"]
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / "obj.png")
    entry = {"id": "qualitative_3TrgWgKqnf", "image_info": {"file_path": "obj.png", "height": h, "width": w},
             "intrinsics_fx_fy_cx_cy": [k["fx"], k["fy"], k["cx"], k["cy"]],
             "qa_info": {"type": "qualitative", "category": "small_predicate", "class": ["lamp", "television"]},
             "conversations": [{"from": "human", "value": o["raw_spatialrgpt_user_msg"]},
                               {"from": "gpt", "value": o["raw_spatialrgpt_assistant_msg"]}],
             "bbox": [b["bbox_original_pixels"] for b in o["bboxes"]]}
    (tmp_path / "bench.json").write_text(json.dumps([entry]))
    (s,) = _release_samples("spatialrgpt_bench", "spatialrgpt_json", "object", tmp_path / "bench.json",
                            {"preprocessing": "release"})
    assert _image_size(tmp_path / "cache" / s["images"][0]) == \
        (o["image_size_resized"]["width"], o["image_size_resized"]["height"])
    assert [m["content"] for m in s["messages"]] == [o["prompt"], o["answer"]]
    assert [r["box_norm1000"] for r in s["labels"]["regions"]] == [b["bbox_normalized_1000"] for b in o["bboxes"]]


def test_release_pose_sample_through_the_pairs_txt_adapter(release_formats, tmp_path):
    """The release's pose sample (ScanNet++ v2, 1752x1168 -> 2830x1884 at f 750): a SuperGlue
    pair line with its pose gives the published size and four questions and answers exactly.
    formats.json states the resized K only; the original K here is that K divided by the middle
    of the scale interval the truncated size allows (any K in it gives the same image)."""
    from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg
    from vlm3.geometry.transforms import invert_T, make_T

    p = release_formats["pose"]
    (w, h), (rw, rh) = ((p[k]["width"], p[k]["height"]) for k in ("image_size_original", "image_size_resized"))
    kr = p["intrinsics_resized"]
    sx, sy = (rw + 0.5) / w, (rh + 0.5) / h
    K = [[kr["fx"] / sx, 0, kr["cx"] / sx], [0, kr["fy"] / sy, kr["cy"] / sy], [0, 0, 1]]
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / name)
    g = p["ground_truth_pose"]
    direction = np.array([float(v) for v in g["translation_unit_vector"].strip("()").split(",")])
    R = R_from_yaw_pitch_roll_deg(g["yaw_deg"], g["pitch_deg"], g["roll_deg"])
    T_cam1_from_cam0 = invert_T(make_T(R, direction / np.linalg.norm(direction) * g["translation_distance_m"]))
    fields = ["a.png", "b.png", "0", "0"] + [repr(float(v)) for v in np.ravel(K)] * 2 + \
        [repr(float(v)) for v in T_cam1_from_cam0.ravel()]
    (tmp_path / "pairs.txt").write_text(" ".join(fields) + "\n")
    (s,) = _release_samples("pose_scannetpp", "pairs_txt", "pose", tmp_path / "pairs.txt",
                            {"preprocessing": "release"})
    assert [_image_size(tmp_path / "cache" / im) for im in s["images"]] == [(rw, rh)] * 2
    assert math.isclose(s["labels"]["cameras"][0]["fx"], kr["fx"], rel_tol=1e-3)
    got = dict(zip(s["labels"]["question_ids"],
                   zip([m["content"] for m in s["messages"] if m["role"] == "user"],
                       [m["content"] for m in s["messages"] if m["role"] == "assistant"])))
    assert got == {q["question_id"]: (q["question"], q["answer"]) for q in p["qa_pairs"]}
    # the project's own path (pose budget 5,529,600 px, the release's 750 px) keeps the whole
    # frame up to the 32-px grid instead of the quarter the 1.3 Mpx cap kept (1376x928)
    (own,) = _release_samples("pose_scannetpp", "pairs_txt", "pose", tmp_path / "pairs.txt",
                              {"preprocessing": "project"})
    assert _image_size(tmp_path / "cache" / own["images"][0]) == (rw // 32 * 32, rh // 32 * 32)


def test_one_home_of_the_per_task_defaults_and_the_docs_state_them():
    """A data config that leaves focal_px / max_pixels out builds pose at the release's 750 px
    with a budget that keeps the release's pose frame (2830x1884) whole up to the grid (before:
    1000 px, and 1.3 Mpx kept 1376x928 of it); README and the pose recipe say those numbers."""
    from vlm3.data.config import config_from_dict
    from vlm3.geometry.crop import grid_crop_size
    from vlm3.tasks import RELEASE_TASK_DEFAULTS

    cfg = config_from_dict({"tasks": {"pose": {}, "depth": {}}})
    assert (cfg.tasks["pose"].focal_px, cfg.tasks["pose"].max_pixels) == RELEASE_TASK_DEFAULTS["pose"]
    assert (cfg.tasks["depth"].focal_px, cfg.tasks["depth"].max_pixels) == (1000.0, 1310720)
    assert grid_crop_size(2830, 1884, cfg.tasks["pose"].max_pixels) == (2816, 1856)
    repo = Path(__file__).resolve().parents[1]
    readme = " ".join((repo / "README.md").read_text().split())
    for task, (focal, budget) in RELEASE_TASK_DEFAULTS.items():
        assert f"`focal_px: {focal:g}`" in readme and f"`max_pixels: {budget}`" in readme, task
    recipe = (repo / "src/vlm3/configs/train/qwen3_vl_4b_pose.yaml").read_text()
    assert f"focal {RELEASE_TASK_DEFAULTS['pose'][0]:g} px" in recipe
    assert f"{RELEASE_TASK_DEFAULTS['pose'][1]:,}" in recipe


def test_the_console_headline_carries_counts_and_marks():
    """The headline (printed by `vlm3 demo`, README table) shows scored/given in every cell, marks
    an incomplete cell and one on a guessed camera, and says why under the table."""
    from vlm3.evaluate.coverage import cell_coverage
    from vlm3.evaluate.headline import headline_table

    recs = [{"labels": {"items_dropped": {"outside the standardised image (crop)": 6}, "camera_from": "given"}}]
    guessed = [{"labels": {"camera_from": "fallback:fov60 (AnyCalib not installed)"}}] * 3
    report = {"model": "m", "benchmark": "b",
              "depth": {"delta1": 0.5, "abs_rel": 0.2, "parse_rate": 0.98, "coverage": cell_coverage(recs, 94, 2),
                        "baselines": {"oracle": {"delta1": 1.0, "abs_rel": 0.0, "parse_rate": 1.0,
                                                 "coverage": cell_coverage(recs[:0], 100, 0)}}},
              "object": {"qual_acc": 0.7, "parse_rate": 1.0, "coverage": cell_coverage(guessed, 3, 0)}}
    table = headline_table(report)
    lines = table.splitlines()
    assert lines[2].startswith("| m | 0.500 (92/100)† | 0.200 (92/100)† |") and "0.700 (3/3)‡" in lines[2]
    assert lines[3].startswith("| oracle | 1.000 (100/100) | 0.000 (100/100) |")
    assert "† depth / m: 92/100 scored (6 outside the standardised image (crop); 2 parse failure; " \
           "cameras: given K x 1)" in table
    assert "‡ object / m: 3/3 scored (cameras: FoV 60° guess x 3)" in table


def test_inputs_cut_by_max_samples_are_counted(depthlm_benchmarks, tmp_path):
    from vlm3.evaluate.config import load_eval_config
    from vlm3.evaluate.pipeline import run_eval

    bench = {"name": "depth_argoverse2", "kind": "records", "adapter": "depthlm_jsonl", "task": "depth",
             "path": str(depthlm_benchmarks["depth_argoverse2"]), "options": {"dataset": "argoverse2"}}
    log: list[str] = []
    rep = run_eval(load_eval_config({"benchmarks": [bench]}), tmp_path, baselines=["oracle"], max_samples=4,
                   log=log.append)
    cov = rep["depth"]["baselines"]["oracle"]["coverage"]
    assert (cov["scored"], cov["given"], cov["inputs_cut"]) == (40, 40, 6)
    assert "depth_argoverse2: 6 of 10 inputs left out (--max-samples 4)" in log
    assert "1.000 (40/40)†" in (tmp_path / "table.md").read_text()


def test_paper_md_says_what_each_benchmarks_images_got(depthlm_benchmarks, tmp_path):
    _, paper, _ = _paper_run(tmp_path / "pad", depthlm_benchmarks, None)
    assert "- depth_eth3d: pad: focal 1000 px, whole image padded to the 32-px grid" in paper
    _, paper, _ = _paper_run(tmp_path / "release", depthlm_benchmarks, "release")
    assert "- depth_argoverse2: release: focal 1000 px, the release's resize, uncropped" in paper
