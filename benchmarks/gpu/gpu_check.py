"""The GPU check (issues 18, 27): the 4B training path and the demo at GPU sizes, one JSON + one log.

Driven by ``benchmarks/gpu/run.sh`` (which first brings the environment up to what vlm3
needs from wheels carried in ``benchmarks/gpu/wheels``). Sized for one H100 (78 GiB usable,
10 minutes a command): ``--part 4b`` alone stops starting new steps after ``--budget-s``
(default 540 s) and every child process has a timeout below the 600 s command limit. The
results folder (``$OUT``) holds only gpu_check.json (rewritten after every step) and
gpu_check.log; models and data go to ``--work`` (default: a folder under the system temp
dir, outside ``$OUT``). Each large model lives in a child process (build, training), so its
GPU memory is returned when the child exits. Parts, in order:

``4b``
  1. ``build``: the ``qwen3_vl_4b`` preset with seeded random weights, saved (bf16) with the
     real tokenizer files and the stock processor files: a base checkpoint directory (in a
     child process: ``gpu_check.py --build-base``).
  2. ``data``: release-size samples from the data engine (``release_data.yaml``: synthetic
     scenes rendered at 1280x1024, release text format, focal 1000 / 750 px, 10 questions).
  3. ``fsdp``: ``accelerate launch`` with ``configs/accelerate/fsdp2.yaml`` (FSDP2) on one
     process, the depth recipe (``qwen3_vl_4b_depth``: float32 master weights, bf16, gradient
     checkpointing, answer-only logits) at its per-device batch for ``steps`` optimiser steps
     (``fsdp_probe.py``). Reports s/step, tokens/s, MFU and peak memory, then the peak memory
     of one micro-batch of the correspondence and pose recipes' per-device batch through the
     same trainer.
  4. ``load``: the run's output directory holds a complete model (files listed) and loads
     with ``AutoModelForImageTextToText`` + ``AutoProcessor``, ``Qwen3VLProcessor`` and
     ``vlm3``'s transformers predictor on the GPU, which answers one depth question (both
     models are released before the next step).
``demo``
  5. ``demo``: the demo's world, data and micro model (``vlm3 demo`` stages, quick preset),
     trained at a GPU batch size for at most ``demo_seconds`` of training, then evaluated on
     the demo's held-out scenes (``vlm3 eval --config demo`` with the baselines).

MFU = 6 x (text non-embedding parameters x tokens + vision parameters x patches) per step /
(s/step x peak bf16 FLOP/s; H200/H100 SXM dense: 989 TFLOP/s); gradient-checkpointing
recompute, attention's quadratic term and the vocabulary head are not counted.

``--dry-run``: the same steps on the CPU at tiny sizes (``micro`` preset, 128-px images, one
step, the same FSDP2 config on 2 CPU processes with gloo, a few demo steps): checks the
script, not the numbers (accelerate runs FSDP only on an accelerator: tests/test_gpu_check.py
applies its test-only CPU patches through PYTHONPATH). Every step records ``ok``, ``seconds`` and its numbers or its one-line
error; a failed step does not stop the independent ones after it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from workloads import HERE, REPO, demo, release_data  # noqa: E402 - this folder is on sys.path (a script)
FSDP_CONFIG = REPO / "configs" / "accelerate" / "fsdp2.yaml"
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12}
#: Every child process stops before the GPU machine's 600 s command limit.
CHILD_TIMEOUT_S = 420
#: A step is not started with less of ``--budget-s`` left than this (seconds, full size; 0: always).
MIN_STEP_S = {"fsdp": 180, "load": 60, "demo": 240}

SIZES = {
    "full": {"preset": "qwen3_vl_4b", "long_side_px": 1280, "aspect": 1.25, "focal_px": [950.0, 1050.0],
             "scenes": 2, "views": 4, "data": {}, "steps": 3, "processes": 1, "batch": None,
             "demo_scenes": 100, "demo_batch": 64, "demo_max_steps": 3000, "demo_seconds": 300,
             "demo_world": [], "demo_data": [], "eval_max_samples": None, "baselines": ("oracle", "trivial", "sift")},
    "dry": {"preset": "micro", "long_side_px": 128, "aspect": 1.0, "focal_px": [100.0, 120.0],
            "scenes": 2, "views": 3, "steps": 1, "processes": 2, "batch": 1,
            "data": {"focal_px": 100, "pose_focal_px": 80, "max_pixels": 16384, "depth": 2, "other": 1},
            "demo_scenes": 10, "demo_batch": 2, "demo_max_steps": 2, "demo_seconds": 60,
            "demo_world": ["views_per_scene=2", "long_side_px=[128, 128]", "room_objects=[2, 3]"],
            "demo_data": [f"tasks.{t}.samples={{train: 2, val: 0, test: 1}}"
                          for t in ("depth", "correspondence", "pose", "object")],
            "eval_max_samples": 1, "baselines": ("oracle",)},
}


class Log:
    """Lines to stdout and to the log file, flushed at once."""

    def __init__(self, path: Path):
        self.f = path.open("a", encoding="utf-8")

    def __call__(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(line, flush=True)
        self.f.write(f"{stamp} {line}\n")
        self.f.flush()


def run_step(result: dict, name: str, log: Log, fn: Callable[[], dict]) -> dict | None:
    """Run one step; its numbers (or its error line) go into ``result["steps"][name]``."""
    log(f"=== {name}")
    left = result.get("deadline", float("inf")) - time.monotonic()
    need = MIN_STEP_S.get(name, 0)
    if left < need:
        result["steps"][name] = {"ok": False, "seconds": 0.0, "error": f"skipped: {left:.0f} s of the budget left, "
                                 f"{name} needs about {need} s (--budget-s)"}
        log(f"{name}: {result['steps'][name]['error']}")
        write_result(result)
        return None
    t0 = time.perf_counter()
    try:
        out = fn()
        result["steps"][name] = {"ok": not out.get("errors"), "seconds": round(time.perf_counter() - t0, 1), **out}
    except Exception as err:  # noqa: BLE001 - a failed step is recorded, the next ones still run
        line = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        log(traceback.format_exc())
        result["steps"][name] = {"ok": False, "seconds": round(time.perf_counter() - t0, 1),
                                 "error": f"{type(err).__name__}: {line}"}
        out = None
    log(f"{name}: {json.dumps(result['steps'][name], default=str)[:2000]}")
    write_result(result)
    return out


def write_result(result: dict) -> None:
    """gpu_check.json as it stands (after every step: a run cut short keeps what it measured)."""
    if result.get("out"):
        Path(result["out"], "gpu_check.json").write_text(json.dumps(result, indent=1, default=str))


def environment() -> dict:
    import accelerate
    import torch
    import transformers

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
            "accelerate": accelerate.__version__, "cuda": torch.version.cuda, "gpu": gpu,
            "gpus": torch.cuda.device_count(), "cpus": os.cpu_count()}


def build_base(preset: str, out: Path) -> dict:
    """The preset with seeded random weights, built in a child process (``--build-base``; on the GPU when
    there is one): its memory is returned when the child exits, before training starts."""
    out_json = out.with_suffix(".json")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build-base", preset, str(out)]
    rc = subprocess.run(cmd, cwd=REPO, timeout=CHILD_TIMEOUT_S).returncode
    if rc != 0 or not out_json.is_file():
        raise RuntimeError(f"building the {preset} base model exited {rc}")
    return json.loads(out_json.read_text())


def build_base_here(preset: str, out: Path) -> dict:
    """(In the child.) The preset with seeded random weights, saved in bf16 with the offline Qwen
    tokenizer and the stock processor files; writes ``<out>.json`` with the parameter counts."""
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    from vlm3.model.factory import build_config, count_parameters, load_model_and_processor

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(dev):
        model = Qwen3VLForConditionalGeneration(build_config(preset))
    model = model.to(torch.bfloat16)
    lm = model.model.language_model
    counts = {"parameters": count_parameters(model), "vision_parameters": count_parameters(model.model.visual),
              "text_nonembedding_parameters": count_parameters(lm) - lm.embed_tokens.weight.numel()}
    model.save_pretrained(out)
    _, processor = load_model_and_processor(preset, with_model=False)
    try:
        from vlm3.model.processor import save_stock_processor

        save_stock_processor(processor, out)
    except ImportError:
        processor.save_pretrained(out)
    res = {**counts, "dir": str(out), "files": sorted(p.name for p in out.iterdir())}
    out.with_suffix(".json").write_text(json.dumps(res))
    return res


def recipe_batch(name: str) -> int:
    from vlm3.train.config import load_config

    return int(load_config(name).train.per_device_batch_size)


def fsdp_probe(size: dict, base: Path, data: dict, work: Path, log: Log) -> dict:
    """The depth recipe for ``steps`` steps at its per-device batch (accelerate, one process)."""
    import torch

    batch = size["batch"] or recipe_batch("qwen3_vl_4b_depth")
    extras = [("depth", batch), ("correspondence", size["batch"] or recipe_batch("qwen3_vl_4b_correspondence")),
              ("pose", size["batch"] or recipe_batch("qwen3_vl_4b_pose"))]
    out_json = work / "fsdp_probe.json"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(FSDP_CONFIG),
              "--num_processes", str(size["processes"]), "--num_machines", "1", "--main_process_port", "29533"]
    if not torch.cuda.is_available():
        launch += ["--mixed_precision", "no"]
    over = [f"model.name_or_path={base}", f"data.train_path={data['depth']}", f"train.output_dir={work / 'fsdp_out'}",
            f"train.max_steps={size['steps']}", f"train.global_batch_size={batch * size['processes']}", "train.save_steps=100000",
            "train.logging_steps=1", "train.warmup_ratio=0.0", f"data.num_workers={min(8, os.cpu_count() or 1)}"]
    if not torch.cuda.is_available():
        over += ["train.bf16=false", "train.optim=adamw_torch"]
    cmd = launch + [str(HERE / "fsdp_probe.py"), "--config", "qwen3_vl_4b_depth", "--out", str(out_json),
                    "--extra-data", data["all"]] + [a for t, b in extras for a in ("--extra", f"{t}:{b}")] + over
    log("$ " + " ".join(cmd))
    with (work / "fsdp_probe.log").open("w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO, timeout=CHILD_TIMEOUT_S).returncode
    tail = (work / "fsdp_probe.log").read_text(errors="replace").splitlines()[-15:]
    if rc != 0 or not out_json.is_file():
        raise RuntimeError(f"accelerate launch exited {rc}: " + " | ".join(tail[-3:]))
    probe = json.loads(out_json.read_text())
    steps = probe["step_seconds"]
    steady = steps[1:] or steps
    s_per_step = sum(steady) / len(steady)
    depth_mb = probe.get("micro_batches", {}).get("depth", {})
    tokens = depth_mb.get("tokens")
    res = {"per_device_batch": batch, "steps": len(steps), "step_seconds": steps,
           "s_per_step_after_first": round(s_per_step, 3), "train_peak_memory_gib": probe.get("train_peak_memory_gib"),
           "micro_batches": probe.get("micro_batches"), "output_dir": str(work / "fsdp_out"),
           "strategy": f"FSDP2 (configs/accelerate/fsdp2.yaml), {size['processes']} process(es)",
           "world_size": probe.get("world_size"), "distributed": probe.get("distributed")}
    errors = {t: mb["error"] for t, mb in (res["micro_batches"] or {}).items() if "error" in mb}
    if errors:
        res["errors"] = errors
    if tokens:
        res["tokens_per_step"] = tokens
        res["tokens_per_s"] = round(tokens / s_per_step, 1)
        res["mfu"] = mfu(res, depth_mb, s_per_step)
    return res


def mfu(res: dict, depth_mb: dict, s_per_step: float) -> float | None:
    """Model FLOPs utilisation of the depth steps (module doc)."""
    import torch

    counts = RESULT["steps"].get("build", {})
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in gpu), None)
    if not peak or "text_nonembedding_parameters" not in counts or not depth_mb.get("image_tokens"):
        return None
    patches = 4 * depth_mb["image_tokens"]  # 2x2 spatial merge: 4 ViT patches per visual token
    flops = 6 * (counts["text_nonembedding_parameters"] * depth_mb["tokens"] + counts["vision_parameters"] * patches)
    return round(flops / (s_per_step * peak), 4)


def check_output(out_dir: Path, size: dict) -> dict:
    """The training output is a complete model directory that three loaders accept."""
    import numpy as np
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vlm3.predictors import make_predictor, resolve_device
    from vlm3.predictors.base import Request

    files = sorted(p.name for p in out_dir.iterdir() if p.is_file())
    res: dict[str, Any] = {"files": files}
    wanted = ["config.json", "generation_config.json", "preprocessor_config.json", "video_preprocessor_config.json",
              "tokenizer.json", "tokenizer_config.json"]
    res["missing"] = [f for f in wanted if f not in files] + ([] if any(f.endswith(".safetensors") for f in files)
                                                              else ["*.safetensors"])
    dev = resolve_device("auto")
    loaders = {"auto_model": lambda: AutoModelForImageTextToText.from_pretrained(
                   out_dir, dtype=torch.bfloat16 if dev != "cpu" else None),
               "auto_processor": lambda: AutoProcessor.from_pretrained(out_dir)}
    try:
        from transformers import Qwen3VLProcessor

        loaders["qwen3vl_processor"] = lambda: Qwen3VLProcessor.from_pretrained(out_dir)
    except ImportError as err:
        res["qwen3vl_processor"] = f"failed: {err}"
    for key, fn in loaders.items():
        try:
            loaded = fn()
            res[key] = type(loaded).__name__
            del loaded  # the 4B model is not kept while the next loader runs
        except ImportError as err:  # the stock video processor needs torchvision
            import importlib.util

            res[key] = ("skipped: torchvision is not installed (the stock video processor needs it)"
                        if importlib.util.find_spec("torchvision") is None else f"failed: {err}")
        except Exception as err:  # noqa: BLE001 - recorded; the step fails below
            res[key] = f"failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    p = make_predictor(f"model:{out_dir}", device=dev, max_new_tokens=8)
    side = size["long_side_px"]
    img = (np.random.default_rng(0).random((int(side / size["aspect"]) // 32 * 32, side // 32 * 32, 3)) * 255
           ).astype(np.uint8)
    pred = p.predict([Request("q", "depth", [img], ["What is the depth at point (1000, 1000)?"])])[0]
    res["vlm3_predictor"] = {"device": str(p.model.device), "answer": pred.texts[0], "seconds": round(pred.seconds, 2)}
    del p
    release_memory()
    failed = [k for k in ("auto_model", "auto_processor", "qwen3vl_processor") if str(res.get(k, "")).startswith("failed")]
    if res["missing"] or failed:
        raise RuntimeError(f"output {out_dir}: missing files {res['missing']}, loaders failed {failed}: {res}")
    return res


def release_memory() -> None:
    """Return what this process holds on the GPU to the driver (between steps)."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


