"""Adapter: SpatialRGPT-Bench and the Open Spatial Dataset (OSD) as published (AnjieCheng/SpatialRGPT).

``source.path`` is a JSON list or a JSONL file. SpatialRGPT-Bench (``SpatialRGPT-Bench_v1.json``)::

    {"id": ..., "image_info": {"file_path": "a.jpg", "height": H, "width": W},
     "text_q": "Is <mask> to the left of <mask>?",
     "qa_info": {"type": "qualitative" | "quantitative", "category": "left_predicate", "class": [...]},
     "conversations": [{"from": "human", "value": "<image>\\n..."}, {"from": "gpt", "value": "..."}],
     "bbox": [[x1, y1, x2, y2], ...], "rle": [{"size": [H, W], "counts": "..."}, ...]}

OSD training entries: ``{"filename": "a" (image a.jpg; option image_ext), "conversations", "bbox",
"rle" | "segmentation"}``. Also read: ``image`` (a path), ``image_info.intrinsic`` (3x3 or 4x4),
``intrinsics_fx_fy_cx_cy`` (4 numbers), ``scene``.

Regions: the n-th ``<mask>`` (optionally followed by ``<depth>``) is box n, "Region [i]" is
box i; both become ``{region<i>}`` placeholders that the object builder writes as
``bounding box region (x1, y1, x2, y2)`` on the 1000-grid of the standardised image (the
VLM3 release replaces the ``<mask>`` encoder this way and keeps the rest of the text).
Masks (COCO RLE, compressed or not, or polygons; decoded with pycocotools) are checked
against the image size; a region's box is its ``bbox`` entry when given (the published
boxes, which the release sample writes), else the mask's extent ``[min x, min y, max x + 1,
max y + 1]`` (SpatialRGPT's bbox convention: the box fills ``[y1:y2, x1:x2]``); option
``boxes_from: mask`` takes the mask's extent always.

Intrinsics: the bench and OSD have none, so records get ``camera=None`` and the data
config's ``calibration`` supplies them: ``anycalib|fov60`` = AnyCalib (the model the VLM3
paper used) when installed, else a stated 60-degree guess; the labels' ``camera_from``
records which (``calibrated:anycalib`` or ``fallback:fov60 (AnyCalib not installed)``).

Ground truth (``ObjectQARecord.truths``, one per turn, for entries with ``qa_info``): read
from the reference answer -- ``*_predicate``: its polarity by SpatialRGPT's answer templates
(false ones open with No / Incorrect / In fact / Actually / "That is False"; other wording:
the task's yes/no reader); ``*_choice``: the one region the answer names (``truth`` = it is the question's
first region; ``choice_region`` = its index); distances, width and height: metres (units
converted: inch 0.0254, foot 0.3048, cm 0.01); ``direction``: the clock hour. A reference
answer that does not read is a counted skip with the reason, so every category scores.

Options: ``image_dir`` (relative to the JSON, default "."), ``image_ext`` (OSD ``filename``
entries, default ".jpg"), ``boxes_from`` (bbox | mask). Checks (a counted ``Skipped``):
missing image, an image whose size differs from ``image_info``, intrinsics of the wrong
length, an RLE of the wrong size or unreadable, an empty mask, mask and box counts that
differ, malformed boxes or conversations, an unknown category, an unreadable reference answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vlm3.data.adapters import camera_from_intrinsics, camera_from_K, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.io.records import ObjectQARecord, Record, RecordError, Skipped, ViewRecord
from vlm3.tasks.object import text as obj_text

_MASK = re.compile(r"<mask>(?:\s*<depth>)?")
_REGION = re.compile(r"Region\s*\[(\d+)\]")
_PLACEHOLDER = re.compile(r"\{region(\d+)\}")

#: SpatialRGPT quantitative categories -> the object task's quantitative kinds
QUANT_CATEGORIES = {"distance_data": "direct_distance", "horizontal_distance_data": "horizontal_distance",
                    "vertical_distance_data": "vertical_distance", "width_data": "width",
                    "height_data": "height", "direction": "direction"}
#: how SpatialRGPT's reference answers open (dataset_pipeline/osdsynth/processor/prompt_template.py):
#: its false templates start "No", "Incorrect", "In fact" or "Actually" (e.g. "In fact, [A] is to the
#: right of [B]." answers "left?"), or are "That is False."; its true ones "Yes", "Indeed", "Correct",
#: "That is True."
_REF_NEGATIVE = re.compile(r"^\W*(?:no|incorrect|in fact|actually|that is false)\b", re.IGNORECASE)
_REF_POSITIVE = re.compile(r"^\W*(?:yes|indeed|correct|that is true)\b", re.IGNORECASE)
QUAL_WORDS = ("left", "right", "above", "below", "behind", "front", "big", "small", "tall", "short",
              "wide", "thin")


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
    used = {int(i) for q, a in turns for i in _PLACEHOLDER.findall(q + a)}
    if used and max(used) >= n_boxes:
        raise ValueError(f"text refers to region {max(used)} but only {n_boxes} boxes are given")
    return tuple(turns)


def decode_mask(where: str, rle: Any, width: int, height: int) -> np.ndarray:
    """(H, W) bool mask of one COCO RLE (compressed or not) or polygon list; RecordError when
    unreadable or of another size than the image."""
    from pycocotools import mask as mask_utils

    try:
        if isinstance(rle, list):  # polygons [[x1, y1, x2, y2, ...], ...]
            rle = mask_utils.merge(mask_utils.frPyObjects(rle, height, width))
        if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
            raise RecordError(where, f"mask must be COCO RLE {{size, counts}} or polygons, got {type(rle).__name__}")
        size = [int(v) for v in rle["size"]]
        if size != [height, width]:
            raise RecordError(where, f"RLE of size {size[1] if len(size) > 1 else '?'}x{size[0] if size else '?'}"
                                     f" (WxH) does not match the {width}x{height} image")
        if isinstance(rle["counts"], list):
            rle = mask_utils.frPyObjects(rle, height, width)
        mask = mask_utils.decode(rle)
    except RecordError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise RecordError(where, f"unreadable RLE mask ({err})") from None
    return np.asarray(mask, dtype=bool).reshape(height, width)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """``[min x, min y, max x + 1, max y + 1]`` of a mask's pixels (None when empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def _category(qa_type: str, category: str) -> tuple[str, str]:
    """(task kind, task predicate) of a SpatialRGPT category; ValueError when unknown."""
    if qa_type == "quantitative" and category in QUANT_CATEGORIES:
        return "quantitative", QUANT_CATEGORIES[category]
    word, _, form = category.rpartition("_")
    if qa_type == "qualitative" and word in QUAL_WORDS and form == "predicate":
        return "qualitative", word
    if qa_type == "qualitative" and word in QUAL_WORDS and form == "choice":
        return "qualitative", category
    raise ValueError(f"unknown SpatialRGPT question {qa_type!r}/{category!r}")


