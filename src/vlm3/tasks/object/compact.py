"""Object-level 3D text, compact format (vlm3-compact-v3): DEMO ONLY, not the release.

The CPU demo trains a micro model on short prompts and bare fixed-width answers to fit
its compute budget; the 4B recipes and the release evaluation never use this module
(`vlm3.tasks.object.text` is the release format, with the same renderers and parsers).

Regions: ``region (000, 039, 652, 999)`` (integer 1000-grid box, 3 digits, 1000 written
999). One short question per predicate / kind (`vlm3.tasks.object.questions` names
them); answers ``Yes`` / ``No``, ``025.90 m`` (always metres, fixed width, 2 decimals),
``05 o'clock``. The renderers take the release's ``template_idx`` and ignore it (one
template each), so a builder draws the same random numbers in both formats.

Parsers read these bare answers only (after complete ``<think>`` blocks; case, a final
period and the unit spelling ``m`` / ``meters`` are free); sentences (the release
answers) fail. Never raise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vlm3.protocol import codecs
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, parse_match, read_number
from vlm3.tasks.object.questions import (
    QUALITATIVE_PREDICATES,
    QUANTITATIVE_KINDS,
    box_ints,
    check_predicate,
    check_quantitative,
)
from vlm3.tasks.object.text import clock_hour  # the release's hour rule

REGION_TEMPLATE = "region ({}, {}, {}, {})"
_QUALITATIVE = {
    "left": "Is [A] left of [B]?", "right": "Is [A] right of [B]?", "above": "Is [A] above [B]?",
    "below": "Is [A] below [B]?", "big": "Is [A] bigger than [B]?", "small": "Is [A] smaller than [B]?",
    "tall": "Is [A] taller than [B]?", "short": "Is [A] shorter than [B]?", "wide": "Is [A] wider than [B]?",
    "thin": "Is [A] thinner than [B]?", "behind": "Is [A] behind [B]?", "front": "Is [A] in front of [B]?",
}
_QUANTITATIVE = {
    "direct_distance": "Distance between [A] and [B] in meters?",
    "horizontal_distance": "Horizontal distance between [A] and [B] in meters?",
    "vertical_distance": "Vertical distance between [A] and [B] in meters?",
    "width": "Width of [A] in meters?", "height": "Height of [A] in meters?",
    "direction": "From [A], in which clock direction is [B]?",
}

_YES_NO = re.compile(r"^\s*(yes|no)\s*\.?\s*$", re.IGNORECASE)
_LENGTH = re.compile(rf"^\s*({NUMBER_PATTERN})\s*(?:m|meters?|metres?)?\s*\.?\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*(\d{1,2})\s*o['’]?\s*clock\s*\.?\s*$", re.IGNORECASE)


def region_text(box_norm1000: Sequence[int]) -> str:
    """``region (xxx, yyy, xxx, yyy)`` (3 digits, 1000 written 999) for an integer 1000-grid box."""
    return REGION_TEMPLATE.format(*(codecs.fixed_int(v, 3, max_value=999) for v in box_ints(box_norm1000)))


def _fill(template: str, box_a, box_b) -> str:
    out = template.replace("[A]", region_text(box_a))
    return out.replace("[B]", region_text(box_b)) if "[B]" in out else out


def render_qualitative(predicate: str, box_a, box_b, truth: bool,
                       template_idx: int | tuple[int, int] = 0) -> tuple[str, str]:
    """(question, answer): ``Is region (...) left of region (...)?``, ``Yes`` / ``No``.
    template_idx is ignored (one template)."""
    return _fill(_QUALITATIVE[check_predicate(predicate)], box_a, box_b), "Yes" if truth else "No"


def render_quantitative(kind: str, box_a, box_b, value: float,
                        template_idx: int | tuple[int, int] = 0) -> tuple[str, str]:
    """(question, answer) for a quantitative `kind`; answers ``025.90 m`` (value in metres,
    fixed width, 2 decimals) or ``05 o'clock`` (value: clock hour 1..12). box_b is None for
    width/height; template_idx is ignored (one template)."""
    v = check_quantitative(kind, box_b, value)
    answer = f"{codecs.fixed_int(v, 2)} o'clock" if kind == "direction" else f"{codecs.fixed_number(v, 3, 2)} m"
    return _fill(_QUANTITATIVE[kind], box_a, box_b), answer


def parse_qualitative(text: str) -> Parsed[bool]:
    """True for ``Yes``, False for ``No`` (nothing else); never raises."""
    return parse_match(text, _YES_NO, "the answer is not a bare Yes or No",
                       lambda m: Parsed.success(m[1].lower() == "yes"))


def parse_quantitative_m(text: str) -> Parsed[float]:
    """Metres from a bare ``025.90 m`` (the unit may be left out); never raises."""
    return parse_match(text, _LENGTH, "the answer is not a bare length in metres",
                       lambda m: read_number(m[1], "length {token!r} is not a finite non-negative number",
                                             lambda v: v >= 0))


def parse_clock(text: str) -> Parsed[int]:
    """Clock hour 1..12 from a bare ``05 o'clock``; never raises."""
    return parse_match(text, _CLOCK, "the answer is not a bare 'N o'clock'", lambda m: clock_hour(m[1]))


__all__ = ["QUALITATIVE_PREDICATES", "QUANTITATIVE_KINDS", "region_text", "render_qualitative",
           "render_quantitative", "parse_qualitative", "parse_quantitative_m", "parse_clock"]
