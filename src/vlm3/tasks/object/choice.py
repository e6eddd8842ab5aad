"""SpatialRGPT's ``*_choice`` questions ("Who is taller, A or B?"): answered by naming a region.

A choice question's truth is stored as a yes/no polarity, ``truth = True`` iff the
reference answer names the question's FIRST region (its ``regions[0]``), so the
qualitative accuracy scores it unchanged; ``choice_region`` keeps the index itself. A
model's answer is read by `parse_region_choice`: the regions it writes (``bounding box
region (x1, y1, x2, y2)``, the compact ``region (x1, y1, x2, y2)``, or SpatialRGPT's own
``Region [i]``) must name exactly one of the two asked regions. A yes/no answer, a box
that is neither region, or both regions named is a counted parse failure, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vlm3.protocol.parsing import Parsed, clean_answer

#: a region written as ``region (x1, y1, x2, y2)`` (1000-grid integers) in an answer
REGION_BOX = re.compile(r"region\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)
_INDEX = re.compile(r"region\s*\[\s*(\d+)\s*\]", re.IGNORECASE)
#: a written box may be off by this much per coordinate (1000-grid) and still name a region
BOX_TOLERANCE = 2


def is_choice(predicate: str | None) -> bool:
    """Whether a question predicate is a SpatialRGPT choice category (``left_choice``, ...)."""
    return str(predicate or "").endswith("_choice")


def _which(box: Sequence[int], boxes: Sequence[Sequence[int]]) -> int | None:
    for k, ref in enumerate(boxes):
        if all(abs(int(a) - int(b)) <= BOX_TOLERANCE for a, b in zip(box, ref)):
            return k
    return None


def parse_region_choice(text: str, boxes: Sequence[Sequence[int]],
                        region_indices: Sequence[int] | None = None) -> Parsed[bool]:
    """True when the answer names the first asked region, False for the second; never raises.

    Args:
        text: the answer.
        boxes: the two asked regions' 1000-grid boxes, in question order.
        region_indices: their indices in the sample (for ``Region [i]`` answers).
    """
    cleaned, reason = clean_answer(text)
    if reason:
        return Parsed.failure(reason)
    if len(boxes) != 2:
        return Parsed.failure(f"a choice question needs two regions, got {len(boxes)}")
    named: set[int] = set()
    for m in REGION_BOX.finditer(cleaned):
        k = _which([int(v) for v in m.groups()], boxes)
        if k is None:
            return Parsed.failure(f"the answer names a region that was not asked: {m.group(0)!r}")
        named.add(k)
    for m in _INDEX.finditer(cleaned):
        idx = int(m.group(1))
        order = list(region_indices) if region_indices is not None else [0, 1]
        if idx not in order:
            return Parsed.failure(f"the answer names Region [{idx}], which was not asked")
        named.add(order.index(idx))
    if len(named) != 1:
        return Parsed.failure("a choice answer must name exactly one of the two regions"
                              if named else "the answer names no region")
    return Parsed.success(named.pop() == 0)


__all__ = ["is_choice", "parse_region_choice", "BOX_TOLERANCE", "REGION_BOX"]
