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


def test_uint8_pixels_are_8x_smaller_and_normalise_to_the_processors_floats(proc):
    """Loader workers ship the resized bytes; on the device they become exactly the processor's floats."""
    import torch

    from vlm3.train.collator import normalize_pixel_values

    samples = [{"images": [_img(70, 100, seed=3)], "messages": [{"role": "user", "content": "q"},  # resized
                                                                 {"role": "assistant", "content": "a"}]},
               {"images": [_img(64, 64, seed=4), _img(96, 32, seed=5)],
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}]
    floats = SFTCollator(proc)(samples)
    small = SFTCollator(proc, uint8_pixels=True)(samples)
    assert small["pixel_values"].dtype == torch.uint8
    assert small["pixel_values"].shape == (floats["pixel_values"].shape[0], 768)
    ratio = floats["pixel_values"].nbytes / small["pixel_values"].nbytes
    print(f"pixel_values bytes per batch: float32 {floats['pixel_values'].nbytes}, "
          f"uint8 {small['pixel_values'].nbytes} ({ratio:.0f}x fewer)")
    assert ratio == 8
    for k in floats:
        if k != "pixel_values":
            assert torch.equal(floats[k], small[k]), k
    back = normalize_pixel_values(small, proc)
    assert back["pixel_values"].dtype == torch.float32
    assert torch.equal(back["pixel_values"], floats["pixel_values"])  # bit-identical, resize included
    assert normalize_pixel_values(floats, proc) is floats  # float batches pass through


def test_uint8_pixels_follow_the_processors_mean_and_std():
    """Per-channel mean/std (ImageNet-like, not Qwen's 0.5) go through the same exact path."""
    import torch

    from vlm3.train.collator import normalize_pixel_values

    p = build_processor(min_pixels=32 * 32, max_pixels=128 * 128)
    p.image_processor.image_mean = [0.48145466, 0.4578275, 0.40821073]
    p.image_processor.image_std = [0.26862954, 0.26130258, 0.27577711]
    s = [{"images": [_img(64, 96, seed=6)], "messages": [{"role": "user", "content": "q"},
                                                         {"role": "assistant", "content": "a"}]}]
    ref = SFTCollator(p)(s)["pixel_values"]
    got = normalize_pixel_values(SFTCollator(p, uint8_pixels=True)(s), p.image_processor)["pixel_values"]
    assert torch.allclose(got, ref, atol=1e-6, rtol=0)


def test_trainer_normalises_uint8_batches_before_the_model(tmp_path):
    """VLM3Trainer.compute_loss on the uint8 batch = the loss of the processor's float batch."""
    import torch
    from transformers import TrainingArguments

    from _train_helpers import write_micro_preset
    from vlm3.model.factory import load_model_and_processor
    from vlm3.train.loss import answer_position_loss
    from vlm3.train.trainer import VLM3Trainer

    model, p = load_model_and_processor(str(write_micro_preset(tmp_path)), min_pixels=1024, max_pixels=128 * 128)
    s = [{"images": [_img(64, 96, seed=7)], "messages": [{"role": "user", "content": "How far?"},
                                                         {"role": "assistant", "content": "3.50"}]}]
    args = TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none")
    trainer = VLM3Trainer(model=model, args=args, processing_class=p)
    with torch.no_grad():
        got = trainer.compute_loss(model, SFTCollator(p, uint8_pixels=True)(s))
        ref = answer_position_loss(model, SFTCollator(p)(s))
        wrong = answer_position_loss(model, {**SFTCollator(p, uint8_pixels=True)(s),
                                             "pixel_values": SFTCollator(p)(s)["pixel_values"] * 0})
    assert torch.equal(got, ref) and not torch.equal(got, wrong)
