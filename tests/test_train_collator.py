"""Label masking is exact: only assistant answers and their <|im_end|> carry the loss."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlm3.model.processor import build_processor
from vlm3.train.collator import IGNORE_INDEX, SampleTooLongError, SFTCollator, encode_sample, estimate_length


@pytest.fixture(scope="module")
def proc():
    return build_processor(min_pixels=32 * 32, max_pixels=128 * 128)


def _img(h=64, w=96, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _runs(labels):
    """Maximal runs of supervised positions as (start, end)."""
    sup = np.concatenate([[False], labels != IGNORE_INDEX, [False]])
    edges = np.flatnonzero(np.diff(sup.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def _check_exact(proc, sample, n_images_tokens, system=None):
    tok = proc.tokenizer
    enc = encode_sample(proc, sample, system=system)
    answers = [m["content"] for m in sample["messages"] if m["role"] == "assistant"]
    runs = _runs(enc.labels)
    assert len(runs) == len(answers)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    for (a, b), ans in zip(runs, answers):
        # exactly the answer's own tokens + <|im_end|>, nothing before or after
        assert enc.input_ids[a:b].tolist() == tok.encode(ans) + [im_end]
        assert tok.decode(enc.input_ids[a - 3:a]) == "<|im_start|>assistant\n"
        assert enc.labels[b] == IGNORE_INDEX and tok.decode([enc.input_ids[b]]) == "\n"
    sup = enc.labels != IGNORE_INDEX
    assert np.array_equal(enc.labels[sup], enc.input_ids[sup])
    assert sup.sum() == sum(len(tok.encode(a)) + 1 for a in answers)
    image_pad = tok.convert_tokens_to_ids("<|image_pad|>")
    assert (enc.input_ids == image_pad).sum() == n_images_tokens
    assert not sup[enc.input_ids == image_pad].any()
    return enc


def test_single_turn_masking(proc):
    sample = {"images": [_img()], "messages": [
        {"role": "user", "content": "How far is (10, 20)?"},
        {"role": "assistant", "content": "<think> about 3.50 m </think>\n\n<answer> 3.50 </answer>"}]}
    _check_exact(proc, sample, 6)


def test_packed_multi_turn_two_images_and_system(proc):
    sample = {"images": [_img(seed=1), _img(64, 64, seed=2)], "messages": [
        {"role": "user", "content": "Match (1, 2)?"}, {"role": "assistant", "content": "The corresponding pixel is (338, 52)"},
        {"role": "user", "content": "And (3, 4)?"}, {"role": "assistant", "content": "(5, 6)"},
        {"role": "user", "content": "Rotation?"}, {"role": "assistant", "content": " 12.5 degrees\n"}]}
    enc = _check_exact(proc, sample, 6 + 4, system="You are a 3D expert.")
    text = proc.tokenizer.decode(enc.input_ids)
    assert text.startswith("<|im_start|>system\nYou are a 3D expert.<|im_end|>\n<|im_start|>user\n<|vision_start|>")


def test_batch_padding_and_lengths(proc):
    s1 = {"images": [_img()], "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    s2 = {"images": [_img(96, 96)], "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                                                  {"role": "user", "content": "q2"}, {"role": "assistant", "content": "b"}]}
    batch = SFTCollator(proc)([s1, s2])
    n1 = len(encode_sample(proc, s1).input_ids)
    assert batch["attention_mask"][0].sum() == n1 == estimate_length(proc, s1)
    assert (batch["labels"][0, n1:] == IGNORE_INDEX).all()
    assert batch["image_grid_thw"].tolist() == [[1, 4, 6], [1, 6, 6]]
    assert batch["pixel_values"].shape == (24 + 36, 1536)
    assert int(batch["mm_token_type_ids"].sum()) == 6 + 9


def test_max_length_drops_trailing_pairs(proc):
    msgs = [m for i in range(4) for m in ({"role": "user", "content": f"question {i}"},
                                           {"role": "assistant", "content": f"answer {i}"})]
    sample = {"images": [_img()], "messages": msgs}
    full = encode_sample(proc, sample)
    cut = encode_sample(proc, sample, max_length=len(full.input_ids) - 1)
    assert cut.num_turns == 3 and len(cut.input_ids) < len(full.input_ids)
    with pytest.raises(SampleTooLongError):
        encode_sample(proc, sample, max_length=5)


def test_bad_messages_are_clear_errors(proc):
    from vlm3.model.chat import ChatFormatError

    with pytest.raises(ChatFormatError, match="alternate"):
        encode_sample(proc, {"images": [], "messages": [{"role": "assistant", "content": "a"}]})
    with pytest.raises(ChatFormatError, match="end with an assistant"):
        encode_sample(proc, {"images": [], "messages": [{"role": "user", "content": "q"}]})


def test_template_rendering_reproduces_the_golden_demo_tokens():
    """The collator renders through the Jinja template; token ids and labels of demo samples
    (all four tasks, compact and release formats, system turns, a truncated sample) equal
    those of the f-string renderer it replaced (tests/golden_chat_tokens.json, "about")."""
    import json
    from pathlib import Path

    golden = json.loads((Path(__file__).parent / "golden_chat_tokens.json").read_text())
    proc = build_processor(**golden["processor"])
    assert {c["task"] for c in golden["cases"]} >= {"depth", "correspondence", "pose", "object"}
    for case in golden["cases"]:
        images = [Image.new("RGB", (w, h), (120, 80, 40)) for h, w in case["image_hw"]]
        enc = encode_sample(proc, {"messages": case["messages"], "images": images}, system=case["system"],
                            max_length=case["max_length"])
        ids = [int(t) for t in case["input_ids"].split()]
        assert enc.input_ids.tolist() == ids, case["id"]
        assert _runs(enc.labels) == [tuple(r) for r in case["supervised"]], case["id"]
        assert enc.num_turns == case["num_turns"], case["id"]
