"""The page's handlers (`vlm3.app.handlers`, issue #31) without a browser or Gradio: a
predictor with fixed, well-formed compact answers stands in for a trained model, so the
numbers the page shows can be checked (the browser tests use a real random model, whose
answers are noise). Checked: the dense grid asked in chunks is the API's own grid, with its
downloads and progress; the pose's R, t and frustums; bad input and an unexpected error are
one line (and one log line), never an exception.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from PIL import Image

from _echo import Echo
from vlm3.app import handlers
from vlm3.app.session import Session
from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg
from vlm3.infer import api
from vlm3.tasks.asking import TaskAsking, release_asking
from vlm3.predictors.base import Prediction
from vlm3.tasks.correspondence import compact as corr_compact
from vlm3.tasks.depth import compact as depth_compact
from vlm3.tasks.pose import compact as pose_compact

K = "200,200,80,60"
R = R_from_yaw_pitch_roll_deg(10.0, -5.0, 2.0)
T_CENTRE = np.array([0.3, 0.0, 0.4])  # camera 2's centre in camera 1 (m): unit (0.6, 0, 0.8), 0.5 m


class Fixed:
    """Well-formed compact answers: depth 2.5 m, the match (500, 500), the pose (R, T_CENTRE)."""

    name = "fixed"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def predict(self, requests):
        if self.fail:
            raise RuntimeError("backend fell over\nsecond line")
        out = []
        for r in requests:
            if r.task == "depth":
                texts = [depth_compact.render_answer(2.5, style="plain")] * len(r.questions)
            elif r.task == "correspondence":
                texts = [corr_compact.render_answer((500, 500))] * len(r.questions)
            elif r.task == "pose":
                answers = pose_compact.render_answers(R, T_CENTRE)
                texts = [answers[q] for q in r.question_ids]
            else:
                texts = ["Yes, region (100, 100, 300, 300) is bigger."]
            out.append(Prediction(r.id, texts))
        return out


def _session(tmp_path, fail: bool = False) -> Session:
    base = release_asking()
    asking = base.__class__({t: TaskAsking(150.0, 128 * 96, "compact") for t in base.tasks}, numbers="greedy",
                            name="fixed-answers", steps=0, learnt_from="manifest")
    return Session(api.Model(Fixed(fail), asking), None, tmp_path / "work")


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        paths.append(str(tmp_path / f"img{i}.png"))
        Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(paths[-1])
    depth16 = tmp_path / "depth16.png"
    Image.fromarray((rng.random((120, 160)) * 5000).astype(np.uint16)).save(depth16)
    return paths, str(depth16)


def test_dense_grid_in_chunks_is_the_apis_grid(tmp_path, images, monkeypatch):
    s = _session(tmp_path)
    monkeypatch.setattr(handlers, "CHUNK_QUERIES", 5)
    seen = []
    msg, picture, cloud, files, table, summary, details = handlers.depth_grid(
        s, images[0][0], "4x3", K, "none", progress=lambda f, desc="": seen.append(f))
    assert msg == "" and len(seen) >= 3 and seen == sorted(seen)
    ref = s.model.depth(images[0][0], K, grid=(4, 3))  # the API's own grid path, one call
    depth = np.load(next(f for f in files if f.endswith("depth.npy")))
    assert depth.shape == (3, 4) and np.allclose(depth, 2.5)
    meta = json.loads(open(next(f for f in files if f.endswith("depth.json"))).read())
    assert np.allclose([p["xy_px"] for p in meta["points"]], ref.xy_px, atol=0.01) and meta["grid_shape"] == [3, 4]
    ply = open(cloud).read()
    assert "element vertex 12" in ply
    assert "12/12 answers parsed" in summary and "camera: given" in summary
    assert "questions sent** (12)" in details and '"focal_px": 150.0' in details
    assert any(f.endswith("depth_mm.png") for f in files) and picture.endswith("depth.png")


def test_pose_shows_R_t_and_the_frustums(tmp_path, images):
    s = _session(tmp_path)
    msg, picture, text, summary, details = handlers.pose(s, *images[0], K, K, "none")
    assert msg == "" and picture and Image.open(picture).size[0] > 100
    for row in R:
        assert "  ".join(f"{v:+.4f}" for v in row) in text
    assert "+0.600, +0.000, +0.800" in text and "0.500 m" in text
    assert "questions sent** (4)" in details and "not a complete pose" not in text


def test_match_and_ask_map_answers_back_to_pixels(tmp_path, images):
    s = _session(tmp_path)
    msg, picture, table, summary, _ = handlers.match_points(s, *images[0], "80,60; 70,55", K, K, "none")
    assert msg == "" and "2/2 answers parsed" in summary and table.count("\n") == 3
    msg, picture, answer, summary, details = handlers.ask(s, images[0][0], "Is [A] bigger than [B]?",
                                                          "60,40,90,70; 70,50,100,80", K, "none")
    assert msg == "" and "bigger" in answer and "region (" in details


@pytest.mark.parametrize("call, expected", [
    (lambda s, im, d: handlers.depth_grid(s, None, "4x3", K, "none"), "no image"),
    (lambda s, im, d: handlers.depth_points(s, d, "80,60", K, "none"), "depth map"),
    (lambda s, im, d: handlers.depth_points(s, im[0], "80,60", "200,200,abc", "none"), "intrinsics"),
    (lambda s, im, d: handlers.depth_points(s, im[0], "80;60", K, "none"), "not x,y"),
    (lambda s, im, d: handlers.depth_grid(s, im[0], "4by3", K, "none"), "32x24"),
    (lambda s, im, d: handlers.pose(s, im[0], None, K, K, "none"), "image 2 is missing"),
    (lambda s, im, d: handlers.match_grid(s, None, im[1], "4x3", K, K, "none"), "image 1 is missing"),
    (lambda s, im, d: handlers.ask(s, im[0], "Is [A] bigger than [B]?", "1,2,3", K, "none"), "box"),
    (lambda s, im, d: handlers.pose(s, *im, None, None, "none"), "intrinsics"),
])
def test_bad_input_is_one_line(tmp_path, images, call, expected):
    out = call(_session(tmp_path), *images)
    assert out[0].startswith("⚠ ") and expected in out[0] and "\n" not in out[0], out[0]
    assert all(v is None for v in out[1:])


def test_unexpected_error_is_one_line_and_one_log_line(tmp_path, images, caplog):
    with caplog.at_level(logging.ERROR, logger="vlm3.app"):
        out = handlers.depth_points(_session(tmp_path, fail=True), images[0][0], "80,60", K, "none")
    assert out[0] == "⚠ unexpected error: RuntimeError: backend fell over"
    assert [r.getMessage() for r in caplog.records] == ["depth_points failed: RuntimeError: backend fell over"]


def test_calibration_tab_gives_the_field_of_view_and_the_focal_in_pixels(tmp_path, images):
    """The calibration tab (`handlers.calibrate`, `Model.calibrate`): the answered field of view, the
    focal fx = fy it means for the uploaded image's width, the intrinsics to paste into another tab,
    and the comparison with known intrinsics; one line for no image, an answer that does not parse."""
    import math

    from vlm3.tasks.calibration import compact as calib_compact

    fixed = Echo(calib_compact.render_answer(90.0))
    s = _session(tmp_path)
    s = Session(api.Model(fixed, s.model.asking), None, tmp_path / "calib")
    msg, answer, summary, details = handlers.calibrate(s, images[0][0], "100,100,80,60")
    assert msg == "" and fixed.requests[-1].task == "calibration"
    fx = 80 / math.tan(math.radians(45.0))  # 160 px wide at 90 deg: fx = 80 px
    assert "90.0°" in answer and f"fx = fy = {fx:.1f} px" in answer and "160x120" in answer
    assert f"`{fx:.1f},{fx:.1f},79.5,59.5`" in answer
    assert "a 77.3° field of view (answer +12.7°)" in answer  # fx 100 over 160 px: 2 atan(0.8) = 77.3 deg
    assert "1/1 answers parsed" in summary and "questions sent** (1)" in details
    fixed.answer = "wide"
    msg, answer, summary, _ = handlers.calibrate(s, images[0][0])
    assert msg == "" and "did not parse" in answer and "0/1 answers parsed" in summary
    out = handlers.calibrate(s, None)
    assert out[0].startswith("⚠ ") and "no image" in out[0] and out[1:] == (None, None, None)
