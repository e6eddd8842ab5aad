"""The correspondence task's report figure: one sample's two images side by side, the predicted
matches as coloured lines and the true matches as white crosses (``vlm3.drawing``); and
``vlm3 predict match``'s matches.png (``match_png``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.drawing import draw_matches, png_data_uri, pyplot, save_png, side_by_side
from vlm3.protocol import codecs
from vlm3.tasks.figures import Figure, focus_figure, load_image, parse_record, question_turns


def fig_matches(unit: Any, recs: Sequence[dict], title: str) -> str | None:
    """Prediction (coloured line) vs ground truth (white x) on one correspondence sample."""
    if not recs or not recs[0].get("images"):
        return None
    r = recs[0]
    ims = [load_image(x) for x in r["images"][:2]]
    if len(ims) < 2 or any(im is None for im in ims):
        return None
    canvas, (_, off) = side_by_side(ims)
    fig, ax = pyplot().subplots(figsize=(9, 9 * canvas.shape[0] / canvas.shape[1] + 0.5))
    ax.imshow(canvas)
    parsed = parse_record(unit, r)
    queries = unit.queries_from_labels(r["labels"])
    n = min(len(parsed), len(queries))
    xy0 = np.array([m["query_xy_px"] for m in queries[:n]], float).reshape(-1, 2)
    xy1 = np.array([p.value if p.ok else (np.nan, np.nan) for p in parsed[:n]], float).reshape(-1, 2)
    gt = np.array(unit.truths(r["labels"], n), float).reshape(-1, 2)
    draw_matches(ax, xy0, xy1, off, gt, ms=3.5)
    ax.set_title(f"{title}: predicted matches (lines, left → right) and ground truth (white x)", fontsize=10)
    ax.axis("off")
    return png_data_uri(fig)


# ------------------------------------------------------------------ vlm3 predict match
def match_png(path: str | Path, image0: np.ndarray, image1: np.ndarray, xy0_px: np.ndarray,
              xy1_px: np.ndarray, gt_xy1_px: np.ndarray | None = None) -> Path:
    """Side-by-side images with a line per match (NaN rows skipped); GT targets as crosses."""
    canvas, (_, off) = side_by_side([image0, image1])
    fig = pyplot().figure(figsize=(10, 10 * canvas.shape[0] / canvas.shape[1] + 0.3), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(canvas)
    draw_matches(ax, xy0_px, xy1_px, off, gt_xy1_px)
    ax.axis("off")
    return save_png(fig, path)


def report_figures(unit: Any, records: Mapping[str, Sequence[dict]], focus: str | None,
                   reference: Sequence[str] = ()) -> list[Figure]:
    """The match figure of the focus predictor's records (see ``Task.report_figures``)."""
    return focus_figure("correspondence — {focus}", fig_matches, unit, records, focus)


def inspect_marks(unit: Any, messages: list[dict[str, Any]], format_version: str | None,
                  sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
    """Each question's query (image 1) joined to the answered match (image 2), 1000-grids decoded."""
    out = []
    for m, t in question_turns(unit, messages, format_version, "PROMPT_TEMPLATE"):
        if m and t.ok:
            p0 = codecs.decode_xy_norm1000((int(m[1]), int(m[2])), *sizes[0])
            p1 = codecs.decode_xy_norm1000(t.value, *sizes[1])
            out.append((tuple(map(float, p0)), tuple(map(float, p1))))
    return {"matches": out}
