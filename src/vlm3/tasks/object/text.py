"""Object-level 3D text (SpatialRGPT-style): questions about boxed regions, answers, parsers.

Regions are written as text, ``bounding box region (x1, y1, x2, y2)`` with integer
1000-grid coordinates of the ORIGINAL image (`codecs.encode_box_norm1000`), replacing
SpatialRGPT's ``<mask>`` / "Region [i]"; the rest of the SpatialRGPT wording is kept. The
templates below are a small subset of SpatialRGPT's own (AnjieCheng/SpatialRGPT prompt
templates), chosen so every answer starts with an unambiguous polarity word; template 2
question + template 3 false answer of ``small`` reproduce the release example exactly.

Compact format (project, "vlm3-compact-v3"): regions as ``region (000, 039, 652, 999)``
(3 digits, 1000 written 999), one short question per predicate/kind
(`render_compact_qualitative` / `_quantitative`), answers ``Yes`` / ``No``, ``025.90 m``
(always metres, fixed width, 2 decimals), ``05 o'clock``.

Pure renderers only: choosing predicates and computing truth/values from 3D boxes is the
data engine's job. Parsers never raise: `parse_qualitative` (yes/no polarity),
`parse_quantitative_m` (m, cm, mm, inches, feet -> metres) and `parse_clock` (o'clock).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from vlm3.protocol import codecs
from vlm3.protocol.parsing import (
    LENGTH_UNIT_PATTERN,
    NUMBER_PATTERN,
    Parsed,
    check_text,
    strip_think,
    to_finite_float,
    unit_scale_m,
)

REGION_TEMPLATE = "bounding box region ({}, {}, {}, {})"

# predicate -> (questions, true answers, false answers); [A], [B] are regions.
_QUALITATIVE: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "left": (("Is [A] to the left of [B] from the viewer's perspective?",
              "Does [A] appear on the left side of [B]?",
              "Can you confirm if [A] is positioned to the left of [B]?"),
             ("Yes, [A] is to the left of [B].", "Indeed, [A] is positioned on the left side of [B].",
              "Correct, you'll find [A] to the left of [B]."),
             ("No, [A] is not to the left of [B].", "No, [A] is to the right of [B].",
              "Incorrect, [A] is not on the left side of [B].")),
    "right": (("Is [A] to the right of [B] from the viewer's perspective?",
               "Does [A] appear on the right side of [B]?",
               "Can you confirm if [A] is positioned to the right of [B]?"),
              ("Yes, [A] is to the right of [B].", "Indeed, [A] is positioned on the right side of [B].",
               "Correct, you'll find [A] to the right of [B]."),
              ("No, [A] is not to the right of [B].", "No, [A] is to the left of [B].",
               "Incorrect, [A] is not on the right side of [B].")),
    "above": (("Is [A] above [B]?", "Does [A] appear over [B]?", "Can you confirm if [A] is positioned above [B]?"),
              ("Yes, [A] is above [B].", "Indeed, [A] is positioned above [B].", "Correct, [A] is located above [B]."),
              ("No, [A] is not above [B].", "No, [A] is below [B].", "Incorrect, [A] is not located above [B].")),
    "below": (("Is [A] below [B]?", "Does [A] appear under [B]?", "Can you confirm if [A] is positioned below [B]?"),
              ("Yes, [A] is below [B].", "Indeed, [A] is positioned below [B].", "Correct, [A] is located below [B]."),
              ("No, [A] is not below [B].", "No, [A] is above [B].", "Incorrect, [A] is not located below [B].")),
    "big": (("Is [A] bigger than [B]?", "Does [A] have a larger size compared to [B]?",
             "Can you confirm if [A] is bigger than [B]?"),
            ("Yes, [A] is bigger than [B].", "Indeed, [A] has a larger size compared to [B].",
             "Correct, [A] is larger in size than [B]."),
            ("No, [A] is not bigger than [B].", "No, [A] might be smaller than [B].",
             "Incorrect, [A] is not larger than [B].")),
    "small": (("Is [A] smaller than [B]?", "Does [A] have a smaller size compared to [B]?",
               "Can you confirm if [A] is smaller than [B]?"),
              ("Yes, [A] is smaller than [B].", "Indeed, [A] has a smaller size compared to [B].",
               "Correct, [A] occupies less space than [B]."),
              ("No.", "No, [A] is not smaller than [B].", "No, [A] might be larger than [B].",
               "Incorrect, [A] is not smaller in size than [B].")),
    "tall": (("Is [A] taller than [B]?", "Does [A] have a greater height compared to [B]?",
              "Can you confirm if [A] is taller than [B]?"),
             ("Yes, [A] is taller than [B].", "Indeed, [A] has a greater height compared to [B].",
              "Correct, [A] is taller than [B]."),
             ("No, [A] is not taller than [B].", "No, [A] may be shorter than [B].",
              "Incorrect, the height of [A] is not larger than that of [B].")),
    "short": (("Is [A] shorter than [B]?", "Does [A] have a lesser height compared to [B]?",
               "Can you confirm if [A] is shorter than [B]?"),
              ("Yes, [A] is shorter than [B].", "Indeed, [A] has a lesser height compared to [B].",
               "Correct, [A] is not as tall as [B]."),
              ("No, [A] is not shorter than [B].", "No, [A] may be taller than [B].",
               "Incorrect, the height of [A] does not fall short of that of [B].")),
    "wide": (("Is [A] wider than [B]?", "Does [A] have a greater width compared to [B]?",
              "Can you confirm if [A] is wider than [B]?"),
             ("Yes, [A] is wider than [B].", "Indeed, [A] has a greater width compared to [B].",
              "Correct, the width of [A] exceeds that of [B]."),
             ("No, [A] is not wider than [B].", "No, [A] might be narrower than [B].",
              "Incorrect, the width of [A] does not surpass that of [B].")),
    "thin": (("Is [A] thinner than [B]?", "Does [A] have a lesser width compared to [B]?",
              "Can you confirm if [A] is thinner than [B]?"),
             ("Yes, [A] is thinner than [B].", "Indeed, [A] has a lesser width compared to [B].",
              "Correct, the width of [A] is less than that of [B]."),
             ("No, [A] is not thinner than [B].", "No, [A] might be wider than [B].",
              "Incorrect, the width of [A] is not less than that of [B].")),
    "behind": (("Is [A] behind [B]?", "Is [A] further from the camera than [B]?",
                "Can you confirm if [A] is positioned behind [B]?"),
               ("Yes, [A] is behind [B].", "Indeed, [A] is further from the camera than [B].",
                "Correct, [A] is positioned behind [B]."),
               ("No, [A] is not behind [B].", "No, [A] is in front of [B].",
                "Incorrect, [A] is not positioned behind [B].")),
    "front": (("Is [A] in front of [B]?", "Is [A] closer to the camera than [B]?",
               "Can you confirm if [A] is positioned in front of [B]?"),
              ("Yes, [A] is in front of [B].", "Indeed, [A] is closer to the camera than [B].",
               "Correct, [A] is positioned in front of [B]."),
              ("No, [A] is not in front of [B].", "No, [A] is behind [B].",
               "Incorrect, [A] is not positioned in front of [B].")),
}
QUALITATIVE_PREDICATES = tuple(_QUALITATIVE)

# kind -> (questions, answers); [X] is the value text. width/height use only [A].
_QUANTITATIVE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "direct_distance": (("What is the distance between [A] and [B]?", "How far apart are [A] and [B]?",
                         "Can you tell me the distance of [A] from [B]?"),
                        ("[A] and [B] are [X] apart.", "[A] is [X] away from [B].",
                         "The distance of [A] from [B] is [X].")),
    "horizontal_distance": (("What is the horizontal distance between [A] and [B]?",
                             "How far apart are [A] and [B] horizontally?",
                             "Measure the horizontal distance from [A] to [B]."),
                            ("[A] and [B] are [X] apart horizontally.",
                             "The horizontal distance between [A] and [B] is [X].",
                             "[A] is [X] away from [B] horizontally.")),
    "vertical_distance": (("What is the vertical distance between [A] and [B]?",
                           "How far apart are [A] and [B] vertically?",
                           "Measure the vertical distance from [A] to [B]."),
                          ("[A] and [B] are [X] apart vertically.",
                           "The vertical distance between [A] and [B] is [X].",
                           "[A] is [X] away from [B] vertically.")),
    "width": (("How wide is [A]?", "What is the width of [A]?", "Measure the width of [A]."),
              ("[A] is [X] wide.", "The width of [A] is [X].", "[A] measures [X] in width.")),
    "height": (("How tall is [A]?", "What is the height of [A]?", "Measure the height of [A]."),
               ("[A] is [X] tall.", "The height of [A] is [X].", "[A] measures [X] in height.")),
    "direction": (("If you are at [A], where will you find [B]?",
                   "From [A], in which clock direction is [B]?",
                   "Standing at [A] and facing the camera's forward direction, where is [B]?"),
                  ("[B] is roughly at [X] from [A].", "From [A], [B] is around the [X] direction.",
                   "[A] will find [B] around the [X] direction.")),
}
QUANTITATIVE_KINDS = tuple(_QUANTITATIVE)
_SINGLE_REGION_KINDS = ("width", "height")

COMPACT_REGION_TEMPLATE = "region ({}, {}, {}, {})"
_COMPACT_QUALITATIVE = {
    "left": "Is [A] left of [B]?", "right": "Is [A] right of [B]?", "above": "Is [A] above [B]?",
    "below": "Is [A] below [B]?", "big": "Is [A] bigger than [B]?", "small": "Is [A] smaller than [B]?",
    "tall": "Is [A] taller than [B]?", "short": "Is [A] shorter than [B]?", "wide": "Is [A] wider than [B]?",
    "thin": "Is [A] thinner than [B]?", "behind": "Is [A] behind [B]?", "front": "Is [A] in front of [B]?",
}
_COMPACT_QUANTITATIVE = {
    "direct_distance": "Distance between [A] and [B] in meters?",
    "horizontal_distance": "Horizontal distance between [A] and [B] in meters?",
    "vertical_distance": "Vertical distance between [A] and [B] in meters?",
    "width": "Width of [A] in meters?", "height": "Height of [A] in meters?",
    "direction": "From [A], in which clock direction is [B]?",
}


def region_text(box_norm1000: Sequence[int]) -> str:
    """``bounding box region (x1, y1, x2, y2)`` for an integer 1000-grid box."""
    return REGION_TEMPLATE.format(*_box_ints(box_norm1000))


def compact_region_text(box_norm1000: Sequence[int]) -> str:
    """``region (xxx, yyy, xxx, yyy)`` (compact format, 3 digits) for an integer 1000-grid box."""
    return COMPACT_REGION_TEMPLATE.format(*(codecs.fixed_int(v, 3, max_value=999) for v in _box_ints(box_norm1000)))


def _box_ints(box_norm1000: Sequence[int]) -> list[int]:
    try:
        vals = [int(v) for v in box_norm1000]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"box must be 4 integers on the 1000-grid, got {box_norm1000!r}") from exc
    if len(vals) != 4 or any(v != b for v, b in zip(vals, box_norm1000)):
        raise ValueError(f"box must be 4 integers on the 1000-grid, got {box_norm1000!r}")
    if not all(0 <= v <= 1000 for v in vals) or vals[2] < vals[0] or vals[3] < vals[1]:
        raise ValueError(f"box must lie in [0, 1000] with x1 <= x2, y1 <= y2, got {vals}")
    return vals


def _fill(template: str, box_a, box_b, value_text: str | None = None, region=region_text) -> str:
    out = template.replace("[A]", region(box_a))
    if "[B]" in out:
        out = out.replace("[B]", region(box_b))
    if value_text is not None:
        out = out.replace("[X]", value_text)
    return out[0].upper() + out[1:]


def _pick(options: tuple[str, ...], idx: int, what: str) -> str:
    if not isinstance(idx, int) or idx < 0:
        raise ValueError(f"{what} template index must be a non-negative int, got {idx!r}")
    return options[idx % len(options)]


def _qualitative(predicate: str):
    if predicate not in _QUALITATIVE:
        raise ValueError(f"unknown predicate {predicate!r}; choose one of {QUALITATIVE_PREDICATES}")
    return _QUALITATIVE[predicate]


def render_question(predicate: str, box_a, box_b, template_idx: int = 0) -> str:
    """Qualitative question for `predicate` (see QUALITATIVE_PREDICATES) about region A vs B.
    template_idx is taken modulo the number of templates."""
    questions, _, _ = _qualitative(predicate)
    return _fill(_pick(questions, template_idx, "question"), box_a, box_b)


def render_qualitative_answer(predicate: str, box_a, box_b, truth: bool, template_idx: int = 0) -> str:
    """Answer to the `predicate` question: affirmative when `truth`, else negative."""
    _, true_answers, false_answers = _qualitative(predicate)
    options = true_answers if truth else false_answers
    return _fill(_pick(options, template_idx, "answer"), box_a, box_b)


def render_qualitative(predicate: str, box_a, box_b, truth: bool,
                       template_idx: int | tuple[int, int] = 0) -> tuple[str, str]:
    """(question, answer). template_idx: one index for both, or (question_idx, answer_idx)."""
    q_idx, a_idx = template_idx if isinstance(template_idx, tuple) else (template_idx, template_idx)
    return (render_question(predicate, box_a, box_b, q_idx),
            render_qualitative_answer(predicate, box_a, box_b, bool(truth), a_idx))


def format_length(value_m: float, unit: str = "auto") -> str:
    """``1.23 meters`` or ``45.6 centimeters``. unit: "m", "cm", or "auto" (cm below 1 m)."""
    v = float(value_m)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"length must be finite and non-negative, got {value_m!r}")
    if unit == "auto":
        unit = "m" if v >= 1.0 else "cm"
    if unit == "m":
        return f"{v:.2f} meters"
    if unit == "cm":
        return f"{v * 100:.1f} centimeters"
    raise ValueError(f"unknown unit {unit!r}; choose 'auto', 'm' or 'cm'")


def clock_from_direction(dx: float, dz: float) -> int:
    """Clock hour 1..12 of a horizontal direction in camera coordinates seen from above:
    12 = straight ahead (+z), 3 = right (+x), 6 = towards the camera, 9 = left."""
    if not (math.isfinite(dx) and math.isfinite(dz)) or (dx == 0 and dz == 0):
        raise ValueError(f"direction must be finite and non-zero, got ({dx}, {dz})")
    hour = round(math.degrees(math.atan2(dx, dz)) / 30.0) % 12
    return 12 if hour == 0 else hour


def render_quantitative(kind: str, box_a, box_b, value: float, template_idx: int | tuple[int, int] = 0,
                        unit: str = "auto") -> tuple[str, str]:
    """(question, answer) for a quantitative `kind` (see QUANTITATIVE_KINDS).

    value: metres for distances/width/height; the clock hour (1..12) for "direction".
    box_b is ignored for width/height (pass None).
    """
    value_text = _quantitative_value_text(kind, box_b, value, unit)
    q_idx, a_idx = template_idx if isinstance(template_idx, tuple) else (template_idx, template_idx)
    questions, answers = _QUANTITATIVE[kind]
    return (_fill(_pick(questions, q_idx, "question"), box_a, box_b),
            _fill(_pick(answers, a_idx, "answer"), box_a, box_b, value_text))


def _quantitative_value_text(kind: str, box_b, value: float, unit: str) -> str:
    if kind not in _QUANTITATIVE:
        raise ValueError(f"unknown quantitative kind {kind!r}; choose one of {QUANTITATIVE_KINDS}")
    if kind not in _SINGLE_REGION_KINDS and box_b is None:
        raise ValueError(f"{kind} needs two regions (box_b is None)")
    if kind == "direction":
        hour = int(value)
        if hour != value or not 1 <= hour <= 12:
            raise ValueError(f"direction value must be a clock hour 1..12, got {value!r}")
        return f"{hour} o'clock"
    return format_length(value, unit)


def render_compact_qualitative(predicate: str, box_a, box_b, truth: bool) -> tuple[str, str]:
    """Compact (question, answer): ``Is region (...) left of region (...)?``, ``Yes``/``No``."""
    _qualitative(predicate)  # validates the predicate
    return (_fill(_COMPACT_QUALITATIVE[predicate], box_a, box_b, region=compact_region_text),
            "Yes" if truth else "No")


def render_compact_quantitative(kind: str, box_a, box_b, value: float) -> tuple[str, str]:
    """Compact (question, answer); answers ``025.90 m`` (metres, fixed width, 2 decimals) or
    ``05 o'clock``. value and box_b as in `render_quantitative`."""
    _quantitative_value_text(kind, box_b, value, "m")  # validates
    if kind == "direction":
        value_text = f"{codecs.fixed_int(value, 2)} o'clock"
    else:
        value_text = f"{codecs.fixed_number(value, 3, 2)} m"
    return _fill(_COMPACT_QUANTITATIVE[kind], box_a, box_b, region=compact_region_text), value_text


