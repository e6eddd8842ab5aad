"""A synthetic text-only shard set of any size, written by the data engine's own writer.

For loader benchmarks and tests: ``write_synthetic_set(root, n)`` writes ``n`` depth-style
samples (four point questions each, labels and pixel maps like the real ones) that all
reference one stored 320 x 256 image, through ``vlm3.data.shards.write_shard`` (so each
shard gets its index sidecar with token counts), then the set's index. Beyond
``unique`` samples the shards are repeated as hard links (copies where links fail), so a
million-sample set costs the tokenising of ``unique`` samples and no extra disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from vlm3.data.shard_index import build_index
from vlm3.data.shards import shard_name, store_image, write_shard
from vlm3.io.shard_index import sidecar_path

QUESTION = ("What is the distance in metres from the camera centre to the surface at pixel "
            "({x}, {y}) of the image? Answer with one number.")


def synthetic_sample(i: int, image: str, rng: np.random.Generator) -> dict:
    """One depth-style chat sample (4 questions) about ``image``, id ``synth-<i>``."""
    pts = rng.integers(0, 2000, size=(4, 2))
    depths = np.round(rng.uniform(0.3, 20.0, size=4), 2)
    messages = []
    for (x, y), d in zip(pts, depths):
        messages += [{"role": "user", "content": QUESTION.format(x=int(x), y=int(y))},
                     {"role": "assistant", "content": f"{d:.2f}"}]
    cam = {"K": [[600.0, 0.0, 160.0], [0.0, 600.0, 128.0], [0.0, 0.0, 1.0]], "width": 320, "height": 256}
    return {"id": f"synth-{i:08d}", "format_version": "vlm3-release-v1", "task": "depth", "source": "synth",
            "split": "train", "images": [image], "messages": messages,
            "labels": {"xy_norm2000": pts.tolist(), "depth_m": depths.tolist(), "kind": "ray"},
            "pixmaps": [{"src": cam, "dst": cam}]}


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_synthetic_set(root: str | Path, n: int, shard_size: int = 64, unique: int = 10_000,
                        seed: int = 0, index: bool = True, like: str | Path | None = None) -> Path:
    """Write ``n`` samples under ``root`` (``shards/train/*.jsonl`` + sidecars, then the index).

    ``unique`` distinct samples are written (and tokenised) once; further shards are links
    to those. ``like``: a set this function wrote with the same ``unique``, ``shard_size``
    and ``seed``, whose distinct shards (and image) are linked instead of written again.
    Returns ``root``.
    """
    root = Path(root)
    n_unique = min(n, unique)
    n_shards = -(-n_unique // shard_size)
    names = [shard_name("train", "depth", "synth", k) for k in range(n_shards)]
    if like is not None:
        if n < unique:
            raise ValueError(f"like= needs n >= unique ({n} < {unique})")
        like = Path(like)
        for img in (like / "images").glob("*.png"):
            _link(img, root / "images" / img.name)
        for name in names:
            _link(like / name, root / name)
            _link(sidecar_path(like / name), sidecar_path(root / name))
    else:
        rng = np.random.default_rng(seed)
        image = store_image(root, rng.integers(0, 256, size=(256, 320, 3), dtype=np.uint8))
        for k, name in enumerate(names):
            start = k * shard_size
            count = min(shard_size, n_unique - start)
            spec = {"name": name, "split": "train", "task": "depth", "source": "synth", "samples": [None] * count}
            write_shard(root, spec, [synthetic_sample(start + j, image, rng) for j in range(count)], [])
    made, k = n_unique, len(names)
    while made < n:
        for name in names:
            if made >= n:
                break
            new = root / shard_name("train", "depth", "synth", k)
            lines = (root / name).read_bytes().count(b"\n")
            if made + lines > n:  # the last shard must not overshoot: a trimmed copy (indexed later)
                new.write_bytes(b"".join((root / name).read_bytes().splitlines(keepends=True)[: n - made]))
                made = n
            else:
                _link(root / name, new)
                _link(sidecar_path(root / name), sidecar_path(new))
                made += lines
            k += 1
    if index:
        build_index(root, "train", progress=False)
    return root


__all__ = ["synthetic_sample", "write_synthetic_set"]
