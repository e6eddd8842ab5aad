"""The compact text format ("vlm3-compact-v3"): fixed-width numbers, render -> parse round
trips with the release parsers, the release strings unchanged, and (slow) fewer tokens
than the release."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from vlm3.geometry.transforms import rotation_angle_deg
from vlm3.protocol import COMPACT_FORMAT_VERSION, FORMAT_VERSION, format_version_of, packing
from vlm3.tasks.correspondence import text as correspondence
from vlm3.tasks.depth import text as depth
from vlm3.tasks.object import text as objects
from vlm3.tasks.pose import text as pose

A, B = (0, 39, 652, 999), (6, 380, 228, 562)


def test_format_versions():
    assert format_version_of("release") == FORMAT_VERSION == "vlm3-release-v1"
    assert format_version_of("compact") == COMPACT_FORMAT_VERSION == "vlm3-compact-v3"
    with pytest.raises(ValueError, match="unknown text format"):
        format_version_of("short")
    s = packing.pack_sample([("q", "a")], ["x.png"], "depth", "src", format_version=COMPACT_FORMAT_VERSION)
    assert s["format_version"] == "vlm3-compact-v3"


def test_depth_compact_strings_and_round_trip():
    assert depth.compact_prompt((234, 44)) == "Distance at (0234, 0044)?"
    # fixed width DDD.D: the first digit is the most significant one
    assert [depth.render_compact_answer(d) for d in (6.349, 9.5, 12.44, 123.456, 0.994, 0.471, 0.01, 1234.5)] == \
        ["006.3", "009.5", "012.4", "123.5", "001.0", "000.5", "000.1", "1234.5"]
    assert "<" not in depth.render_compact_answer(6.35)  # no think / answer tags
    for d in np.geomspace(0.1, 300.0, 500):
        got = depth.parse_answer(depth.render_compact_answer(d))
        assert got.ok and abs(got.value - d) <= 0.05 + 1e-9  # 1 decimal: 5 cm of rounding at most
    with pytest.raises(ValueError):
        depth.render_compact_answer(0.0)
    with pytest.raises(ValueError):
        depth.compact_prompt((2000, 5))
    # release strings are untouched
    assert depth.prompt((16, 1061)).startswith("Given this image, how far is the point at coordinates (16, 1061)")


def test_correspondence_compact_strings_and_round_trip():
    assert correspondence.compact_prompt((440, 60)) == "Match (440, 060) in image 2?"
    assert correspondence.compact_prompt((440, 60), think=True).endswith(correspondence.THINK_INSTRUCTION)
    for xy, text in (((338, 52), "(338, 052)"), ((0, 0), "(000, 000)"), ((1000, 7), "(999, 007)")):
        assert correspondence.render_compact_answer(xy) == text
        assert correspondence.parse_answer(text).value == (float(min(xy[0], 999)), float(xy[1]))
    with pytest.raises(ValueError):
        correspondence.render_compact_answer((1.5, 2))


def test_pose_compact_example():
    R = Rotation.from_euler("YXZ", [-4.5, -12.1, 0.2], degrees=True).as_matrix()
    ans = pose.render_compact_answers(R, np.array([0.09, 0.004, 0.08]))
    assert ans["euler_natural"] == "-004.5, -012.1, +000.2"
    assert ans["rotation_angle"] == f"{rotation_angle_deg(R):05.1f}" == "012.9"
    assert ans["translation_direction"] == "+0.75, +0.03, +0.66"
    assert ans["translation_distance"] == "00.12"
    assert set(pose.COMPACT_QUESTIONS) == set(pose.QUESTION_IDS)
    assert "translation_distance" not in pose.render_compact_answers(R, np.ones(3), metric=False)
    with pytest.raises(ValueError, match="zero"):
        pose.render_compact_answers(R, np.zeros(3))


@settings(max_examples=150, deadline=None)
@given(q=st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda v: np.linalg.norm(v) > 0.1),
       t=st.lists(st.floats(-5, 5), min_size=3, max_size=3).filter(lambda v: np.linalg.norm(v) > 0.05))
def test_pose_compact_round_trip(q, t):
    R = Rotation.from_quat(np.asarray(q) / np.linalg.norm(q)).as_matrix()
    t = np.asarray(t)
    got = pose.parse_answers(pose.render_compact_answers(R, t), max_angle_mismatch_deg=0.2)
    assert got.ok, got.reason
    p = got.value
    assert rotation_angle_deg(p.R_cam1_from_cam2 @ R.T) < 0.16  # 3 angles x 0.05 deg
    cos = float(p.t_unit_cam1 @ t / np.linalg.norm(t))
    assert math.degrees(math.acos(min(1.0, cos))) < 0.6  # 2-decimal unit vector
    assert p.distance_m == pytest.approx(np.linalg.norm(t), abs=0.005 + 1e-9)
    assert p.words == [] and p.words_agree is None
    # compact and release answers give the same pose
    rel = pose.parse_answers(pose.render_answers(R, t)).value
    np.testing.assert_allclose(rel.R_cam1_from_cam2, p.R_cam1_from_cam2, atol=1e-12)
    np.testing.assert_allclose(rel.t_unit_cam1, p.t_unit_cam1, atol=1e-12)


def test_pose_T_round_trip_through_compact_answers():
    rng = np.random.default_rng(0)
    for _ in range(20):
        T = np.eye(4)
        T[:3, :3] = Rotation.random(random_state=rng).as_matrix()
        T[:3, 3] = rng.normal(size=3)
        p = pose.parse_answers(pose.render_compact_answers_from_T_cam2_from_cam1(T)).value
        T_txt = p.T_cam2_from_cam1()
        assert rotation_angle_deg(T_txt[:3, :3] @ T[:3, :3].T) < 0.16
        c_gt, c_txt = -T[:3, :3].T @ T[:3, 3], -T_txt[:3, :3].T @ T_txt[:3, 3]
        assert np.linalg.norm(c_gt - c_txt) < 0.01 * np.linalg.norm(c_gt) + 0.005


def test_pose_parsers_compact_forms_and_failures():
    assert pose.parse_rotation_angle("12.9").value == 12.9
    assert pose.parse_rotation_angle("12.9°").value == 12.9
    assert not pose.parse_rotation_angle("190").ok
    assert pose.parse_yaw_pitch_roll("(-4.5°, -12.1°, +0.2°)").value == (-4.5, -12.1, 0.2)
    assert not pose.parse_yaw_pitch_roll("-4.5, -12.1").ok
    assert not pose.parse_yaw_pitch_roll("-4.5, -12.1, +0.2, 3").ok
    assert not pose.parse_yaw_pitch_roll("-4.5, 400, 0").ok
    assert pose.parse_translation_distance("0.12").value == 0.12
    assert pose.parse_translation_distance("12 cm").value == pytest.approx(0.12)
    assert not pose.parse_translation_distance("-0.5").ok
    assert not pose.parse_translation_direction("+0.75, +0.03").ok
    # any non-zero vector is a direction (the release notebook normalises predictions too)
    np.testing.assert_allclose(pose.parse_translation_direction("+3.0, +0.0, +0.0").value[0], [1.0, 0.0, 0.0])
    assert not pose.parse_translation_direction("-0.00, +0.00, +0.00").ok  # zero: no direction
    assert not pose.parse_translation_direction("<think> 1, 0, 0").ok  # truncated
    # the release forms still parse, labels win over bare numbers
    assert pose.parse_yaw_pitch_roll("Yaw=+89.6°, Pitch=+2.6°, Roll=+6.1°").value == (89.6, 2.6, 6.1)
    assert pose.parse_rotation_angle("Rotation angle: 89.7 degrees").value == 89.7


@pytest.mark.parametrize("predicate", objects.QUALITATIVE_PREDICATES)
@pytest.mark.parametrize("truth", [True, False])
def test_objects_compact_qualitative_round_trip(predicate, truth):
    q, a = objects.render_compact_qualitative(predicate, A, B, truth)
    assert q.startswith("Is region (000, 039, 652, 999) ") and "region (006, 380, 228, 562)" in q
    assert "bounding box" not in q and q.endswith("?")
    assert a == ("Yes" if truth else "No")
    assert objects.parse_qualitative(a).value is truth


@pytest.mark.parametrize("kind", objects.QUANTITATIVE_KINDS)
def test_objects_compact_quantitative_round_trip(kind):
    single = kind in ("width", "height")
    value = 10 if kind == "direction" else 25.8962
    q, a = objects.render_compact_quantitative(kind, A, None if single else B, value)
    assert "region (000, 039, 652, 999)" in q and ("region (006, 380, 228, 562)" in q) != single
    if kind == "direction":
        assert a == "10 o'clock" and objects.parse_clock(a).value == 10
        three = objects.render_compact_quantitative(kind, A, B, 3)[1]
        assert three == "03 o'clock" and objects.parse_clock(three).value == 3
    else:
        assert a == "025.90 m" and objects.parse_quantitative_m(a).value == pytest.approx(25.90)
        small = objects.render_compact_quantitative(kind, A, None if single else B, 0.456)[1]
        assert small == "000.46 m" and objects.parse_quantitative_m(small).value == pytest.approx(0.46)
    with pytest.raises(ValueError):
        objects.render_compact_quantitative(kind, A, None, -1.0 if kind != "direction" else 13)


def test_objects_parsers_ignore_compact_regions():
    assert objects.compact_region_text(B) == "region (006, 380, 228, 562)"
    assert objects.compact_region_text((0, 0, 1000, 1000)) == "region (000, 000, 999, 999)"
    assert objects.parse_quantitative_m("region (1, 2, 3, 4) is 2.5 m wide").value == 2.5
    assert objects.parse_clock("region (1, 2, 3, 4) is at 3 o'clock").value == 3
    # the release region wording is still removed before parsing
    assert objects.parse_quantitative_m("bounding box region (1, 2, 3, 4) is 45.6 centimeters wide").value \
        == pytest.approx(0.456)


@pytest.mark.slow
def test_compact_is_shorter_in_real_tokens():
    from vlm3.model.tokenizer import load_qwen_tokenizer

    tok = load_qwen_tokenizer()

    def n(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    R = Rotation.from_euler("YXZ", [-4.5, -12.1, 0.2], degrees=True).as_matrix()
    t = np.array([0.09, 0.004, 0.08])
    rel, com = pose.render_answers(R, t), pose.render_compact_answers(R, t)
    for k in pose.QUESTION_IDS:
        assert n(com[k]) < n(rel[k]) and n(pose.COMPACT_QUESTIONS[k]) <= n(pose.QUESTIONS[k])
    assert n(depth.render_compact_answer(6.35)) < n(depth.render_answer(6.35, "plain"))
    assert n(depth.compact_prompt((234, 844))) < n(depth.prompt((234, 844)))
    assert n(correspondence.render_compact_answer((338, 52))) < n(correspondence.render_answer((338, 52)))
    q, a = objects.render_compact_qualitative("small", A, B, False)
    rq, ra = objects.render_qualitative("small", A, B, False, (2, 3))
    assert n(a) == 1 and n(q) < n(rq)
