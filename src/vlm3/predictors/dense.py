"""Many answers from one image prefix: batched greedy decoding with template-forced tokens.

`decode_from_prefix` answers a chunk of questions that share a prefix already encoded in a
KV cache (image tokens + common prompt start; `vlm3.predictors.hf` computes it once per
Request). Each row's tokens run through the language model in a padded batch whose rows
keep their own logical positions (Qwen3-VL's text M-RoPE positions: index + the prefix's
``rope_deltas``) and an attention mask that hides padding and rejected draft tokens, so rows
may advance by different numbers of tokens in one forward. Modes:

* ``"exact"`` (default of the transformers backend): speculative greedy decoding with the
  answer template (`vlm3.predictors.templates`) as the draft. The template's fixed tokens
  from the current position (including the copied number of the ``<answer>`` tag) are fed in
  ONE forward and the greedy argmax at every fed position is checked against them; the
  longest agreeing run is kept and the model's own token taken at the first disagreement,
  after which that row decodes freely. The answers are those of greedy ``generate`` for ANY
  model (up to float rounding across batch shapes, as prefix reuse already is); a model that
  writes the template needs ~6 forwards per depth answer instead of ~27. The argmax runs over
  the tokens the model's ``suppress_tokens`` leave (all of them for a plain checkpoint).
* ``"template"``: the fixed tokens are fed without checking, and the head is evaluated only
  where the template leaves a choice (number characters, the token that closes a number,
  alternative templates, the end), over the tokens allowed there. Identical to greedy
  ``generate`` whenever the model would have written the template (it cannot leave it); the
  fastest mode, since the vocabulary head is most of the cost of an answer token.

Questions without a template are decoded freely (full argmax, one token per forward) in
both modes. Logits processors other than ``suppress_tokens`` are not applied here: the
transformers backend keeps ``generate`` for those.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from vlm3.predictors.base import DECODINGS
from vlm3.predictors.templates import Grammar, GrammarState

DECODING_MODES = tuple(d for d in DECODINGS if d != "generate")  # "generate" is transformers' own


@dataclass
class _Row:
    feed: list[int]                      # decided tokens (prompt suffix first) not yet fed to the model
    state: GrammarState | None           # template positions consistent with the answer (None: free)
    n: int                               # tokens of this row in the model so far (logical length)
    out: list[int] = field(default_factory=list)
    done: bool = False
    draft: list[int] = field(default_factory=list)   # exact mode: speculative template tokens


class Head:
    """The vocabulary head (``lm_head`` weights) evaluated on hidden states (N, H), over all
    tokens the model may emit (those not in ``suppress_tokens``) or over a given subset."""

    def __init__(self, model: Any, suppressed: Sequence[int] | None, chunk: int = 256) -> None:
        self.weight = model.get_output_embeddings().weight        # (V, H)
        v = self.weight.shape[0]
        self.chunk = chunk
        keep = torch.ones(v, dtype=torch.bool)
        if suppressed:
            ids = torch.tensor([int(t) for t in suppressed if 0 <= int(t) < v], dtype=torch.long)
            keep[ids] = False
        # a restricted vocabulary (the demo's answer head) is evaluated on its rows only
        self.rows = None if bool(keep.all()) else torch.nonzero(keep).flatten().to(self.weight.device)
        self._sub: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def argmax(self, h: torch.Tensor) -> torch.Tensor:
        """Greedy token ids (N,) over the emittable vocabulary (first index on ties, as torch)."""
        out = []
        w = self.weight if self.rows is None else self.weight[self.rows]
        for s in range(0, h.shape[0], self.chunk):
            best = (h[s:s + self.chunk] @ w.T).argmax(-1)
            out.append(best if self.rows is None else self.rows[best])
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)

    def argmax_among(self, h: torch.Tensor, allowed: tuple[int, ...]) -> torch.Tensor:
        """Greedy ids (N,) among ``allowed`` (ascending ids, so ties resolve as a full argmax would)."""
        if allowed not in self._sub:
            ids = torch.tensor(allowed, dtype=torch.long, device=self.weight.device)
            if self.rows is not None:  # suppressed tokens stay impossible
                ids = ids[torch.isin(ids, self.rows)]
            self._sub[allowed] = (ids, self.weight[ids])
        ids, w = self._sub[allowed]
        return ids[(h @ w.T).argmax(-1)]


def _cache_kwarg(model: Any) -> str:
    """``cache`` (transformers >= 5.24) or ``past_key_values`` (older)."""
    params = inspect.signature(model.model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


@torch.inference_mode()
def decode_from_prefix(model: Any, head: Head, cache: Any, prefix_len: int, rope_delta: int,
                       suffixes: Sequence[Sequence[int]], grammars: Sequence[Grammar | None],
                       eos_ids: Sequence[int], max_new_tokens: int, pad_token_id: int,
                       mode: str = "exact") -> list[list[int]]:
    """Answer token ids (eos included when reached) for each suffix, decoded after the prefix.

    Args:
        model: a Qwen3-VL ``...ForConditionalGeneration`` (its ``.model`` runs the text model).
        head: the vocabulary head (`Head`).
        cache: the prefix's KV cache, batch 1 (copied here, never changed).
        prefix_len: tokens in the cache; rope_delta: text position minus token index after the
            prefix (``model.model.rope_deltas``; 0 without images).
        suffixes: per question, its prompt tokens after the prefix (at least one).
        grammars: per question, its answer grammar or None (free decoding).
        eos_ids: tokens that end an answer (the generation config's).
        max_new_tokens: answer length cap, as ``generate``'s.
        mode: "exact" or "template" (module docstring).
    """
    if mode not in DECODING_MODES:
        raise ValueError(f"unknown decoding mode {mode!r}; choose one of {DECODING_MODES}")
    eos = {int(e) for e in eos_ids}
    b = len(suffixes)
    device = head.weight.device
    c = copy.deepcopy(cache)
    if b > 1:
        c.batch_repeat_interleave(b)
    rows = [_Row(list(s), g.start() if g is not None else None, prefix_len) for s, g in zip(suffixes, grammars)]
    if mode == "template":
        for r in rows:
            _take_forced(r, eos, max_new_tokens)
    mask = torch.ones(b, prefix_len, dtype=torch.long, device=device)
    live = list(range(b))             # row index of each batch entry still in the cache
    kw = _cache_kwarg(model)
    while live:
        for r in (rows[i] for i in live):
            r.draft = _draft(r.state, eos) if mode == "exact" else []
        runs = [rows[i].feed + [t for t in rows[i].draft if t not in eos] for i in live]
        width = max(len(x) for x in runs)
        ids = torch.full((len(live), width), pad_token_id, dtype=torch.long, device=device)
        new_mask = torch.zeros(len(live), width, dtype=torch.long, device=device)
        pos = torch.zeros(len(live), width, dtype=torch.long, device=device)
        for k, (i, run) in enumerate(zip(live, runs)):
            ids[k, :len(run)] = torch.tensor(run, dtype=torch.long)
            new_mask[k, :len(run)] = 1
            pos[k] = rows[i].n + rope_delta + torch.arange(width)
        mask = torch.cat([mask, new_mask], dim=1)
        hidden = model.model(input_ids=ids, attention_mask=mask, position_ids=pos.unsqueeze(0).expand(3, -1, -1),
                             use_cache=True, **{kw: c}).last_hidden_state
        if mode == "template":
            _template_step(rows, live, runs, hidden, head, eos, max_new_tokens)
        else:
            _exact_step(rows, live, runs, hidden, head, eos, max_new_tokens, mask, width)
        keep = [k for k, i in enumerate(live) if not rows[i].done]
        if len(keep) < len(live):
            if keep:
                c.batch_select_indices(torch.tensor(keep, device=device))
                mask = mask[keep]
            live = [live[k] for k in keep]
    return [r.out for r in rows]


def _draft(state: GrammarState | None, eos: set[int]) -> list[int]:
    """The template's forced tokens from ``state`` on (through a final eos)."""
    out: list[int] = []
    while state is not None and not state.complete:
        t = state.forced()
        if t is None:
            break
        out.append(t)
        if t in eos:
            break
        state = state.advance(t)
    return out


def _emit(r: _Row, t: int, eos: set[int], max_new_tokens: int) -> None:
    """Record answer token ``t``; advance the template (leaving it: free decoding)."""
    r.out.append(int(t))
    if r.state is not None:
        r.state = r.state.advance(int(t))
    if int(t) in eos or len(r.out) >= max_new_tokens:
        r.done = True


def _take_forced(r: _Row, eos: set[int], max_new_tokens: int) -> None:
    """Template mode: take every forced token now (fed with the next forward)."""
    while not r.done and r.state is not None and not r.state.complete:
        t = r.state.forced()
        if t is None:
            return
        _emit(r, t, eos, max_new_tokens)
        if not r.done:
            r.feed.append(t)


def _template_step(rows, live, runs, hidden, head: Head, eos, max_new_tokens) -> None:
    groups: dict[tuple[int, ...] | None, list[int]] = {}
    for k, (i, run) in enumerate(zip(live, runs)):
        r = rows[i]
        r.n += len(run)
        r.feed = []
        if r.done:
            continue
        allowed = r.state.allowed() if r.state is not None else None
        groups.setdefault(allowed, []).append(k)
    for allowed, ks in groups.items():
        h = hidden[ks, [len(runs[k]) - 1 for k in ks]]
        toks = head.argmax(h) if allowed is None else head.argmax_among(h, allowed)
        for k, t in zip(ks, toks.tolist()):
            r = rows[live[k]]
            _emit(r, t, eos, max_new_tokens)
            if not r.done:
                r.feed = [t]
                _take_forced(r, eos, max_new_tokens)


def _exact_step(rows, live, runs, hidden, head: Head, eos, max_new_tokens, mask, width) -> None:
    # positions whose next token is checked: the last decided token and every draft token fed
    sel_k, sel_p = [], []
    for k, i in enumerate(live):
        r = rows[i]
        first = len(r.feed) - 1
        for p in range(first, len(runs[k])):
            sel_k.append(k)
            sel_p.append(p)
    greedy = head.argmax(hidden[sel_k, sel_p]).tolist()
    at = 0
    for k, i in enumerate(live):
        r = rows[i]
        n_checked = len(runs[k]) - len(r.feed) + 1
        g = greedy[at:at + n_checked]
        at += n_checked
        accepted = 0
        while accepted < len(r.draft) and accepted < len(g) and g[accepted] == r.draft[accepted]:
            accepted += 1
        fed_drafts = len(runs[k]) - len(r.feed)
        kept = min(accepted, fed_drafts)
        r.n += len(r.feed) + kept
        if kept < fed_drafts:  # rejected draft tokens stay in the cache, hidden from now on
            start = mask.shape[1] - width + len(r.feed) + kept
            mask[k, start:mask.shape[1] - width + len(runs[k])] = 0
        r.feed = []
        for t in r.draft[:accepted]:
            _emit(r, t, eos, max_new_tokens)
            if r.done:
                break
        if r.done:
            continue
        _emit(r, g[accepted], eos, max_new_tokens)  # the model's own token (bonus or correction)
        if not r.done:
            r.feed = [g[accepted]]