def truth_of_turn(question: str, answer: str, qa_type: str, category: str) -> dict[str, Any]:
    """The ground truth of one turn from its reference answer (``{region<i>}`` placeholders);
    ValueError naming what did not read."""
    kind, predicate = _category(qa_type, category)
    regions = [int(i) for i in dict.fromkeys(_PLACEHOLDER.findall(question))]
    out: dict[str, Any] = {"kind": kind, "predicate": predicate, "category": category, "regions": regions}
    plain = _PLACEHOLDER.sub(lambda m: f"Region [{m.group(1)}]", answer)
    if predicate.endswith("_choice"):
        named = list(dict.fromkeys(int(i) for i in _PLACEHOLDER.findall(answer)))
        if len(regions) != 2 or len(named) != 1 or named[0] not in regions:
            raise ValueError(f"reference answer names regions {named}, not one of the asked {regions}")
        out.update(truth=named[0] == regions[0], choice_region=named[0])
        return out
    if kind == "qualitative" and (_REF_NEGATIVE.match(plain) or _REF_POSITIVE.match(plain)):
        out["truth"] = not _REF_NEGATIVE.match(plain)
        return out
    if kind == "qualitative":  # wording outside SpatialRGPT's templates: the task's yes/no reader
        p = obj_text.parse_qualitative(plain)
        key = "truth"
    elif predicate == "direction":
        p = obj_text.parse_clock(plain)
        key = "value"
    else:
        p = obj_text.parse_quantitative_m(plain if not plain[:1].isdigit() else f"It is {plain}")
        key = "value"
    if not p.ok:
        raise ValueError(f"reference answer {answer[:60]!r}: {p.reason}")
    out[key] = p.value
    return out


