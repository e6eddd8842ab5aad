"""Adapter: SpatialRGPT-style object Q&A JSON (Open Spatial Dataset / SpatialRGPT-Bench).

``source.path`` is a JSON list or a JSONL file of entries like::

    {"id": "...", "image": "a.jpg" | "image_info": {"file_path": "a.jpg", "intrinsic": K},
     "filename": "a" (OSD; add option image_ext), "bbox": [[x1, y1, x2, y2], ...],
     "intrinsics_fx_fy_cx_cy": [fx, fy, cx, cy] (optional), "scene": "..." (optional),
     "conversations": [{"from": "human", "value": "<image>\\nIs <mask> left of <mask>?"},
                       {"from": "gpt", "value": "Yes, Region [0] is ..."}, ...],
     "qa_info": {"type": "qualitative", "category": "left_predicate"}}

Boxes are pixels of the image. The n-th ``<mask>`` (optionally followed by ``<depth>``)
refers to box n, "Region [i]" to box i; both become ``{region<i>}`` placeholders that
the object builder writes as ``bounding box region (x1, y1, x2, y2)`` on the 1000-grid of
the standardised image (the VLM3 release replaces the ``<mask>`` encoder this way and
keeps the rest of the text). Options: ``image_dir`` (relative to the JSON, default "."),
``image_ext`` (for ``filename`` entries, default ".jpg"). Entries without intrinsics give
``camera=None`` (the calibration policy decides).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from vlm3.data.adapters import camera_from_intrinsics, camera_from_K, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.io.records import ObjectQARecord, Record, RecordError, Skipped, ViewRecord

_MASK = re.compile(r"<mask>(?:\s*<depth>)?")
_REGION = re.compile(r"Region\s*\[(\d+)\]")


def _entries(path: Path) -> list[Any]:
    text = path.read_text()
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError("top level must be a list of entries")
        return data
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def convert_turns(conversations: list[dict[str, str]], n_boxes: int) -> tuple[tuple[str, str], ...]:
    """SpatialRGPT conversation -> (question, answer) turns with ``{region<i>}`` placeholders."""
    if not conversations or len(conversations) % 2:
        raise ValueError("conversations must be non-empty human/gpt pairs")
    counter = iter(range(10_000))
    turns = []
    for k in range(0, len(conversations), 2):
        q, a = conversations[k], conversations[k + 1]
        if q.get("from") != "human" or a.get("from") != "gpt":
            raise ValueError(f"turn {k // 2}: expected human then gpt")
        texts = []
        for raw in (q["value"], a["value"]):
            t = raw.replace("<image>", "").strip()
            t = _MASK.sub(lambda m: "{region%d}" % next(counter), t)
            t = _REGION.sub(lambda m: "{region%s}" % m.group(1), t)
            texts.append(t)
        turns.append((texts[0], texts[1]))
    used = {int(i) for q, a in turns for i in re.findall(r"\{region(\d+)\}", q + a)}
    if used and max(used) >= n_boxes:
        raise ValueError(f"text refers to region {max(used)} but only {n_boxes} boxes are given")
    return tuple(turns)


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """One ObjectQARecord per entry (Skipped with the reason otherwise)."""
    path = Path(source.path)
    try:
        entries = _entries(path)
    except FileNotFoundError:
        yield Skipped(source.name, str(path), "Q&A file not found")
        return
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
        yield Skipped(source.name, str(path), f"malformed JSON ({err})")
        return
    image_dir = resolve_path(path.parent, str(source.options.get("image_dir", ".")))
    ext = str(source.options.get("image_ext", ".jpg"))
    for i, e in enumerate(entries):
        where = f"{path}#{i}"
        rid = f"{source.name}/{e.get('id', i) if isinstance(e, dict) else i}"
        try:
            if not isinstance(e, dict):
                raise RecordError(where, "entry is not an object")
            info = e.get("image_info") or {}
            rel = e.get("image") or info.get("file_path") or (
                e["filename"] + ext if "filename" in e else None)
            if not rel:
                raise RecordError(where, "entry names no image (image, image_info.file_path or filename)")
            img = resolve_path(image_dir, rel)
            w, h = image_size(img)
            if "intrinsics_fx_fy_cx_cy" in e:
                cam = camera_from_intrinsics(where, e["intrinsics_fx_fy_cx_cy"], w, h)
            elif info.get("intrinsic") is not None:
                cam = camera_from_K(where, info["intrinsic"], w, h)
            else:
                cam = None
            boxes = tuple(tuple(float(v) for v in b) for b in e.get("bbox", []))
            if any(len(b) != 4 or b[2] < b[0] or b[3] < b[1] for b in boxes):
                raise RecordError(where, f"boxes must be [x1, y1, x2, y2] with x1<=x2, y1<=y2: {boxes}")
            try:
                turns = convert_turns(e.get("conversations", []), len(boxes))
            except (ValueError, KeyError, AttributeError) as err:
                raise RecordError(where, f"malformed conversations ({err})") from None
        except RecordError as err:
            yield Skipped(source.name, err.path, err.problem, rid)
            continue
        qa = e.get("qa_info") or {}
        scene = str(e.get("scene", Path(rel).stem))
        view = ViewRecord(rid, source.name, scene, str(img), cam, metric=True)
        yield ObjectQARecord(rid, source.name, scene, view, boxes, turns,
                             str(qa.get("type", "")), str(qa.get("category", "")))
