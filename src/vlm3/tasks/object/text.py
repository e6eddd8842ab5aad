"""Object-level 3D text (SpatialRGPT-style), release format (vlm3-release-v1).

Regions are written as text, ``bounding box region (x1, y1, x2, y2)`` with integer
1000-grid coordinates of the ORIGINAL image (`codecs.encode_box_norm1000`), replacing
SpatialRGPT's ``<mask>`` / "Region [i]"; the rest of the SpatialRGPT wording is kept. The
templates below are a small subset of SpatialRGPT's own (AnjieCheng/SpatialRGPT prompt
templates), chosen so every answer starts with an unambiguous polarity word; template 2
question + template 3 false answer of ``small`` reproduce the release example exactly.
Question names and validation: `vlm3.tasks.object.questions`.

Pure renderers only: choosing predicates and computing truth/values from 3D boxes is the
data engine's job. Parsers never raise: `parse_qualitative` (yes/no polarity),
`parse_quantitative_m` (m, cm, mm, inches, feet -> metres) and `parse_clock` (o'clock).
Release answers are sentences: a quantitative answer that is nothing but a value
(``025.90 m``, ``05 o'clock``: the compact format's answers) is a failure. A one-word
``Yes`` / ``No`` is a release answer too (the release's own templates include ``No.``),
the one answer both formats share.

The compact format (`vlm3.tasks.object.compact`) has the same renderers and parsers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from vlm3.protocol.parsing import (
    LENGTH_UNIT_PATTERN,
    NUMBER_PATTERN,
    Parsed,
    clean_answer,
    parse_match,
    to_finite_float,
    unit_scale_m,
    word_after,
)
from vlm3.tasks.object.questions import (
    QUALITATIVE_PREDICATES,
    QUANTITATIVE_KINDS,
    box_ints,
    check_predicate,
    check_quantitative,
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

def region_text(box_norm1000: Sequence[int]) -> str:
    """``bounding box region (x1, y1, x2, y2)`` for an integer 1000-grid box."""
    return REGION_TEMPLATE.format(*box_ints(box_norm1000))


def _fill(template: str, box_a, box_b, value_text: str | None = None) -> str:
    out = template.replace("[A]", region_text(box_a))
    if "[B]" in out:
        out = out.replace("[B]", region_text(box_b))
    if value_text is not None:
        out = out.replace("[X]", value_text)
    return out[0].upper() + out[1:]


def _pick(options: tuple[str, ...], idx: int, what: str) -> str:
    if not isinstance(idx, int) or idx < 0:
        raise ValueError(f"{what} template index must be a non-negative int, got {idx!r}")
    return options[idx % len(options)]


def _qualitative(predicate: str):
    return _QUALITATIVE[check_predicate(predicate)]


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
    v = check_quantitative(kind, box_b, value)
    return f"{v} o'clock" if kind == "direction" else format_length(v, unit)


# ---------------------------------------------------------------- parsers
#: Polarity words (whole words, case-insensitive). "right" is not one: it is a direction
#: ("It is on the right side." says nothing yes/no about a "left?" question).
_POSITIVE = re.compile(r"\b(yes|yeah|yep|correct|indeed|true|affirmative|absolutely|certainly|definitely)\b",
                       re.IGNORECASE)
_NEGATIVE = re.compile(r"\b(no|nope|not|incorrect|false|wrong|negative|never|\w+n['’]t|cannot)\b", re.IGNORECASE)
#: SpatialRGPT's false-answer openers (dataset_pipeline prompt templates: "In fact, [A] is to the
#: left of [B]." answers "right?"): No unless the rest of the answer states a polarity.
_CONTRADICTING_OPENER = re.compile(r"\W*(?:in fact|actually)\b", re.IGNORECASE)
#: A positive opener negated by the next word ("Indeed not.", "Certainly not", "Absolutely not").
_NEGATED_OPENER = re.compile(r"\W*(?:yes|yeah|yep|correct|indeed|true|affirmative|absolutely|certainly|definitely)"
                             r" (?:not|never)\b", re.IGNORECASE)
_REGION = re.compile(r"(?:bounding\s+box\s+)?region\s*\([^()]*\)|region\s*\[\d+\]", re.IGNORECASE)
_NUMBER = re.compile(NUMBER_PATTERN)
_LENGTH = re.compile(rf"({NUMBER_PATTERN})\s*({LENGTH_UNIT_PATTERN})", re.IGNORECASE)
_FOLLOWING_LENGTH = re.compile(rf"\s*(?:,|and)?\s*({NUMBER_PATTERN})\s*({LENGTH_UNIT_PATTERN})", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2})(?::00)?\s*o['’]?\s*clock", re.IGNORECASE)
_BARE_VALUE = re.compile(rf"^\s*(?:{NUMBER_PATTERN}\s*(?:{LENGTH_UNIT_PATTERN})?|\d{{1,2}}(?::00)?\s*o['’]?\s*clock)\s*\.?\s*$",
                         re.IGNORECASE)
_BARE_VALUE_REASON = "a bare value is the compact format's answer; release answers are sentences"
#: the compact format's fixed-width values ("025.90 m", "05 o'clock"); a bare value with a
#: unit that is not zero-padded is a release answer too: SpatialRGPT's templates answer "[X]"
#: ("6.91 feet"), and a model trained on them may answer so
_COMPACT_FIXED_WIDTH = re.compile(r"^\s*0\d")


def _compact_only(cleaned: str) -> bool:
    """True for an answer only the compact format writes: a bare value that is zero-padded
    or carries no unit."""
    if not _BARE_VALUE.match(cleaned):
        return False
    return bool(_COMPACT_FIXED_WIDTH.match(cleaned)) or not re.search(r"[A-Za-z]", cleaned)


def _clean(text: object) -> tuple[str, str | None]:
    """`clean_answer`, region boxes replaced by ``REGION``."""
    cleaned, reason = clean_answer(text)
    if reason:
        return "", reason
    return _REGION.sub(" REGION ", cleaned), None


def _clean_sentence(text: object) -> tuple[str, str | None]:
    """`_clean`, and a failure for a value only the compact format writes (quantitative answers)."""
    cleaned, reason = _clean(text)
    if not reason and _compact_only(cleaned):
        return "", _BARE_VALUE_REASON
    return cleaned, reason


def parse_qualitative(text: str) -> Parsed[bool]:
    """True/False from a yes/no-style answer; never raises. The rule, in order:

    1. an opening positive word directly followed by "not"/"never" ("Indeed not.",
       "Certainly not") is No;
    2. an opening polarity word decides: Yes/Yeah/Yep/Correct/Indeed/True/Affirmative/
       Absolutely/Certainly/Definitely -> True; No/Nope/Not/Incorrect/False/Wrong/
       Negative/Never/Cannot/any "-n't" word -> False;
    3. an opening "In fact" / "Actually" (SpatialRGPT's false-answer templates: "In fact, A
       is to the left of B." answers "right?") is No, unless the rest holds polarity words
       ("Actually, yes."): then rule 4 reads the rest;
    4. otherwise the whole answer (region boxes ignored) must hold polarity words of one
       kind only: all positive -> True, all negative -> False ("A is not to the left of B");
       none or both -> failure. Direction words ("left", "right") are never polarity: "It is
       on the right side." is a failure, not a Yes.
    """
    cleaned, reason = _clean(text)
    if reason:
        return Parsed.failure(reason)
    if _NEGATED_OPENER.match(cleaned):
        return Parsed.success(False)
    first = re.match(r"\W*([\w'’]+)", cleaned)
    if first:
        word = first.group(1)
        if _NEGATIVE.fullmatch(word):
            return Parsed.success(False)
        if _POSITIVE.fullmatch(word):
            return Parsed.success(True)
    opener = _CONTRADICTING_OPENER.match(cleaned)
    if opener:
        cleaned = cleaned[opener.end():]
        if not (_POSITIVE.search(cleaned) or _NEGATIVE.search(cleaned)):
            return Parsed.success(False)
    pos, neg = _POSITIVE.search(cleaned), _NEGATIVE.search(cleaned)
    if pos and not neg:
        return Parsed.success(True)
    if neg and not pos:
        return Parsed.success(False)
    return Parsed.failure("ambiguous answer: both yes and no polarity words" if pos or neg
                          else "no yes/no polarity found (direction words such as 'right' are not a yes)")


def parse_quantitative_m(text: str) -> Parsed[float]:
    """A length in metres from an answer ("1.2 meters", "45 cm", "3 feet 2 inches"...).

    Region boxes are ignored. The first number with a length unit is taken (a following
    "N inches" after feet is added). A bare value with a unit ("6.91 feet", SpatialRGPT's
    "[X]" template) is read; a zero-padded or unit-less bare value (the compact format's
    answer) fails. Never raises.
    """
    return parse_match(text, _LENGTH, _no_length_reason, _length_m, clean=_clean_sentence)


def _no_length_reason(cleaned: str) -> str:
    unknown = next((w for n in _NUMBER.finditer(cleaned) if (w := word_after(cleaned, n.end()))), None)
    return (f"unknown length unit {unknown!r} (known: m, cm, mm, km, inches, feet)"
            if unknown else "no number with a length unit found")


def _length_m(m: re.Match[str]) -> Parsed[float]:
    v = to_finite_float(m[1])
    scale = unit_scale_m(m[2])
    if v is None or scale is None:
        return Parsed.failure(f"length {m[0]!r} is not a finite number with a known unit")
    if v < 0:
        return Parsed.failure(f"length {v} is negative")
    total = v * scale
    if scale == unit_scale_m("ft"):  # "5 feet 3 inches"
        nxt = _FOLLOWING_LENGTH.match(m.string, m.end())
        if nxt and unit_scale_m(nxt.group(2)) == unit_scale_m("in"):
            extra = to_finite_float(nxt.group(1))
            if extra is not None and extra >= 0:
                total += extra * unit_scale_m("in")
    return Parsed.success(total)


def parse_clock(text: str) -> Parsed[int]:
    """Clock hour 1..12 from "... at 10 o'clock ..." (a sentence); never raises."""
    return parse_match(text, _CLOCK, "no 'N o'clock' direction found", lambda m: clock_hour(m[1]),
                       clean=_clean_sentence)


def clock_hour(digits: str) -> Parsed[int]:
    """The clock hour of a run of 1-2 digits: 1..12 (both text formats of the task read hours
    by this rule)."""
    hour = int(digits)
    if not 1 <= hour <= 12:
        return Parsed.failure(f"clock hour {hour} outside 1..12")
    return Parsed.success(hour)


__all__ = ["QUALITATIVE_PREDICATES", "QUANTITATIVE_KINDS", "REGION_TEMPLATE", "region_text", "render_question",
           "render_qualitative_answer", "render_qualitative", "format_length", "render_quantitative",
           "parse_qualitative", "parse_quantitative_m", "parse_clock", "clock_hour"]