def _boxes(where: str, e: dict, w: int, h: int, boxes_from: str) -> tuple[tuple[float, float, float, float], ...]:
    raw = e.get("bbox") or []
    boxes = []
    for b in raw:
        try:
            vals = tuple(float(v) for v in b)
        except (TypeError, ValueError):
            raise RecordError(where, f"box {b!r} is not 4 numbers") from None
        if len(vals) != 4 or vals[2] < vals[0] or vals[3] < vals[1]:
            raise RecordError(where, f"boxes must be [x1, y1, x2, y2] with x1<=x2, y1<=y2: {b!r}")
        boxes.append(vals)
    masks = e.get("rle") if e.get("rle") is not None else e.get("segmentation")
    if masks is None:
        return tuple(boxes)
    if not isinstance(masks, list) or (raw and len(masks) != len(raw)):
        raise RecordError(where, f"{len(masks) if isinstance(masks, list) else 'no list of'} masks for "
                                 f"{len(raw)} boxes")
    from_masks = []
    for k, m in enumerate(masks):
        box = mask_box(decode_mask(f"{where}.rle[{k}]", m, w, h))
        if box is None:
            raise RecordError(f"{where}.rle[{k}]", "empty mask")
        from_masks.append(box)
    return tuple(from_masks if boxes_from == "mask" or not boxes else boxes)


def _record(source: SourceConfig, e: Any, i: int, path: Path, image_dir: Path) -> ObjectQARecord:
    where = f"{path}#{i}"
    if not isinstance(e, dict):
        raise RecordError(where, "entry is not an object")
    info = e.get("image_info") or {}
    ext = str(source.options.get("image_ext", ".jpg"))
    rel = e.get("image") or info.get("file_path") or (str(e["filename"]) + ext if "filename" in e else None)
    if not rel:
        raise RecordError(where, "entry names no image (image, image_info.file_path or filename)")
    img = resolve_path(image_dir, str(rel))
    w, h = image_size(img)
    if "width" in info and "height" in info and (int(info["width"]), int(info["height"])) != (w, h):
        raise RecordError(where, f"image_info says {info['width']}x{info['height']} but {img.name} is {w}x{h}")
    if e.get("intrinsics_fx_fy_cx_cy") is not None:
        cam = camera_from_intrinsics(where, e["intrinsics_fx_fy_cx_cy"], w, h)
    elif info.get("intrinsic") is not None:
        cam = camera_from_K(where, info["intrinsic"], w, h)
    else:
        cam = None  # the data config's calibration policy supplies K
    boxes_from = str(source.options.get("boxes_from", "bbox"))
    if boxes_from not in ("bbox", "mask"):
        raise RecordError(where, f"options.boxes_from must be bbox or mask, got {boxes_from!r}")
    boxes = _boxes(where, e, w, h, boxes_from)
    try:
        turns = convert_turns(e.get("conversations", []), len(boxes))
    except (ValueError, KeyError, AttributeError, TypeError) as err:
        raise RecordError(where, f"malformed conversations ({err})") from None
    qa = e.get("qa_info") or {}
    qa_type, category = str(qa.get("type", "")), str(qa.get("category", ""))
    truths: tuple[dict[str, Any], ...] = ()
    if qa_type or category:
        try:
            truths = tuple(truth_of_turn(q, a, qa_type, category) for q, a in turns)
        except ValueError as err:
            raise RecordError(where, str(err)) from None
    rid = f"{source.name}/{e.get('id', i)}"
    scene = str(e.get("scene", Path(str(rel)).stem))
    view = ViewRecord(rid, source.name, scene, str(img), cam, metric=True)
    return ObjectQARecord(rid, source.name, scene, view, boxes, turns, qa_type, category, truths=truths)


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
    for i, e in enumerate(entries):
        try:
            yield _record(source, e, i, path, image_dir)
        except RecordError as err:
            rid = f"{source.name}/{e.get('id', i) if isinstance(e, dict) else i}"
            yield Skipped(source.name, err.path, err.problem, rid)


__all__ = ["iter_records", "convert_turns", "decode_mask", "mask_box", "truth_of_turn", "QUANT_CATEGORIES"]