# ---------------------------------------------------------------- parsers
_POSITIVE = re.compile(r"\b(yes|correct|indeed|true|right|affirmative|absolutely)\b", re.IGNORECASE)
_NEGATIVE = re.compile(r"\b(no|incorrect|not|false|wrong|negative)\b", re.IGNORECASE)
_REGION = re.compile(r"(?:bounding\s+box\s+)?region\s*\([^()]*\)|region\s*\[\d+\]", re.IGNORECASE)
_LENGTH = re.compile(rf"({NUMBER_PATTERN})\s*({LENGTH_UNIT_PATTERN})", re.IGNORECASE)
_FOLLOWING_LENGTH = re.compile(rf"\s*(?:,|and)?\s*({NUMBER_PATTERN})\s*({LENGTH_UNIT_PATTERN})", re.IGNORECASE)
_BARE_NUMBER = re.compile(rf"^\s*({NUMBER_PATTERN})\s*\.?\s*$")
_CLOCK = re.compile(r"\b(\d{1,2})(?::00)?\s*o['’]?\s*clock", re.IGNORECASE)


def _clean(text: str) -> tuple[str, str | None]:
    reason = check_text(text)
    if reason:
        return "", reason
    cleaned, reason = strip_think(text)
    if reason:
        return "", reason
    return _REGION.sub(" REGION ", cleaned), None


