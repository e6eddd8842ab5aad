"""Depth-at-a-pixel text: the released prompt, two answer styles, and the answer parser.

Prompt (release, character-exact)::

    Given this image, how far is the point at coordinates ({x}, {y}) from the camera? ...

with (x, y) on the 2000-grid of the standardised image (`codecs.encode_xy_norm2000`).

Answer styles (metres, 2 decimals):

* ``"think"`` -- the style of the predecessor DepthLM training answers, which the release
  prompt asks for: ``<think> The point is around 3.17 meters away from the camera. </think>\\n\\n<answer> 3.17 </answer>``
* ``"plain"`` -- a project format (not from the release): ``<answer> 3.17 </answer>``;
  shorter to train on, parsed by the same parser.

Compact format (project, "vlm3-compact-v3"): prompt ``Distance at (0234, 0844)?`` (the same
integer 2000-grid coordinates, 4 digits; the distance to the camera in metres), answer
the bare fixed-width number ``003.2`` (metres, 1 decimal, no think block).

Parser: the release regex on ``<answer> ... </answer>`` first (first match wins, like the
release notebook); fallbacks: a unit after the number inside the tags (``<answer> 3.2 m
</answer>``), or an answer that is just a number with an optional metre unit
(``3.2``, ``3.2 meters``). Failures (never exceptions): empty text, unclosed ``<think>``,
an ``<answer>`` without ``</answer>`` (truncated), no number, non-finite, non-positive.
"""

from __future__ import annotations

import re

from vlm3.protocol import codecs
from vlm3.protocol.parsing import (
    NUMBER_PATTERN,
    Parsed,
    check_text,
    strip_think,
    to_finite_float,
)

PROMPT_TEMPLATE = (
    "Given this image, how far is the point at coordinates ({norm_x}, {norm_y}) from the camera? "
    "The coordinates are in normalised [0, 2000] format relative to image width and height. "
    "Output the thinking process in <think> </think> and final answer (the meter number only, "
    "without the unit) in <answer> </answer> tags."
)

#: The release's answer regex, unchanged.
ANSWER_REGEX = re.compile(r"<answer>\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*</answer>")

_THINK_ANSWER = (
    "<think> The point is around {d:.2f} meters away from the camera. </think>\n\n"
    "<answer> {d:.2f} </answer>"
)
_PLAIN_ANSWER = "<answer> {d:.2f} </answer>"
ANSWER_STYLES = ("think", "plain")

#: Compact format (project): same coordinates, short question, bare-number answer.
COMPACT_PROMPT_TEMPLATE = "Distance at ({norm_x}, {norm_y})?"

_UNIT = r"(?:m|meters?|metres?)"
_TAG_WITH_UNIT = re.compile(rf"<answer>\s*({NUMBER_PATTERN})\s*{_UNIT}?\s*\.?\s*</answer>", re.IGNORECASE)
_BARE = re.compile(rf"^\s*({NUMBER_PATTERN})\s*{_UNIT}?\s*\.?\s*$", re.IGNORECASE)


def prompt(xy_norm2000) -> str:
    """The release depth prompt for one point (x, y) on the 2000-grid (integers)."""
    x, y = codecs.int_pair(xy_norm2000, "xy_norm2000", 0, 1999)
    return PROMPT_TEMPLATE.format(norm_x=x, norm_y=y)


def render_answer(depth_m: float, style: str = "think") -> str:
    """Answer text for a depth in metres (2 decimals). style: "think" (release/DepthLM) or
    "plain" (project format). Raises ValueError on a non-finite or non-positive depth."""
    d = float(depth_m)
    if not (d > 0 and d < float("inf")):
        raise ValueError(f"depth_m must be positive and finite, got {depth_m!r}")
    if style == "think":
        return _THINK_ANSWER.format(d=d)
    if style == "plain":
        return _PLAIN_ANSWER.format(d=d)
    raise ValueError(f"unknown depth answer style {style!r}; choose one of {ANSWER_STYLES}")


def compact_prompt(xy_norm2000) -> str:
    """The compact-format depth prompt for one point (x, y) on the 2000-grid (integers)."""
    x, y = codecs.int_pair(xy_norm2000, "xy_norm2000", 0, 1999)
    return COMPACT_PROMPT_TEMPLATE.format(norm_x=codecs.fixed_int(x, 4), norm_y=codecs.fixed_int(y, 4))


def render_compact_answer(depth_m: float) -> str:
    """Compact-format answer: the depth in metres, fixed width ``DDD.D`` (``003.2``, ``012.0``).

    The first digit written is the most significant (``codecs.fixed_number``); 0.05 m of
    rounding at most, which is below delta1's 25 % from 0.2 m up. Depths under 0.1 m are
    written ``000.1`` (the format's resolution).
    """
    d = float(depth_m)
    if not (d > 0 and d < float("inf")):
        raise ValueError(f"depth_m must be positive and finite, got {depth_m!r}")
    return codecs.fixed_number(max(d, 0.1), 3, 1)


def parse_answer(text: str) -> Parsed[float]:
    """Depth in metres from a model answer; never raises (see module docstring)."""
    reason = check_text(text)
    if reason:
        return Parsed.failure(reason)
    m = ANSWER_REGEX.search(text)
    if m is None:
        m = _TAG_WITH_UNIT.search(text)
    if m is None:
        if re.search(r"<answer>", text, re.IGNORECASE) and not re.search(r"</answer>", text, re.IGNORECASE):
            return Parsed.failure("unclosed <answer> tag (truncated output?)")
        if re.search(r"<answer>", text, re.IGNORECASE):
            return Parsed.failure("no number inside <answer> </answer>")
        cleaned, think_reason = strip_think(text)
        if think_reason:
            return Parsed.failure(think_reason)
        m = _BARE.match(cleaned)
        if m is None:
            return Parsed.failure("no <answer> tag and the answer is not a bare number")
    value = to_finite_float(m.group(1))
    if value is None:
        return Parsed.failure(f"depth {m.group(1)!r} is not a finite number")
    if value <= 0:
        return Parsed.failure(f"depth {value} m is not positive")
    return Parsed.success(value)
