"""The Python API (`vlm3.load` -> depth / match / pose / ask) and `vlm3 predict` reading the
settings a model was trained with (its vlm3.json), the grid laid over what the model sees,
stated guesses (missing intrinsics, EXIF), and the depth outputs people use (issue #21
items 1, 2, 4, 9, 11, 12). Real Qwen3-VL classes (the micro test preset, random weights) where
a model is loaded; a fixed-answer predictor where the test is about the numbers written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import vlm3
from _echo import Echo
from _train_helpers import write_micro_preset
from vlm3.infer import api, outputs
from vlm3.infer.cli import predict
from vlm3.tasks.asking import TaskAsking, release_asking, write_asking
from vlm3.tasks.pose import compact as pose_compact

K = "518.9,519.5,325.6,253.7"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A saved micro model whose vlm3.json says: compact format, focal 150 (depth 120), 96x64 cap."""
    d = tmp_path_factory.mktemp("api")
    from vlm3.model.factory import load_model_and_processor

    preset = write_micro_preset(d)
    model, proc = load_model_and_processor(str(preset), min_pixels=1024)
    model.save_pretrained(d / "model")
    proc.save_pretrained(d / "model")
    base = release_asking()
    tasks = {t: TaskAsking(150.0, 96 * 64, "compact") for t in base.tasks}
    tasks["depth"] = TaskAsking(120.0, 96 * 64, "compact")
    write_asking(d / "model", base.__class__(tasks, numbers="greedy", name="vlm3-micro-test", steps=3,
                                             learnt_from="manifest"))
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(d / f"img{i}.png")
    (d / "folder").mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(d / "folder" / f"f{i}.png")
    return d, preset


class Spy:
    """Records the Requests a real predictor gets (what the model was asked), passes them on."""

    def __init__(self, inner):
        self.inner, self.requests, self.name = inner, [], inner.name

    def predict(self, requests):
        self.requests += list(requests)
        return self.inner.predict(requests)


def test_three_lines_with_the_saved_settings(setup):
    d, _ = setup
    model = vlm3.load(d / "model")
    assert model.name == "vlm3-micro-test" and not model.random_weights
    model.predictor.max_new_tokens = 4
    spy = model.predictor = Spy(model.predictor)
    res = model.depth(d / "img0.png", "100,100,80,60", [[80, 60], [79, 59]])
    req = spy.requests[-1]
    assert req.format_version == "vlm3-compact-v3" and abs(req.cameras[0]["fx"] - 120.0) < 1.0
    assert res.xy_px.shape == (2, 2) and len(res.raw) == 2
    # PIL images and arrays, no K: the stated guess is said and recorded
    m = model.match(Image.open(d / "img0.png"), np.asarray(Image.open(d / "img1.png")), [[80, 60]])
    assert spy.requests[-1].task == "correspondence" and abs(spy.requests[-1].cameras[0]["fx"] - 150.0) < 1.0
    assert m.to_json()["cameras"][0]["from"] == "fallback:fov60" and "60 deg" in m.notes[0]
    p = model.pose(d / "img0.png", d / "img1.png", [100, 100, 80, 60], np.array([[100, 0, 80], [0, 100, 60],
                                                                                 [0, 0, 1.0]]))
    req = spy.requests[-1]
    assert req.questions == [pose_compact.QUESTIONS[i] for i in req.question_ids]
    assert isinstance(p.to_json()["ok"], bool) and abs(req.cameras[1]["fx"] - 150.0) < 1.0
    a = model.ask(d / "img0.png", "Is [A] wider than [B]?", "100,100,80,60", boxes=[[60, 40, 100, 80], "70,50,90,70"])
    assert "region (" in a.sent and "[A]" not in a.sent and a.boxes_px[1] == [70.0, 50.0, 90.0, 70.0]
    # overrides win over the file
    model.depth(d / "img0.png", "100,100,80,60", [[80, 60]], focal_px=90.0, text_format="release")
    assert spy.requests[-1].format_version == "vlm3-release-v1" and abs(spy.requests[-1].cameras[0]["fx"] - 90) < 1


