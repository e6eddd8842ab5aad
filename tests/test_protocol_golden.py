"""Golden tests: every prompt, answer and normalised coordinate published with the VLM3
release is reproduced character for character, and every released answer parses back to
the released values. They run on every clone: the published strings they need live in
tests/golden/release_strings.json (values unchanged from formats.json).

Regeneration: nothing in vlm3 regenerates these values; they are the published reference
(``formats.json``, copied unchanged from facebookresearch/VLM3 sample_data, kept in the
dev workspace at ../shared/data/vlm3_release/formats.json) and these tests must pass
against it. When a test needs a new field, add it to ``KEEP`` in
tests/golden/make_release_strings.py and run

    python tests/golden/make_release_strings.py ../shared/data/vlm3_release/formats.json

``test_kept_strings_equal_the_published_file`` checks the copy whenever ../shared is there.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from vlm3.geometry.euler import R_from_yaw_pitch_roll_deg, yaw_pitch_roll_deg_from_R
from vlm3.geometry.transforms import rotation_angle_deg
from vlm3.protocol import codecs
from vlm3.tasks.correspondence import text as correspondence
from vlm3.tasks.depth import text as depth
from vlm3.tasks.object import text as objects
from vlm3.tasks.pose import text as pose

from golden.make_release_strings import KEEP, select


@pytest.fixture
def formats(release_formats):
    return release_formats


def test_kept_strings_equal_the_published_file(release_formats, release_formats_path):
    published = json.loads(release_formats_path.read_text())
    assert select(published, KEEP) == release_formats  # rerun make_release_strings.py if not


# ---------------------------------------------------------------- depth
def test_depth_prompt_template_is_release_text(formats):
    assert depth.PROMPT_TEMPLATE == formats["depth"]["prompt_template"]
    assert depth.ANSWER_REGEX.pattern == formats["depth"]["answer_parse_regex"]


def test_depth_coordinates_and_prompts(formats):
    size = formats["depth"]["image_size_resized"]
    for s in formats["depth"]["samples"]:
        xy = codecs.encode_xy_norm2000(s["pixel_coord_resized"], size["width"], size["height"])
        assert xy.tolist() == s["pixel_coord_normalized_2000"]
        nx, ny = s["pixel_coord_normalized_2000"]
        assert depth.prompt(xy) == formats["depth"]["prompt_template"].format(norm_x=nx, norm_y=ny)


def test_depth_think_answer_is_release_style_and_parses_back(formats):
    tmpl = formats["depth"]["training_answer_style_of_predecessor_DepthLM"]
    for s in formats["depth"]["samples"]:
        d = s["depth_meters"]
        text = depth.render_answer(d, style="think")
        assert text == tmpl.format(depth=d)
        parsed = depth.parse_answer(text)
        assert parsed.ok and parsed.value == pytest.approx(round(d, 2), abs=1e-12)


# ---------------------------------------------------------------- correspondence
def test_correspondence_prompt_and_think_instruction(formats):
    c = formats["correspondence"]
    assert correspondence.PROMPT_TEMPLATE == c["prompt_template"]
    assert correspondence.THINK_INSTRUCTION == c["thinking_format_instruction"]
    first = c["samples"][0]
    xy = codecs.round_norm1000(first["img1_norm_1000"])
    assert correspondence.prompt(xy) == c["example_prompt"]
    assert correspondence.prompt(xy, think=True) == c["example_prompt"] + c["thinking_format_instruction"]


def test_correspondence_normalised_coordinates(formats):
    c = formats["correspondence"]
    size = c["image_size_resized"]
    for s in c["samples"]:
        for img in ("img1", "img2"):
            norm = codecs.xy_norm1000_float(s[f"{img}_pixel_in_resized"], size["width"], size["height"])
            assert norm.tolist() == pytest.approx(s[f"{img}_norm_1000"], abs=1.5e-3)
    gt = codecs.round_norm1000(c["samples"][0]["img2_norm_1000"])
    assert gt.tolist() == c["example_gt_norm_1000"]
    # the integer text coordinates equal int(round()) of the stored floats (release rule)
    for s in c["samples"]:
        ints = codecs.round_norm1000(s["img1_norm_1000"]).tolist()
        assert ints == [int(round(v)) for v in s["img1_norm_1000"]]


def test_correspondence_answer_is_paper_form_and_parses_back(formats):
    c = formats["correspondence"]
    x, y = c["example_gt_norm_1000"]
    text = correspondence.render_answer((x, y))
    assert text == c["answer_style_in_paper"].replace("(x, y)", f"({x}, {y})")
    assert correspondence.parse_answer(text).value == (x, y)


# ---------------------------------------------------------------- pose
def test_pose_questions_character_exact(formats):
    for qa in formats["pose"]["qa_pairs"]:
        assert pose.QUESTIONS[qa["question_id"]] == qa["question"]
    assert tuple(qa["question_id"] for qa in formats["pose"]["qa_pairs"]) == pose.QUESTION_IDS


def test_recomposed_yaw_pitch_roll_gives_released_angle(formats):
    gt = formats["pose"]["ground_truth_pose"]
    R = R_from_yaw_pitch_roll_deg(gt["yaw_deg"], gt["pitch_deg"], gt["roll_deg"])
    assert rotation_angle_deg(R) == pytest.approx(gt["rotation_angle_deg"], abs=1e-6)
    assert yaw_pitch_roll_deg_from_R(R) == pytest.approx((gt["yaw_deg"], gt["pitch_deg"], gt["roll_deg"]), abs=1e-9)


def test_pose_answers_rendered_character_exact(formats):
    gt = formats["pose"]["ground_truth_pose"]
    R = R_from_yaw_pitch_roll_deg(gt["yaw_deg"], gt["pitch_deg"], gt["roll_deg"])
    # the release gives the direction only to 2 decimals: rebuild t from it and the distance
    vec = np.array([float(v) for v in gt["translation_unit_vector"].strip("()").split(",")])
    t = vec / np.linalg.norm(vec) * gt["translation_distance_m"]
    answers = pose.render_answers(R, t, metric=formats["pose"]["scale_type"] == "metric")
    for qa in formats["pose"]["qa_pairs"]:
        assert answers[qa["question_id"]] == qa["answer"]
    assert answers["translation_direction"].startswith(f"The camera moves {gt['translation_direction']}, ")


def test_pose_released_answers_parse_back(formats):
    gt = formats["pose"]["ground_truth_pose"]
    parsed = pose.parse_answers({qa["question_id"]: qa["answer"] for qa in formats["pose"]["qa_pairs"]})
    assert parsed.ok, parsed.reason
    p = parsed.value
    assert p.angle_deg == 89.7 and p.yaw_pitch_roll_deg == (89.6, 2.6, 6.1)
    assert p.distance_m == 1.98 and p.words == ["left", "forward"] and p.words_agree
    R_gt = R_from_yaw_pitch_roll_deg(gt["yaw_deg"], gt["pitch_deg"], gt["roll_deg"])
    # 1-decimal angles: the rotation error is bounded by the rounding (< 0.1 deg)
    assert rotation_angle_deg(p.R_cam0_from_cam1.T @ R_gt) < 0.1
    assert p.angle_mismatch_deg < 0.1


# ---------------------------------------------------------------- objects
def test_object_boxes_prompt_and_answer(formats):
    o = formats["object"]
    size = o["image_size_original"]
    boxes = []
    for b in o["bboxes"]:
        norm = codecs.encode_box_norm1000(b["bbox_original_pixels"], size["width"], size["height"])
        assert norm.tolist() == b["bbox_normalized_1000"]
        boxes.append(norm)
    assert objects.render_question("small", boxes[0], boxes[1], template_idx=2) == o["prompt"]
    assert objects.render_qualitative_answer("small", boxes[0], boxes[1], truth=False, template_idx=3) == o["answer"]
    assert objects.render_qualitative("small", boxes[0], boxes[1], truth=False, template_idx=(2, 3)) == (
        o["prompt"], o["answer"])
    parsed = objects.parse_qualitative(o["answer"])
    assert parsed.ok and parsed.value is False
