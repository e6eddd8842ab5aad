r"""The parse result type and the shared number/tag scanners of the text protocol.

Owns `Parsed` (what every answer parser returns: never an exception on model text), the
parser skeleton `parse_match` (clean the text -> find the answer's shape -> a failure
with a reason, or read the match), and the small, strict helpers the task parsers share:
`read_number` (finite, in range), `read_all`, finding numbers, stripping
`<think>...</think>` blocks, length units. A task's parser is then one call::

    def parse_answer(text: str) -> Parsed[float]:
        return parse_match(text, _BARE_NUMBER, "the answer is not a bare number",
                           lambda m: read_number(m[1], "depth {token!r} is not finite", lambda v: v > 0,
                                                 "depth {value} m is not positive"))

Every helper runs in time linear in its input (issue #20): a number token has at most
`MAX_NUMBER_DIGITS` digits per run and never starts inside a run of digits (so a regex
tries O(1) work per position), `clean_answer` collapses whitespace runs to one space (so
adjacent ``\s*`` in the task patterns cannot backtrack quadratically), and `strip_think`
scans for its tags instead of running ``<think>.*?</think>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Optional, TypeVar, Union

T = TypeVar("T")

#: The most digits a number token may have in its integer part, its fraction and its
#: exponent (each): a longer run of digits is not a number the parsers read.
MAX_NUMBER_DIGITS = 32
#: A decimal number as models write it: optional sign, digits with optional fraction,
#: optional exponent. Words such as "nan" or "inf" are deliberately not numbers here. The
#: token neither starts nor ends inside a run of digits (lookarounds), and each run is
#: bounded, so searching a text for it is linear in the text's length.
NUMBER_PATTERN = (
    rf"(?<![\d.])[-+]?(?:\d{{1,{MAX_NUMBER_DIGITS}}}(?:\.\d{{0,{MAX_NUMBER_DIGITS}}})?|\.\d{{1,{MAX_NUMBER_DIGITS}}})"
    rf"(?:[eE][-+]?\d{{1,{MAX_NUMBER_DIGITS}}})?(?!\d|\.\d|[eE][-+]?\d)"
)

_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")

#: Inputs longer than this are rejected before any regex runs (guards runaway generations).
MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """Result of parsing one model answer.

    ok: True when `value` holds the parsed quantity.
    value: the parsed value when ok; on failure None, or (where a parser documents it)
        a partial result useful for diagnosis.
    reason: None when ok, else a short human-readable reason for the failure.
    """

    ok: bool
    value: T | None = None
    reason: str | None = None

    @staticmethod
    def success(value: T) -> "Parsed[T]":
        return Parsed(True, value, None)

    @staticmethod
    def failure(reason: str, value: Any = None) -> "Parsed[Any]":
        return Parsed(False, value, reason)

    def map(self, f: Callable[[T], Any]) -> "Parsed[Any]":
        """``f(value)`` as a success when ok; this failure unchanged otherwise."""
        return Parsed.success(f(self.value)) if self.ok else self  # type: ignore[arg-type]


def check_text(text: object) -> str | None:
    """Return a failure reason if `text` is not usable model output, else None."""
    if not isinstance(text, str):
        return f"answer is not a string (got {type(text).__name__})"
    if not text.strip():
        return "empty answer"
    if len(text) > MAX_TEXT_CHARS:
        return f"answer longer than {MAX_TEXT_CHARS} characters"
    return None


def strip_think(text: str) -> tuple[str, str | None]:
    """Remove complete `<think>...</think>` blocks (each up to its first closing tag, as the
    non-greedy ``<think>.*?</think>``), in one linear scan.

    Returns (remaining text, failure reason or None). An opening `<think>` left without
    its closing tag means the generation was cut inside the reasoning: that is a failure.
    """
    parts, pos = [], 0
    while (opened := _THINK_OPEN.search(text, pos)) is not None:
        closed = _THINK_CLOSE.search(text, opened.end())
        if closed is None:
            parts.append(text[pos:])
            return "".join(parts), "unclosed <think> block (truncated output?)"
        parts += [text[pos:opened.start()], " "]
        pos = closed.end()
    parts.append(text[pos:])
    return _THINK_CLOSE.sub(" ", "".join(parts)), None


def collapse_whitespace(text: str) -> str:
    """``text`` with every run of whitespace replaced by one space (linear)."""
    return _WHITESPACE.sub(" ", text)


def clean_answer(text: object) -> tuple[str, str | None]:
    """(text without complete ``<think>`` blocks, whitespace runs collapsed to one space,
    failure reason or None): `check_text`, then `strip_think` -- the first step of every
    answer parser. On failure the text is ``""`` for unusable input and the partly cleaned
    text for an unclosed ``<think>``."""
    reason = check_text(text)
    if reason:
        return "", reason
    cleaned, reason = strip_think(text)  # type: ignore[arg-type]  # check_text has made sure it is a str
    return collapse_whitespace(cleaned), reason


#: Where a parser looks for its answer in cleaned text: a compiled pattern (searched) or a
#: function returning the match (or None).
Finder = Union[re.Pattern[str], Callable[[str], Optional[re.Match[str]]]]


def parse_match(text: object, find: Finder, mismatch: str | Callable[[str], str],
                read: Callable[[re.Match[str]], Parsed[T]],
                clean: Callable[[object], tuple[str, str | None]] = clean_answer) -> Parsed[T]:
    """The skeleton of an answer parser; never raises on model text.

    1. ``clean`` the text (`clean_answer`: unusable text or an unclosed ``<think>`` is a
       failure with its reason);
    2. ``find`` the answer's shape in the cleaned text (a pattern is searched: anchor it
       with ``^...$`` for a bare answer);
    3. none: a failure with ``mismatch`` (a reason, or a function of the cleaned text that
       gives one);
    4. else ``read`` the match into the result (its groups; ``match.string`` is the
       cleaned text), usually with `read_number` (finite and in range) and `read_all`.
    """
    cleaned, reason = clean(text)
    if reason:
        return Parsed.failure(reason)
    m = find.search(cleaned) if isinstance(find, re.Pattern) else find(cleaned)
    if m is None:
        return Parsed.failure(mismatch if isinstance(mismatch, str) else mismatch(cleaned))
    return read(m)


_TUPLE = re.compile(r"\(([^()]*)\)")
_BARE_TUPLE = re.compile(r"^\s*\([^()]*\)\s*\.?\s*$")


def is_bare_tuple(cleaned: str) -> bool:
    """Whether the whole answer is one parenthesised tuple, ``(x, y).`` (a compact answer)."""
    return _BARE_TUPLE.match(cleaned) is not None


def labelled_or_last_tuple(cleaned: str, label: re.Pattern[str]) -> re.Match[str] | None:
    """``label``'s match (group 1: inside its parentheses), else the last parenthesised tuple
    of a sentence (group 1 the same); None when there is none, or when the whole answer is one
    bare tuple (`is_bare_tuple`: the compact format's answer, not a sentence)."""
    m = label.search(cleaned)
    if m is not None or is_bare_tuple(cleaned):
        return m
    last = None
    for last in _TUPLE.finditer(cleaned):
        pass
    return last


def read_number(token: str, not_finite: str, ok: Callable[[float], bool] | None = None,
                out_of_range: str | None = None) -> Parsed[float]:
    """``float(token)`` when it is finite and (given ``ok``) in range; else a failure.

    not_finite: the reason for a token that is not a finite number (overflow such as
        ``1e999`` included), a template formatted with ``token`` (the text).
    ok: the range check of the value; out_of_range: the reason when it fails (default:
        ``not_finite``), formatted with ``token`` and ``value`` (the float):
        ``"distance {value} is negative"``.
    """
    value = to_finite_float(token)
    if value is None:
        return Parsed.failure(not_finite.format(token=token))
    if ok is not None and not ok(value):
        return Parsed.failure((out_of_range or not_finite).format(token=token, value=value))
    return Parsed.success(value)


def read_all(results: Iterable[Parsed[T]]) -> Parsed[tuple[T, ...]]:
    """The values of ``results`` as a tuple, or the first failure (read in order, lazily: a
    generator stops at its first failure)."""
    values = []
    for result in results:
        if not result.ok:
            return result
        values.append(result.value)
    return Parsed.success(tuple(values))


def to_finite_float(token: str) -> float | None:
    """float(token) if it is finite, else None (overflow such as 1e999 gives None)."""
    try:
        value = float(token)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def find_numbers(text: str) -> list[str]:
    """All number tokens in `text`, in order (see NUMBER_PATTERN)."""
    return re.findall(NUMBER_PATTERN, text)


# Length units accepted in answers, longest spellings first so the regex prefers them.
_UNIT_SCALE_M = {
    "millimeters": 0.001, "millimetres": 0.001, "millimeter": 0.001, "millimetre": 0.001, "mm": 0.001,
    "centimeters": 0.01, "centimetres": 0.01, "centimeter": 0.01, "centimetre": 0.01, "cm": 0.01,
    "meters": 1.0, "metres": 1.0, "meter": 1.0, "metre": 1.0, "m": 1.0,
    "kilometers": 1000.0, "kilometres": 1000.0, "kilometer": 1000.0, "kilometre": 1000.0, "km": 1000.0,
    "inches": 0.0254, "inch": 0.0254, "in": 0.0254, '"': 0.0254,
    "feet": 0.3048, "foot": 0.3048, "ft": 0.3048, "'": 0.3048,
}
#: Regex alternation of the unit spellings (word-bounded where the unit is a word).
def _unit_regex(unit: str) -> str:
    if unit == "in":  # "1.5 in the box" is not inches: "in" must not be followed by a word
        return r"in\b(?!\s+[A-Za-z])"
    return re.escape(unit) + (r"\b" if unit[-1].isalpha() else "")


LENGTH_UNIT_PATTERN = "(?:" + "|".join(
    _unit_regex(u) for u in sorted(_UNIT_SCALE_M, key=len, reverse=True)
) + ")"


def unit_scale_m(unit: str) -> float | None:
    """Metres per `unit` (case-insensitive), or None if the unit is unknown.
    1 in = 0.0254 m, 1 ft = 0.3048 m (SpatialRGPT-Bench judge conversions)."""
    return _UNIT_SCALE_M.get(unit.strip().lower())


_WORD_AFTER = re.compile(r" ?([A-Za-z]+)")


def word_after(text: str, pos: int) -> str | None:
    """The word (letters) right after ``pos`` in ``text`` (one optional space between), or
    None: what a parser checks after a number to refuse an unknown unit ("1.98 miles")."""
    m = _WORD_AFTER.match(text, pos)
    return m.group(1) if m else None