def test_a_preset_is_marked_random_weights(setup):
    _, preset = setup
    model = vlm3.load(str(preset))
    assert model.random_weights and "random weights" in model.name and model.asking.task("pose").focal_px == 750.0


def test_a_fine_grid_is_laid_over_what_the_model_sees(tmp_path):
    """32x24 on a 640x480 frame at the demo's settings: every point used to fall 'outside the
    part of the image the model sees' (the grid was laid over the full frame, then cropped)."""
    img = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    res = api.predict_depth(Echo("002.5"), img, None, K, focal_px=200.0, max_pixels=49152, text_format="compact",
                            grid=(32, 24))
    assert res.grid_shape == (24, 32) and all(res.ok) and np.allclose(res.depth_m, 2.5)
    assert res.prepared.camera.contains(res.prepared.pixmap.to_dst(res.xy_px)).all()
    cols, rows = res.xy_px[:32, 0], res.xy_px[::32, 1]
    assert np.all(np.diff(cols) > 0) and np.all(np.diff(rows) > 0)
    # the outputs people use: depth grid as .npy (m) and 16-bit PNG (mm), a coloured point cloud
    viz_out = tmp_path / "out"
    names = outputs.write_depth(viz_out, img, res, {"model": "echo"})
    assert sorted(names) == sorted(p.name for p in viz_out.iterdir())
    assert np.load(viz_out / "depth.npy").shape == (24, 32)
    mm = np.asarray(Image.open(viz_out / "depth_mm.png"))
    assert mm.dtype == np.uint16 and mm.shape == (24, 32) and (mm == 2500).all()
    ply = (viz_out / "points.ply").read_text().splitlines()
    assert "element vertex 768" in ply and len(ply) == 10 + 768 and len(ply[-1].split()) == 6
    js = json.loads((viz_out / "depth.json").read_text())
    assert all(len(str(v).split(".")[-1]) <= 2 for p in js["points"] for v in p["xy_px"])


def test_exif_orientation_is_noted(tmp_path):
    p = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((64, 96, 3), np.uint8)).save(p, exif=exif)
    prep = api.prepare_image(p, "100,100,48,32", 100.0, 4096)
    assert any("EXIF orientation 6" in n for n in prep.notes)
    assert not api.prepare_image(tmp_path / "rot.jpg", "100,100,48,32", 100.0, 4096).camera_from.startswith("fall")


