"""Depth-at-a-pixel text, release format (vlm3-release-v1): prompt, answers, parser.

Prompt (release, character-exact)::

    Given this image, how far is the point at coordinates ({x}, {y}) from the camera? ...

with (x, y) on the 2000-grid of the standardised image (`codecs.encode_xy_norm2000`).

Answer styles (metres, 2 decimals):

* ``"think"`` -- the style of the predecessor DepthLM training answers, which the release
  prompt asks for: ``<think> The point is around 3.17 meters away from the camera. </think>\\n\\n<answer> 3.17 </answer>``
* ``"plain"`` -- a project format (not from the release): ``<answer> 3.17 </answer>``;
  shorter to train on, parsed by the same parser.

Parser: the release regex on ``<answer> ... </answer>`` first (first match wins, like the
release notebook); fallback: a metre unit after the number inside the tags (``<answer>
3.2 m </answer>``). The answer must be tagged, as the prompt asks: a bare number (the
compact format's answer, `vlm3.tasks.depth.compact`) is a failure. Failures (never
exceptions): empty text, unclosed ``<think>``, an ``<answer>`` without ``</answer>``
(truncated), no tags, no number, non-finite, non-positive.

The compact format (`vlm3.tasks.depth.compact`) has the same functions.
"""

from __future__ import annotations

import re

from vlm3.protocol import codecs
from vlm3.protocol.answer_templates import Copy, Slot
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, check_text, parse_match, read_number, strip_think

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

_UNIT = r"(?:m|meters?|metres?)"
_TAG_WITH_UNIT = re.compile(rf"<answer>\s*({NUMBER_PATTERN})\s*{_UNIT}?\s*\.?\s*</answer>", re.IGNORECASE)

#: answer templates (``think`` and ``plain`` styles) for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = (
    ("<think> The point is around ", Slot("d"), " meters away from the camera. </think>\n\n<answer> ",
     Copy("d"), " </answer>"),
    ("<answer> ", Slot("d"), " </answer>"),
)

def prompt(xy_norm2000) -> str:
    """The release depth prompt for one point (x, y) on the 2000-grid (integers)."""
    x, y = codecs.int_pair(xy_norm2000, "xy_norm2000", 0, 1999)
    return PROMPT_TEMPLATE.format(norm_x=x, norm_y=y)


def render_answer(depth_m: float, style: str = "think") -> str:
    """Answer text for a depth in metres (ray length or z, as labelled; 2 decimals).
    style: "think" (release/DepthLM) or "plain" (project format). Raises ValueError on a
    non-finite or non-positive depth."""
    d = float(depth_m)
    if not (d > 0 and d < float("inf")):
        raise ValueError(f"depth_m must be positive and finite, got {depth_m!r}")
    if style == "think":
        return _THINK_ANSWER.format(d=d)
    if style == "plain":
        return _PLAIN_ANSWER.format(d=d)
    raise ValueError(f"unknown depth answer style {style!r}; choose one of {ANSWER_STYLES}")


_OPEN_TAG = re.compile(r"<answer>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</answer>", re.IGNORECASE)
#: The longest ``<answer> ... </answer>`` span the parser reads (a number, a unit, spaces).
MAX_TAG_SPAN = 256


def _tag_spans(text: str) -> list[str]:
    """Each ``<answer>`` up to and including the first ``</answer>`` after it (case-
    insensitive), spans longer than MAX_TAG_SPAN left out: the release regex is then run on
    these short spans only, so parsing stays linear in the text (the regex alone backtracks
    quadratically over a long run of digits). Same matches as searching the whole text,
    since a number never contains ``<``."""
    spans, pos = [], 0
    while (o := _OPEN_TAG.search(text, pos)) is not None:
        c = _CLOSE_TAG.search(text, o.end())
        if c is None:
            break
        if c.end() - o.start() <= MAX_TAG_SPAN:
            spans.append(text[o.start():c.end()])
        pos = o.end()
    return spans


def parse_answer(text: str) -> Parsed[float]:
    """Depth in metres from a model answer; never raises (see module docstring)."""
    return parse_match(text, _tagged_number, _untagged_reason, lambda m: depth_m(m[1]), clean=_usable)


def _usable(text: object) -> tuple[str, str | None]:
    """The text itself (the release regex reads it as written, ``<think>`` blocks included)
    unless it is unusable (`check_text`)."""
    reason = check_text(text)
    return ("", reason) if reason else (str(text), None)


def _tagged_number(text: str) -> re.Match[str] | None:
    """The first tag span the release regex reads, else the first with a metre unit."""
    spans = _tag_spans(text)
    return (next((x for x in map(ANSWER_REGEX.match, spans) if x), None)
            or next((x for x in map(_TAG_WITH_UNIT.match, spans) if x), None))


def _untagged_reason(text: str) -> str:
    if _OPEN_TAG.search(text):
        return "no number inside <answer> </answer>" if _CLOSE_TAG.search(text) else \
            "unclosed <answer> tag (truncated output?)"
    _, think_reason = strip_think(text)
    return think_reason or "no <answer> </answer> tags (a bare number is the compact format's answer)"


def depth_m(token: str) -> Parsed[float]:
    """Metres from a number token: finite and positive (both text formats of the task read
    depths by this rule)."""
    return read_number(token, "depth {token!r} is not a finite number", lambda v: v > 0,
                       "depth {value} m is not positive")
