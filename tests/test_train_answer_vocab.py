"""Answer-vocabulary head (vlm3.train.small): same labels as the collator, the restricted softmax
of the full logits, and decoding confined to the vocabulary by the saved generation_config.json,
so plain transformers decodes a trained model exactly as vlm3 does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from _train_helpers import write_micro_preset, write_synthetic_depth_set
from vlm3.config import ConfigError
from vlm3.model.factory import load_model_and_processor
from vlm3.predictors.base import Request
from vlm3.predictors.hf import HFPredictor
from vlm3.train.collator import SFTCollator
from vlm3.train.config import load_config
from vlm3.train.small.answer_vocab import (
    AnswerHead,
    AnswerVocab,
    AnswerVocabError,
    answer_vocab_loss,
    collect_answer_vocab,
    restrict_generation,
)
from vlm3.train.loss import supervised_positions
from vlm3.train.dataset import ShardDataset
from vlm3.train.trainer import run_training


def _samples(rng):
    img = lambda h, w: Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))  # noqa: E731
    return [
        {"images": [img(64, 96)], "messages": [
            {"role": "user", "content": "Distance at (10, 20)?"}, {"role": "assistant", "content": "3.5"},
            {"role": "user", "content": "And at (30, 40)?"}, {"role": "assistant", "content": "12.25"}]},
        {"images": [img(64, 64), img(32, 64)], "messages": [
            {"role": "user", "content": "Behind?"}, {"role": "assistant", "content": "Yes"},
            {"role": "user", "content": "Pixel matching (1, 2)?"}, {"role": "assistant", "content": "(338, 52)"}]},
    ]


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    return load_model_and_processor(str(write_micro_preset(tmp_path_factory.mktemp("m"))),
                                    min_pixels=1024, max_pixels=128 * 128)


def test_vocab_is_exactly_the_collator_labels(micro):
    _, proc = micro
    samples = _samples(np.random.default_rng(0))
    vocab = collect_answer_vocab(samples, proc.tokenizer)
    batch = SFTCollator(proc)(samples)
    labels = {int(t) for t in batch["labels"].flatten() if t != -100}
    assert set(vocab.token_ids) == labels
    tokens = proc.tokenizer.convert_ids_to_tokens(list(vocab.token_ids))
    assert "<|im_end|>" in tokens and "Yes" in tokens and "(" in tokens


def test_loss_is_the_restricted_softmax_of_the_full_logits(micro):
    model, proc = micro
    samples = _samples(np.random.default_rng(1))
    vocab = collect_answer_vocab(samples, proc.tokenizer)
    batch = SFTCollator(proc)(samples)
    head = AnswerHead(vocab, model.config.text_config.vocab_size)
    loss = answer_vocab_loss(model, batch, head)
    keep, targets = supervised_positions(batch["labels"])
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    full = model(**inputs, logits_to_keep=keep, use_cache=False).logits.reshape(-1, model.config.text_config.vocab_size)
    ids = torch.tensor(vocab.token_ids)
    ref = F.cross_entropy(full[:, ids], torch.searchsorted(ids, targets))
    assert abs(loss.item() - ref.item()) < 1e-5
    loss.backward()
    grad = model.lm_head.weight.grad  # tied with the embedding: only answer rows and input rows move
    assert grad is not None and grad[ids].abs().sum() > 0
    model.zero_grad()
    with pytest.raises(AnswerVocabError, match="not in the answer vocabulary"):
        answer_vocab_loss(model, batch, AnswerHead(AnswerVocab(vocab.token_ids[:3]), head.position.numel()))


def test_restrict_generation_confines_plain_generate(tmp_path):
    model, proc = load_model_and_processor(str(write_micro_preset(tmp_path)), min_pixels=1024, max_pixels=128 * 128)
    vocab = AnswerVocab(tuple(sorted(proc.tokenizer.convert_tokens_to_ids([str(d) for d in range(10)] + ["<|im_end|>"]))))
    text = proc.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": "Depth?"}]}],
                                    tokenize=False, add_generation_prompt=True)
    enc = proc(text=[text], return_tensors="pt")
    n = enc["input_ids"].shape[1]
    free = model.generate(**enc, max_new_tokens=12, do_sample=False)[0, n:].tolist()
    assert not set(free) <= set(vocab.token_ids)  # the random model wanders off the vocabulary without it
    restrict_generation(model, vocab)
    new = model.generate(**enc, max_new_tokens=12, do_sample=False)[0, n:].tolist()
    assert new and set(new) <= set(vocab.token_ids)


def _plain_transformers_answers(model_dir, processor, image, questions, max_new_tokens):
    """Greedy answers of the saved model through plain transformers: ``from_pretrained`` + ``generate``."""
    from transformers import Qwen3VLForConditionalGeneration

    model = Qwen3VLForConditionalGeneration.from_pretrained(str(model_dir)).eval()
    answers = []
    for q in questions:
        text = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}],
                                             tokenize=False, add_generation_prompt=True)
        enc = processor(text=[text], images=[image], return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
        answers.append(processor.tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    return model, answers


def test_trained_model_decodes_the_same_in_plain_transformers(tmp_path, monkeypatch):
    from vlm3.train.small.trainer import SmallModelTrainer

    losses_by = []  # the class of the trainer whose loss ran, once a step
    answer_loss = SmallModelTrainer.answer_loss

    def spy(self, *args, **kwargs):
        losses_by.append(type(self))
        return answer_loss(self, *args, **kwargs)

    monkeypatch.setattr(SmallModelTrainer, "answer_loss", spy)
    data = write_synthetic_depth_set(tmp_path / "data")
    out = tmp_path / "run"
    cfg = load_config(None, [
        f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024", f"data.train_path={data}",
        f"train.output_dir={out}", "train.max_steps=2", "train.per_device_batch_size=2",
        "train.global_batch_size=2", "train.save_steps=2", "train.logging_steps=1", "train.learning_rate=1e-3",
        "train.report_to=[]", "train.disable_tqdm=true", "train.answer_vocab=answers"])
    res = run_training(cfg)
    assert res["global_step"] == 2 and np.isfinite(res["final_loss"])
    assert losses_by == [SmallModelTrainer] * 2  # run_training picked the subclass: the answer-vocabulary loss
    assert not list(out.rglob("answer_vocab.json"))  # nothing only vlm3 reads
    for folder in (out, out / "checkpoint-2"):
        assert "suppress_tokens" in (folder / "generation_config.json").read_text()

    pred = HFPredictor.from_pretrained(str(out), max_new_tokens=8)
    img_path = next((data / "images").glob("*.png"))
    questions = ["Distance at (5, 5)?", "And (9, 9)?", "What is in the picture?"]
    ours = pred.predict([Request("r", "depth", [str(img_path)], questions)])[0].texts
    image = Image.open(img_path).convert("RGB")
    plain, theirs = _plain_transformers_answers(out, pred.processor, image, questions, 8)
    assert ours == theirs
    vocab = collect_answer_vocab(ShardDataset(str(data)).samples, pred.processor.tokenizer)
    chars = set("".join(pred.processor.tokenizer.batch_decode([[i] for i in vocab.token_ids], skip_special_tokens=True)))
    assert all(a and set(a) <= chars for a in ours)  # digits, '.', ... never free text
    # the restriction is what the saved generation_config.json carries: without it the answers leave the vocabulary
    plain.generation_config.suppress_tokens = None
    text = pred.processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text",
                                               "text": questions[2]}]}], tokenize=False, add_generation_prompt=True)
    enc = pred.processor(text=[text], images=[image], return_tensors="pt")
    free = plain.generate(**enc, max_new_tokens=8, do_sample=False)[0, enc["input_ids"].shape[1]:].tolist()
    assert not set(free) <= set(vocab.token_ids)


def test_bad_modes_are_config_errors(tmp_path, monkeypatch):
    base = [f"model.name_or_path={write_micro_preset(tmp_path)}", f"data.train_path={tmp_path}",
            f"train.output_dir={tmp_path / 'o'}"]
    with pytest.raises(ConfigError, match="answer_vocab must be one of"):
        run_training(load_config(None, base + ["train.answer_vocab=some"]))
    with pytest.raises(ConfigError, match="not a transformers optimiser"):
        run_training(load_config(None, base + ["train.optim=adam"]))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="single-process"):
        run_training(load_config(None, base + ["train.answer_vocab=answers"]))
