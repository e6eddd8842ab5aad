"""Depth-at-a-pixel text, compact format (vlm3-compact-v3): DEMO ONLY, not the release.

The CPU demo trains a micro model on short prompts and bare fixed-width answers to fit
its compute budget; the 4B recipes and the release evaluation never use this module
(`vlm3.tasks.depth.text` is the release format, with the same functions).

Prompt: ``Distance at (0234, 0844)?`` -- the point (x, y) on the 2000-grid of the
standardised image (`codecs.encode_xy_norm2000`), 4 digits each; the distance to the
camera in metres (the label kind). Answer: the bare fixed-width number ``003.2`` (metres,
1 decimal, no think block, ``codecs.fixed_number``).

Parser: a bare number (optionally ``m``/``meters``), after complete ``<think>`` blocks.
Failures (never exceptions): empty text, unclosed ``<think>``, ``<answer>`` tags (the
release format's answer), anything but one number, non-finite, non-positive.
"""

from __future__ import annotations

import re

from vlm3.protocol import codecs
from vlm3.protocol.answer_templates import Slot
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, parse_match
from vlm3.tasks.depth.text import depth_m  # the release's depth rule

PROMPT_TEMPLATE = "Distance at ({norm_x}, {norm_y})?"
#: answer templates for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = ((Slot("d", "0123456789", 3), ".", Slot("f", "0123456789", 1)),)

_BARE = re.compile(rf"^\s*({NUMBER_PATTERN})\s*(?:m|meters?|metres?)?\s*\.?\s*$", re.IGNORECASE)


def prompt(xy_norm2000) -> str:
    """The compact depth prompt for one point (x, y) on the 2000-grid (integers in [0, 1999])."""
    x, y = codecs.int_pair(xy_norm2000, "xy_norm2000", 0, 1999)
    return PROMPT_TEMPLATE.format(norm_x=codecs.fixed_int(x, 4), norm_y=codecs.fixed_int(y, 4))


def render_answer(depth_m: float, style: str = "think") -> str:
    """The depth in metres, fixed width ``DDD.D`` (``003.2``, ``012.0``).

    The first digit written is the most significant (``codecs.fixed_number``); 0.05 m of
    rounding at most, which is below delta1's 25 % from 0.2 m up. Depths under 0.1 m are
    written ``000.1`` (the format's resolution). ``style`` (the release's answer styles)
    is accepted for the shared signature and ignored: the compact answer has one style.
    Raises ValueError on a non-finite or non-positive depth.
    """
    d = float(depth_m)
    if not (d > 0 and d < float("inf")):
        raise ValueError(f"depth_m must be positive and finite, got {depth_m!r}")
    return codecs.fixed_number(max(d, 0.1), 3, 1)


def parse_answer(text: str) -> Parsed[float]:
    """Depth in metres from a bare-number answer; never raises (see module docstring)."""
    return parse_match(text, _BARE, _not_bare, lambda m: depth_m(m[1]))


def _not_bare(cleaned: str) -> str:
    if re.search(r"</?answer>", cleaned, re.IGNORECASE):
        return "<answer> tags are the release format's; the compact answer is a bare number"
    return "the answer is not a bare number"
