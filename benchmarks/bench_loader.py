"""Loader benchmark: old (every sample in memory) vs indexed (memory-mapped) ShardDataset.

Usage: python benchmarks/bench_loader.py [--out FILE] [--sizes 10000,100000,1000000]
       [--old-max 100000] [--workdir DIR]

1. Writes synthetic text-only shard sets (``vlm3.data.synthetic_shards``: depth-style
   samples, 4 questions each, all on one reused 320 x 256 image) of each size through the
   data engine's writer: 10,000 distinct samples are written and tokenised once, larger
   sets repeat those shards as hard links; then the set's index (``build_index``, timed: a
   one-off data-engine step, not part of start-up).
2. For each loader and size, a fresh process does what ``run_training`` does on one rank
   before step 1: ``ShardDataset``, ``lengths``, the length-grouped sampler (old:
   transformers' on a Python list; new: ``vlm3.train.sampler``, same order), a DataLoader
   (num_workers=0, batch 8, the SFT collator) and its first batch. It reports the time to
   that first batch and the growth of its resident memory (VmRSS after - before, and the
   peak VmHWM - before). The old loader is run up to ``--old-max`` samples only (it parses
   and re-tokenises every sample: too slow beyond that on a 2-core machine).
3. Bytes of ``pixel_values`` per micro-batch through the DataLoader, float32 (old) vs
   uint8 (new), for the depth recipe (3 samples x 1 image) and the correspondence recipe
   (4 x 2 images) at the release size 1280 x 1024.

Targets (issue 18) for the indexed loader at 1M samples: first batch within 30 s, RSS
growth under 500 MB, flat from 100k to 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"first_batch_s": 30.0, "rss_growth_mb": 500.0}


def _mem_mb() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(val.split()[0]) / 1024
    return out


def child(loader: str, root: str) -> dict:
    """One rank's start-up on ``root`` with the ``old`` or ``new`` loader (run in a fresh process)."""
    from torch.utils.data import DataLoader
    from transformers.trainer_pt_utils import LengthGroupedSampler as OldSampler

    from vlm3.train.sampler import LengthGroupedSampler

    from vlm3.model.processor import build_processor
    from vlm3.train.collator import SFTCollator
    from vlm3.train.dataset import ShardDataset

    proc = build_processor()
    before = _mem_mb()
    t0 = time.perf_counter()
    ds = ShardDataset(root, use_index=(loader == "new"))
    t_ds = time.perf_counter() - t0
    mem_ds = _mem_mb()["VmRSS"]
    lengths = ds.lengths(proc)
    t_len = time.perf_counter() - t0 - t_ds
    mem_len = _mem_mb()["VmRSS"]
    if loader == "old":  # what the trainer did: a Python list of lengths into transformers' sampler
        sampler = OldSampler(8 * 4, dataset=ds, lengths=list(map(int, lengths)))
    else:
        sampler = LengthGroupedSampler(8 * 4, dataset=ds, lengths=lengths)
    loader_ = DataLoader(ds, batch_size=8, sampler=sampler, num_workers=0,
                         collate_fn=SFTCollator(proc, image_root=ds.image_root, uint8_pixels=(loader == "new")))
    batch = next(iter(loader_))
    t_first = time.perf_counter() - t0
    after = _mem_mb()
    return {"loader": loader, "samples": len(ds), "indexed": ds.indexed, "dataset_s": round(t_ds, 2),
            "lengths_s": round(t_len, 2), "first_batch_s": round(t_first, 2),
            "rss_growth_mb": round(after["VmRSS"] - before["VmRSS"], 1),
            "peak_growth_mb": round(after["VmHWM"] - before["VmRSS"], 1),
            "anon_growth_mb": round(after["RssAnon"] - before["RssAnon"], 1),
            "file_backed_growth_mb": round(after["RssFile"] - before["RssFile"], 1),
            "rss_growth_dataset_mb": round(mem_ds - before["VmRSS"], 1),
            "rss_growth_lengths_mb": round(mem_len - mem_ds, 1),
            "rss_growth_sampler_batch_mb": round(after["VmRSS"] - mem_len, 1),
            "batch_tokens": int(batch["attention_mask"].sum())}


