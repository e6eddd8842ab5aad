"""Embedding-gradient benchmark: seconds per training step with ``train.embedding_grad=dense``
vs ``used_rows`` (vlm3.train.small.embedding_rows), side by side in one run, micro and tiny presets.

A step is what the Trainer does: forward with the answer-vocabulary head, backward, gradient
clipping, fused AdamW, zero_grad, on the same batches of 8 compact depth samples (random
images of the demo's size, 4 questions each). Both modes start from the same weights; the
script also prints how far their losses drift apart (they should agree to float rounding).

    python benchmarks/bench_embedding.py --out runs/bench_embedding.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vlm3.model.factory import load_model_and_processor
from vlm3.train.collator import SFTCollator, chat_token_ids
from vlm3.train.small.answer_vocab import AnswerHead, answer_vocab_from_labels, answer_vocab_loss
from vlm3.train.small.embedding_rows import attach_used_rows, training_token_ids

MODES = ("dense", "used_rows")


def make_samples(root: Path, n: int, rng: np.random.Generator) -> list[dict]:
    """``n`` compact depth samples over random 256x160 images written under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(n):
        rel = f"img{i % 16}.png"
        if not (root / rel).is_file():
            Image.fromarray(rng.integers(0, 255, (160, 256, 3), dtype=np.uint8)).save(root / rel)
        messages = []
        for _ in range(4):
            x, y = rng.integers(0, 2000, 2)
            messages += [{"role": "user", "content": f"Distance at ({x:04d}, {y:04d})?"},
                         {"role": "assistant", "content": f"{rng.uniform(0.5, 60):05.1f}"}]
        samples.append({"images": [rel], "messages": messages})
    return samples


def time_mode(preset: str, mode: str, samples: list[dict], image_root: Path, steps: int) -> tuple[float, list[float]]:
    model, proc = load_model_and_processor(preset, dtype="float32", min_pixels=1024, max_pixels=49152, seed=0)
    model.config.use_cache = False
    label_ids, chat_ids = chat_token_ids(samples, proc.tokenizer)
    head = AnswerHead(answer_vocab_from_labels(label_ids, proc.tokenizer), model.config.text_config.vocab_size)
    if mode == "used_rows":
        attach_used_rows(model, training_token_ids(chat_ids, proc.tokenizer, model.config))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0, fused=True)
    collate = SFTCollator(proc, image_root=image_root)
    batches = [collate(samples[i * 8:(i + 1) * 8]) for i in range(len(samples) // 8)]
    losses, t0 = [], 0.0
    for i in range(steps + 2):  # two untimed steps allocate the optimiser state
        if i == 2:
            t0 = time.perf_counter()
        loss = answer_vocab_loss(model, batches[i % len(batches)], head)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        model.zero_grad()
        losses.append(loss.item())
    return (time.perf_counter() - t0) / steps, losses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="JSON file for the numbers")
    ap.add_argument("--presets", default="micro,tiny", help="comma-separated model presets")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per mode")
    args = ap.parse_args()
    torch.manual_seed(0)
    image_root = args.out.parent / "bench_embedding_images"
    samples = make_samples(image_root, 64, np.random.default_rng(0))
    rows = {}
    for preset in args.presets.split(","):
        res = {m: time_mode(preset, m, samples, image_root, args.steps) for m in MODES}
        drift = max(abs(a - b) for a, b in zip(res["dense"][1], res["used_rows"][1]))
        rows[preset] = {**{f"{m}_s_per_step": round(res[m][0], 4) for m in MODES},
                        "speedup": round(res["dense"][0] / res["used_rows"][0], 2), "max_loss_diff": drift}
        print(f"{preset}: dense {res['dense'][0]:.3f} s/step, used_rows {res['used_rows'][0]:.3f} s/step -> "
              f"{rows[preset]['speedup']}x faster; losses agree to {drift:.1e}", flush=True)
    result = {"benchmark": "embedding", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine(), "batch": 8, "presets": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
