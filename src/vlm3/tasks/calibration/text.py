"""Camera-calibration text, the project's full format (format_version vlm3-release-v1).

The VLM3 release has no calibration task; this is the project's own wording in the release
format's style (a full sentence, the unit spelled out), so a model fine-tuned on release-format
data learns it beside the four release tasks without a second format.

Prompt: ``What is the horizontal field of view of this image?`` (the image as given, only
downsized to the image budget: resizing keeps the field of view, focal normalisation would
erase it). Answer: ``The horizontal field of view is 63.4 degrees.`` (1 decimal).

Why degrees and not the focal on the 2000-grid of the width (f / W * 2000, the same quantity
as a number): the metrics (median error, fraction under 1/2/5 deg, as GeoCalib/AnyCalib) are
in degrees, so an answer in degrees makes every unit of text error one unit of metric error;
the range is bounded (about 20-120 deg for real lenses, 3-4 digits) where the focal grows
without bound as the field of view narrows (a 10 deg lens: 11,430 on the grid); the answer
needs no grid convention to read.

Parser: exactly one number followed by ``degrees``/``deg``/``°`` (or a bare number), after
complete ``<think>`` blocks; failures (never exceptions): empty text, unclosed ``<think>``,
no number, several numbers, a field of view outside (0, 180).
"""

from __future__ import annotations

import re

from vlm3.protocol.answer_templates import Slot, alternatives
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, find_numbers, parse_match, read_number

PROMPT_TEMPLATE = "What is the horizontal field of view of this image?"
ANSWER_TEMPLATE = "The horizontal field of view is {fov} degrees."
#: answer templates for template-forced decoding (`vlm3.predictors.templates`)
ANSWER_TEMPLATES = alternatives("The horizontal field of view is ", Slot("f"), " degrees.")

_ANSWER = re.compile(rf"({NUMBER_PATTERN})\s*(?:degrees?|deg|°)?", re.IGNORECASE)


def prompt() -> str:
    """The calibration question (one per image)."""
    return PROMPT_TEMPLATE


def check_fov_deg(hfov_deg: float) -> float:
    """``hfov_deg`` as a float; ValueError unless it is in (0, 180) degrees."""
    v = float(hfov_deg)
    if not 0.0 < v < 180.0:
        raise ValueError(f"a horizontal field of view must be in (0, 180) degrees, got {hfov_deg!r}")
    return v


def render_answer(hfov_deg: float) -> str:
    """The answer sentence, 1 decimal (ValueError outside (0, 180) degrees)."""
    return ANSWER_TEMPLATE.format(fov=f"{check_fov_deg(hfov_deg):.1f}")


def fov_from_text(cleaned: str) -> Parsed[float]:
    """The one field of view (degrees) in cleaned answer text (shared by both formats)."""
    numbers = find_numbers(cleaned)
    if not numbers:
        return Parsed.failure("no number in the answer")
    if len(numbers) > 1:
        return Parsed.failure(f"{len(numbers)} numbers in the answer; expected one field of view")
    return read_number(numbers[0], "field of view {token} is not in (0, 180) degrees", lambda v: 0.0 < v < 180.0)


def read_fov(m: re.Match[str]) -> Parsed[float]:
    """The field of view of an answer whose shape ``m`` matched (`fov_from_text` of its cleaned text)."""
    return fov_from_text(m.string)


def parse_answer(text: str) -> Parsed[float]:
    """The horizontal field of view (degrees) in an answer; never raises (see module doc)."""
    return parse_match(text, _ANSWER, "no number in the answer", read_fov)


__all__ = ["ANSWER_TEMPLATE", "ANSWER_TEMPLATES", "PROMPT_TEMPLATE", "check_fov_deg", "fov_from_text",
           "parse_answer", "prompt", "read_fov", "render_answer"]
