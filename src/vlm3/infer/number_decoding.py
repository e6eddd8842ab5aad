"""Median decoding of numbers: write the median of the model's distribution, not a greedy mode.

Greedy decoding picks the most likely token at each position. For a number written digit by
digit this is the mode of each digit given the digits before it, which can be far from any
likely value: a model torn between ``002.9`` and ``003.1`` may write ``002.`` and then the
mode of the tenths, and a model unsure of a vector's signs writes ``+0.00, +0.00, +0.00``.

For numbers of a fixed width (``vlm3-compact-v2`` writes every number zero-padded to one
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
new one for every call (``HFPredictor`` does).
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

#: decoding modes accepted by the predictors and the eval config (``numbers:``)
NUMBER_DECODING = ("greedy", "median")


class NumberDecodingError(ValueError):
    """The tokenizer does not write digits and signs as single tokens."""


def _single_token(tokenizer, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise NumberDecodingError(f"median number decoding needs {text!r} to be one token; this tokenizer gives {ids}")
    return int(ids[0])


class MedianNumbers(LogitsProcessor):
    """Logits processor that forces, at number positions, the digit of the running quantile.

    Args:
        tokenizer: the model's tokenizer (digits ``0``-``9``, ``.``, ``+``/``-`` single tokens).
        quantile: which quantile to write (0.5: the median).
    """

    def __init__(self, tokenizer, quantile: float = 0.5):
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        self.quantile = float(quantile)
        self.digits = torch.tensor([_single_token(tokenizer, str(d)) for d in range(10)])
        self.point = _single_token(tokenizer, ".")
        # (minus, plus) pairs in the same spacing style; the style the model prefers is kept
        self.sign_pairs = {}
        for space in ("", " "):
            minus, plus = _single_token(tokenizer, space + "-"), _single_token(tokenizer, space + "+")
            self.sign_pairs[minus] = self.sign_pairs[plus] = (minus, plus)
        self._q: torch.Tensor | None = None        # (B,) quantile left to place in the current number
        self._active: torch.Tensor | None = None   # (B,) inside a number

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        b = scores.shape[0]
        if self._q is None or self._q.shape[0] != b:
            self._q = torch.full((b,), self.quantile, dtype=torch.float64)
            self._active = torch.zeros(b, dtype=torch.bool)
        probs = torch.softmax(scores.double(), dim=-1).cpu()
        digits = self.digits
        p_digit = probs[:, digits]
        mass = p_digit.sum(1)
        other = probs.clone()
        other[:, digits] = 0.0
        best_p, best_id = other.max(1)
        chosen = torch.full((b,), -1, dtype=torch.long)
        for row in range(b):
            if mass[row] > best_p[row]:
                q = float(self._q[row]) if self._active[row] else self.quantile
                chosen[row], self._q[row] = self._digit(p_digit[row] / mass[row], q)
                self._active[row] = True
            elif int(best_id[row]) in self.sign_pairs:
                minus, plus = self.sign_pairs[int(best_id[row])]
                chosen[row], self._q[row] = self._sign(float(probs[row, minus]), float(probs[row, plus]), minus, plus)
                self._active[row] = True
            else:  # greedy keeps best_id; a decimal point continues the number
                self._active[row] = bool(self._active[row]) and int(best_id[row]) == self.point
        forced = chosen >= 0
        if forced.any():
            rows = forced.nonzero().squeeze(1).to(scores.device)
            keep = chosen[forced].to(scores.device)
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
