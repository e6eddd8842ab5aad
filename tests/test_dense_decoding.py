"""Template-forced dense decoding (`vlm3.predictors.dense`, `vlm3.predictors.templates`):
the answer grammars accept the task renderers' answers (depth, correspondence, pose); the ``exact`` mode gives the
answers of plain greedy ``generate`` for random-weight models (which never write the
template: every draft is rejected and rows fall back to free decoding) and for a model
trained to write it (drafts accepted); ``template`` mode matches when the model writes the
template and always stays inside it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vlm3.protocol import COMPACT_FORMAT_VERSION

EOS = 151645


@pytest.fixture(scope="module")
def tok():
    from vlm3.model.factory import load_model_and_processor

    return load_model_and_processor("tiny", with_model=False)[1].tokenizer


def _walk(grammar, ids):
    state, forced = grammar.start(), 0
    for t in ids:
        forced += state.forced() is not None
        state = state.advance(t)
        if state is None:
            return None, forced
    return state, forced


def test_grammars_accept_the_rendered_answers(tok):
    from vlm3.predictors.templates import grammar_for
    from vlm3.tasks.correspondence import compact as corr_compact
    from vlm3.tasks.correspondence import text as corr_text
    from vlm3.tasks.depth import compact as depth_compact
    from vlm3.tasks.depth import text as depth_text

    cases = [("depth", None, [depth_text.render_answer(d, s) for d in (0.07, 3.17, 12.0, 254.5) for s in ("think", "plain")]),
             ("depth", COMPACT_FORMAT_VERSION, [depth_compact.render_answer(d) for d in (0.07, 3.17, 254.5)]),
             ("correspondence", None, [corr_text.render_answer(p) for p in [(0, 0), (17, 1000), (512, 88)]]),
             ("correspondence", COMPACT_FORMAT_VERSION, [corr_compact.render_answer(p) for p in [(0, 0), (17, 1000)]])]
    for task, fv, answers in cases:
        g = grammar_for(tok, task, fv, [EOS])
        assert g is not None, (task, fv)
        for a in answers:
            ids = tok(a, add_special_tokens=False)["input_ids"] + [EOS]
            state, forced = _walk(g, ids)
            assert state is not None and state.complete, (task, fv, a)
    # the release think answer: only the first token, the 4 number characters and the token that
    # closes the number are choices; the rest (copied number included) is forced
    g = grammar_for(tok, "depth", None, [EOS])
    ids = tok(depth_text.render_answer(3.17, "think"), add_special_tokens=False)["input_ids"] + [EOS]
    assert len(ids) - _walk(g, ids)[1] == 6
    # a different number in the answer tag than in the think block leaves the template
    bad = depth_text.render_answer(3.17, "think").replace("<answer> 3.17", "<answer> 3.18")
    assert _walk(g, tok(bad, add_special_tokens=False)["input_ids"])[0] is None
    assert grammar_for(tok, "object", None, [EOS]) is None


def test_calibration_grammars_accept_the_rendered_answers(tok):
    """The fifth task's answer templates live in its own text modules and compile like the others."""
    from vlm3.predictors.templates import TEMPLATES, grammar_for
    from vlm3.tasks.calibration import compact, text

    assert ("calibration", COMPACT_FORMAT_VERSION) in TEMPLATES
    for fv, fmt in ((None, text), (COMPACT_FORMAT_VERSION, compact)):
        g = grammar_for(tok, "calibration", fv, [EOS])
        assert g is not None, fv
        for fov in (7.0, 45.25, 63.4, 120.0, 179.9):
            ids = tok(fmt.render_answer(fov), add_special_tokens=False)["input_ids"] + [EOS]
            state, _ = _walk(g, ids)
            assert state is not None and state.complete, (fv, fov)


def test_pose_grammars_accept_the_rendered_answers(tok):
    """One grammar per pose question id, in both formats: every rendered answer (random
    rotations, translations from 1 cm to 10 m: signs and direction words vary) walks to the end."""
    from scipy.spatial.transform import Rotation

    from vlm3.predictors.templates import DIRECTION_WORDS, grammar_for, template_regex
    from vlm3.tasks.pose import compact as pose_compact
    from vlm3.tasks.pose import text as pose_text

    assert len(DIRECTION_WORDS) == 26 and "right, up, forward" in DIRECTION_WORDS
    rng = np.random.default_rng(0)
    for fv, mod in ((None, pose_text), (COMPACT_FORMAT_VERSION, pose_compact)):
        seen_words = set()
        for k in range(40):
            t = rng.normal(size=3) * rng.uniform(0.01, 10.0)
            for qid, answer in mod.render_answers(Rotation.random(random_state=k).as_matrix(), t).items():
                g = grammar_for(tok, "pose", fv, [EOS], qid)
                assert g is not None, (fv, qid)
                state, _ = _walk(g, tok(answer, add_special_tokens=False)["input_ids"] + [EOS])
                assert state is not None and state.complete, (fv, qid, answer)
                if qid == "translation_direction" and fv is None:
                    seen_words.add(answer.split(", unit")[0])
        assert fv is not None or len(seen_words) > 5
    assert grammar_for(tok, "pose", None, [EOS], "no_such_question") is None
    import re

    rx = template_regex("pose", None, "euler_natural")
    assert re.fullmatch(rx, "Yaw=+89.6°, Pitch=-2.6°, Roll=+6.1°") and not re.fullmatch(rx, "Yaw=89.6°")


@pytest.fixture(scope="module")
def micro():
    from vlm3.predictors.hf import HFPredictor

    return HFPredictor.from_pretrained("micro", batch_size=3, max_new_tokens=12)


