"""One process of the GPU check's 4B training probe (launched by ``accelerate launch``).

Runs ``vlm3.train.trainer.run_training`` on a recipe with the given overrides (the real
trainer, data loader, collator and save path) and measures, on rank 0:

- per optimiser step: wall time (CUDA-synchronised), from a ``TrainerCallback``;
- peak allocated memory over the training steps (``torch.cuda.max_memory_allocated``);
- after the last step, the peak memory of one forward + backward of each extra micro-batch
  (``--extra TASK:BATCH``: samples of that task from ``--extra-data``, collated by the
  trainer's own collator and passed through its own ``training_step``: the answer-only
  loss of the recipe), gradients dropped afterwards (no optimiser step: the saved weights
  are those of the training steps). A micro-batch that runs out of GPU memory is recorded
  with its error (on one 80 GiB card the 4B recipes' full per-device batches may not fit:
  ``vlm3 train RECIPE --plan``) and the probe goes on to the final save.

The trainer object is reached by wrapping ``VLM3Trainer.train`` (instrumentation only:
the training itself is untouched). Writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak_gib() -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None


class StepTimes(TrainerCallback):
    """Wall time of every optimiser step (seconds)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._t0 = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    def on_step_begin(self, args, state, control, **kwargs):
        _sync()
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        _sync()
        self.times.append(time.perf_counter() - self._t0)


def extra_micro_batches(trainer: Any, data: str, extras: list[tuple[str, int]]) -> dict[str, Any]:
    """Peak memory of one training micro-batch per (task, batch size), through the trainer."""
    from vlm3.train.dataset import ShardDataset

    ds = ShardDataset(data, "train")
    out: dict[str, Any] = {}
    model = trainer.model_wrapped
    for task, batch in extras:
        items = [ds[i] for i in range(len(ds)) if ds[i].get("task") == task][:batch]
        if len(items) < batch:
            out[task] = {"error": f"only {len(items)} {task} samples in {data}, need {batch}"}
            continue
        inputs = trainer.data_collator(items)
        tokens = int(inputs["attention_mask"].sum()) if "attention_mask" in inputs else None
        image_token = trainer.processing_class.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        image_tokens = int((inputs["input_ids"] == image_token).sum())
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        _sync()
        t0 = time.perf_counter()
        try:
            loss = float(trainer.training_step(model, inputs))
        except torch.OutOfMemoryError as err:  # recorded; the final save and the next tasks still run
            out[task] = {"batch": batch, "tokens": tokens, "image_tokens": image_tokens,
                         "error": f"out of GPU memory: {str(err).splitlines()[0]}", "peak_memory_gib": _peak_gib()}
            trainer.optimizer.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()
            continue
        _sync()
        out[task] = {"batch": batch, "tokens": tokens, "image_tokens": image_tokens, "loss": loss,
                     "seconds": round(time.perf_counter() - t0, 3), "peak_memory_gib": _peak_gib()}
        trainer.optimizer.zero_grad(set_to_none=True)  # FSDP2: the sharded gradients are freed
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="training recipe (shipped name or YAML)")
    ap.add_argument("--out", required=True, help="JSON file written by rank 0")
    ap.add_argument("--extra-data", default=None, help="dataset root holding the extra micro-batches' samples")
    ap.add_argument("--extra", action="append", default=[], help="TASK:BATCH (repeatable)")
    ap.add_argument("overrides", nargs="*", help="dotted config overrides")
    a = ap.parse_args()

    import vlm3.train.trainer as trainer_mod
    from vlm3.train.config import load_config

    cfg = load_config(a.config, a.overrides)
    steps = StepTimes()
    extras = [(t, int(b)) for t, b in (e.split(":") for e in a.extra)]
    found: dict[str, Any] = {}
    original_train = trainer_mod.VLM3Trainer.train

    def train_and_probe(self, *args, **kwargs):
        result = original_train(self, *args, **kwargs)
        found["train_peak_memory_gib"] = _peak_gib()
        plugin = getattr(self.accelerator.state, "fsdp_plugin", None)
        found["distributed"] = f"{self.accelerator.distributed_type}" + (
            f" (FSDP{plugin.fsdp_version})" if plugin is not None else "")
        if a.extra_data and extras:
            found["micro_batches"] = extra_micro_batches(self, a.extra_data, extras)
        return result

    trainer_mod.VLM3Trainer.train = train_and_probe
    t0 = time.perf_counter()
    metrics = trainer_mod.run_training(cfg, callbacks=[steps])
    if int(os.environ.get("RANK", "0")) == 0:
        out = {"step_seconds": [round(t, 3) for t in steps.times], "total_seconds": round(time.perf_counter() - t0, 1),
               "metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, type(None)))},
               "world_size": int(os.environ.get("WORLD_SIZE", "1")), **found}
        Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
