"""Benchmark the world renderer: views per second on one core at 256x192 (target >= 20).

Usage: python benchmarks/bench_world.py [--views 40] [--width 256] [--height 192] [--seed 0]
Times are process CPU time (so "per core" holds on a busy machine), best of --repeat renders
per view; wall-clock is shown too.
Renders image + z-depth + ray length + instance ids for rooms and streets from cameras
sampled by the generator (intrinsics rescaled to the benchmark size), single process.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vlm3.geometry.camera import Camera
from vlm3.world.config import preset
from vlm3.world.layouts import make_scene
from vlm3.world.render import render_view
from vlm3.world.views import sample_views


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--views", type=int, default=40, help="views rendered per scene kind")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="renders per view; the fastest counts (like timeit)")
    ap.add_argument("--out", type=Path, default=None, help="also write the numbers as JSON here")
    args = ap.parse_args()
    results: dict[str, float] = {}
    cfg = preset("default")
    total_views, total_s = 0, 0.0
    for kind in ("room", "street"):
        jobs = []
        k = 0
        while len(jobs) < args.views:
            rng = np.random.default_rng([args.seed, k])
            scene = make_scene(rng, cfg, kind)
            for cam, T in sample_views(rng, scene, cfg, 4):
                f = cam.fx * args.width / cam.width
                small = Camera.from_fx_fy_cx_cy(f, f, (args.width - 1) / 2, (args.height - 1) / 2, args.width, args.height)
                jobs.append((scene, small, T))
            k += 1
        jobs = jobs[: args.views]
        render_view(*jobs[0])  # warm-up
        wall, dt = 0.0, 0.0
        for scene, cam, T in jobs:
            best_cpu, best_wall = np.inf, np.inf
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                render_view(scene, cam, T)
                best_wall = min(best_wall, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            wall += best_wall
            dt += best_cpu
        n_prims = np.mean([len(s.primitives()) for s, _, _ in jobs])
        print(f"{kind:7s}: {len(jobs) / dt:6.1f} views/s per core ({1000 * dt / len(jobs):.1f} CPU ms/view; "
              f"wall {len(jobs) / wall:.1f} views/s; {args.width}x{args.height}, {n_prims:.0f} primitives/scene)")
        total_views += len(jobs)
        total_s += dt
        results[f"{kind}_views_per_s_per_core"] = round(len(jobs) / dt, 2)
    print(f"overall: {total_views / total_s:6.1f} views/s per core (target >= 20)")
    results.update(views_per_s_per_core=round(total_views / total_s, 2), width=args.width, height=args.height,
                   target_views_per_s_per_core=20)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
