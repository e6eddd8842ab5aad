"""What the object text formats share: question names, region boxes, values, clock hours.

A generated object question is a qualitative ``predicate`` (`QUALITATIVE_PREDICATES`,
answered yes/no) or a quantitative ``kind`` (`QUANTITATIVE_KINDS`: lengths in metres, or
``direction`` as a clock hour 1..12) about region A (and region B, except for the
single-region kinds). Regions are integer boxes ``[x1, y1, x2, y2]`` on the 1000-grid of
the image (`codecs.encode_box_norm1000`). The release format (`vlm3.tasks.object.text`)
and the demo's compact format (`vlm3.tasks.object.compact`) write these with their own
wording; both validate through the functions here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

QUALITATIVE_PREDICATES = ("left", "right", "above", "below", "big", "small", "tall", "short", "wide",
                          "thin", "behind", "front")
QUANTITATIVE_KINDS = ("direct_distance", "horizontal_distance", "vertical_distance", "width", "height",
                      "direction")
#: Quantitative kinds about region A alone (box_b is None).
SINGLE_REGION_KINDS = ("width", "height")


def box_ints(box_norm1000: Sequence[int]) -> list[int]:
    """The box as 4 ints in [0, 1000] with x1 <= x2, y1 <= y2; ValueError otherwise."""
    try:
        vals = [int(v) for v in box_norm1000]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"box must be 4 integers on the 1000-grid, got {box_norm1000!r}") from exc
    if len(vals) != 4 or any(v != b for v, b in zip(vals, box_norm1000)):
        raise ValueError(f"box must be 4 integers on the 1000-grid, got {box_norm1000!r}")
    if not all(0 <= v <= 1000 for v in vals) or vals[2] < vals[0] or vals[3] < vals[1]:
        raise ValueError(f"box must lie in [0, 1000] with x1 <= x2, y1 <= y2, got {vals}")
    return vals


def check_predicate(predicate: str) -> str:
    """``predicate`` if it is a qualitative predicate; ValueError listing them otherwise."""
    if predicate not in QUALITATIVE_PREDICATES:
        raise ValueError(f"unknown predicate {predicate!r}; choose one of {QUALITATIVE_PREDICATES}")
    return predicate


def check_quantitative(kind: str, box_b, value: float) -> float:
    """``value`` validated for ``kind``: a clock hour 1..12 (int) for "direction", else a
    finite non-negative length in metres; ValueError for an unknown kind, a missing
    region B or a bad value."""
    if kind not in QUANTITATIVE_KINDS:
        raise ValueError(f"unknown quantitative kind {kind!r}; choose one of {QUANTITATIVE_KINDS}")
    if kind not in SINGLE_REGION_KINDS and box_b is None:
        raise ValueError(f"{kind} needs two regions (box_b is None)")
    if kind == "direction":
        hour = int(value)
        if hour != value or not 1 <= hour <= 12:
            raise ValueError(f"direction value must be a clock hour 1..12, got {value!r}")
        return hour
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"length must be finite and non-negative, got {value!r}")
    return v


def clock_from_direction(dx: float, dz: float) -> int:
    """Clock hour 1..12 of a horizontal direction in camera coordinates seen from above:
    12 = straight ahead (+z), 3 = right (+x), 6 = towards the camera, 9 = left."""
    if not (math.isfinite(dx) and math.isfinite(dz)) or (dx == 0 and dz == 0):
        raise ValueError(f"direction must be finite and non-zero, got ({dx}, {dz})")
    hour = round(math.degrees(math.atan2(dx, dz)) / 30.0) % 12
    return 12 if hour == 0 else hour
