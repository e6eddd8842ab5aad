"""The workloads of the GPU check (``gpu_check.py``): release-size data from the data engine, and the
demo's stages at GPU batch sizes. Each returns the numbers its step records."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def release_data(size: dict, work: Path) -> dict:
    """World scenes at release size, then the data engine with ``release_data.yaml``; a depth-only
    view of the set (symlinks) for the depth recipe."""
    from vlm3.config import load
    from vlm3.data.build import build
    from vlm3.data.config import DataConfig
    from vlm3.world.config import WorldConfig
    from vlm3.world.generate import generate_world

    side, aspect = size["long_side_px"], size["aspect"]
    world_cfg = load(WorldConfig, "demo", [f"long_side_px=[{side}, {side}]", f"aspect_ratios=[{aspect}]",
                                           f"focal_px={size['focal_px']}", f"views_per_scene={size['views']}"],
                     kind="world")
    generate_world(work / "world", size["scenes"], 0, world_cfg, workers=min(8, os.cpu_count() or 1), progress=False)
    d = size["data"]
    over = []
    if d:
        over = [f"tasks.{t}.max_pixels={d['max_pixels']}" for t in ("depth", "correspondence", "pose")]
        over += [f"tasks.depth.focal_px={d['focal_px']}", f"tasks.correspondence.focal_px={d['focal_px']}",
                 f"tasks.pose.focal_px={d['pose_focal_px']}", f"tasks.depth.samples.train={d['depth']}",
                 f"tasks.correspondence.samples.train={d['other']}", f"tasks.pose.samples.train={d['other']}"]
    cfg = load(DataConfig, str(HERE / "release_data.yaml"), over, kind="data",
               variables={"VLM3_WORLD": str(work / "world"), "VLM3_DATA_OUT": str(work / "data")})
    manifest = build(cfg, progress=False)
    depth = work / "data_depth"
    (depth / "shards" / "train").mkdir(parents=True, exist_ok=True)
    for f in sorted((work / "data" / "shards" / "train").glob("*depth*.jsonl")):
        link = depth / "shards" / "train" / f.name
        if not link.exists():
            link.symlink_to(f)
    for item in (work / "data").iterdir():
        if item.name not in ("shards",) and not (depth / item.name).exists() and item.is_dir():
            (depth / item.name).symlink_to(item)
    counts = {k: v for k, v in manifest.items() if isinstance(v, (int, float, str))}
    from PIL import Image

    from vlm3.data.shards import read_samples, shard_paths

    sizes: dict[str, set] = {}
    for smp in read_samples(shard_paths(work / "data", "train")):
        for im in smp["images"]:
            sizes.setdefault(smp["task"], set()).add("x".join(map(str, Image.open(work / "data" / im).size)))
    return {"all": str(work / "data"), "depth": str(depth), "manifest": counts,
            "image_sizes": {t: sorted(v) for t, v in sizes.items()}}


def demo(size: dict, work: Path, log: Callable[[str], None]) -> dict:
    """The demo's stages with the micro model at a GPU batch size and a training time cap."""
    from transformers import TrainerCallback

    from vlm3.data.build import build
    from vlm3.demo import load_demo_config, plan_demo
    from vlm3.evaluate.headline import headline_table
    from vlm3.evaluate.pipeline import run_eval
    from vlm3.train.trainer import run_training
    from vlm3.world.generate import generate_world

    class TimeCap(TrainerCallback):
        def __init__(self, seconds: float):
            self.seconds, self.t0, self.capped = seconds, 0.0, False

        def on_train_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if time.perf_counter() - self.t0 > self.seconds:
                self.capped = control.should_training_stop = True

    os.environ["VLM3_REAL_DATA"] = str(work / "no_real_data")  # the demo's optional real sources: left out
    cfg = load_demo_config("quick")
    b = size["demo_batch"]
    cfg.world.scenes = size["demo_scenes"]
    cfg.world.overrides = list(cfg.world.overrides) + size["demo_world"]
    cfg.data.overrides = list(cfg.data.overrides) + size["demo_data"]
    cfg.train.overrides = list(cfg.train.overrides) + [
        f"train.per_device_batch_size={b}", f"train.global_batch_size={b}", f"train.max_steps={size['demo_max_steps']}",
        "train.save_steps=100000", f"data.num_workers={min(8, os.cpu_count() or 1)}"]
    run_dir = work / "demo"
    plan = plan_demo(cfg, run_dir, None)
    t0 = time.perf_counter()
    generate_world(plan.world_dir, cfg.world.scenes, 0, plan.world, workers=os.cpu_count() or 1, progress=False)
    t_world = time.perf_counter() - t0
    build(plan.data, progress=False)
    t_data = time.perf_counter() - t0 - t_world
    cap = TimeCap(size["demo_seconds"])
    metrics = run_training(plan.train, callbacks=[cap])
    t_train = time.perf_counter() - t0 - t_world - t_data
    report = run_eval(plan.eval, run_dir / "eval", model=plan.train.train.output_dir, model_name="vlm3-micro-gpu",
                      baselines=size["baselines"], max_samples=size["eval_max_samples"], log=log, device="auto")
    table = headline_table(report)
    log(table)
    return {"batch": b, "steps": metrics.get("global_step"), "time_capped": cap.capped,
            "train_seconds": round(t_train, 1), "world_seconds": round(t_world, 1), "data_seconds": round(t_data, 1),
            "final_loss": metrics.get("final_loss"), "headline": table, "report": str(run_dir / "eval" / "report.json")}
