"""Packing benchmark: supervised labels per second of SFT, 10 packed questions per sample
vs 1 question per sample, on the same images and the same model (one run, one process).

A label is one answered question (one depth value). A packed sample pays for its image
tokens once and supervises every answer; an unpacked sample pays for them per answer.
Training steps are timed end to end (collate + forward + backward + AdamW step) with the
loss on answer tokens only. Images are real NYU frames when ../shared/data/real/nyu is
present (else random images), resized to --width x --height (a multiple of 32 px, roughly
the size of a focal-normalised 640x480 frame at f = 1000 px).

    python benchmarks/bench_packing.py --out runs/bench_packing.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vlm3.model.factory import count_parameters, load_model_and_processor
from vlm3.train.collator import SFTCollator
from vlm3.train.loss import answer_position_loss

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the toy fixtures live with the tests
from toy_data import depth_samples, load_nyu_frames, resize_rgbd  # noqa: E402

NYU = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nyu"


def make_frames(width: int, height: int, n: int, seed: int):
    if (NYU / "meta.json").is_file():
        frames = load_nyu_frames(NYU, width, height)
    else:
        rng = np.random.default_rng(seed)
        frames = [resize_rgbd(rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
                              rng.uniform(0.5, 10.0, (height, width)), width, height) for _ in range(n)]
    return (frames * n)[:n]


def time_steps(model, collator, samples, batch, steps, opt) -> dict:
    """Train on `steps` batches after one warm-up batch; returns seconds and label counts."""
    batches = [samples[i * batch:(i + 1) * batch] for i in range(steps + 1)]
    secs, labels, tokens = 0.0, 0, 0
    for k, b in enumerate(batches):
        t0 = time.perf_counter()
        enc = collator(b)
        loss = answer_position_loss(model, enc)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        if k == 0:
            continue  # warm-up
        secs += dt
        labels += sum(sum(m["role"] == "assistant" for m in s["messages"]) for s in b)
        tokens += int(enc["attention_mask"].sum())
    return {"seconds": secs, "labels": labels, "tokens": tokens, "labels_per_s": labels / secs,
            "tokens_per_s": tokens / secs, "steps": steps, "batch": batch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny", help="model preset or checkpoint (default: tiny)")
    ap.add_argument("--questions", type=int, default=10, help="questions per packed sample")
    ap.add_argument("--batch", type=int, default=2, help="samples per step")
    ap.add_argument("--steps", type=int, default=2, help="timed steps per setting (after 1 warm-up)")
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    a = ap.parse_args()
    if a.width % 32 or a.height % 32:
        ap.error("--width and --height must be multiples of 32 (the processor's token grid)")
    torch.manual_seed(a.seed)
    model, proc = load_model_and_processor(a.preset, dtype="float32", min_pixels=1024,
                                           max_pixels=a.width * a.height)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    collator = SFTCollator(proc)
    n = a.batch * (a.steps + 1)
    frames = make_frames(a.width, a.height, n, a.seed)
    rng = np.random.default_rng(a.seed)
    packed, single = [], []
    for img, depth in frames:
        s = depth_samples(depth, "img.png", 1, a.questions, rng, style="plain")[0]
        s["images"] = [img]
        packed.append(s)
        single.append({**s, "messages": s["messages"][:2]})  # same image, first question only
    results = {"setting_single": time_steps(model, collator, single, a.batch, a.steps, opt),
               "setting_packed": time_steps(model, collator, packed, a.batch, a.steps, opt)}
    speedup = results["setting_packed"]["labels_per_s"] / results["setting_single"]["labels_per_s"]
    results.update({"speedup_labels_per_s": speedup, "questions_per_packed_sample": a.questions,
                    "image_size_wh": [a.width, a.height], "visual_tokens_per_image": (a.width // 32) * (a.height // 32),
                    "model": a.preset, "parameters": count_parameters(model), "torch_threads": torch.get_num_threads(),
                    "machine": platform.processor() or platform.machine(), "target_speedup": 5.0})
    print(f"1 question/sample : {results['setting_single']['labels_per_s']:.3f} labels/s "
          f"({results['setting_single']['tokens_per_s']:.0f} tokens/s)")
    print(f"{a.questions} questions/sample: {results['setting_packed']['labels_per_s']:.3f} labels/s "
          f"({results['setting_packed']['tokens_per_s']:.0f} tokens/s)")
    print(f"speed-up: {speedup:.2f}x (target >= 5x)")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
