"""The object task's report figure: one question drawn on its image -- region A, region B --
with the question, the predictor's answer and the truth (``vlm3.drawing``); and ``vlm3 predict
ask``'s ask.png (``boxes_png``: the question's boxes and the answer's)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.drawing import draw_boxes, png_data_uri, pyplot, save_png
from vlm3.protocol import codecs
from vlm3.tasks.common import text_format_for
from vlm3.tasks.figures import Figure, focus_figure, load_image, template_regex, turns

_BOX = re.compile(r"\((\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)")


def _boxes_of(unit: Any, record: dict, i: int) -> list[list[float]]:
    """1000-grid boxes of question ``i``: from the labels' regions, else read off the question text."""
    queries = unit.queries_from_labels(record["labels"])
    if i < len(queries) and queries[i].get("boxes"):
        return [list(b) for b in queries[i]["boxes"]]
    q = (record.get("questions") or [""])[i] if i < len(record.get("questions") or []) else ""
    return [[float(v) for v in m.groups()] for m in _BOX.finditer(q)]


def fig_object_question(unit: Any, recs: Sequence[dict], title: str) -> str | None:
    """One object question drawn on its image: region A (red), region B (blue), the question,
    the model's answer and the truth."""
    for r in recs:
        im = load_image(r["images"][0]) if r.get("images") else None
        boxes = _boxes_of(unit, r, 0) if im is not None else []
        if im is None or not boxes:
            continue
        h, w = im.shape[:2]
        fig, ax = pyplot().subplots(figsize=(7, 7 * h / w + 1.0))
        ax.imshow(im)
        names = [x.get("name") for x in (r["labels"].get("regions") or [])]
        qreg = (r["labels"].get("questions") or [{}])[0].get("regions") or []
        boxes = boxes[:3]
        labels = []
        for k in range(len(boxes)):
            label = "AB"[k] if k < 2 else str(k)
            if k < len(qreg) and qreg[k] < len(names) and names[qreg[k]]:
                label += f": {names[qreg[k]]}"
            labels.append(label)
        px = [[b[0] * w / 1000, b[1] * h / 1000, b[2] * w / 1000, b[3] * h / 1000] for b in boxes]
        draw_boxes(ax, px, ["red", "dodgerblue", "orange"], labels, lw=2.5)
        truth = (r["labels"].get("questions") or [{}])[0]
        want = truth.get("truth", truth.get("value"))
        want = f"{want:.2f} m" if isinstance(want, float) else want
        answer = str((r.get("raw") or ["–"])[0])
        answer = answer if len(answer) <= 40 else answer[:37] + "..." 
        ax.set_title(f"Q: {r['questions'][0]}\n{title}: {answer!r}   truth: {want}", fontsize=9, wrap=True)
        ax.axis("off")
        return png_data_uri(fig)
    return None


# ------------------------------------------------------------------ vlm3 predict ask
def boxes_png(path: str | Path, image: np.ndarray, boxes_px: list, answer_boxes_px: list, title: str = "") -> Path:
    """The image with the question's boxes (green, labelled A, B, ...) and the answer's boxes (red).
    Boxes are [x1, y1, x2, y2] in pixels of ``image`` (H, W, 3) uint8."""
    h, w = image.shape[:2]
    fig = pyplot().figure(figsize=(8, 8 * h / w + 0.6), dpi=100)
    ax = fig.add_axes([0, 0, 1, 0.94 if title else 1])
    ax.imshow(image)
    draw_boxes(ax, boxes_px, "lime", list("ABCD"), label_colour="black")
    draw_boxes(ax, answer_boxes_px, "red")
    ax.axis("off")
    if title:
        fig.suptitle(title[:120], fontsize=9)
    return save_png(fig, path)


def report_figures(unit: Any, records: Mapping[str, Sequence[dict]], focus: str | None,
                   reference: Sequence[str] = ()) -> list[Figure]:
    """One question of the focus predictor's records (see ``Task.report_figures``)."""
    return focus_figure("object — one question with its regions drawn, and {focus}'s answer", fig_object_question,
                        unit, records, focus)


def inspect_marks(unit: Any, messages: list[dict[str, Any]], format_version: str | None,
                  sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
    """The regions the questions name (1000-grid boxes decoded), each once."""
    fmt = text_format_for(unit.name, format_version)
    region = template_regex(fmt.REGION_TEMPLATE)
    out: list[tuple[float, ...]] = []
    for q, _ in turns(messages):
        for r in region.findall(q):
            box = tuple(float(v) for v in codecs.decode_box_norm1000([int(v) for v in r], *sizes[0]))
            if box not in out:
                out.append(box)
    return {"boxes": out}
