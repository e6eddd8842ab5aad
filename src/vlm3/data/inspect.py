"""Looking at a built set: statistics, and a PNG that draws what the TEXT says on the pixels.

``draw_samples`` decodes the coordinates written in each sample's prompts and answers
(not the labels) and draws them on the stored standardised images: depth queries as
dots with the answered metres, correspondences as query/target dots joined across the
two images, object regions as boxes, pose answers as a caption -- each task unit says what its
text marks (``Task.inspect_marks``). A person (or a test) can
then check that the text and the pixels agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image, ImageDraw

from vlm3.data.shard_index import parse_shard
from vlm3.drawing import side_by_side
from vlm3.io.images import read_rgb_pil
from vlm3.tasks import get_task

_COLOURS = [(255, 60, 60), (60, 200, 60), (60, 120, 255), (255, 200, 0), (255, 0, 255),
            (0, 220, 220), (255, 128, 0), (160, 80, 255), (255, 255, 255), (0, 0, 0)]


def resolve_shards(path: str | Path) -> tuple[Path, list[Path]]:
    """(dataset root, shard files) from a dataset dir, a shards folder or one .jsonl file."""
    p = Path(path)
    if p.is_file() and p.suffix == ".jsonl":
        root = p.parent.parent.parent
        return root, [p]
    if p.is_dir():
        files = sorted(p.rglob("*.jsonl"))
        root = p
        while root != root.parent and not (root / "images").is_dir():
            root = root.parent
        if not files:
            raise FileNotFoundError(f"{p}: no .jsonl shards found")
        return (root if (root / "images").is_dir() else p), files
    raise FileNotFoundError(f"{p}: not a dataset folder or a .jsonl shard")


#: keys every sample written by ``vlm3 data build`` has (vlm3.tasks.packing.pack_sample)
SAMPLE_KEYS = ("id", "task", "split", "source", "messages", "images", "pixmaps", "labels")


def read_shard_samples(files: list[Path]) -> list[dict[str, Any]]:
    """The samples of ``files``; ValueError (one line naming the file and line) for a line
    that is not JSON or not a vlm3 sample (read by the shard indexer's parser)."""
    out = []
    for path in files:
        for n, sample in enumerate(parse_shard(Path(path))[1], 1):
            missing = [k for k in SAMPLE_KEYS if k not in sample]
            if missing:
                raise ValueError(f"{path}: sample {n} is not a vlm3 shard sample (no {', '.join(missing[:3])}); "
                                 f"give a dataset folder or shard written by vlm3 data build")
            out.append(sample)
    return out


def stats(samples: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts per split/task/source, Q&A turns per sample, image sizes, the range of each task's
    labels (``Task.label_values``: depth_m, hfov_deg)."""
    counts: dict = defaultdict(Counter)
    turns: dict[str, list[int]] = defaultdict(list)
    sizes: Counter = Counter()
    values: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        counts[f"{s['split']}/{s['task']}"][s["source"]] += 1
        turns[s["task"]].append(len(s["messages"]) // 2)
        for pm in s["pixmaps"]:
            sizes[f"{pm['dst']['width']}x{pm['dst']['height']}"] += 1
        found = get_task(s["task"]).label_values(s["labels"])
        if found is not None:
            values[found[0]].extend(found[1])
    out = {"counts": {k: dict(v) for k, v in sorted(counts.items())},
           "qa_per_sample_mean": {k: float(np.mean(v)) for k, v in sorted(turns.items())},
           "image_sizes": dict(sizes.most_common(10))}
    for name, v in values.items():
        if v:
            out[name] = {"min": float(np.min(v)), "median": float(np.median(v)), "max": float(np.max(v))}
    return out


def text_points(sample: dict[str, Any], sizes: list[tuple[int, int]]) -> dict[str, Any]:
    """What the sample's text says, in pixels of the stored images (its task unit's
    ``inspect_marks``, read with the sample's own text format).

    Returns {"depth": [(x, y, answer_m)], "matches": [((x0, y0), (x1, y1))],
    "boxes": [(x1, y1, x2, y2)], "caption": [lines]} (pixels of image 0, or of image 1 for
    match targets); a task fills the keys it has.
    """
    out: dict[str, Any] = {"depth": [], "matches": [], "boxes": [], "caption": []}
    out.update(get_task(sample["task"]).inspect_marks(sample["messages"], sample.get("format_version"), sizes))
    return out


def _panel(sample: dict[str, Any], root: Path, scale: int) -> Image.Image:
    imgs = [read_rgb_pil(p, root) for p in sample["images"]]
    sizes = [im.size for im in imgs]
    pts = text_points(sample, sizes)
    row, x_off = side_by_side([np.asarray(im.convert("RGB").resize((im.width * scale, im.height * scale),
                                                                      Image.NEAREST)) for im in imgs])
    caption_h = 16 * (1 + len(pts["caption"]))
    canvas = Image.new("RGB", (row.shape[1], row.shape[0] + caption_h), (30, 30, 30))
    canvas.paste(Image.fromarray(row), (0, 0))
    d = ImageDraw.Draw(canvas)

    def S(px: float) -> float:  # pixel centre -> canvas coordinate
        return (px + 0.5) * scale

    for i, (px, py, val) in enumerate(pts["depth"]):
        c = _COLOURS[i % len(_COLOURS)]
        d.ellipse([S(px) - 3, S(py) - 3, S(px) + 3, S(py) + 3], outline=c, width=2)
        d.text((S(px) + 4, S(py) - 6), "?" if val is None else f"{val:.2f}", fill=c)
    for i, (p0, p1) in enumerate(pts["matches"]):
        c = _COLOURS[i % len(_COLOURS)]
        a = (S(p0[0]) + x_off[0], S(p0[1]))
        b = (S(p1[0]) + x_off[1], S(p1[1]))
        d.ellipse([a[0] - 3, a[1] - 3, a[0] + 3, a[1] + 3], outline=c, width=2)
        d.ellipse([b[0] - 3, b[1] - 3, b[0] + 3, b[1] + 3], outline=c, width=2)
        d.line([a, b], fill=c, width=1)
    for i, (x1, y1, x2, y2) in enumerate(pts["boxes"]):
        c = _COLOURS[i % len(_COLOURS)]
        d.rectangle([S(x1), S(y1), S(x2), S(y2)], outline=c, width=2)
    caption = [f"{sample['task']} | {sample['source']} | {sample['id']}"] + pts["caption"]
    for k, line in enumerate(caption):
        d.text((4, max(im.height for im in imgs) * scale + 2 + 16 * k), line, fill=(230, 230, 230))
    return canvas


def draw_samples(samples: list[dict[str, Any]], root: str | Path, out_png: str | Path,
                 scale: int = 2) -> Path:
    """Stack one panel per sample (see module docstring) into ``out_png``."""
    panels = [_panel(s, Path(root), scale) for s in samples]
    if not panels:
        raise ValueError("no samples to draw")
    w = max(p.width for p in panels)
    h = sum(p.height for p in panels) + 6 * (len(panels) - 1)
    sheet = Image.new("RGB", (w, h), (0, 0, 0))
    y = 0
    for p in panels:
        sheet.paste(p, (0, y))
        y += p.height + 6
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def pick_samples(samples: list[dict[str, Any]], per_task: int = 1) -> list[dict[str, Any]]:
    """The first ``per_task`` samples of every task present (a small, varied sheet)."""
    seen: Counter = Counter()
    out = []
    for s in samples:
        if seen[s["task"]] < per_task:
            out.append(s)
            seen[s["task"]] += 1
    return out


__all__ = ["resolve_shards", "stats", "text_points", "draw_samples", "pick_samples", "read_shard_samples",
           "SAMPLE_KEYS"]