def parse_qualitative(text: str) -> Parsed[bool]:
    """True/False from a yes/no-style answer; never raises.

    The first word decides when it is a polarity word (Yes/Correct/Indeed... vs
    No/Incorrect...); otherwise the text must contain only one polarity, else failure.
    """
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    first = re.match(r"\W*(\w+)", cleaned)
    if first:
        word = first.group(1)
        if _NEGATIVE.fullmatch(word):
            return Parsed.success(False)
        if _POSITIVE.fullmatch(word):
            return Parsed.success(True)
    pos, neg = _POSITIVE.search(cleaned), _NEGATIVE.search(cleaned)
    if pos and not neg:
        return Parsed.success(True)
    if neg and not pos:
        return Parsed.success(False)
    return Parsed.failure("ambiguous answer: both or neither yes/no polarity words" if pos or neg
                          else "no yes/no polarity found")


def parse_quantitative_m(text: str) -> Parsed[float]:
    """A length in metres from an answer ("1.2 meters", "45 cm", "3 feet 2 inches"...).

    Region boxes are ignored. The first number with a length unit is taken (a following
    "N inches" after feet is added). A bare number alone is read as metres. Never raises.
    """
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    m = _LENGTH.search(cleaned)
    if m is None:
        bare = _BARE_NUMBER.match(cleaned)
        if bare is None:
            return Parsed.failure("no number with a length unit found")
        v = to_finite_float(bare.group(1))
        if v is None or v < 0:
            return Parsed.failure(f"length {bare.group(1)!r} is not a finite non-negative number")
        return Parsed.success(v)
    v = to_finite_float(m.group(1))
    scale = unit_scale_m(m.group(2))
    if v is None or scale is None:
        return Parsed.failure(f"length {m.group(0)!r} is not a finite number with a known unit")
    if v < 0:
        return Parsed.failure(f"length {v} is negative")
    total = v * scale
    if scale == unit_scale_m("ft"):  # "5 feet 3 inches"
        nxt = _FOLLOWING_LENGTH.match(cleaned, m.end())
        if nxt and unit_scale_m(nxt.group(2)) == unit_scale_m("in"):
            extra = to_finite_float(nxt.group(1))
            if extra is not None and extra >= 0:
                total += extra * unit_scale_m("in")
    return Parsed.success(total)


def parse_clock(text: str) -> Parsed[int]:
    """Clock hour 1..12 from "... at 10 o'clock ..."; never raises."""
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    m = _CLOCK.search(cleaned)
    if m is None:
        return Parsed.failure("no 'N o'clock' direction found")
    hour = int(m.group(1))
    if not 1 <= hour <= 12:
        return Parsed.failure(f"clock hour {hour} outside 1..12")
    return Parsed.success(hour)
