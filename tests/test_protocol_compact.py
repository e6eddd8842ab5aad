"""The compact text format ("vlm3-compact-v3", demo only): fixed-width strings, render ->
parse round trips with its own parsers, each format's parsers refusing the other format's
answers (a counted failure with a reason), one interface for both formats, and (slow)
fewer tokens than the release."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from vlm3.geometry.transforms import rotation_angle_deg
from vlm3.protocol import COMPACT_FORMAT_VERSION, FORMAT_VERSION, FORMAT_VERSIONS, format_version_of
from vlm3.tasks import packing
from vlm3.tasks.common import text_format_for
from vlm3.tasks.correspondence import compact as correspondence
from vlm3.tasks.correspondence import text as correspondence_release
from vlm3.tasks.depth import compact as depth
from vlm3.tasks.depth import text as depth_release
from vlm3.tasks.object import compact as objects
from vlm3.tasks.object import text as objects_release
from vlm3.tasks.pose import compact as pose
from vlm3.tasks.pose import text as pose_release

A, B = (0, 39, 652, 999), (6, 380, 228, 562)
#: The functions both formats of a task have (same names, same leading parameters).
INTERFACE = {
    "depth": ("prompt", "render_answer", "parse_answer"),
    "correspondence": ("prompt", "render_answer", "parse_answer"),
    "pose": ("QUESTION_IDS", "QUESTIONS", "PoseText", "render_answers", "render_answers_from_T_cam1_from_cam0",
             "parse_rotation_angle", "parse_yaw_pitch_roll", "parse_translation_direction",
             "parse_translation_distance", "parse_answers"),
    "object": ("QUALITATIVE_PREDICATES", "QUANTITATIVE_KINDS", "region_text", "render_qualitative",
               "render_quantitative", "parse_qualitative", "parse_quantitative_m", "parse_clock"),
}


def test_format_versions_and_lookup():
    assert format_version_of("release") == FORMAT_VERSION == "vlm3-release-v1"
    assert format_version_of("compact") == COMPACT_FORMAT_VERSION == "vlm3-compact-v3"
    assert list(FORMAT_VERSIONS) == ["release", "compact"]  # the default first
    with pytest.raises(ValueError, match="unknown text format"):
        format_version_of("short")
    s = packing.pack_sample([("q", "a")], ["x.png"], "depth", "src", format_version=COMPACT_FORMAT_VERSION)
    assert s["format_version"] == "vlm3-compact-v3"
    assert text_format_for("depth") is depth_release  # no format_version: the release
    assert text_format_for("pose", FORMAT_VERSION) is pose_release
    assert text_format_for("object", COMPACT_FORMAT_VERSION) is objects
    with pytest.raises(ValueError, match="unknown format_version"):
        text_format_for("depth", "vlm3-compact-v2")
    with pytest.raises(ValueError, match="no vlm3-release-v1 text format"):
        text_format_for("colour", FORMAT_VERSION)


@pytest.mark.parametrize("task", sorted(INTERFACE))
def test_both_formats_have_one_interface(task):
    release, compact = text_format_for(task, FORMAT_VERSION), text_format_for(task, COMPACT_FORMAT_VERSION)
    for name in INTERFACE[task]:
        r, c = getattr(release, name), getattr(compact, name)
        if inspect.isfunction(r):
            rp, cp = list(inspect.signature(r).parameters), list(inspect.signature(c).parameters)
            assert rp[: len(cp)] == cp, (name, rp, cp)  # the release may add options (unit=...)
        elif isinstance(r, (tuple, dict)):
            assert list(r) == list(c), name
        else:
            assert r is c, name  # shared objects (PoseText)
    assert "demo only" in compact.__doc__.lower() and "release" in compact.__doc__


def test_depth_compact_strings_and_round_trip():
    assert depth.prompt((234, 44)) == "Distance at (0234, 0044)?"
    # fixed width DDD.D: the first digit is the most significant one
    assert [depth.render_answer(d) for d in (6.349, 9.5, 12.44, 123.456, 0.994, 0.471, 0.01, 1234.5)] == \
        ["006.3", "009.5", "012.4", "123.5", "001.0", "000.5", "000.1", "1234.5"]
    assert depth.render_answer(6.35, "think") == depth.render_answer(6.35, "plain")  # one style
    assert "<" not in depth.render_answer(6.35)  # no think / answer tags
    for d in np.geomspace(0.1, 300.0, 500):
        got = depth.parse_answer(depth.render_answer(d))
        assert got.ok and abs(got.value - d) <= 0.05 + 1e-9  # 1 decimal: 5 cm of rounding at most
    with pytest.raises(ValueError):
        depth.render_answer(0.0)
    with pytest.raises(ValueError):
        depth.prompt((2000, 5))
    for bad in ("", "<think> 3", "nan", "-1.0", "0", "3.2 km", "about 3"):
        assert not depth.parse_answer(bad).ok and depth.parse_answer(bad).reason
    assert depth.parse_answer("<think> hmm </think> 003.2 m").value == 3.2


def test_correspondence_compact_strings_and_round_trip():
    assert correspondence.prompt((440, 60)) == "Match (440, 060) in image 2?"
    assert correspondence.prompt((440, 60), think=True).endswith(correspondence_release.THINK_INSTRUCTION)
    for xy, text in (((338, 52), "(338, 052)"), ((0, 0), "(000, 000)"), ((1000, 7), "(999, 007)")):
        assert correspondence.render_answer(xy) == text
        assert correspondence.parse_answer(text).value == (float(min(xy[0], 999)), float(xy[1]))
    with pytest.raises(ValueError):
        correspondence.render_answer((1.5, 2))
    for bad in ("", "(1, 2, 3)", "(nan, 3)", "(5000, 2)", "<think> (1, 2)", "at (1, 2)"):
        assert not correspondence.parse_answer(bad).ok


def test_pose_compact_example():
    R = Rotation.from_euler("YXZ", [-4.5, -12.1, 0.2], degrees=True).as_matrix()
    ans = pose.render_answers(R, np.array([0.09, 0.004, 0.08]))
    assert ans["euler_natural"] == "-004.5, -012.1, +000.2"
    assert ans["rotation_angle"] == f"{rotation_angle_deg(R):05.1f}" == "012.9"
    assert ans["translation_direction"] == "+0.75, +0.03, +0.66"
    assert ans["translation_distance"] == "00.12"
    assert set(pose.QUESTIONS) == set(pose.QUESTION_IDS)
    assert "translation_distance" not in pose.render_answers(R, np.ones(3), metric=False)
    with pytest.raises(ValueError, match="zero"):
        pose.render_answers(R, np.zeros(3))


@settings(max_examples=150, deadline=None)
@given(q=st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda v: np.linalg.norm(v) > 0.1),
       t=st.lists(st.floats(-5, 5), min_size=3, max_size=3).filter(lambda v: np.linalg.norm(v) > 0.05))
def test_pose_compact_round_trip(q, t):
    R = Rotation.from_quat(np.asarray(q) / np.linalg.norm(q)).as_matrix()
    t = np.asarray(t)
    got = pose.parse_answers(pose.render_answers(R, t), max_angle_mismatch_deg=0.2)
    assert got.ok, got.reason
    p = got.value
    assert rotation_angle_deg(p.R_cam0_from_cam1 @ R.T) < 0.16  # 3 angles x 0.05 deg
    cos = float(p.t_unit_cam0 @ t / np.linalg.norm(t))
    assert math.degrees(math.acos(min(1.0, cos))) < 0.6  # 2-decimal unit vector
    assert p.distance_m == pytest.approx(np.linalg.norm(t), abs=0.005 + 1e-9)
    assert p.words == [] and p.words_agree is None
    # compact and release answers give the same pose
    rel = pose_release.parse_answers(pose_release.render_answers(R, t)).value
    np.testing.assert_allclose(rel.R_cam0_from_cam1, p.R_cam0_from_cam1, atol=1e-12)
    np.testing.assert_allclose(rel.t_unit_cam0, p.t_unit_cam0, atol=1e-12)


def test_pose_T_round_trip_through_compact_answers():
    rng = np.random.default_rng(0)
    for _ in range(20):
        T_cam1_from_cam0 = np.eye(4)
        T_cam1_from_cam0[:3, :3] = Rotation.random(random_state=rng).as_matrix()
        T_cam1_from_cam0[:3, 3] = rng.normal(size=3)
        p = pose.parse_answers(pose.render_answers_from_T_cam1_from_cam0(T_cam1_from_cam0)).value
        T_txt = p.T_cam1_from_cam0()
        assert rotation_angle_deg(T_txt[:3, :3] @ T_cam1_from_cam0[:3, :3].T) < 0.16
        c_gt = -T_cam1_from_cam0[:3, :3].T @ T_cam1_from_cam0[:3, 3]  # camera 1's centre in camera 0
        c_txt = -T_txt[:3, :3].T @ T_txt[:3, 3]
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
    assert pose.parse_translation_distance("00.12 m").value == 0.12
    assert not pose.parse_translation_distance("12 cm").ok  # the compact distance is in metres
    assert not pose.parse_translation_distance("-0.5").ok
    assert not pose.parse_translation_direction("+0.75, +0.03").ok
    # any non-zero vector is a direction (the release notebook normalises predictions too)
    np.testing.assert_allclose(pose.parse_translation_direction("+3.0, +0.0, +0.0").value[0], [1.0, 0.0, 0.0])
    assert not pose.parse_translation_direction("-0.00, +0.00, +0.00").ok  # zero: no direction
    assert not pose.parse_translation_direction("<think> 1, 0, 0").ok  # truncated


@pytest.mark.parametrize("predicate", objects.QUALITATIVE_PREDICATES)
@pytest.mark.parametrize("truth", [True, False])
def test_objects_compact_qualitative_round_trip(predicate, truth):
    q, a = objects.render_qualitative(predicate, A, B, truth)
    assert q.startswith("Is region (000, 039, 652, 999) ") and "region (006, 380, 228, 562)" in q
    assert "bounding box" not in q and q.endswith("?")
    assert a == ("Yes" if truth else "No")
    assert objects.render_qualitative(predicate, A, B, truth, 2) == (q, a)  # template_idx ignored
    assert objects.parse_qualitative(a).value is truth


@pytest.mark.parametrize("kind", objects.QUANTITATIVE_KINDS)
def test_objects_compact_quantitative_round_trip(kind):
    single = kind in ("width", "height")
    value = 10 if kind == "direction" else 25.8962
    q, a = objects.render_quantitative(kind, A, None if single else B, value)
    assert "region (000, 039, 652, 999)" in q and ("region (006, 380, 228, 562)" in q) != single
    if kind == "direction":
        assert a == "10 o'clock" and objects.parse_clock(a).value == 10
        three = objects.render_quantitative(kind, A, B, 3)[1]
        assert three == "03 o'clock" and objects.parse_clock(three).value == 3
    else:
        assert a == "025.90 m" and objects.parse_quantitative_m(a).value == pytest.approx(25.90)
        small = objects.render_quantitative(kind, A, None if single else B, 0.456)[1]
        assert small == "000.46 m" and objects.parse_quantitative_m(small).value == pytest.approx(0.46)
    with pytest.raises(ValueError):
        objects.render_quantitative(kind, A, None, -1.0 if kind != "direction" else 13)


def test_objects_compact_regions_and_failures():
    assert objects.region_text(B) == "region (006, 380, 228, 562)"
    assert objects.region_text((0, 0, 1000, 1000)) == "region (000, 000, 999, 999)"
    for bad in ("", "Maybe", "Yes, it is.", "<think> Yes"):
        assert not objects.parse_qualitative(bad).ok
    for bad in ("", "25 cm", "It is 2.5 m wide", "nan m", "-1 m"):
        assert not objects.parse_quantitative_m(bad).ok
    for bad in ("", "13 o'clock", "It is at 3 o'clock"):
        assert not objects.parse_clock(bad).ok


def _release_answers() -> dict[str, tuple]:
    """(parser pair, release answer, compact answer) per question, rendered from one truth."""
    R = Rotation.from_euler("YXZ", [-4.5, -12.1, 0.2], degrees=True).as_matrix()
    t = np.array([0.09, 0.004, 0.08])
    rp, cp = pose_release.render_answers(R, t), pose.render_answers(R, t)
    return {
        "depth": (depth_release.parse_answer, depth.parse_answer,
                  depth_release.render_answer(6.35, "plain"), depth.render_answer(6.35)),
        "depth_think": (depth_release.parse_answer, depth.parse_answer,
                        depth_release.render_answer(6.35, "think"), depth.render_answer(6.35)),
        "correspondence": (correspondence_release.parse_answer, correspondence.parse_answer,
                           correspondence_release.render_answer((338, 52)), correspondence.render_answer((338, 52))),
        "rotation_angle": (pose_release.parse_rotation_angle, pose.parse_rotation_angle,
                           rp["rotation_angle"], cp["rotation_angle"]),
        "euler_natural": (pose_release.parse_yaw_pitch_roll, pose.parse_yaw_pitch_roll,
                          rp["euler_natural"], cp["euler_natural"]),
        "translation_direction": (pose_release.parse_translation_direction, pose.parse_translation_direction,
                                  rp["translation_direction"], cp["translation_direction"]),
        "translation_distance": (pose_release.parse_translation_distance, pose.parse_translation_distance,
                                 rp["translation_distance"], cp["translation_distance"]),
        "object_quantity": (objects_release.parse_quantitative_m, objects.parse_quantitative_m,
                            objects_release.render_quantitative("width", A, None, 25.8962)[1],
                            objects.render_quantitative("width", A, None, 25.8962)[1]),
        "object_clock": (objects_release.parse_clock, objects.parse_clock,
                         objects_release.render_quantitative("direction", A, B, 5)[1],
                         objects.render_quantitative("direction", A, B, 5)[1]),
        "object_yes_no": (objects_release.parse_qualitative, objects.parse_qualitative,
                          objects_release.render_qualitative("left", A, B, True)[1],
                          objects.render_qualitative("left", A, B, True)[1]),
    }


@pytest.mark.parametrize("question", sorted(_release_answers()))
def test_each_parser_reads_its_own_format_only(question):
    parse_release, parse_compact, release_answer, compact_answer = _release_answers()[question]
    assert parse_release(release_answer).ok and parse_compact(compact_answer).ok
    # the other format's answer: a failure with a reason (counted by the failure policy), never a value
    wrong = parse_compact(release_answer)
    assert not wrong.ok and wrong.reason
    if question == "object_yes_no":
        # the one shared answer: a bare Yes/No is release wording too (its templates have "No.")
        assert parse_release(compact_answer).value is True
    else:
        wrong = parse_release(compact_answer)
        assert not wrong.ok and wrong.reason


def test_pose_parse_answers_refuses_the_other_format():
    R = Rotation.from_euler("YXZ", [10.0, 2.0, -3.0], degrees=True).as_matrix()
    t = np.array([0.5, 0.0, 1.0])
    out = pose_release.parse_answers(pose.render_answers(R, t))
    assert not out.ok and "euler_natural" in out.reason and "translation_direction" in out.reason
    out = pose.parse_answers(pose_release.render_answers(R, t))
    assert not out.ok and "euler_natural" in out.reason


@pytest.mark.slow
def test_compact_is_shorter_in_real_tokens():
    from vlm3.model.tokenizer import load_qwen_tokenizer

    tok = load_qwen_tokenizer()

    def n(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    R = Rotation.from_euler("YXZ", [-4.5, -12.1, 0.2], degrees=True).as_matrix()
    t = np.array([0.09, 0.004, 0.08])
    rel, com = pose_release.render_answers(R, t), pose.render_answers(R, t)
    for k in pose.QUESTION_IDS:
        assert n(com[k]) < n(rel[k]) and n(pose.QUESTIONS[k]) <= n(pose_release.QUESTIONS[k])
    assert n(depth.render_answer(6.35)) < n(depth_release.render_answer(6.35, "plain"))
    assert n(depth.prompt((234, 844))) < n(depth_release.prompt((234, 844)))
    assert n(correspondence.render_answer((338, 52))) < n(correspondence_release.render_answer((338, 52)))
    q, a = objects.render_qualitative("small", A, B, False)
    rq, ra = objects_release.render_qualitative("small", A, B, False, (2, 3))
    assert n(a) == 1 and n(q) < n(rq)
