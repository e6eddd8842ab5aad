"""Pixel-correspondence text, compact format (vlm3-compact-v3): DEMO ONLY, not the release.

The CPU demo trains a micro model on short prompts and bare fixed-width answers to fit
its compute budget; the 4B recipes and the release evaluation never use this module
(`vlm3.tasks.correspondence.text` is the release format, with the same functions).

Prompt: ``Match (440, 060) in image 2?`` -- the query pixel of image 1 on its 1000-grid
(`codecs.encode_xy_norm1000`), 3 digits each, 1000 written 999 (one grid unit at the far
edge); ``think`` appends the release's thinking instruction. Answer: the bare pair
``(338, 052)`` on image 2's 1000-grid, same digits.

Parser: exactly one parenthesised pair of numbers, after complete ``<think>`` blocks.
Failures (never exceptions): empty, unclosed ``<think>``, any other text around the pair
(the release format's sentence), other than two numbers, non-finite, or a coordinate
outside [-1000, 2000]. Values are floats on the 1000-grid.
"""

from __future__ import annotations

import re

from vlm3.protocol import codecs
from vlm3.protocol.answer_templates import Slot
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, parse_match, read_all
from vlm3.tasks.correspondence.text import THINK_INSTRUCTION, coordinate  # the release's wording and coordinate rule

PROMPT_TEMPLATE = "Match ({x1}, {y1}) in image 2?"
ANSWER_TEMPLATE = "({x}, {y})"

_PAIR = re.compile(rf"^\s*\(\s*({NUMBER_PATTERN})\s*,\s*({NUMBER_PATTERN})\s*\)\s*\.?\s*$")

#: answer templates for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = (("(", Slot("x", "0123456789"), ", ", Slot("y", "0123456789"), ")"),)


def prompt(xy_norm1000, think: bool = False) -> str:
    """The compact prompt for a query pixel (x, y) of image 1 on the 1000-grid (integers)."""
    x, y = _fixed_pair(xy_norm1000)
    text = PROMPT_TEMPLATE.format(x1=x, y1=y)
    return text + THINK_INSTRUCTION if think else text


def render_answer(xy_norm1000) -> str:
    """``(xxx, yyy)`` for integer 1000-grid coordinates in image 2 (1000 written 999)."""
    x, y = _fixed_pair(xy_norm1000)
    return ANSWER_TEMPLATE.format(x=x, y=y)


def parse_answer(text: str) -> Parsed[tuple[float, float]]:
    """(x, y) on image 2's 1000-grid from a bare-pair answer; never raises."""
    return parse_match(text, _PAIR, "the answer is not a bare (x, y) pair of numbers",
                       lambda m: read_all(map(coordinate, m.groups())))


def _fixed_pair(xy_norm1000) -> tuple[str, str]:
    """3-digit fixed-width coordinates (1000 -> 999, at most one grid unit)."""
    x, y = codecs.int_pair(xy_norm1000, "xy_norm1000", 0, 1000)
    return codecs.fixed_int(x, 3, max_value=999), codecs.fixed_int(y, 3, max_value=999)
