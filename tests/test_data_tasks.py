"""Correspondence, pose and object samples agree with the ground-truth geometry (within the
text's quantisation), checked from the text itself, against independent computations."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from data_helpers import small_world
from vlm3.data.adapters import load_adapter
from vlm3.data.config import SourceConfig
from vlm3.tasks.common import TaskConfig
from vlm3.io.records import ObjectQARecord, PairRecord, ViewRecord
from vlm3.tasks.common import BuildContext
from vlm3.tasks.correspondence import build as corr_task
from vlm3.tasks.object import build as obj_task
from vlm3.tasks.pose import build as pose_task
from vlm3.geometry.focal import PixelMap
from vlm3.geometry.transforms import apply_T, rotation_angle_deg
from vlm3.protocol import codecs
from vlm3.tasks.correspondence import text as corr_text
from vlm3.tasks.object import text as obj_text
from vlm3.tasks.pose import compact as pose_compact
from vlm3.tasks.pose import text as pose_text
from vlm3.io.scenes import load_scene

_CQ = re.compile(r"corresponds to pixel \((\d+), (\d+)\)")


def _records(adapter, path, **options):
    return [r for r in load_adapter(adapter).iter_records(SourceConfig("t", adapter, str(path),
                                                                       options=options))]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return small_world(tmp_path_factory.getbasetemp())


def test_correspondence_text_matches_world_geometry(world):
    pairs = [r for r in _records("scene_format", world)
             if isinstance(r, PairRecord) and r.covisibility >= 0.4]
    assert pairs
    rec = pairs[0]
    ctx = BuildContext(TaskConfig(focal_px=200, max_pixels=256 * 192, min_covisibility=0.25))
    draft = corr_task.build(rec, ctx, np.random.default_rng(0))
    assert len(draft.qa) == 10 and draft.labels["covisibility"] >= 0.25
    scene = load_scene(rec.view0.image_path.rsplit("/images/", 1)[0])
    i0 = int(rec.record_id.rsplit("/p", 1)[1].split("-")[0])
    i1 = int(rec.record_id.rsplit("-", 1)[1])
    v0, v1 = scene.views[i0], scene.views[i1]
    pm0, pm1 = (PixelMap.from_dict(p) for p in draft.pixmaps)
    (h0, w0), (h1, w1) = draft.images[0].shape[:2], draft.images[1].shape[:2]
    errs = []
    for (q, a), m in zip(draft.qa, draft.labels["matches"]):
        qn = _CQ.search(q)
        q_px = codecs.decode_xy_norm1000((int(qn[1]), int(qn[2])), w0, h0)
        assert np.all(np.abs(q_px - m["query_xy_px"]) <= np.array([w0, h0]) / 2000 + 1e-9)
        # independent GT at ORIGINAL resolution: world depth + world poses
        src = pm0.to_src(np.array([m["query_xy_px"]], float))[0]
        sx, sy = (int(round(v)) for v in src)
        X0 = v0.camera.unproject(src[None], np.array([v0.depth_z_m[sy, sx]]))
        T = v1.T_cam_from_world @ np.linalg.inv(v0.T_cam_from_world)
        xy1_src, _ = v1.camera.project(apply_T(T, X0))
        gt_std = pm1.to_dst(xy1_src)[0]
        ans = corr_text.parse_answer(a)
        assert ans.ok
        got = codecs.decode_xy_norm1000(ans.value, w1, h1)
        errs.append(np.abs(got - gt_std) / (np.array([w1, h1]) / 1000))  # in 1000-grid units
    errs = np.array(errs)
    # half a grid unit of rounding plus the source-pixel snap of the query depth
    assert np.median(errs) <= 0.6 and np.percentile(errs, 90) <= 1.5, errs


def _check_pose(rec: PairRecord, focal: float) -> None:
    ctx = BuildContext(TaskConfig(focal_px=focal, max_pixels=256 * 192))
    draft = pose_task.build(rec, ctx, np.random.default_rng(0))
    answers = dict(zip(draft.labels["question_ids"], [a for _, a in draft.qa]))
    assert [q for q, _ in draft.qa] == [pose_text.QUESTIONS[k] for k in draft.labels["question_ids"]]
    parsed = pose_text.parse_answers(answers)
    assert parsed.ok, parsed.reason
    T_gt = np.asarray(rec.T_cam1_from_cam0)
    T_txt = parsed.value.T_cam1_from_cam0()
    dR = T_txt[:3, :3] @ T_gt[:3, :3].T
    assert rotation_angle_deg(dR) < 0.2  # yaw, pitch, roll written with 1 decimal each
    c_gt = -T_gt[:3, :3].T @ T_gt[:3, 3]  # camera 1's centre in camera 0
    cos = c_gt @ parsed.value.t_unit_cam0 / np.linalg.norm(c_gt)
    assert np.degrees(np.arccos(min(1.0, cos))) < 1.0  # unit vector written with 2 decimals
    # packed in a seeded random order (inference asks each question alone): orders vary by
    # sample, the same seed gives the same order, and the labels name the order used
    orders = {tuple(pose_task.build(rec, ctx, np.random.default_rng(s)).labels["question_ids"]) for s in range(8)}
    assert len(orders) > 1 and all(sorted(o) == sorted(draft.labels["question_ids"]) for o in orders)
    again = pose_task.build(rec, ctx, np.random.default_rng(0))
    assert again.qa == draft.qa and again.labels["question_ids"] == draft.labels["question_ids"]
    if rec.metric:
        assert parsed.value.distance_m == pytest.approx(np.linalg.norm(c_gt), abs=0.0051)
    for img in draft.images:
        assert img.shape[0] % 32 == 0 and img.shape[1] % 32 == 0


def test_pose_text_matches_scannet_gt(real_root):
    recs = _records("pairs_txt", real_root / "scannet_pairs" / "pairs_with_gt.txt",
                    image_dir="images", scene_regex=r"^(scene\d+_\d+)")
    assert len(recs) == 15 and all(isinstance(r, PairRecord) for r in recs)
    for rec in recs[:3]:
        _check_pose(rec, 150.0)


def test_pose_text_matches_world_gt(world):
    pairs = [r for r in _records("scene_format", world) if isinstance(r, PairRecord)]
    _check_pose(pairs[0], 150.0)


def _object_view(world) -> ViewRecord:
    """The first world view with at least two 3D-boxed objects."""
    views = [r for r in _records("scene_format", world, world_up=[0, 0, 1])
             if isinstance(r, ViewRecord) and len(r.objects) >= 2]
    assert views
    return views[0]


def test_generated_object_questions_agree_with_boxes(world):
    rec = _object_view(world)
    ctx = BuildContext(TaskConfig(focal_px=200, max_pixels=256 * 192, questions_per_sample=10),
                       options={"world_up": [0, 0, 1]})
    draft = obj_task.build(rec, ctx, np.random.default_rng(3))
    regions = draft.labels["regions"]
    for (q, a), meta in zip(draft.qa, draft.labels["questions"]):
        for i in meta["regions"]:
            assert obj_text.region_text(regions[i]["box_norm1000"]) in q
        if meta["kind"] == "qualitative":
            assert obj_text.parse_qualitative(a).value == meta["truth"]
            if meta["predicate"] in ("left", "right", "behind", "front"):
                ca, cb = (np.array(rec.objects[i].center_cam_m) for i in meta["regions"])
                va, vb = ((-ca[0], -cb[0]) if meta["predicate"] in ("left", "right")
                          else (np.linalg.norm(ca), np.linalg.norm(cb)))
                first = meta["predicate"] in ("left", "behind")
                assert meta["truth"] == ((va > vb) if first else (va < vb))
        else:
            assert obj_text.parse_quantitative_m(a).ok or meta["predicate"] == "direction"


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_object_qualitative_fraction_option(world, fraction):
    ctx = BuildContext(TaskConfig(focal_px=200, max_pixels=256 * 192, questions_per_sample=8),
                       options={"world_up": [0, 0, 1], "qualitative_fraction": fraction})
    draft = obj_task.build(_object_view(world), ctx, np.random.default_rng(0))
    kinds = {m["kind"] for m in draft.labels["questions"]}
    assert kinds == ({"qualitative"} if fraction else {"quantitative"})


def test_object_qualitative_fraction_out_of_range_is_refused(world):
    ctx = BuildContext(TaskConfig(focal_px=200, max_pixels=256 * 192), options={"qualitative_fraction": 1.5})
    with pytest.raises(ValueError, match="qualitative_fraction"):
        obj_task.build(_object_view(world), ctx, np.random.default_rng(0))


def test_spatialrgpt_passthrough_reproduces_release_example(tmp_path, release_formats):
    obj = release_formats["object"]
    Image.new("RGB", (1024, 768), (120, 120, 120)).save(tmp_path / "img.jpg")
    intr = obj["intrinsics_original"]
    entry = {"id": "q1", "image": "img.jpg",
             "intrinsics_fx_fy_cx_cy": [intr["fx"], intr["fy"], intr["cx"], intr["cy"]],
             "bbox": [b["bbox_original_pixels"] for b in obj["bboxes"]],
             "conversations": [{"from": "human", "value": obj["raw_spatialrgpt_user_msg"]},
                               {"from": "gpt", "value": obj["raw_spatialrgpt_assistant_msg"]}],
             "qa_info": {"type": "qualitative", "category": "small_predicate"}}
    (tmp_path / "qa.json").write_text(json.dumps([entry]))
    recs = _records("spatialrgpt_json", tmp_path / "qa.json")
    assert isinstance(recs[0], ObjectQARecord)
    ctx = BuildContext(TaskConfig(focal_px=1000, max_pixels=4096 * 4096))
    draft = obj_task.build(recs[0], ctx, np.random.default_rng(0))
    assert draft.images[0].shape[:2] == (832, 1120)  # 1134x851 cropped to the 32-px grid
    (q, a), = draft.qa
    got = [r["box_norm1000"] for r in draft.labels["regions"]]
    want = [b["bbox_normalized_1000"] for b in obj["bboxes"]]
    # the crop to the grid shifts the normalisation by a few units; same boxes otherwise
    assert np.abs(np.array(got) - np.array(want)).max() <= 15
    assert q == f"Can you confirm if {obj_text.region_text(got[0])} is smaller than " \
                f"{obj_text.region_text(got[1])}?"
    assert a.startswith("Incorrect, bounding box region (") and "not smaller in size" in a


# ---------------------------------------------------------------- compact text format
def _compact_inputs(world):
    recs = _records("scene_format", world, world_up=[0, 0, 1])
    views = [r for r in recs if isinstance(r, ViewRecord) and len(r.objects) >= 2][:2]
    pairs = [r for r in recs if isinstance(r, PairRecord) and r.covisibility >= 0.4][:2]
    from vlm3.tasks.depth import build as depth_task

    return (("depth", depth_task, views), ("object", obj_task, views),
            ("correspondence", corr_task, pairs), ("pose", pose_task, pairs))


def _draft(mod, rec, fmt: str, seed: int):
    ctx = BuildContext(TaskConfig(focal_px=200, max_pixels=256 * 192, min_covisibility=0.25,
                                  text_format=fmt), options={"world_up": [0, 0, 1]})
    return mod.build(rec, ctx, np.random.default_rng(seed))


def test_compact_drafts_have_the_same_labels_and_parse_to_the_same_values(world):
    from vlm3.evaluate.scoring import parse_record, score_task

    for task, mod, recs in _compact_inputs(world):
        assert recs, task
        records, rel_records = [], []
        for i, rec in enumerate(recs):
            rel, com = _draft(mod, rec, "release", i), _draft(mod, rec, "compact", i)
            assert rel.format_version == "vlm3-release-v1" and com.format_version == "vlm3-compact-v3"
            # same seed -> same points / questions / labels in both formats, shorter text
            assert json.dumps(rel.labels, sort_keys=True) == json.dumps(com.labels, sort_keys=True)
            assert len(rel.qa) == len(com.qa)
            assert sum(len(q) + len(a) for q, a in com.qa) < sum(len(q) + len(a) for q, a in rel.qa)
            ids = com.labels.get("question_ids")
            p_rel = parse_record(task, [a for _, a in rel.qa], ids, rel.labels, rel.format_version)
            p_com = parse_record(task, [a for _, a in com.qa], ids, com.labels, com.format_version)
            assert all(p.ok for p in p_com), [p.reason for p in p_com]
            # each format's parser reads its own answers only: parsed as release, compact
            # answers are counted failures
            p_wrong = parse_record(task, [a for _, a in com.qa], ids, com.labels, rel.format_version)
            if task != "object":  # a bare Yes/No is also a release answer
                assert not any(p.ok for p in p_wrong) and all(p.reason for p in p_wrong)
            for a, b in zip(p_rel, p_com):
                if task == "pose":
                    np.testing.assert_allclose(a.value.R_cam0_from_cam1, b.value.R_cam0_from_cam1, atol=1e-12)
                    np.testing.assert_allclose(a.value.t_unit_cam0, b.value.t_unit_cam0, atol=1e-12)
                elif task == "object" and isinstance(a.value, float):
                    assert b.value == pytest.approx(a.value, abs=0.0051)  # cm (1 dec.) vs m (2 dec.)
                elif task == "depth":  # compact depth keeps ~2 significant digits (<= 5 %)
                    assert b.value == pytest.approx(a.value, rel=0.051, abs=0.006)
                else:
                    assert a.value == b.value
            if task == "depth":
                assert all(q.startswith("Distance at (") and "<" not in a for q, a in com.qa)
            if task == "pose":
                assert [q for q, _ in com.qa] == [pose_compact.QUESTIONS[k] for k in ids]
            if task == "object":
                assert all("bounding box" not in q for q, _ in com.qa)
                for (q, a), meta in zip(com.qa, com.labels["questions"]):
                    if meta["kind"] == "qualitative":
                        assert a == ("Yes" if meta["truth"] else "No")
            records.append({"raw": [a for _, a in com.qa], "question_ids": ids, "labels": com.labels,
                            "format_version": com.format_version})
            rel_records.append({"raw": [a for _, a in rel.qa], "question_ids": ids, "labels": rel.labels,
                                "format_version": rel.format_version})
        # the reference compact answers score at the text-quantisation ceiling
        s = score_task(task, records)
        assert s["parse_rate"] == 1.0
        if task == "depth":
            assert s["delta1"] == 1.0
        elif task == "correspondence":
            assert s["pck_5px"] == 1.0
        elif task == "pose":
            assert s["auc30"] == pytest.approx(100.0)
        else:  # near-zero lengths (objects on one floor: 0 m apart vertically) fail the
            # relative-error metric in both formats alike
            assert s["qual_acc"] in (1.0, None)
            assert s["quant_success"] == score_task(task, rel_records)["quant_success"]


def test_compact_build_writes_compact_format_version(world, tmp_path):
    from vlm3.data.build import build
    from vlm3.config import ConfigError
    from vlm3.data.config import config_from_dict
    from vlm3.data.shards import read_samples, shard_paths
    from vlm3.evaluate.scoring import score_task

    small = {"focal_px": 150, "max_pixels": 160 * 128, "questions_per_sample": 3}
    raw = {"seed": 2, "output_dir": str(tmp_path / "set"), "shard_size": 4,
           "tasks": {"depth": {**small, "text_format": "compact", "samples": {"train": 2}},
                     "correspondence": {**small, "text_format": "compact", "samples": {"train": 2}},
                     "pose": {**small, "text_format": "compact", "samples": {"train": 2}},
                     "object": {**small, "samples": {"train": 2}}},  # default: release
           "sources": [{"name": "world", "adapter": "scene_format", "path": str(world), "split": "source",
                        "weights": {"depth": 1, "correspondence": 1, "pose": 1, "object": 1},
                        "options": {"world_up": [0, 0, 1]}}]}
    build(config_from_dict(raw), progress=False)
    root = tmp_path / "set"
    for task in ("depth", "correspondence", "pose", "object"):
        samples = read_samples(shard_paths(root, "train", task))
        assert samples, task
        want = "vlm3-release-v1" if task == "object" else "vlm3-compact-v3"
        assert {s["format_version"] for s in samples} == {want}, \
            f"{task}: build.py must write the draft's format_version (data.tasks.SampleDraft.format_version)"
        records = [{"raw": [m["content"] for m in s["messages"][1::2]],
                    "question_ids": s["labels"].get("question_ids"), "labels": s["labels"],
                    "format_version": s["format_version"]} for s in samples]
        assert score_task(task, records)["parse_rate"] == 1.0
    bad = {**raw, "tasks": {"depth": {"text_format": "tiny"}}}
    with pytest.raises(ConfigError, match="text_format"):
        config_from_dict(bad)
