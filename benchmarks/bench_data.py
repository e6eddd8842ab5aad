"""Benchmark: samples/s per core for standardise + build (depth task) on the NYU/KITTI frames,
next to the floor: bare decode + resize of the same images to the same output size.

    python benchmarks/bench_data.py [--focal 1000] [--max-pixels 1310720] [--repeats 5]

Single process (= one core). "build" includes decoding image and depth, focal
normalisation, grid crop, depth-kind conversion, point selection and text; "+store" adds
the PNG encode and write of the standardised image (first time only; content-addressed).
Needs ../shared/data/real (the dev workspace) or VLM3_REAL_DATA.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vlm3.data.adapters import load_adapter
from vlm3.data.config import SourceConfig, TaskConfig
from vlm3.data.shards import store_image
from vlm3.data.tasks import BuildContext
from vlm3.data.tasks import depth as depth_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--focal", type=float, default=1000.0)
    ap.add_argument("--max-pixels", type=int, default=1310720)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    real = Path(os.environ.get("VLM3_REAL_DATA",
                               Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"))
    views = []
    for name in ("nyu", "kitti"):
        meta = real / name / "meta.json"
        if not meta.is_file():
            raise SystemExit(f"no real data at {meta}: set VLM3_REAL_DATA")
        views += list(load_adapter("rgbd_folder").iter_records(SourceConfig(name, "rgbd_folder", str(meta))))
    ctx = BuildContext(TaskConfig(focal_px=args.focal, max_pixels=args.max_pixels))
    sizes = []
    for v in views:  # warm-up + output sizes for the floor
        d = depth_task.build(v, ctx, np.random.default_rng(0))
        sizes.append((d.images[0].shape[1], d.images[0].shape[0]))

    def floor() -> None:
        for v, (w, h) in zip(views, sizes):
            img = np.asarray(Image.open(v.image_path).convert("RGB"))
            sx, sy = args.focal / v.camera.fx, args.focal / v.camera.fy
            rw, rh = round(v.camera.width * sx), round(v.camera.height * sy)
            interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_CUBIC
            out = cv2.resize(img, (rw, rh), interpolation=interp)
            x0, y0 = (rw - w) // 2, (rh - h) // 2
            np.ascontiguousarray(out[y0:y0 + h, x0:x0 + w])

    def floor_with_depth() -> None:
        for v, (w, h) in zip(views, sizes):
            img = np.asarray(Image.open(v.image_path).convert("RGB"))
            dep = np.asarray(Image.open(v.depth.path))
            sx, sy = args.focal / v.camera.fx, args.focal / v.camera.fy
            rw, rh = round(v.camera.width * sx), round(v.camera.height * sy)
            interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_CUBIC
            cv2.resize(img, (rw, rh), interpolation=interp)
            cv2.resize(dep, (rw, rh), interpolation=cv2.INTER_NEAREST_EXACT)

    def ours(store: Path | None) -> None:
        for k, v in enumerate(views):
            d = depth_task.build(v, ctx, np.random.default_rng(k))
            if store is not None:
                for im in d.images:
                    store_image(store, im)

    def rate(fn) -> float:
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return len(views) / best

    r_floor = rate(floor)
    r_floor_d = rate(floor_with_depth)
    r_build = rate(lambda: ours(None))
    with tempfile.TemporaryDirectory() as tmp:
        r_store = rate(lambda: ours(Path(tmp)))
    print(f"frames: {len(views)} (NYU + KITTI), focal {args.focal:g} px, cap {args.max_pixels} px, "
          f"outputs {sorted(set(sizes))}")
    print(f"floor  decode + resize          : {r_floor:8.2f} samples/s/core")
    print(f"floor  decode + resize, +depth  : {r_floor_d:8.2f} samples/s/core")
    print(f"vlm3   standardise + build      : {r_build:8.2f} samples/s/core  ratio {r_floor / r_build:.2f}x "
          f"({r_floor_d / r_build:.2f}x vs the floor with depth)")
    print(f"vlm3   standardise + build+store: {r_store:8.2f} samples/s/core  ratio {r_floor / r_store:.2f}x")


if __name__ == "__main__":
    main()