def test_cli_reads_the_model_settings_and_writes_outputs(setup):
    """`vlm3 predict depth` on a folder with no settings flags asks as vlm3.json says (compact,
    focal 120): before, it asked release prompts at focal 1000 and parsed nothing."""
    d, _ = setup
    out = d / "out"
    r = CliRunner().invoke(predict, ["depth", str(d / "folder"), "--intrinsics", "100,100,80,60", "--grid", "2x2",
                                     "--model", str(d / "model"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "asking vlm3-micro-test: focal 120 px" in r.output and "compact format" in r.output
    assert "deprecated" not in r.output and "Loading weights" not in r.output
    for stem in ("f0", "f1"):
        js = json.loads((out / stem / "depth.json").read_text())
        assert js["asked_with"]["text_format"] == "compact" and js["asked_with"]["focal_px"] == 120.0
        assert js["camera"]["model_focal_px"] == pytest.approx(120.0, abs=1.0)
        assert np.load(out / stem / "depth.npy").shape == (2, 2) and (out / stem / "depth_mm.png").is_file()
    if "0/8 answers parsed" in r.output:  # random weights: the run says so
        assert "warning: 0/8 answers parsed" in r.output
    r = CliRunner().invoke(predict, ["ask", str(d / "img0.png"), "Is [A] far?", "--box", "60,40,100,80",
                                     "--model", str(d / "model"), "--out", str(d / "ask"), "--focal-px", "100"])
    assert r.exit_code == 0, r.output
    js = json.loads((d / "ask" / "ask.json").read_text())
    assert js["asked_with"]["focal_px"] == 100.0 and js["camera"]["from"] == "fallback:fov60"
    assert "no intrinsics" in r.output and (d / "ask" / "ask.png").is_file()


def test_cli_says_random_weights_and_guessed_intrinsics(setup):
    """No trained model and no intrinsics: both are said in one line each and recorded."""
    d, preset = setup
    r = CliRunner().invoke(predict, ["match", str(d / "img0.png"), str(d / "img1.png"), "--points", "80,60;79,59",
                                     "--model", str(preset), "--out", str(d / "match"), "--max-pixels", "4096"])
    assert r.exit_code == 0, r.output
    assert "RANDOM weights" in r.output and "assumed a 60 deg horizontal field of view" in r.output
    js = json.loads((d / "match" / "matches.json").read_text())
    assert js["random_weights"] and js["cameras"][0]["from"] == js["cameras"][1]["from"] == "fallback:fov60"
    assert js["notes"] and js["asked_with"]["from"] == "release defaults"


def test_decoding_flag_reaches_the_predictor(setup):
    """`--decoding` (issue #22) picks the predictor's decoding; exact and generate give the same
    raw answers (random weights: every template draft is rejected, free greedy decoding)."""
    d, _ = setup
    raw = {}
    for mode in ("generate", "exact", "template"):
        out = d / f"dec-{mode}"
        r = CliRunner().invoke(predict, ["depth", str(d / "img0.png"), "--intrinsics", "100,100,80,60", "--grid",
                                         "3x2", "--model", str(d / "model"), "--out", str(out), "--decoding", mode])
        assert r.exit_code == 0, r.output
        raw[mode] = [p["raw"] for p in json.loads((out / "depth.json").read_text())["points"]]
    assert raw["exact"] == raw["generate"] and len(raw["exact"]) == 6
    import re  # the model asks in the compact format (its vlm3.json): template answers are inside it

    assert all(re.fullmatch(r"\d{1,3}\.\d", t) for t in raw["template"]), raw["template"]
    assert vlm3.load(str(d / "model"), decoding="template").predictor.decoding == "template"
    assert vlm3.load(str(d / "model")).predictor.decoding == "exact"


def test_bad_decoding_is_one_line(setup):
    from vlm3.errors import InputError

    d, _ = setup
    with pytest.raises(InputError, match="unknown decoding 'fast'; choose one of exact, template, generate"):
        vlm3.load(str(d / "model"), decoding="fast")
    with pytest.raises(InputError, match="needs --decoding exact or generate"):
        vlm3.load(str(d / "model"), numbers="median", decoding="template")
    r = CliRunner().invoke(predict, ["depth", str(d / "img0.png"), "--grid", "2x2", "--model", str(d / "model"),
                                     "--decoding", "template", "--numbers", "median", "--out", str(d / "x"), "--intrinsics", "100,100,80,60"])
    assert r.exit_code == 2 and "Traceback" not in r.output and "--decoding exact or generate" in r.output


def test_pose_result_places_camera_1_at_the_answered_distance_else_1_m():
    """One pose matrix for the CLI's and the app's frustum pictures: a missing or non-finite
    distance draws camera 1 at 1 m (before, the CLI put NaN into the matrix for a NaN distance)."""
    import math

    import numpy as np

    from vlm3.infer.results import PoseResult

    R = np.eye(3)
    t = np.array([1.0, 0.0, 0.0])
    for dist, expected in ((2.5, 2.5), (None, 1.0), (math.nan, 1.0)):
        T = PoseResult(True, R, t, dist, (0.0, 0.0, 0.0)).T_cam0_from_cam1()
        assert T.shape == (4, 4) and np.allclose(T[:3, 3], [expected, 0, 0]) and np.allclose(T[:3, :3], R)
    assert PoseResult(False, None, None, None, None).T_cam0_from_cam1() is None
