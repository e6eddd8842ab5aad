"""Camera-calibration text, compact format (vlm3-compact-v3): DEMO ONLY.

Prompt: ``Horizontal FoV?``. Answer: the bare fixed-width number ``063.4`` (degrees, 1
decimal, ``codecs.fixed_number``: the CPU demo's small model reads numbers digit by digit).
Parser: one bare number (optionally ``deg``/``degrees``/``°``) in (0, 180), as
`vlm3.tasks.calibration.text`; never raises.
"""

from __future__ import annotations

import re

from vlm3.protocol import codecs
from vlm3.protocol.answer_templates import Slot
from vlm3.protocol.parsing import NUMBER_PATTERN, Parsed, parse_match
from vlm3.tasks.calibration.text import check_fov_deg, read_fov

PROMPT_TEMPLATE = "Horizontal FoV?"
ANSWER_TEMPLATES = ((Slot("d", "0123456789", 3), ".", Slot("f", "0123456789", 1)),)

_BARE = re.compile(rf"^\s*{NUMBER_PATTERN}\s*(?:degrees?|deg|°)?\s*\.?\s*$", re.IGNORECASE)


def prompt() -> str:
    """The compact calibration question."""
    return PROMPT_TEMPLATE


def render_answer(hfov_deg: float) -> str:
    """The field of view in degrees, fixed width ``DDD.D`` (ValueError outside (0, 180))."""
    return codecs.fixed_number(check_fov_deg(hfov_deg), 3, 1)


def parse_answer(text: str) -> Parsed[float]:
    """The field of view (degrees) of a bare-number answer; never raises."""
    return parse_match(text, _BARE, "the answer is not a bare number", read_fov)


__all__ = ["ANSWER_TEMPLATES", "PROMPT_TEMPLATE", "parse_answer", "prompt", "render_answer"]
