"""Benchmark: dense depth queries with image-prefix reuse vs one full generate per point.

Asks the depth question at every point of a WxH grid (default 32x24 = 768 points) of one
image, twice, with the same model: (a) ``HFPredictor`` with prefix reuse (image + common
prompt prefix encoded once, batched decodes from the KV cache), (b) one full ``generate``
per point. Asserts both give identical answers, prints points/second for both and the
ratio, and writes JSON (``--out``).

The reference path (b) is slow: by default it is timed on a random subset of
``--reference-points`` grid points (same per-point cost, compared against the answers of
path (a) at those points); ``--reference-points 0`` runs it on every point.

Path (a) decodes with ``generate`` from the prefix cache (``--decoding generate``, the
numbers this benchmark has always reported); ``--decoding exact|template`` times the dense
decoders instead (`benchmarks/bench_dense.py` compares all of them side by side).

    python benchmarks/bench_prefix.py --grid 32x24 --out runs/bench/prefix.json
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import click
import numpy as np
import torch


def _grid_points_px(width: int, height: int, gw: int, gh: int) -> np.ndarray:
    xs = (np.arange(gw) + 0.5) * width / gw - 0.5
    ys = (np.arange(gh) + 0.5) * height / gh - 0.5
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


@click.command()
@click.option("--model", "model_name", default="tiny", show_default=True, help="preset name or checkpoint dir")
@click.option("--grid", default="32x24", show_default=True, help="query grid WxH")
@click.option("--image-size", default="256x192", show_default=True, help="synthetic test image WxH (px)")
@click.option("--batch-size", default=128, show_default=True, help="queries decoded together (prefix path)")
@click.option("--max-new-tokens", default=24, show_default=True, help="answer length cap (tokens)")
@click.option("--reference-points", default=48, show_default=True,
              help="points timed on the one-generate-per-point path (0 = all)")
@click.option("--decoding", type=click.Choice(["generate", "exact", "template"]), default="generate",
              show_default=True, help="how path (a) decodes from the prefix cache")
@click.option("--threads", default=0, show_default=True, help="torch threads (0 = leave default)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write JSON here")
def main(model_name: str, grid: str, image_size: str, batch_size: int, max_new_tokens: int,
         reference_points: int, decoding: str, threads: int, out: Path | None) -> None:
    """Points/second with and without image-prefix reuse, same model, same answers."""
    from vlm3.predictors.hf import HFPredictor
    from vlm3.protocol import codecs
    from vlm3.tasks.depth import text as depth_text
    if threads:
        torch.set_num_threads(threads)
    gw, gh = (int(v) for v in grid.lower().split("x"))
    w, h = (int(v) for v in image_size.lower().split("x"))
    rng = np.random.default_rng(0)
    image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    xy_px = _grid_points_px(w, h, gw, gh)
    xy_norm = codecs.encode_xy_norm2000(xy_px, w, h)
    questions = [depth_text.prompt(tuple(int(v) for v in p)) for p in xy_norm]
    pred = HFPredictor.from_pretrained(model_name, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                       decoding=decoding)
    from PIL import Image

    pil = Image.fromarray(image)
    pred.answer_with_prefix_reuse([pil], questions[:2], "depth")  # warm-up
    t0 = time.perf_counter()
    reuse = pred.answer_with_prefix_reuse([pil], questions, "depth")
    t_reuse = time.perf_counter() - t0
    n_ref = len(questions) if reference_points <= 0 else min(reference_points, len(questions))
    ref_idx = np.sort(rng.choice(len(questions), size=n_ref, replace=False))
    t0 = time.perf_counter()
    full = pred.answer_one_by_one([pil], [questions[i] for i in ref_idx])
    t_full = time.perf_counter() - t0
    mismatches = [int(i) for i, a in zip(ref_idx, full) if reuse[i] != a]
    assert not mismatches, f"prefix reuse changed answers at points {mismatches[:10]}"
    pps_reuse = len(questions) / t_reuse
    pps_full = n_ref / t_full
    result = {
        "benchmark": "prefix_reuse_dense_depth",
        "model": model_name,
        "grid": [gw, gh],
        "points": len(questions),
        "image_size": [w, h],
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "decoding": decoding,
        "reference_points_timed": n_ref,
        "points_per_s_prefix_reuse": round(pps_reuse, 3),
        "points_per_s_full_generate": round(pps_full, 3),
        "speedup": round(pps_reuse / pps_full, 2),
        "answers_identical": True,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "torch": torch.__version__,
    }
    click.echo(f"prefix reuse : {pps_reuse:8.2f} points/s ({len(questions)} points in {t_reuse:.1f} s)")
    click.echo(f"full generate: {pps_full:8.2f} points/s ({n_ref} points in {t_full:.1f} s)")
    click.echo(f"speedup      : {pps_reuse / pps_full:8.2f}x (answers identical on {n_ref} points)")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
