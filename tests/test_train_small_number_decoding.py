"""Median decoding of numbers: on a known distribution over fixed-width answers the digit walk
writes exactly the median value; non-number tokens stay greedy; the predictor takes it as its
``decoding_processor`` (vlm3.train.small.number_decoding, the CPU demo's decoding)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlm3.train.small.number_decoding import MedianNumbers, NumberDecodingError, predictor_kwargs
from vlm3.model.tokenizer import load_qwen_tokenizer


@pytest.fixture(scope="module")
def tok():
    return load_qwen_tokenizer()


def _decode_with(tok, dist: dict[str, float], processor: MedianNumbers | None) -> str:
    """Run a toy autoregressive 'model' whose answers follow ``dist`` (string -> probability):
    at each step the scores are the log conditional next-token probabilities."""
    seqs = {s: tok.encode(s, add_special_tokens=False) + [tok.eos_token_id] for s in dist}
    out: list[int] = []
    vocab = len(tok)
    while not out or out[-1] != tok.eos_token_id:
        nxt: dict[int, float] = {}
        for s, ids in seqs.items():
            if ids[:len(out)] == out:
                nxt[ids[len(out)]] = nxt.get(ids[len(out)], 0.0) + dist[s]
        scores = torch.full((1, vocab), float("-inf"))
        for t, p in nxt.items():
            scores[0, t] = float(np.log(p))
        ids = torch.tensor([[1, 2, 3] + out])
        if processor is not None:
            scores = processor(ids, scores)
        out.append(int(scores[0].argmax()))
    return tok.decode(out[:-1])


def _median(dist: dict[str, float]) -> str:
    items = sorted(dist.items(), key=lambda kv: float(kv[0]))
    cum = np.cumsum([p for _, p in items])
    return items[int(np.searchsorted(cum, 0.5, side="right"))][0]


def test_walk_writes_the_median_of_fixed_width_numbers(tok):
    rng = np.random.default_rng(0)
    for trial in range(30):
        signed = trial % 2 == 1
        values = rng.choice(2000, size=int(rng.integers(2, 12)), replace=False) / 10.0
        if signed:
            values = values * rng.choice([-1, 1], size=values.size)
        texts = [f"{v:+06.1f}" if signed else f"{v:05.1f}" for v in values]
        probs = rng.dirichlet(np.ones(len(texts)))
        dist = dict(zip(texts, probs))
        got = _decode_with(tok, dist, MedianNumbers(tok))
        assert got == _median(dist), (dist, got)


def test_greedy_digit_modes_are_not_the_median(tok):
    # greedy: units '2' (0.4) then tenths '1': the 25th percentile, not the median 3.1
    dist = {"002.1": 0.25, "002.9": 0.15, "003.1": 0.3, "004.9": 0.3}
    assert _decode_with(tok, dist, None) == "002.1"
    assert _decode_with(tok, dist, MedianNumbers(tok)) == "003.1"
    dist = {"001.9": 0.3, "002.9": 0.25, "003.0": 0.25, "003.1": 0.2}
    assert _decode_with(tok, dist, None) == "003.0"          # '0', then mode '3' (0.45), then '0'
    assert _decode_with(tok, dist, MedianNumbers(tok)) == "002.9"


def test_vectors_walk_each_component_and_words_stay_greedy(tok):
    # a sign the model is unsure of: per-component medians instead of a "+0.00" mode
    dist = {"-0.60, +0.80": 0.3, "+0.60, +0.80": 0.25, "+0.70, -0.71": 0.45}
    got = _decode_with(tok, dist, MedianNumbers(tok))
    assert got.startswith("+0.60") or got.startswith("+0.70")
    assert _decode_with(tok, {"Yes": 0.6, "No": 0.4}, MedianNumbers(tok)) == "Yes"
    assert _decode_with(tok, {"025.90 m": 0.5, "031.20 m": 0.5}, MedianNumbers(tok)).endswith(" m")


def test_bad_quantile_and_predictor_option():
    with pytest.raises(ValueError, match="quantile"):
        MedianNumbers(load_qwen_tokenizer(), quantile=1.0)
    with pytest.raises(NumberDecodingError, match="numbers must be one of greedy, median"):
        predictor_kwargs("mean")
    assert predictor_kwargs("greedy") == {} and predictor_kwargs("median") == {"decoding_processor": MedianNumbers}


def test_predictor_median_numbers_runs_through_prefix_reuse():
    from PIL import Image

    from vlm3.predictors.hf import HFPredictor
    from vlm3.tasks.depth import text as depth_text
    med = HFPredictor.from_pretrained("tiny", batch_size=2, max_new_tokens=4, **predictor_kwargs("median"))
    greedy = HFPredictor(med.model, med.processor, max_new_tokens=4)
    assert med.fingerprint() != greedy.fingerprint() and "numbers=median" in med.fingerprint()
    img = Image.fromarray((np.random.default_rng(1).random((64, 96, 3)) * 255).astype(np.uint8))
    qs = [depth_text.prompt(p) for p in [(5, 7), (1999, 1500), (42, 1000)]]
    assert med.answer_with_prefix_reuse([img], qs) == med.answer_one_by_one([img], qs)
