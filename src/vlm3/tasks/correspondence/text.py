"""Pixel-correspondence text, release format (vlm3-release-v1): prompt, answer, parser.

Prompt (release, character-exact)::

    Given these two images, what pixel in the second image corresponds to pixel ({x1}, {y1})
    in the first image? Report the answer as (x, y).

optionally followed by the release's thinking instruction. Coordinates are integers on
the 1000-grid of each image (`codecs.encode_xy_norm1000`, x relative to width, y to height).

Answer: ``The corresponding pixel is (x, y)`` -- the paper's form verbatim, WITHOUT a
trailing period (the paper quotes none; the release ships no training answer). The
parser accepts it with or without the period, inside extra text, or after a complete
``<think>`` block.

Parser rules: prefer the pair after "corresponding pixel is"; otherwise the LAST
parenthesised pair in the text after removing ``<think>`` blocks. Failures: empty,
unclosed ``<think>``, no pair, an answer that is nothing but a bare ``(x, y)`` (the
compact format's answer, `vlm3.tasks.correspondence.compact`), a tuple with other than
two numbers, non-finite, or a coordinate outside [-1000, 2000] (beyond half an image
outside the frame: implausible). Values are returned as floats on the 1000-grid (models
may write decimals).

The compact format (`vlm3.tasks.correspondence.compact`) has the same functions.
"""

from __future__ import annotations

import re

from vlm3.protocol import codecs
from vlm3.protocol.answer_templates import Slot
from vlm3.protocol.parsing import (NUMBER_PATTERN, Parsed, find_numbers, is_bare_tuple, labelled_or_last_tuple, parse_match,
                                   read_all, read_number)

PROMPT_TEMPLATE = (
    "Given these two images, what pixel in the second image corresponds to pixel ({x1}, {y1}) "
    "in the first image? Report the answer as (x, y)."
)
THINK_INSTRUCTION = (
    ' Please think step by step and follow the format: "<think> [think process] </think>\n\n[answer]".'
)
ANSWER_TEMPLATE = "The corresponding pixel is ({x}, {y})"

#: Parsed coordinates outside this range are rejected as implausible.
PLAUSIBLE_RANGE = (-1000.0, 2000.0)

_LEAD = re.compile(r"corresponding\s+pixel\s+is\s*:?\s*\(([^()]*)\)", re.IGNORECASE)

#: answer templates for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = (("The corresponding pixel is (", Slot("x", "0123456789"), ", ", Slot("y", "0123456789"), ")"),)


def prompt(xy_norm1000, think: bool = False) -> str:
    """The release prompt for a query pixel (x, y) of image 1 on the 1000-grid (integers)."""
    x, y = _grid_pair(xy_norm1000)
    text = PROMPT_TEMPLATE.format(x1=x, y1=y)
    return text + THINK_INSTRUCTION if think else text


def render_answer(xy_norm1000) -> str:
    """``The corresponding pixel is (x, y)`` for integer 1000-grid coordinates in image 2."""
    x, y = _grid_pair(xy_norm1000)
    return ANSWER_TEMPLATE.format(x=x, y=y)


def parse_answer(text: str) -> Parsed[tuple[float, float]]:
    """(x, y) on image 2's 1000-grid from a model answer; never raises."""
    return parse_match(text, lambda cleaned: labelled_or_last_tuple(cleaned, _LEAD), _no_pair_reason,
                       lambda m: _pair_from_inner(m[1]))


def _no_pair_reason(cleaned: str) -> str:
    if is_bare_tuple(cleaned):
        return ("a bare (x, y) is the compact format's answer; the release answer reads "
                "'The corresponding pixel is (x, y)'")
    return "no (x, y) pair found"


def _pair_from_inner(inner: str) -> Parsed[tuple[float, float]]:
    tokens = [t.strip() for t in inner.split(",")]
    if len(tokens) != 2:
        return Parsed.failure(f"expected 2 coordinates, got {len(tokens)} in ({inner.strip()})")
    return read_all(_coordinate_token(tok) for tok in tokens)


def _coordinate_token(token: str) -> Parsed[float]:
    if re.fullmatch(NUMBER_PATTERN, token) is None:
        return Parsed.failure(f"coordinate {token!r} has extra text" if find_numbers(token)
                              else f"coordinate {token!r} is not a number")
    return coordinate(token)


def coordinate(token: str) -> Parsed[float]:
    """One 1000-grid coordinate from a number token: finite and within `PLAUSIBLE_RANGE`
    (both text formats of the task read coordinates by this rule)."""
    low, high = PLAUSIBLE_RANGE
    return read_number(token, "coordinate {token!r} is not finite", lambda v: low <= v <= high,
                       f"coordinate {{value}} outside plausible range {PLAUSIBLE_RANGE}")


def _grid_pair(xy_norm1000) -> tuple[int, int]:
    return codecs.int_pair(xy_norm1000, "xy_norm1000", 0, 1000)
