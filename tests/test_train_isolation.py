"""Question isolation: each packed answer gets exactly the logits of its single-question prompt."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from _train_helpers import write_micro_preset
from vlm3.model.factory import load_model_and_processor
from vlm3.train.collator import NO_TURN, SFTCollator, encode_sample
from vlm3.train.isolation import isolated_inputs
from vlm3.train.loss import answer_position_loss

QA = [("Depth at (0100, 0200)?", "003.5"), ("Depth at (1500, 0900)?", "012.2"), ("Depth at (0700, 1900)?", "001.9")]


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    return load_model_and_processor(str(write_micro_preset(tmp_path_factory.mktemp("m"))), min_pixels=1024,
                                    max_pixels=128 * 128)


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (64, 96 - 32 * i, 3), dtype=np.uint8)) for i in range(n)]


def _sample(images, qa):
    msgs = []
    for q, a in qa:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return {"images": images, "messages": msgs}


def _answer_logits(model, batch):
    with torch.no_grad():
        inputs = isolated_inputs(model, batch) if "turn_ids" in batch else batch
        _, out = answer_position_loss(model, inputs, return_outputs=True)
    return out.logits.reshape(-1, out.logits.shape[-1])


def test_turn_ids_mark_prefix_questions_and_dead_headers(micro):
    _, proc = micro
    enc = encode_sample(proc, _sample(_images(1), QA), isolate_questions=True)
    tok = proc.tokenizer
    turns = enc.turn_ids
    text = lambda mask: tok.decode(enc.input_ids[mask])  # noqa: E731
    assert text(turns == 0).startswith("<|im_start|>user\n<|vision_start|>") and text(turns == 0).endswith("<|vision_end|>")
    assert text(turns == 1) == f"{QA[0][0]}<|im_end|>\n<|im_start|>assistant\n{QA[0][1]}<|im_end|>\n"
    assert text(turns == 3) == f"{QA[2][0]}<|im_end|>\n<|im_start|>assistant\n{QA[2][1]}<|im_end|>\n"
    assert text(turns == NO_TURN) == "<|im_start|>user\n" * 2
    assert encode_sample(proc, _sample(_images(1), QA)).turn_ids is None


@pytest.mark.parametrize("n_images", [1, 2, 0])
def test_isolated_packed_answers_equal_single_question_prompts(micro, n_images):
    model, proc = micro
    images = _images(n_images)
    packed = SFTCollator(proc, isolate_questions=True)([_sample(images, QA), _sample(_images(n_images, 1), QA[:1])])
    got = _answer_logits(model, packed)
    want = torch.cat([_answer_logits(model, SFTCollator(proc)([_sample(images, [qa])])) for qa in QA]
                     + [_answer_logits(model, SFTCollator(proc)([_sample(_images(n_images, 1), QA[:1])]))])
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)
    # the plain packed forward differs (answers 2.. see earlier turns): isolation is not a no-op
    plain = _answer_logits(model, SFTCollator(proc)([_sample(images, QA), _sample(_images(n_images, 1), QA[:1])]))
    assert not torch.allclose(plain, want, atol=1e-3)


def test_eager_attention_gets_an_additive_mask_with_the_same_answers(micro, tmp_path):
    model, proc = micro
    eager, _ = load_model_and_processor(str(write_micro_preset(tmp_path)), min_pixels=1024, max_pixels=128 * 128,
                                        attn_implementation="eager")
    batch = SFTCollator(proc, isolate_questions=True)([_sample(_images(1), QA)])
    assert isolated_inputs(eager, batch)["attention_mask"].dtype == torch.float32
    assert isolated_inputs(model, batch)["attention_mask"].dtype == torch.bool
    torch.testing.assert_close(_answer_logits(eager, batch), _answer_logits(model, batch), atol=2e-5, rtol=1e-4)


def test_isolated_loss_has_gradients(micro):
    model, proc = micro
    batch = SFTCollator(proc, isolate_questions=True)([_sample(_images(1), QA)])
    loss = answer_position_loss(model, isolated_inputs(model, batch))
    grads = torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad], allow_unused=True)
    assert torch.isfinite(loss) and sum(float(g.abs().sum()) for g in grads if g is not None) > 0


def _toy_depth_set(root):
    from toy_data import depth_samples, write_dataset

    rng = np.random.default_rng(0)
    images, samples = {}, []
    for i in range(2):
        rel = f"images/toy{i}.png"
        images[rel] = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
        samples += depth_samples(rng.uniform(1.0, 9.0, (64, 64)), rel, 2, 3, rng, style="plain")
    return write_dataset(root, images, samples)


def _run_cfg(tmp_path, *extra):
    from vlm3.train.config import load_config

    return load_config(None, [
        f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024",
        f"data.train_path={_toy_depth_set(tmp_path / 'data')}", f"train.output_dir={tmp_path / 'run'}",
        "train.max_steps=2", "train.logging_steps=1", "train.per_device_batch_size=2", "train.global_batch_size=2", "train.save_steps=1000",
        "train.report_to=[]", "train.disable_tqdm=true", "data.isolate_questions=true", *extra])


def test_training_runs_with_isolated_questions(tmp_path):
    from vlm3.train.trainer import run_training

    metrics = run_training(_run_cfg(tmp_path, "train.answer_vocab=answers"))
    assert metrics["global_step"] == 2 and np.isfinite(metrics["final_loss"])


def test_flash_attention_with_isolation_is_refused(tmp_path):
    from vlm3.train.config import ConfigError
    from vlm3.train.trainer import run_training

    with pytest.raises(ConfigError, match="isolate_questions"):
        run_training(_run_cfg(tmp_path, "model.attn_implementation=flash_attention_2"))