def pixel_bytes() -> dict:
    """pixel_values bytes per micro-batch, float32 vs uint8, at 1280 x 1024 (release images)."""
    import numpy as np
    from PIL import Image

    from vlm3.model.processor import build_processor
    from vlm3.train.collator import SFTCollator

    proc = build_processor(max_pixels=1_310_720)
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (1024, 1280, 3), dtype=np.uint8))
    qa = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    out = {}
    for name, per_device, n_images in (("depth", 3, 1), ("correspondence", 4, 2)):
        batch = [{"images": [img] * n_images, "messages": qa}] * per_device
        f32 = SFTCollator(proc)(batch)["pixel_values"]
        u8 = SFTCollator(proc, uint8_pixels=True)(batch)["pixel_values"]
        out[name] = {"per_device": per_device, "images_per_sample": n_images,
                     "float32_mb": round(f32.nbytes / 1e6, 1), "uint8_mb": round(u8.nbytes / 1e6, 1),
                     "ratio": round(f32.nbytes / u8.nbytes, 1)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--old-max", type=int, default=100_000, help="largest set the old loader is run on")
    ap.add_argument("--workdir", type=Path, default=None, help="where the sets go (default: a temp folder)")
    ap.add_argument("--child", nargs=2, metavar=("LOADER", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    from vlm3.data.shard_index import build_index
    from vlm3.data.synthetic_shards import write_synthetic_set

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vlm3-bench-loader-"))
    sets, runs, first = {}, [], None
    for n in sorted(sizes):
        root = work / f"n{n}"
        t0 = time.perf_counter()
        if not (root / "index" / "train" / "meta.json").is_file():
            write_synthetic_set(root, n, index=False, like=first if first is not None and n >= 10_000 else None)
        first = first if first is not None or n < 10_000 else root
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_index(root, "train", progress=False)
        t_index = time.perf_counter() - t0
        n_files = len(list((root / "shards" / "train").glob("*.jsonl")))
        sets[n] = {"write_s": round(t_write, 1), "index_build_s": round(t_index, 1), "shards": n_files,
                   "jsonl_mb": round(sum(f.stat().st_size for f in (root / "shards" / "train").glob("*.jsonl"))
                                     / 1e6, 1)}
        print(f"set {n:>9,}: {n_files} shards, {sets[n]['jsonl_mb']} MB of JSONL, written in {t_write:.1f} s, "
              f"index built in {t_index:.1f} s", flush=True)
        for loader in ("old", "new"):
            if loader == "old" and n > args.old_max:
                print(f"  old  {n:>9,}: not run (above --old-max {args.old_max:,}: it parses and re-tokenises "
                      "every sample)", flush=True)
                runs.append({"loader": "old", "samples": n, "skipped": f"above --old-max {args.old_max}"})
                continue
            res = subprocess.run([sys.executable, __file__, "--child", loader, str(root)],
                                 capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
            if res.returncode != 0:
                print(res.stderr[-2000:], file=sys.stderr)
                return 1
            r = json.loads(res.stdout.strip().splitlines()[-1])
            runs.append(r)
            print(f"  {loader:4s} {n:>9,}: first batch {r['first_batch_s']:7.2f} s (dataset {r['dataset_s']} s, "
                  f"lengths {r['lengths_s']} s), RSS growth {r['rss_growth_mb']:8.1f} MB "
                  f"(peak {r['peak_growth_mb']} MB; anonymous {r['anon_growth_mb']} MB, mapped files "
                  f"{r['file_backed_growth_mb']} MB)", flush=True)
    pix = pixel_bytes()
    for name, p in pix.items():
        print(f"pixel_values per {name} micro-batch ({p['per_device']} x {p['images_per_sample']} image(s) "
              f"1280x1024): float32 {p['float32_mb']} MB -> uint8 {p['uint8_mb']} MB ({p['ratio']}x)")
    new = {r["samples"]: r for r in runs if r["loader"] == "new"}
    big = max(new)
    checks = {"first_batch_within_30s": new[big]["first_batch_s"] <= TARGETS["first_batch_s"],
              "rss_growth_under_500mb": new[big]["rss_growth_mb"] <= TARGETS["rss_growth_mb"]}
    if len(new) > 1:
        mid = sorted(new)[-2]
        checks["rss_flat_to_largest"] = new[big]["rss_growth_mb"] - new[mid]["rss_growth_mb"] < 100
    print(f"targets at {big:,} samples: " + ", ".join(f"{k}={'ok' if v else 'MISSED'}" for k, v in checks.items()))
    result = {"sets": {str(k): v for k, v in sets.items()}, "runs": runs, "pixel_values": pix,
              "targets": TARGETS, "checks": checks, "cpus": os.cpu_count(),
              "note": "num_workers=0 (one rank's own process); sets are warm in the page cache"}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
