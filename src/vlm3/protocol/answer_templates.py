"""Answer templates: the fixed text of a task's answer with its numbers left open.

Each task's text-format module (``vlm3.tasks.<task>.text`` / ``.compact``) states its answers'
templates as ``ANSWER_TEMPLATES`` with these pieces -- fixed text, a number ``Slot`` and a
``Copy`` of an earlier slot -- (or, per question id, a mapping id -> templates; none: the
answers are decoded freely). `vlm3.predictors.templates` compiles them into token grammars
for template-forced decoding. They live here, below the task units, so a task owns its
grammar without knowing the predictors.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

#: the characters of an unsigned decimal number (each one token in the Qwen tokenizer)
UNSIGNED = "0123456789."
#: the two signs a signed slot starts with, as a text choice (the tokenizer merges a sign with the text before it)
SIGN = ("+", "-")


@dataclass(frozen=True)
class Slot:
    """A number written with characters of ``charset`` (each one token), 1..max_tokens long."""

    name: str
    charset: str = UNSIGNED
    max_tokens: int = 8


@dataclass(frozen=True)
class Copy:
    """The tokens of slot ``name``, written again."""

    name: str


Piece = str | Slot | Copy
Templates = tuple[tuple[Piece, ...], ...]


def alternatives(*parts: Piece | tuple[str, ...]) -> Templates:
    """Templates from ``parts`` where a tuple is a choice among texts (every combination;
    adjacent texts joined, so a choice tokenizes with its neighbours)."""
    out = []
    for combo in itertools.product(*[p if isinstance(p, tuple) else (p,) for p in parts]):
        pieces: list[Piece] = []
        for p in combo:
            if isinstance(p, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += p
            elif p != "":
                pieces.append(p)
        out.append(tuple(pieces))
    return tuple(out)


__all__ = ["Copy", "Piece", "SIGN", "Slot", "Templates", "UNSIGNED", "alternatives"]
