"""Release-format answer parsers: render -> parse round trips (hypothesis) and malformed
model outputs (empty, truncated, extra text, NaN, inf, huge numbers, wrong arity, bare
values: the compact format's answers) -> a failure reason, never an exception."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg
from vlm3.protocol import FORMAT_VERSION
from vlm3.tasks import packing
from vlm3.tasks.correspondence import text as correspondence
from vlm3.tasks.depth import text as depth
from vlm3.tasks.object import text as objects
from vlm3.tasks.pose import text as pose

ALL_PARSERS = [depth.parse_answer, correspondence.parse_answer, pose.parse_rotation_angle,
               pose.parse_yaw_pitch_roll, pose.parse_translation_direction, pose.parse_translation_distance,
               objects.parse_qualitative, objects.parse_quantitative_m, objects.parse_clock]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.none(), st.integers(), st.binary(max_size=20)))
def test_parsers_never_raise_on_arbitrary_input(text):
    for parse in ALL_PARSERS:
        out = parse(text)
        assert out.ok or out.reason
    out = pose.parse_answers({"euler_natural": text, "translation_direction": text})
    assert out.ok or out.reason


@pytest.mark.parametrize("text", ["", "   ", "<answer>", "<answer> 3.2", "<think> It is about 3 m",
                                  "<answer> nan </answer>", "<answer> inf </answer>", "<answer> 1e999 </answer>",
                                  "<answer> -2.0 </answer>", "<answer> 0 </answer>", "about three meters",
                                  "<answer> </answer>", "x" * 200_000, "7.5", "7.5 meters", "<think> x </think> 6"])
def test_depth_malformed(text):
    out = depth.parse_answer(text)
    assert not out.ok and out.reason


@pytest.mark.parametrize("text,expected", [
    ("<answer> 3.17 </answer>", 3.17), ("<think> hmm 5 m </think>\n\n<answer>2.5</answer>", 2.5),
    ("<answer> 3.2 m </answer>", 3.2), ("<answer>4.</answer>", 4.0), ("<answer> 1e1 </answer>", 10.0)])
def test_depth_fallbacks(text, expected):
    out = depth.parse_answer(text)
    assert out.ok and out.value == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 1000.0), st.sampled_from(depth.ANSWER_STYLES))
def test_depth_round_trip(d, style):
    out = depth.parse_answer(depth.render_answer(d, style))
    assert out.ok and out.value == pytest.approx(float(f"{d:.2f}"), abs=1e-12)


def test_depth_prompt_and_render_bad_input():
    with pytest.raises(ValueError, match="2000"):
        depth.prompt((2000, 5))
    with pytest.raises(ValueError, match="style"):
        depth.render_answer(1.0, style="json")
    with pytest.raises(ValueError, match="positive"):
        depth.render_answer(float("nan"))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 1000))
def test_correspondence_round_trip(x, y):
    text = correspondence.render_answer((x, y))
    assert correspondence.parse_answer(text).value == (x, y)
    assert correspondence.parse_answer(text + ".").value == (x, y)
    assert correspondence.parse_answer(f"<think> maybe (1, 2)? </think>\n\n{text}").value == (x, y)


@pytest.mark.parametrize("text", ["", "The corresponding pixel is (12, ", "(1, 2, 3)", "(nan, 3)",
                                  "(1e999, 2)", "(123456789, 2)", "<think> (1, 2)", "no pixel here", "(a, b)",
                                  "(338, 52)", "(338, 052)."])
def test_correspondence_malformed(text):
    out = correspondence.parse_answer(text)
    assert not out.ok and out.reason


def test_correspondence_extra_text_and_decimals():
    assert correspondence.parse_answer("Sure! It is at (338.5, 52).").value == (338.5, 52.0)


ypr = st.tuples(st.floats(-179.9, 179.9), st.floats(-89.9, 89.9), st.floats(-179.9, 179.9))
vec = st.tuples(*[st.floats(-1, 1)] * 3).filter(lambda v: np.linalg.norm(v) > 0.1)


@settings(max_examples=150, deadline=None)
@given(ypr, vec, st.floats(0.01, 50), st.booleans())
def test_pose_round_trip(angles, t, scale, metric):
    R = R_from_yaw_pitch_roll_deg(*angles)
    t = np.array(t) / np.linalg.norm(t) * scale
    answers = pose.render_answers(R, t, metric=metric)
    assert ("translation_distance" in answers) == metric
    out = pose.parse_answers(answers, max_angle_mismatch_deg=0.3)
    assert out.ok, out.reason
    p = out.value
    err = math.degrees(math.acos(np.clip((np.trace(p.R_cam0_from_cam1.T @ R) - 1) / 2, -1, 1)))
    # each of yaw/pitch/roll is off by <= 0.05 deg, so the composite is off by <= 0.15 deg
    # (triangle inequality); 0.106 deg is the worst seen over 20,000 random rotations
    assert err < 0.15 + 1e-6
    assert math.degrees(math.acos(np.clip(p.t_unit_cam0 @ t / scale, -1, 1))) < 1.0
    assert p.words_agree
    assert (p.distance_m is not None) == metric


@pytest.mark.parametrize("answers,fragment", [
    ({}, "euler_natural: missing"),
    ({"euler_natural": "Yaw=+1.0°, Pitch=+2.0°", "translation_direction": "(1, 0, 0)"}, "no roll"),
    ({"euler_natural": "Yaw=nan, Pitch=0, Roll=0", "translation_direction": "(1, 0, 0)"}, "no yaw"),
    ({"euler_natural": "Yaw=1e999, Pitch=0, Roll=0", "translation_direction": "(1, 0, 0)"}, "yaw"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "unit vector (0.5, 0.5)"}, "3 vector"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "unit vector (0, 0, 0)"}, "norm"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "(1, 0, 0)"}, "bare (x, y, z)"),
    ({"euler_natural": "+0.0, +0.0, +0.0", "translation_direction": "unit vector (1, 0, 0)"}, "no yaw"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "unit vector (1, 0, 0)",
      "rotation_angle": "012.9"}, "no rotation angle"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "unit vector (1, 0, 0)",
      "translation_distance": "01.98"}, "no translation distance"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "(1, 0, 0)",
      "rotation_angle": "Rotation angle: 500 degrees"}, "outside"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "(1, 0, 0)",
      "translation_distance": "far away"}, "no translation distance"),
    ({"euler_natural": "Yaw=0, Pitch=0, Roll=0", "translation_direction": "(1, 0, 0)", "bogus": "x"}, "unknown"),
])
def test_pose_malformed(answers, fragment):
    out = pose.parse_answers(answers)
    assert not out.ok and fragment in out.reason


def test_pose_angle_cross_check():
    answers = {"euler_natural": "Yaw=+10.0°, Pitch=+0.0°, Roll=+0.0°",
               "translation_direction": "The camera moves right, unit vector (+1.00, +0.00, +0.00).",
               "rotation_angle": "Rotation angle: 40.0 degrees"}
    assert pose.parse_answers(answers).value.angle_mismatch_deg == pytest.approx(30.0)
    assert not pose.parse_answers(answers, max_angle_mismatch_deg=1.0).ok


def test_pose_words_and_render_errors():
    assert pose.direction_words([-0.69, 0.02, 0.72]) == ["left", "forward"]
    assert pose.direction_words([0.0, -0.8, -0.6]) == ["up", "backward"]
    with pytest.raises(ValueError, match="zero"):
        pose.render_answers(np.eye(3), [0, 0, 0])


def test_objects_round_trip_all_templates():
    a, b = [0, 39, 652, 999], [6, 380, 228, 562]
    for pred in objects.QUALITATIVE_PREDICATES:
        for idx in range(4):
            for truth in (True, False):
                q, ans = objects.render_qualitative(pred, a, b, truth, idx)
                assert "bounding box region (0, 39, 652, 999)" in q and q.endswith("?")
                assert objects.parse_qualitative(ans).value is truth, ans
    for kind in objects.QUANTITATIVE_KINDS:
        for idx in range(3):
            value = 10 if kind == "direction" else 0.456
            q, ans = objects.render_quantitative(kind, a, None if kind in ("width", "height") else b, value, idx)
            if kind == "direction":
                assert objects.parse_clock(ans).value == 10
            else:
                assert objects.parse_quantitative_m(ans).value == pytest.approx(0.456)


@pytest.mark.parametrize("text,metres", [("It is 2.5 meters.", 2.5), ("It is 30 cm wide.", 0.3),
                                         ("It measures 12 inches", 0.3048), ("He is 5 feet 3 inches tall", 1.6002),
                                         ("about 4 ft", 1.2192),
                                         ("Bounding box region (1, 2, 3, 4) is 120 mm tall.", 0.12)])
def test_quantitative_units(text, metres):
    assert objects.parse_quantitative_m(text).value == pytest.approx(metres)


@pytest.mark.parametrize("text", ["", "It is big.", "It is nan meters.", "It is 1e999 m.", "It is -3 m.",
                                  "bounding box region (1, 2, 3, 4)", "0.8", "025.90 m"])
def test_quantitative_malformed(text):
    out = objects.parse_quantitative_m(text)
    assert not out.ok and out.reason


@pytest.mark.parametrize("text,ok", [("Maybe.", False), ("", False), ("Yes and no", True), ("13 o'clock", False),
                                     ("It is at 13 o'clock.", False), ("It is at 5 o'clock.", True),
                                     ("05 o'clock", False)])
def test_qualitative_and_clock_edge_cases(text, ok):
    parsers = objects.parse_clock if "clock" in text else objects.parse_qualitative
    assert parsers(text).ok is ok


def test_packing_multi_turn_sample():
    qa = [(depth.prompt((16, 1061)), depth.render_answer(14.0)), (depth.prompt((314, 259)), depth.render_answer(8.72))]
    s = packing.pack_sample(qa, ["images/a.png"], task="depth", source="demo")
    assert s["format_version"] == FORMAT_VERSION
    assert [m["role"] for m in s["messages"]] == ["user", "assistant"] * 2
    assert packing.qa_pairs_of(s) == qa
    assert s["id"] == packing.pack_sample(qa, ["images/a.png"], task="depth", source="demo")["id"]
    with pytest.raises(ValueError, match="2 image"):
        packing.pack_sample(qa, ["a.png"], task="pose", source="demo")
    with pytest.raises(ValueError, match="at least one"):
        packing.pack_sample([], ["a.png"], task="depth", source="demo")


def test_release_object_reads_spatialrgpts_bare_values_not_compact_ones():
    """SpatialRGPT's answer templates include a bare "[X]" ("6.91 feet"): a release answer.
    The compact format's fixed-width ("025.90 m", "05 o'clock") and unit-less values are not."""
    from vlm3.tasks.object.text import parse_clock, parse_quantitative_m

    assert parse_quantitative_m("6.91 feet").value == pytest.approx(6.91 * 0.3048)
    assert parse_quantitative_m("1.5 m.").value == pytest.approx(1.5)
    assert parse_clock("2 o'clock").value == 2
    for compact in ("025.90 m", "1.5"):
        assert not parse_quantitative_m(compact).ok
    assert not parse_clock("05 o'clock").ok
