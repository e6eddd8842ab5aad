"""Median decoding of numbers: write the median of the model's distribution, not a greedy mode.

Greedy decoding picks the most likely token at each position. For a number written digit by
digit this is the mode of each digit given the digits before it, which can be far from any
likely value: a model torn between ``002.9`` and ``003.1`` may write ``002.`` and then the
mode of the tenths, and a model unsure of a vector's signs writes ``+0.00, +0.00, +0.00``.

For numbers of a fixed width (``vlm3-compact-v3`` writes every number zero-padded to one
width, docs/protocol.md) the order of the written strings is the order of the values, so
a quantile of the autoregressive distribution can be read off digit by digit:

* at a digit position, with quantile ``q`` still to place among this number's values, take
  the digit whose cumulative probability (digits ``0..9`` in order) first exceeds ``q``;
  then ``q`` becomes the quantile *within* that digit's share, ``(q - before) / p(digit)``;
* a sign (``-``/``+``, with or without a leading space) splits the line in two: negative
  values come first and, within them, a larger magnitude is a smaller value, so after a
  minus the walk goes on with ``1 - q / p(-)`` over the magnitude digits;
* ``.`` keeps the walk going; any other token ends the number.

Everything that is not a number (``Yes``, `` m``, ``,``, ``<|im_end|>``) stays greedy. A
position counts as a digit position when the digits together are likelier than the best
other token, so the layout of the answer is the model's own. For variable-width numbers
(the release format's ``12.5``) the walk is only approximately a median.

``MedianNumbers`` keeps per-row state across the steps of ONE ``generate`` call: build a
new one for every call. ``HFPredictor(decoding_processor=...)`` takes the class and does;
``predictor_kwargs(numbers)`` gives those keyword arguments for an eval config's or
``vlm3 predict``'s ``numbers`` setting (the transformers backend only; vLLM stays greedy).
This lives with the small-model machinery because the CPU demo's model is what needs it
(docs/evaluation.md has the greedy vs median numbers); a 4B model decodes greedily.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from vlm3.errors import Vlm3Error


#: how a model predictor decodes numbers (eval config ``numbers:``, ``vlm3 predict --numbers``)
NUMBER_DECODING = ("greedy", "median")


class NumberDecodingError(Vlm3Error, ValueError):
    """An unknown ``numbers`` setting, or a tokenizer that does not write digits and signs as single tokens."""


def _single_token(tokenizer, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise NumberDecodingError(f"median number decoding needs {text!r} to be one token; this tokenizer gives {ids}")
    return int(ids[0])


class MedianNumbers(LogitsProcessor):
    """Logits processor that forces, at number positions, the digit of the running quantile.

    ``name`` labels it in predictor fingerprints (cached predictions change with it).

    Args:
        tokenizer: the model's tokenizer (digits ``0``-``9``, ``.``, ``+``/``-`` single tokens).
        quantile: which quantile to write (0.5: the median).
    """

    name = "median"

    def __init__(self, tokenizer, quantile: float = 0.5):
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        self.quantile = float(quantile)
        self.digits = torch.tensor([_single_token(tokenizer, str(d)) for d in range(10)])
        point = _single_token(tokenizer, ".")
        # (minus, plus) pairs in the same spacing style; the style the model prefers is kept
        self.sign_pairs = {}
        for space in ("", " "):
            minus, plus = _single_token(tokenizer, space + "-"), _single_token(tokenizer, space + "+")
            self.sign_pairs[minus] = self.sign_pairs[plus] = (minus, plus)
        #: tokens after which a number goes on (digit, sign, decimal point)
        self.numeric = torch.tensor([*self.digits.tolist(), point, *self.sign_pairs])
        self._q: torch.Tensor | None = None  # (B,) quantile left to place in the current number

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        b, dev = scores.shape[0], scores.device
        if self._q is None or self._q.shape[0] != b:
            self._q = torch.full((b,), self.quantile, dtype=torch.float64)
        # a number ends at any other token: the next one starts from the full quantile
        self._q[~torch.isin(input_ids[:, -1].cpu(), self.numeric)] = self.quantile
        # probabilities of the 10 digits and of the best other token, without a full-vocabulary softmax
        lse = torch.logsumexp(scores.float(), dim=-1, keepdim=True)
        digits = self.digits.to(dev)
        p_digit = (scores[:, digits].float() - lse).exp().double().cpu()
        top_v, top_i = scores.topk(len(digits) + 1, dim=-1)  # holds at least one non-digit
        first = (~torch.isin(top_i, digits)).to(torch.int8).argmax(1, keepdim=True)
        best_id = top_i.gather(1, first).squeeze(1).cpu()
        best_p = (top_v.gather(1, first).float() - lse).exp().squeeze(1).double().cpu()
        mass = p_digit.sum(1)
        chosen = torch.full((b,), -1, dtype=torch.long)
        for row in range(b):
            if mass[row] > best_p[row]:
                chosen[row], self._q[row] = self._digit(p_digit[row] / mass[row], float(self._q[row]))
            elif int(best_id[row]) in self.sign_pairs:  # greedy would write a sign: pick it by quantile
                minus, plus = self.sign_pairs[int(best_id[row])]
                p_mp = (scores[row, [minus, plus]].float() - lse[row]).exp().tolist()
                chosen[row], self._q[row] = self._sign(*p_mp, minus, plus)
        forced = chosen >= 0
        if forced.any():
            rows = forced.nonzero().squeeze(1).to(dev)
            keep = chosen[forced].to(dev)
            kept = scores[rows, keep]
            scores = scores.clone()
            scores[rows] = float("-inf")
            scores[rows, keep] = kept
        return scores

    def _digit(self, p: torch.Tensor, q: float) -> tuple[int, float]:
        cdf = torch.cumsum(p, 0)
        k = min(int((cdf <= q).sum()), 9)
        while p[k] <= 0 and k > 0:  # never force a digit the model gives no mass
            k -= 1
        before = float(cdf[k] - p[k])
        q_in = (q - before) / float(p[k]) if p[k] > 0 else 0.5
        return int(self.digits[k]), min(max(q_in, 0.0), 1.0 - 1e-9)

    def _sign(self, p_minus: float, p_plus: float, minus: int, plus: int) -> tuple[int, float]:
        frac = p_minus / (p_minus + p_plus) if p_minus + p_plus > 0 else 0.0
        q = self.quantile
        if q < frac:  # negative half, magnitude walks the other way
            return minus, min(max(1.0 - q / frac, 0.0), 1.0 - 1e-9)
        return plus, min(max((q - frac) / (1.0 - frac), 0.0), 1.0 - 1e-9)


def predictor_kwargs(numbers: str) -> dict:
    """``HFPredictor`` keyword arguments for a ``numbers`` setting (greedy: none)."""
    if numbers not in NUMBER_DECODING:
        raise NumberDecodingError(f"numbers must be one of {', '.join(NUMBER_DECODING)}, got {numbers!r}")
    return {"decoding_processor": MedianNumbers} if numbers == "median" else {}