def _depth_questions(n, seed=0):
    from vlm3.tasks.depth import text as depth_text

    rng = np.random.default_rng(seed)
    return [depth_text.prompt((int(rng.integers(0, 2000)), int(rng.integers(0, 2000)))) for _ in range(n)]


def test_exact_mode_is_greedy_generate_on_random_weights(micro):
    img = Image.fromarray((np.random.default_rng(0).random((64, 96, 3)) * 255).astype(np.uint8))
    qs = _depth_questions(5) + [_depth_questions(1, 1)[0].replace("(", "(1", 1)]  # suffix lengths differ
    micro.decoding = "generate"
    reference = micro.answer_with_prefix_reuse([img], qs, "depth", None)
    micro.decoding = "exact"
    assert micro.answer_with_prefix_reuse([img], qs, "depth", None) == reference
    assert micro.answer_with_prefix_reuse([img], qs) == reference  # no template: free decoding
    assert micro.answer_one_by_one([img], qs[:2]) == reference[:2]
    micro.decoding = "template"  # a random model never writes the template: forced answers differ ...
    forced = micro.answer_with_prefix_reuse([img], qs, "depth", None)
    assert forced != reference
    # ... but stay inside it (cut at max_new_tokens)
    assert all(t.startswith(("<think> The point is around ", "<answer> ")) for t in forced)
    micro.decoding = "exact"


def test_pose_questions_get_their_own_templates_and_stay_greedy(micro):
    """A pose Request (two images, four question ids) through `predict`: exact == generate,
    and template mode keeps each answer inside its own question's template."""
    from vlm3.predictors.base import Request
    from vlm3.tasks.pose import text as pose_text

    rng = np.random.default_rng(4)
    imgs = [Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)) for _ in range(2)]
    qids = list(pose_text.QUESTION_IDS)
    req = Request("p0", "pose", imgs, [pose_text.QUESTIONS[q] for q in qids], question_ids=qids)
    answers = {}
    for mode in ("generate", "exact", "template"):
        micro.decoding = mode
        answers[mode] = micro.predict([req])[0].texts
    micro.decoding = "exact"
    assert answers["exact"] == answers["generate"]
    starts = ("Rotation angle: ", "Yaw=", "The camera moves ", "Translation distance: ")
    assert all(t.startswith(s) for t, s in zip(answers["template"], starts)), answers["template"]


def test_suppressed_tokens_respected(micro):
    """A generation config that suppresses most of the vocabulary (the demo's answer head):
    the exact mode's argmax runs over the rows left, and matches ``generate`` with them."""
    from vlm3.predictors.hf import HFPredictor

    keep = set(range(15, 26)) | {EOS, 27, 29, 1, 366}
    model = micro.model
    old = model.generation_config.suppress_tokens
    model.generation_config.suppress_tokens = [i for i in range(model.config.text_config.vocab_size) if i not in keep]
    try:
        img = Image.fromarray((np.random.default_rng(2).random((64, 64, 3)) * 255).astype(np.uint8))
        qs = _depth_questions(4, 3)
        gen = HFPredictor(model, micro.processor, batch_size=4, max_new_tokens=10, decoding="generate")
        exact = HFPredictor(model, micro.processor, batch_size=4, max_new_tokens=10)
        ref = gen.answer_with_prefix_reuse([img], qs, "depth", None)
        assert exact.answer_with_prefix_reuse([img], qs, "depth", None) == ref
        toks = micro.processor.tokenizer(ref, add_special_tokens=False)["input_ids"]
        assert all(set(t) <= keep for t in toks)
    finally:
        model.generation_config.suppress_tokens = old


def test_bad_decoding_name_is_one_line(micro):
    from vlm3.errors import InputError
    from vlm3.predictors.hf import HFPredictor

    with pytest.raises(InputError, match="unknown decoding 'fast'; choose one of exact, template, generate"):
        HFPredictor(micro.model, micro.processor, decoding="fast")


@pytest.mark.slow
def test_trained_model_writes_template_and_all_modes_agree(tmp_path):
    """A micro model trained 80 steps on release think answers (the benchmark's recipe, the
    demo's answer vocabulary) writes the template: the exact and template modes give
    generate's answers."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_dense import _trained  # the benchmark's own recipe

    from _train_helpers import write_micro_preset
    from vlm3.predictors.hf import HFPredictor
    from vlm3.tasks.depth import text as depth_text

    path = _trained(str(write_micro_preset(tmp_path)), tmp_path / "work", 80, False, 4e-3, 4, (64, 64),
                    answer_vocab=True)
    pred = HFPredictor.from_pretrained(path, batch_size=16, max_new_tokens=40, decoding="generate")
    img = Image.open(next((tmp_path / "work").glob("data-*/images/train0.png")))
    qs = _depth_questions(24, 5)
    ref = pred.answer_with_prefix_reuse([img], qs, "depth", None)
    assert sum(depth_text.parse_answer(t).ok for t in ref) >= 20, ref[:3]
    assert pred.answer_one_by_one([img], qs[:3]) == ref[:3]
    pred.decoding = "exact"
    assert pred.answer_with_prefix_reuse([img], qs, "depth", None) == ref
    # template mode: identical wherever generate wrote the template (number copied, then the end)
    pred.decoding = "template"
    forced = pred.answer_with_prefix_reuse([img], qs, "depth", None)
    wrote = [i for i, t in enumerate(ref) if depth_text.parse_answer(t).ok
             and t == depth_text.render_answer(depth_text.parse_answer(t).value, "think")]
    assert wrote and all(forced[i] == ref[i] for i in wrote), (len(wrote), [ref[i] for i in wrote][:2])
    assert json.loads((Path(path) / "config.json").read_text())["model_type"] == "qwen3_vl"
