"""Answer templates as token grammars, for template-forced decoding (`vlm3.predictors.dense`).

An answer template is the fixed text of a task's answer with its numbers left open, e.g.
the release depth answer (`vlm3.tasks.depth.text`)::

    <think> The point is around {d} meters away from the camera. </think>\\n\\n<answer> {d} </answer>

as pieces: fixed text, a number ``Slot`` (characters from a small set, one token each in the
Qwen tokenizer, which writes every digit as its own token) and a ``Copy`` of an earlier slot
(the second ``{d}``). `compile_templates` turns the alternatives for one question into a
`Grammar` over token ids, checked against the tokenizer: each template must tokenize piece by
piece exactly as its rendered whole (for sample numbers), else it is dropped (a tokenizer
that merges across a piece boundary gets no template, never a wrong one).

A `GrammarState` is the set of template positions consistent with the answer tokens so far
(several templates, e.g. the ``think`` and ``plain`` depth styles, share a start). It tells
which tokens may come next (`allowed`), whether that is one token (`forced`), and advances
on a token (`advance` -> None when the token leaves every template). The answer ends with
one of the model's end-of-sequence ids.

Each task states its templates in its text modules (``ANSWER_TEMPLATES``, pieces from
`vlm3.protocol.answer_templates`); `TEMPLATES` collects them from the registry. Depth (release
``think`` and ``plain``, compact), correspondence, the four pose questions (one set per question
id, signs and direction words as alternatives, since the tokenizer merges a sign with the text
before it: ``=-``, `` (+``) and calibration have them. Object answers are phrased from
SpatialRGPT's many templates and get none: they are decoded freely, still batched against the
image prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from vlm3.protocol import FORMAT_VERSION, TEXT_FORMAT_TABLE
from vlm3.protocol.answer_templates import Copy, Piece, Slot, Templates
from vlm3.tasks import TASKS
from vlm3.tasks.common import text_format_for
from vlm3.tasks.pose import text as _pose_text

SAMPLE_NUMBERS = ("0.73", "3.17", "12.05", "105.40", "7", "042", "999", "1000", "003.2")
#: every non-empty choice of one word per axis, in axis order (`vlm3.tasks.pose.text.direction_words`)
DIRECTION_WORDS = _pose_text.DIRECTION_WORDS


def _task_templates() -> dict[tuple[str, str], Templates | dict[str, Templates]]:
    """(task, format_version) -> ``ANSWER_TEMPLATES`` of that task's text module, for every
    registered task and text format that has them (``vlm3.tasks.common.text_format_for``)."""
    out: dict[tuple[str, str], Templates | dict[str, Templates]] = {}
    for task in TASKS:
        for fv in (f.format_version for f in TEXT_FORMAT_TABLE):
            try:
                found = getattr(text_format_for(task, fv), "ANSWER_TEMPLATES", None)
            except ValueError:  # the task has no text module of this format
                continue
            if found is not None:
                out[(task, fv)] = found
    return out


#: (task, format_version) -> the answer templates of that format (alternatives), or per question
#: id (pose) a mapping id -> templates; each task's own (its text modules' ``ANSWER_TEMPLATES``).
TEMPLATES: dict[tuple[str, str], Templates | dict[str, Templates]] = _task_templates()


def templates_of(task: str | None, format_version: str | None, question_id: str | None = None) -> Templates | None:
    """The answer templates of one question (None: it has none: decoded freely)."""
    found = TEMPLATES.get((task or "", format_version or FORMAT_VERSION))
    if isinstance(found, dict):
        return found.get(question_id or "")
    return found

# compiled items: ("tok", id) | ("slot", name, frozenset(ids), max_tokens) | ("copy", name); the answer
# ends after the last item with an end-of-sequence token.
Item = tuple


@dataclass(frozen=True)
class Grammar:
    """Compiled templates (token items) and the end-of-sequence ids that close an answer."""

    templates: tuple[tuple[Item, ...], ...]
    eos_ids: frozenset[int]

    def start(self) -> "GrammarState":
        return GrammarState(self, frozenset((t, 0, (), (), ()) for t in range(len(self.templates))))


@dataclass(frozen=True)
class GrammarState:
    """Template positions consistent with the tokens so far. A candidate is (template index,
    item index, filled slots ((name, tokens), ...), tokens of the open slot, copy tokens left)."""

    grammar: Grammar
    candidates: frozenset

    def _moves(self, cand) -> dict[int, list]:
        """token id -> successor candidates (None successor = the answer is complete)."""
        t, i, slots, cur, pending = cand
        items = self.grammar.templates[t]
        moves: dict[int, list] = {}
        if pending:
            moves.setdefault(pending[0], []).append((t, i, slots, (), pending[1:]))
            return moves
        if i >= len(items):
            for e in self.grammar.eos_ids:
                moves.setdefault(e, []).append(None)
            return moves
        item = items[i]
        if item[0] == "tok":
            moves.setdefault(item[1], []).append((t, i + 1, slots, (), ()))
        elif item[0] == "copy":
            toks = dict(slots)[item[1]]
            moves.setdefault(toks[0], []).append((t, i + 1, slots, (), toks[1:]))
        else:  # slot: one more character, or (when not empty) close it and take the next item's move
            _, name, ids, max_tokens = item
            if len(cur) < max_tokens:
                for tok in ids:
                    moves.setdefault(tok, []).append((t, i, slots, cur + (tok,), ()))
            if cur:
                closed = (t, i + 1, slots + ((name, cur),), (), ())
                for tok, succ in GrammarState(self.grammar, frozenset([closed]))._moves(closed).items():
                    moves.setdefault(tok, []).extend(succ)
        return moves

    def _all_moves(self) -> dict[int, list]:
        return _state_moves(self)

    def allowed(self) -> tuple[int, ...]:
        """Token ids that keep the answer inside a template, ascending."""
        return tuple(sorted(self._all_moves()))

    def forced(self) -> int | None:
        """The one allowed token, or None when there is a choice."""
        allowed = self.allowed()
        return allowed[0] if len(allowed) == 1 else None

    def advance(self, token: int) -> "GrammarState | None":
        """The state after ``token`` (the answer complete: an empty state); None when the token
        leaves every template."""
        succ = self._all_moves().get(int(token))
        if succ is None:
            return None
        return GrammarState(self.grammar, frozenset(s for s in succ if s is not None))

    @property
    def complete(self) -> bool:
        return not self.candidates


@lru_cache(maxsize=1 << 16)
def _state_moves(state: GrammarState) -> dict[int, list]:
    """token -> successor candidates of every candidate of ``state`` (cached: the rows of a
    dense grid pass through the same states)."""
    out: dict[int, list] = {}
    for cand in state.candidates:
        for tok, succ in state._moves(cand).items():
            out.setdefault(tok, []).extend(succ)
    return out


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _compile_one(tokenizer: Any, pieces: Sequence[Piece]) -> tuple[Item, ...] | None:
    """Token items for one template, or None when the tokenizer does not split it at its pieces."""
    items: list[Item] = []
    char_ids: dict[str, int] = {}
    for p in pieces:
        if isinstance(p, str):
            items += [("tok", i) for i in _ids(tokenizer, p)]
        elif isinstance(p, Copy):
            items.append(("copy", p.name))
        else:
            for ch in p.charset:
                ids = _ids(tokenizer, ch)
                if len(ids) != 1:
                    return None
                char_ids[ch] = ids[0]
            items.append(("slot", p.name, frozenset(char_ids[c] for c in p.charset), p.max_tokens))
    for k, it in enumerate(items):  # a slot is closed by a fixed token (or the end), never by another slot
        if it[0] == "slot" and k + 1 < len(items) and items[k + 1][0] != "tok":
            return None
    # the pieces must tokenize exactly as the rendered whole, for every sample number that fits
    for sample in SAMPLE_NUMBERS:
        slots = [p for p in pieces if isinstance(p, Slot)]
        if not all(set(sample) <= set(s.charset) and len(sample) <= s.max_tokens for s in slots):
            continue
        text = "".join(p if isinstance(p, str) else sample for p in pieces)
        expected: list[int] = []
        for p in pieces:
            expected += _ids(tokenizer, p) if isinstance(p, str) else [char_ids[c] for c in sample]
        if _ids(tokenizer, text) != expected:
            return None
    return tuple(items)


def compile_templates(tokenizer: Any, templates: Sequence[Sequence[Piece]],
                      eos_ids: Sequence[int]) -> Grammar | None:
    """A `Grammar` of the templates that tokenize piece by piece (None when none does)."""
    compiled = tuple(c for c in (_compile_one(tokenizer, t) for t in templates) if c is not None)
    return Grammar(compiled, frozenset(int(e) for e in eos_ids)) if compiled else None


_COMPILED: dict[tuple, Grammar | None] = {}


def grammar_for(tokenizer: Any, task: str | None, format_version: str | None, eos_ids: Sequence[int],
                question_id: str | None = None) -> Grammar | None:
    """The answer grammar of a question of ``task`` in ``format_version`` (None: the release;
    ``question_id`` picks a pose question's), or None when it has no template (its answers are
    decoded freely)."""
    templates = templates_of(task, format_version, question_id)
    if templates is None:
        return None
    eos = tuple(sorted(int(e) for e in eos_ids))
    cache_key = (id(tokenizer), task, format_version or FORMAT_VERSION, question_id, eos)
    if cache_key not in _COMPILED:
        _COMPILED[cache_key] = compile_templates(tokenizer, templates, eos)
    return _COMPILED[cache_key]


def template_regex(task: str | None, format_version: str | None, question_id: str | None = None) -> str | None:
    """One regular expression matching every answer template of ``task`` in ``format_version``
    (for engines with regex-structured output, e.g. vLLM); a ``Copy`` is matched as its slot's
    character class (regex engines of structured output have no back-references). None when
    the task has no template."""
    import re

    found = templates_of(task, format_version, question_id)
    if not found:
        return None
    parts = []
    for pieces in found:
        slots = {p.name: p for p in pieces if isinstance(p, Slot)}
        out = []
        for p in pieces:
            if isinstance(p, str):
                out.append(re.escape(p))
            else:
                s = slots[p.name]
                out.append(f"[{re.escape(s.charset)}]{{1,{s.max_tokens}}}")
        parts.append("".join(out))
    return "|".join(f"(?:{p})" for p in parts)


def structured_sampling_params(params: Any, task: str | None, format_version: str | None,
                               question_id: str | None = None) -> Any:
    """vLLM ``SamplingParams`` like ``params`` whose output must match the task's answer
    templates (`template_regex`), through the installed vLLM's structured output:
    ``structured_outputs=StructuredOutputsParams(regex=...)`` (vLLM >= 0.10.2) or
    ``guided_decoding=GuidedDecodingParams(regex=...)`` (older). ``params`` unchanged when the
    task has no template or this vLLM has neither. UNTESTED here (no vLLM in the dev setup).
    Unlike the transformers backend's ``exact`` mode this forces the template: answers match
    greedy only when the model would write it."""
    import copy as _copy

    regex = template_regex(task, format_version, question_id)
    if regex is None:
        return params
    try:
        from vllm import sampling_params as sp
    except ImportError:
        return params
    out = _copy.copy(params)
    if hasattr(sp, "StructuredOutputsParams"):
        out.structured_outputs = sp.StructuredOutputsParams(regex=regex)
    elif hasattr(sp, "GuidedDecodingParams"):
        out.guided_decoding = sp.GuidedDecodingParams(regex=regex)
    else:
        return params
    return out
