"""The calibration task's pictures: predicted vs true field of view over every image (report) and
the answer as a caption (``vlm3 data inspect``), with ``vlm3.drawing``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.drawing import png_data_uri, pyplot
from vlm3.tasks.common import text_format_for
from vlm3.tasks.figures import Figure, parsed_with_truths, turns


def fov_pairs(unit: Any, recs: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) horizontal fields of view (degrees) of the parsed answers of ``recs``."""
    gt, pr = parsed_with_truths(unit, recs)
    return np.asarray(gt, float), np.asarray(pr, float)


def fig_fov(unit: Any, records: Mapping[str, Sequence[dict]], reference: Sequence[str]) -> str | None:
    """Predicted vs true field of view per predictor (the diagonal is right; the band +-5 deg)."""
    pairs = {n: fov_pairs(unit, rs) for n, rs in records.items() if rs and n not in reference}
    pairs = {n: p for n, p in pairs.items() if len(p[0])}
    if not pairs:
        return None
    fig, ax = pyplot().subplots(figsize=(5.2, 4.4))
    lo = min(min(g.min(), p.min()) for g, p in pairs.values()) - 5
    hi = max(max(g.max(), p.max()) for g, p in pairs.values()) + 5
    xs = np.array([lo, hi])
    ax.fill_between(xs, xs - 5, xs + 5, color="0.9", label="within 5°")
    ax.plot(xs, xs, "k--", lw=0.8)
    for name, (g, p) in pairs.items():
        ax.scatter(g, p, s=14, alpha=0.7, label=f"{name} (n={len(g)})")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("true horizontal field of view (°)")
    ax.set_ylabel("predicted (°)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("calibration: predicted vs true field of view", fontsize=10)
    return png_data_uri(fig)


def report_figures(unit: Any, records: Mapping[str, Sequence[dict]], focus: str | None,
                   reference: Sequence[str] = ()) -> list[Figure]:
    """The field-of-view scatter of every predictor that does not answer from the truth."""
    return [Figure("calibration — predicted vs true horizontal field of view", fig_fov(unit, records, reference),
                   small=True)]


def inspect_marks(unit: Any, messages: list[dict[str, Any]], format_version: str | None,
                  sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
    """The answered field of view as a caption line (it is not a place on the pixels)."""
    fmt = text_format_for(unit.name, format_version)
    lines = []
    for _, a in turns(messages):
        p = fmt.parse_answer(a)
        lines.append(f"horizontal field of view {p.value:.1f} deg" if p.ok else f"unreadable answer: {a[:80]}")
    return {"caption": lines}
