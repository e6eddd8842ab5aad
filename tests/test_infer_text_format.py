"""`predict_*` write the prompts of the format the model was trained on (release or compact)."""

from __future__ import annotations

import numpy as np
import pytest

from vlm3.infer import api
from vlm3.errors import InputError
from vlm3.predictors.base import Prediction
from vlm3.tasks.correspondence import compact as corr_compact
from vlm3.tasks.depth import compact as depth_compact
from vlm3.tasks.depth import text as depth_text
from vlm3.tasks.pose import compact as pose_compact
class EchoDepth:
    """Isolates prompt building: records the questions and gives one fixed answer to each."""

    name = "echo"

    def __init__(self, answer: str):
        self.answer, self.questions = answer, []

    def predict(self, requests):
        out = []
        for r in requests:
            self.questions += r.questions
            out.append(Prediction(r.id, [self.answer] * len(r.questions)))
        return out


IMAGE = np.random.default_rng(0).integers(0, 255, (192, 256, 3), dtype=np.uint8)
K = (200.0, 200.0, 127.5, 95.5)


@pytest.mark.parametrize("fmt,answer", [("release", "<answer> 2.50 </answer>"), ("compact", "002.5")])
def test_depth_prompts_follow_the_text_format(fmt, answer):
    pred = EchoDepth(answer)
    res = api.predict_depth(pred, IMAGE, np.array([[10.0, 20.0], [200.0, 150.0]]), K, focal_px=200.0,
                            max_pixels=256 * 192, text_format=fmt)
    expected = depth_compact.prompt if fmt == "compact" else depth_text.prompt
    assert all(q == expected(tuple(int(v) for v in q.split("(")[1].split(")")[0].split(", "))) for q in pred.questions)
    np.testing.assert_allclose(res.depth_m, [2.5, 2.5])


def test_match_and_pose_prompts_follow_the_text_format():
    pred = EchoDepth("(500, 500)")
    api.predict_match(pred, IMAGE, IMAGE, np.array([[10.0, 20.0]]), K, K, focal_px=200.0, max_pixels=256 * 192,
                      text_format="compact")
    assert pred.questions[0].startswith(corr_compact.prompt((0, 0)).split("(")[0])
    pred = EchoDepth("0")
    api.predict_pose(pred, IMAGE, IMAGE, K, K, focal_px=200.0, max_pixels=256 * 192, text_format="compact")
    assert pred.questions == [pose_compact.QUESTIONS[i] for i in pose_compact.QUESTION_IDS]


@pytest.mark.parametrize("fmt,answer", [("release", "002.5"), ("compact", "<answer> 2.50 </answer>")])
def test_answers_are_parsed_in_the_requested_format_only(fmt, answer):
    """An answer in the other format is a counted failure (NaN depth, ok False), not a value."""
    res = api.predict_depth(EchoDepth(answer), IMAGE, np.array([[10.0, 20.0]]), K, focal_px=200.0,
                            max_pixels=256 * 192, text_format=fmt)
    assert res.ok == [False] and np.isnan(res.depth_m).all()


def test_unknown_text_format_is_a_clear_error():
    with pytest.raises(InputError, match="unknown text format 'short'"):
        api.predict_depth(EchoDepth("1"), IMAGE, np.array([[10.0, 20.0]]), K, focal_px=200.0,
                          max_pixels=256 * 192, text_format="short")
