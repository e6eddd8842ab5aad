"""The fifth task, camera calibration as text: metrics against hand-computed numbers, the two
text formats (round trips, malformed answers), the builder (labels from K, image only downsized,
views without K refused) and the baselines (oracle exact, trivial = median)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from data_helpers import write_rgbd_folder
from vlm3.metrics import calibration as cm
from vlm3.protocol import COMPACT_FORMAT_VERSION
from vlm3.tasks.calibration import TASK
from vlm3.tasks.calibration import compact, text
from vlm3.tasks.unit import GroundTruth, QuestionInputs


def test_fov_from_focal_by_hand():
    # fx = W / 2 -> tan(h/2) = 1 -> 90 deg; fx = (W/2) / tan(30 deg) -> 60 deg
    assert cm.hfov_deg_from_focal_px(500.0, 1000) == pytest.approx(90.0)
    assert cm.hfov_deg_from_focal_px(500.0 / math.tan(math.radians(30)), 1000) == pytest.approx(60.0)
    assert cm.focal_px_from_hfov_deg(90.0, 640) == pytest.approx(320.0)
    for bad in ((0.0, 100), (-1.0, 100), (float("nan"), 100), (100.0, 0)):
        with pytest.raises(ValueError):
            cm.hfov_deg_from_focal_px(*bad)
    with pytest.raises(ValueError):
        cm.focal_px_from_hfov_deg(180.0, 640)


def test_fov_metrics_by_hand():
    pred, gt = [61.0, 58.0, 70.0, 45.5], [60.0, 60.0, 60.0, 45.0]
    # errors 1, 2, 10, 0.5 -> median (1 + 2) / 2 = 1.5; strict thresholds: <1: {0.5}, <2: {1, 0.5}, <5: {1, 2, 0.5}
    assert cm.median_fov_error_deg(pred, gt) == pytest.approx(1.5)
    assert cm.fraction_within_deg(pred, gt, 1.0) == pytest.approx(0.25)
    assert cm.fractions_within_deg(pred, gt) == pytest.approx({"within_1deg": 0.25, "within_2deg": 0.5,
                                                               "within_5deg": 0.75})
    for p, g in (([], []), ([60.0], [60.0, 61.0]), ([float("inf")], [60.0]), ([180.0], [60.0]), ([60.0], [0.0])):
        with pytest.raises(ValueError):
            cm.median_fov_error_deg(p, g)


@pytest.mark.parametrize("fmt", [text, compact])
def test_formats_round_trip_and_refuse_malformed_answers(fmt):
    for fov in (0.4, 12.0, 63.44, 63.46, 120.0, 179.9):
        parsed = fmt.parse_answer(fmt.render_answer(fov))
        assert parsed.ok and parsed.value == pytest.approx(round(fov, 1), abs=1e-9)
    for bad in ("", "   ", "<think> 60", "no number", "60 and 70 degrees", "180", "0", "-5 degrees", "1e999"):
        assert not fmt.parse_answer(bad).ok, bad
    for bad in (0.0, 180.0, -3.0, float("nan")):
        with pytest.raises(ValueError):
            fmt.render_answer(bad)
    assert fmt.prompt() == fmt.PROMPT_TEMPLATE


def test_the_exact_strings():
    assert text.prompt() == "What is the horizontal field of view of this image?"
    assert text.render_answer(63.44) == "The horizontal field of view is 63.4 degrees."
    assert compact.render_answer(63.44) == "063.4" and compact.render_answer(7.0) == "007.0"
    assert text.parse_answer("<think> wide lens </think> about 75 deg").value == 75.0
    assert not compact.parse_answer("The horizontal field of view is 63.4 degrees.").ok  # each parser its own format


def _ctx(max_pixels=160 * 120, text_format="release"):
    from vlm3.tasks.common import BuildContext, TaskConfig
    return BuildContext(TaskConfig(focal_px=1000.0, max_pixels=max_pixels, text_format=text_format))


def _views(tmp_path, **kw):
    from vlm3.data.adapters import load_adapter
    from vlm3.data.config import SourceConfig

    meta = write_rgbd_folder(tmp_path / "rgbd", n=2, **kw)
    return [r for r in load_adapter("rgbd_folder").iter_records(SourceConfig(name="r", adapter="rgbd_folder",
                                                                             path=str(meta)))]


def test_build_labels_the_field_of_view_of_k_on_the_downsized_image(tmp_path):
    views = _views(tmp_path, width=320, height=240, fx=300.0)
    draft = TASK.build(views[0], _ctx(), np.random.default_rng(0))
    (image,) = draft.images
    assert image.shape == (120, 160, 3)  # 320 x 240 capped at 160 x 120: downsized, aspect kept, nothing cut
    expected = math.degrees(2 * math.atan(320 / (2 * 300.0)))  # 56.14 deg: resizing keeps the field of view
    assert draft.labels["hfov_deg"] == 56.1  # the value the answer states (the oracle scores 0)
    cam = draft.labels["camera"]  # the camera keeps full precision
    assert math.degrees(2 * math.atan(cam["width"] / (2 * cam["fx"]))) == pytest.approx(expected, abs=1e-9)
    assert draft.qa == [(text.prompt(), text.render_answer(expected))]
    assert draft.labels["camera"]["width"] == 160 and draft.labels["camera_from"] == "given"
    small = TASK.build(views[0], _ctx(max_pixels=10 ** 7), np.random.default_rng(0))
    assert small.images[0].shape == (240, 320, 3)  # never enlarged
    assert small.labels["hfov_deg"] == 56.1
    compact_draft = TASK.build(views[0], _ctx(text_format="compact"), np.random.default_rng(0))
    assert compact_draft.qa == [("Horizontal FoV?", "056.1")] and compact_draft.format_version == COMPACT_FORMAT_VERSION


def test_a_view_without_k_is_refused_never_labelled_by_a_guess(tmp_path):
    from dataclasses import replace

    from vlm3.io.records import RecordError

    view = replace(_views(tmp_path)[0], camera=None)
    assert not TASK.usable(view)
    with pytest.raises(RecordError, match="intrinsics"):
        TASK.build(view, _ctx(), np.random.default_rng(0))


@pytest.mark.parametrize("format_version", [None, COMPACT_FORMAT_VERSION])
def test_oracle_and_trivial_baselines(format_version):
    labels = [{"hfov_deg": v} for v in (50.0, 61.0, 70.0, 90.0)]  # labels state the text's 0.1 deg
    asked = QuestionInputs(format_version=format_version)
    oracle = [TASK.oracle_answers(asked, 1, GroundTruth(lab))[0] for lab in labels]
    s = TASK.score(TASK.parse(oracle, asked), [lab["hfov_deg"] for lab in labels])
    assert s["fov_err_deg_median"] == 0.0 and s["within_1deg"] == 1.0 and s["parse_rate"] == 1.0
    stats = TASK.trivial_fit(labels, TASK.trivial_defaults())
    assert stats["median_hfov_deg"] == pytest.approx((61.0 + 70.0) / 2)
    triv = TASK.trivial_answers(asked, 4, stats)
    s = TASK.score(TASK.parse(triv, asked), [lab["hfov_deg"] for lab in labels])
    # answers 65.5: errors 15.5, 4.5, 4.5, 24.5 -> median 10.0; under 5 deg: 2 of 4
    assert s["fov_err_deg_median"] == pytest.approx(10.0) and s["within_5deg"] == 0.5
    bad = TASK.score(TASK.parse(["no idea", oracle[1]], asked), [50.0, 61.0])
    assert bad["parse_rate"] == 0.5 and bad["within_1deg"] == 0.5  # the failure counts as wrong
