"""Small hand-made depth SFT sets for smoke runs, tests and the packing benchmark.

Not the data engine (``vlm3.data`` builds real mixtures with focal normalisation): this
just turns one RGB-D frame into packed depth samples in the on-disk sample format, so the
trainer can be exercised on real images and real metric depth in seconds. Images are
resized to a multiple of 32 px (so the processor keeps them as they are) and depth is
sampled at the same pixels with nearest-neighbour lookup.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vlm3.protocol import FORMAT_VERSION
from vlm3.tasks.depth import text as depth_text
from vlm3.protocol.codecs import encode_xy_norm2000


def resize_rgbd(rgb: np.ndarray, depth_m: np.ndarray, width_px: int, height_px: int) -> tuple[Image.Image, np.ndarray]:
    """RGB (H, W, 3) uint8 and depth (H, W) metres -> PIL image and depth of the new size."""
    img = Image.fromarray(rgb).convert("RGB").resize((width_px, height_px), Image.BICUBIC)
    d = Image.fromarray(depth_m.astype(np.float32), mode="F").resize((width_px, height_px), Image.NEAREST)
    return img, np.asarray(d, dtype=np.float64)


def depth_samples(depth_m: np.ndarray, image_relpath: str, n_samples: int, questions_per_sample: int,
                  rng: np.random.Generator, style: str = "plain", split: str = "train",
                  source: str = "toy") -> list[dict]:
    """Packed depth samples about one image: ``questions_per_sample`` valid pixels each.

    depth_m: (H, W) metres (0 / non-finite = no measurement). Pixels are integer indices
    (x = column, y = row); prompts use the 2000-grid of the image size.
    """
    h, w = depth_m.shape
    ys, xs = np.nonzero(np.isfinite(depth_m) & (depth_m > 0.05))
    if len(xs) == 0:
        raise ValueError("depth map has no valid pixels")
    out = []
    for k in range(n_samples):
        idx = rng.choice(len(xs), size=questions_per_sample, replace=len(xs) < questions_per_sample)
        qa, pts, ds = [], [], []
        for i in idx:
            xy = np.array([float(xs[i]), float(ys[i])])
            norm = encode_xy_norm2000(xy, w, h)
            d = float(depth_m[ys[i], xs[i]])
            qa.append((depth_text.prompt(tuple(int(v) for v in np.ravel(norm))), depth_text.render_answer(d, style)))
            pts.append([int(xs[i]), int(ys[i])])
            ds.append(round(d, 4))
        messages = [m for q, a in qa for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
        out.append({"id": f"{Path(image_relpath).stem}-{k}", "format_version": FORMAT_VERSION, "task": "depth",
                    "source": source, "split": split, "images": [image_relpath], "messages": messages,
                    "labels": {"xy_px": pts, "depth_m": ds, "depth_kind": "z"}, "pixmaps": []})
    return out


def write_dataset(root: str | Path, images: dict[str, Image.Image], samples: list[dict],
                  shard_name: str = "shards/train/depth-toy-00000.jsonl") -> Path:
    """Write images (relative paths -> PIL) and one JSONL shard under ``root``; returns root."""
    root = Path(root)
    for rel, img in images.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        img.save(root / rel)
    shard = root / shard_name
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
    return root


def load_nyu_frames(nyu_dir: str | Path, width_px: int = 128, height_px: int = 96) -> list[tuple[Image.Image, np.ndarray]]:
    """Frames of a folder laid out like ../shared/data/real/nyu (meta.json, rgb/, depth/)."""
    nyu_dir = Path(nyu_dir)
    meta = json.loads((nyu_dir / "meta.json").read_text())
    frames = []
    for fr in meta["frames"]:
        rgb = np.asarray(Image.open(nyu_dir / fr["rgb"]).convert("RGB"))
        depth = np.asarray(Image.open(nyu_dir / fr["depth"]), dtype=np.float64) / float(meta["depth_scale"])
        frames.append(resize_rgbd(rgb, depth, width_px, height_px))
    return frames
