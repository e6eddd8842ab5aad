"""Benchmark: samples/s per core for standardise + build (depth task) on the NYU/KITTI frames,
next to the floor: bare decode + resize of the same images to the same output size.

    python benchmarks/bench_data.py [--focal 1000] [--max-pixels 1310720] [--repeats 7] [--out FILE]

One process, OpenCV limited to one thread, times in process CPU seconds (best of
--repeats interleaved rounds), so "per core" holds on a busy machine; wall-clock is reported too.

- floor (image + depth) -- THE floor: read + decode the frame's images, i.e. the RGB file
  and the 16-bit depth PNG, resize both to the focal-normalised size (RGB cubic/area,
  depth nearest) and crop to the output size: "the bare decode + resize time of the same
  images" a depth sample is made from. The same decoder as the engine (OpenCV).
- floor (image): the RGB half of it alone, for reference: no depth sample can get near it,
  since decoding the depth PNG (zlib inflate; a faster PNG decoder, pyspng, measured
  no better here) costs about 60 % of this floor by itself.
- build: ``vlm3.tasks.depth.build.build`` = decode image and depth with checks, focal
  normalisation (with the non-square-pixel remap where fx != fy, as for NYU), grid crop,
  depth kind at the picked points, point selection, text.
- build + store: the above plus the PNG encode and atomic write of the standardised
  image into a fresh folder each repeat (so the encode is always counted).

Target (issue 4): build within 1.5x of the floor (image + depth). ``--out`` writes the numbers as
JSON (``benchmarks/run_all.py``). Needs ../shared/data/real or VLM3_REAL_DATA.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from vlm3.data.adapters import load_adapter
from vlm3.data.config import SourceConfig
from vlm3.tasks.common import TaskConfig
from vlm3.io.images import read_depth_m, read_rgb
from vlm3.io.records import ViewRecord
from vlm3.data.shards import store_image
from vlm3.tasks.common import BuildContext
from vlm3.tasks.depth import build as depth_task

TARGET_RATIO = 1.5


def _views(real: Path) -> list[ViewRecord]:
    views: list[ViewRecord] = []
    for name in ("nyu", "kitti"):
        meta = real / name / "meta.json"
        if not meta.is_file():
            raise SystemExit(f"no real data at {meta}: set VLM3_REAL_DATA")
        views += [r for r in load_adapter("rgbd_folder").iter_records(
            SourceConfig(name, "rgbd_folder", str(meta))) if isinstance(r, ViewRecord)]
    return views


def _resized_size(v: ViewRecord, focal: float) -> tuple[int, int]:
    """Size after focal normalisation (square pixels at max(fx, fy), then scale to focal)."""
    f0 = max(v.camera.fx, v.camera.fy)
    s = focal / f0
    return (max(1, round(round(v.camera.width * f0 / v.camera.fx) * s)),
            max(1, round(round(v.camera.height * f0 / v.camera.fy) * s)))


def _decode_rgb(path: str) -> np.ndarray:
    bgr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _timed(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, tuple[float, float]]:
    """{name: (best CPU seconds, best wall seconds)} over ``repeats`` rounds; each round runs
    every function once, so load from other processes hits floor and engine alike."""
    best = {k: (float("inf"), float("inf")) for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            best[k] = (min(best[k][0], cpu), min(best[k][1], wall))
    return best


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--focal", type=float, default=1000.0, help="target focal (px)")
    ap.add_argument("--max-pixels", type=int, default=1310720, help="pixel cap (1280 tokens)")
    ap.add_argument("--repeats", type=int, default=7, help="rounds over the frames; best counts")
    ap.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    real = Path(os.environ.get("VLM3_REAL_DATA",
                               Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"))
    views = _views(real)
    ctx = BuildContext(TaskConfig(focal_px=args.focal, max_pixels=args.max_pixels))
    sizes = []
    for v in views:  # warm-up + output sizes for the floor
        d = depth_task.build(v, ctx, np.random.default_rng(0))
        sizes.append((d.images[0].shape[1], d.images[0].shape[0]))
    resized = [_resized_size(v, args.focal) for v in views]

    def floor(with_depth: bool) -> None:
        for v, (w, h), (rw, rh) in zip(views, sizes, resized):
            img = _decode_rgb(v.image_path)
            shrink = rw * rh < v.camera.width * v.camera.height
            out = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
            x0, y0 = (rw - w) // 2, (rh - h) // 2
            np.ascontiguousarray(out[y0:y0 + h, x0:x0 + w])
            if with_depth:
                dep = cv2.imread(v.depth.path, cv2.IMREAD_UNCHANGED)
                cv2.resize(dep, (rw, rh), interpolation=cv2.INTER_NEAREST_EXACT)

    def decode_only() -> None:  # the checked decoders of the engine, nothing else
        for v in views:
            read_rgb(v.image_path)
            read_depth_m(v.depth, v.camera.width, v.camera.height)

    def ours(store: bool) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for k, v in enumerate(views):
                d = depth_task.build(v, ctx, np.random.default_rng(k))
                if store:
                    for im in d.images:
                        store_image(Path(tmp), im)

    n = len(views)
    rows = _timed({"floor_image": lambda: floor(False),
                   "floor_image_depth": lambda: floor(True),
                   "decode_checked": decode_only,
                   "build": lambda: ours(False),
                   "build_store": lambda: ours(True)}, args.repeats)
    rate = {k: n / cpu for k, (cpu, _) in rows.items()}
    ratio_img = rate["floor_image"] / rate["build"]
    ratio_dep = rate["floor_image_depth"] / rate["build"]
    result = {
        "frames": n, "focal_px": args.focal, "max_pixels": args.max_pixels,
        "output_sizes": sorted(set(sizes)),
        "samples_per_s_per_core": {k: round(r, 2) for k, r in rate.items()},
        "ms_per_sample_cpu": {k: round(1000 * cpu / n, 2) for k, (cpu, _) in rows.items()},
        "ms_per_sample_wall": {k: round(1000 * wall / n, 2) for k, (_, wall) in rows.items()},
        "ratio_build_vs_image_floor": round(ratio_img, 2),
        "ratio_build_vs_image_depth_floor": round(ratio_dep, 2),
        "ratio_build_store_vs_image_floor": round(rate["floor_image"] / rate["build_store"], 2),
        "target_ratio": TARGET_RATIO, "meets_target": bool(ratio_dep <= TARGET_RATIO),
        "opencv": cv2.__version__, "numpy": np.__version__, "python": platform.python_version(),
    }
    ms = result["ms_per_sample_cpu"]
    print(f"frames: {n} (NYU + KITTI), focal {args.focal:g} px, cap {args.max_pixels} px, "
          f"outputs {sorted(set(sizes))}; one core, CPU time, best of {args.repeats}")
    label = {"floor_image": "floor  decode + resize (image)     ",
             "floor_image_depth": "floor  decode + resize (image+depth)",
             "decode_checked": "vlm3   checked decode image+depth  ",
             "build": "vlm3   standardise + build         ",
             "build_store": "vlm3   standardise + build + store "}
    for k in rows:
        print(f"{label[k]}: {rate[k]:8.2f} samples/s/core  {ms[k]:7.2f} ms/sample")
    print(f"ratio build / image+depth floor  : {ratio_dep:.2f}x  (the floor; target <= {TARGET_RATIO}x: "
          f"{'met' if ratio_dep <= TARGET_RATIO else 'NOT met'})")
    print(f"ratio build / image-only floor   : {ratio_img:.2f}x  (reference: RGB decode + resize alone)")
    print(f"ratio build+store / image floor  : {result['ratio_build_store_vs_image_floor']:.2f}x  "
          f"(PNG encode of the output, level 1)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