RESULT: dict[str, Any] = {"steps": {}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="vlm3 GPU check (benchmarks/gpu/run.sh)")
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (checks the script only)")
    ap.add_argument("--part", choices=("all", "4b", "demo"), default="all", help="which part(s) to run")
    ap.add_argument("--out", default=os.environ.get("OUT") or str(HERE / "results"), help="folder for JSON + log")
    ap.add_argument("--work", default=None, help="folder for models and data (default: under the system temp "
                                                   "dir; never inside --out, which is copied back)")
    ap.add_argument("--budget-s", type=float, default=540.0, help="start no step that would not end within this "
                                                                 "many seconds of the start (one 10-minute command)")
    ap.add_argument("--demo-seconds", type=float, default=None, help="training time cap of the demo part")
    ap.add_argument("--build-base", nargs=2, metavar=("PRESET", "DIR"), help=argparse.SUPPRESS)  # the child
    a = ap.parse_args(argv)
    if a.build_base:
        build_base_here(a.build_base[0], Path(a.build_base[1]))
        return 0
    size = dict(SIZES["dry" if a.dry_run else "full"])
    if a.demo_seconds is not None:
        size["demo_seconds"] = a.demo_seconds
    out = Path(a.out).resolve()
    work = Path(a.work).resolve() if a.work else Path(tempfile.gettempdir()) / f"vlm3_gpu_check_{os.getpid()}"
    if work == out or out in work.parents:
        sys.exit(f"--work {work} is inside --out {out}, which is copied back: choose a folder outside it")
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    log = Log(out / "gpu_check.log")
    if a.dry_run:
        MIN_STEP_S.clear()
    RESULT.update({"dry_run": a.dry_run, "part": a.part, "size": {k: v for k, v in size.items()}, "out": str(out),
                   "work": str(work), "budget_s": a.budget_s, "deadline": time.monotonic() + a.budget_s,
                   "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    RESULT["environment"] = environment()
    log(json.dumps(RESULT["environment"]))
    write_result(RESULT)
    t0 = time.perf_counter()
    if a.part in ("all", "4b"):
        base = work / "base_model"
        built = run_step(RESULT, "build", log, lambda: build_base(size["preset"], base))
        data = run_step(RESULT, "data", log, lambda: release_data(size, work))
        if built and data:
            probe = run_step(RESULT, "fsdp", log, lambda: fsdp_probe(size, base, data, work, log))
            if probe:
                run_step(RESULT, "load", log, lambda: check_output(Path(probe["output_dir"]), size))
    if a.part in ("all", "demo"):
        run_step(RESULT, "demo", log, lambda: demo(size, work, log))
    RESULT["total_seconds"] = round(time.perf_counter() - t0, 1)
    RESULT["ok"] = all(s["ok"] for s in RESULT["steps"].values())
    write_result(RESULT)
    log(f"wrote {out / 'gpu_check.json'} and {out / 'gpu_check.log'} ({RESULT['total_seconds']} s, "
        f"{'all steps ok' if RESULT['ok'] else 'FAILED: ' + ', '.join(k for k, s in RESULT['steps'].items() if not s['ok'])}"
        f"); models and data stay in {work}")
    return 0 if RESULT["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
