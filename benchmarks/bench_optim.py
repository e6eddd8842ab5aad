"""Optimiser benchmark: seconds per AdamW step, ``train.optim=adamw_torch`` vs
``adamw_torch_fused`` (the default), on the micro and tiny presets' parameters (one run).

The optimisers are the ones transformers builds for each name
(``Trainer.get_optimizer_cls_and_kwargs``); gradients are random, so only the update
is timed. Most of the work is the tied 151,936-row embedding table: AdamW touches every
element of it each step.

    python benchmarks/bench_optim.py --out runs/bench_optim.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from transformers import Trainer, TrainingArguments

from vlm3.model.factory import build_model_from_preset, count_parameters

OPTIMS = ("adamw_torch", "adamw_torch_fused")


def seconds_per_step(params: list[torch.nn.Parameter], optim: str, steps: int, out_dir: str) -> float:
    args = TrainingArguments(output_dir=out_dir, optim=optim, use_cpu=True, report_to="none")
    cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    opt = cls(params, **kwargs)
    for _ in range(2):  # allocate the state
        opt.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="JSON file for the numbers")
    ap.add_argument("--presets", default="micro,tiny", help="comma-separated model presets")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per optimiser")
    args = ap.parse_args()
    torch.manual_seed(0)
    rows = {}
    for preset in args.presets.split(","):
        model = build_model_from_preset(preset)
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:
            p.grad = torch.randn_like(p)
        times = {o: seconds_per_step(params, o, args.steps, str(args.out.parent)) for o in OPTIMS}
        rows[preset] = {"parameters": count_parameters(model), "tensors": len(params),
                        **{f"{o}_s_per_step": round(t, 4) for o, t in times.items()},
                        "fused_speedup": round(times["adamw_torch"] / times["adamw_torch_fused"], 1)}
        print(f"{preset}: {rows[preset]['parameters'] / 1e6:.1f}M parameters, "
              + ", ".join(f"{o} {t:.3f} s" for o, t in times.items())
              + f" -> fused {rows[preset]['fused_speedup']}x faster", flush=True)
    result = {"benchmark": "optim", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine(), "presets": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
