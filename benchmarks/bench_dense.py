"""Benchmark: a dense depth grid (default 32x24 = 768 points) of one image, four ways, one run.

Release-format depth questions (`vlm3.tasks.depth.text`) at every grid point, answered by:

1. ``one_by_one``   -- one full ``generate`` per point (image encoding included): the reference;
2. ``prefix_reuse`` -- the image prefix encoded once, batched ``generate`` from its KV cache
   (``HFPredictor(decoding="generate")``, the path before template decoding);
3. ``exact``        -- the prefix once, template-drafted greedy decoding checked token by token
   (``decoding="exact"``, the default: greedy answers for any model);
4. ``template``     -- the prefix once, template-forced decoding, head only at the numbers
   (``decoding="template"``: greedy answers whenever the model writes the template).

Answers of every path are compared with the reference's on the points it ran (identical
counts in the JSON). The slow paths can be timed on a random subset of points
(``--reference-points``, ``--prefix-points``; same per-point cost), the dense paths always
run the whole grid.

Models (``--model``): ``micro`` (the demo preset) or ``4b2`` (the Qwen3-VL-4B preset with 2
text layers: 4B width, full 4B vision tower). Random weights do not write the template, so
``--train-steps N`` first fine-tunes the model with the project trainer on release-format
``think`` depth answers (synthetic images, one question per sample; LoRA on the text layers
with ``--lora``); the trained model is cached under ``--work``.

    python benchmarks/bench_dense.py --model micro --train-steps 300 --out runs/bench/dense_micro.json
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import click
import numpy as np
import torch
import yaml


PATHS = ("template", "exact", "prefix_reuse", "one_by_one")  # in the order they are timed


def _grid_points_px(width: int, height: int, gw: int, gh: int) -> np.ndarray:
    xs = (np.arange(gw) + 0.5) * width / gw - 0.5
    ys = (np.arange(gh) + 0.5) * height / gh - 0.5
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def _preset_path(model: str, work: Path) -> str:
    """A preset name or YAML for --model (4b2: the 4B preset with 2 text layers)."""
    if model != "4b2":
        return model
    from vlm3.model.factory import load_preset

    cfg = dict(load_preset("qwen3_vl_4b").config_kwargs)
    cfg["text_config"] = {**cfg["text_config"], "num_hidden_layers": 2}
    path = work / "qwen3_vl_4b_2layers.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"description": "Qwen3-VL-4B architecture with 2 text layers (benchmark)",
                                    "qwen3_vl_config": cfg}))
    return str(path)


def _write_depth_set(root: Path, n_images: int, per_image: int, size: tuple[int, int], seed: int = 0) -> Path:
    """Release-format ``think`` depth samples, one question each, on random images with a
    smooth synthetic depth (1-6 m), in the shard layout `vlm3 train` reads."""
    from PIL import Image

    from vlm3.protocol import FORMAT_VERSION, codecs
    from vlm3.tasks.depth import text as depth_text

    w, h = size
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n_images):
        rel = f"images/train{i}.png"
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / rel)
        for k in range(per_image):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            d = 1.0 + 3.0 * x / w + 2.0 * y / h + 0.5 * i
            norm = codecs.encode_xy_norm2000(np.array([x, y], dtype=np.float64), w, h)
            q = depth_text.prompt(tuple(int(v) for v in np.ravel(norm)))
            samples.append({"id": f"train{i}-{k}", "format_version": FORMAT_VERSION, "task": "depth",
                            "source": "bench", "split": "train", "images": [rel],
                            "messages": [{"role": "user", "content": q},
                                         {"role": "assistant", "content": depth_text.render_answer(d, "think")}],
                            "labels": {"xy_px": [[x, y]], "depth_m": [round(d, 4)], "depth_kind": "z"},
                            "pixmaps": []})
    shard = root / "shards" / "train" / "depth-bench-00000.jsonl"
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_text("".join(json.dumps(s) + "\n" for s in samples))
    return root


def _trained(preset: str, work: Path, steps: int, lora: bool, lr: float, batch: int, size: tuple[int, int],
             answer_vocab: bool = False) -> str:
    """Fine-tune ``preset`` for ``steps`` steps on release think answers (cached). ``answer_vocab``:
    the demo's small-model training (softmax over the answers' tokens, `vlm3.train.small`), which
    saves a ``suppress_tokens`` generation config: every decoding path then chooses among those."""
    from vlm3.train.config import load_config
    from vlm3.train.trainer import run_training

    tag = ("-lora" if lora else "") + ("-answervocab" if answer_vocab else "")
    out = work / f"trained-{Path(preset).stem}-{steps}{tag}-{size[0]}x{size[1]}"
    if (out / "config.json").is_file():
        return str(out)
    n_images, per_image = (2, 16) if lora else (8, 64)  # LoRA: a short overfit of a few samples
    data = _write_depth_set(work / f"data-{size[0]}x{size[1]}-{n_images}x{per_image}", n_images=n_images,
                            per_image=per_image, size=size)
    overrides = [f"model.name_or_path={preset}", "model.min_pixels=1024", f"model.max_pixels={size[0] * size[1]}", f"data.train_path={data}",
                 f"train.output_dir={out}", f"train.max_steps={steps}", f"train.per_device_batch_size={batch}",
                 f"train.global_batch_size={batch}", f"train.learning_rate={lr}", "train.warmup_ratio=0.05",
                 "train.logging_steps=10", f"train.save_steps={steps + 1}", "train.report_to=[]",
                 "train.disable_tqdm=true", "train.resume=never"]
    if answer_vocab:
        overrides += ["train.answer_vocab=answers", "train.embedding_grad=used_rows"]
    if lora:
        overrides += ["model.lora.enabled=true", "model.freeze_vision=true"]
    run_training(load_config(None, overrides))
    return str(out)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


@click.command()
@click.option("--model", "model_name", default="micro", show_default=True,
              help="micro, 4b2 (4B width, 2 text layers), another preset, or a checkpoint dir")
@click.option("--train-steps", default=0, show_default=True, help="fine-tune on release think answers first (0: as is)")
@click.option("--lora", is_flag=True, help="fine-tune LoRA adapters on the text layers (vision frozen)")
@click.option("--answer-vocab", is_flag=True, help="fine-tune with the demo's answer-vocabulary head (small models)")
@click.option("--lr", default=2e-3, show_default=True, help="fine-tuning learning rate")
@click.option("--train-batch", default=8, show_default=True, help="fine-tuning batch size")
@click.option("--grid", default="32x24", show_default=True, help="query grid WxH")
@click.option("--image-size", default="256x192", show_default=True, help="synthetic test image WxH (px)")
@click.option("--batch-size", default=128, show_default=True, help="questions decoded together (dense paths)")
@click.option("--max-new-tokens", default=40, show_default=True, help="answer length cap (tokens)")
@click.option("--reference-points", default=16, show_default=True, help="points timed one generate each (0 = all)")
@click.option("--prefix-points", default=0, show_default=True, help="points timed on prefix_reuse (0 = all)")
@click.option("--dense-points", default=0, show_default=True,
              help="points timed on the exact and template paths (0 = all; a subset only for slow CPU runs)")
@click.option("--paths", "path_names", default=",".join(PATHS), show_default=True,
              help="comma-separated paths to time (one_by_one, the reference, is always run)")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/bench/dense"),
              show_default=True, help="trained models and data go here")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write JSON here")
def main(model_name: str, train_steps: int, lora: bool, answer_vocab: bool, lr: float, train_batch: int, grid: str, image_size: str,
         batch_size: int, max_new_tokens: int, reference_points: int, prefix_points: int, dense_points: int,
         path_names: str, work: Path,
         out: Path | None) -> None:
    """Points/second of the four decoding paths on one dense depth grid, answers compared."""
    from PIL import Image

    from vlm3.predictors.hf import HFPredictor
    from vlm3.protocol import codecs
    from vlm3.tasks.depth import text as depth_text

    chosen = {p.strip() for p in path_names.split(",") if p.strip()} | {"one_by_one"}
    if chosen - set(PATHS):
        raise click.BadParameter(f"unknown path(s) {sorted(chosen - set(PATHS))}: choose from {', '.join(PATHS)}",
                                 param_hint="--paths")
    gw, gh = (int(v) for v in grid.lower().split("x"))
    w, h = (int(v) for v in image_size.lower().split("x"))
    path = _preset_path(model_name, work)
    t0 = time.perf_counter()
    if train_steps > 0:
        path = _trained(path, work, train_steps, lora, lr, train_batch, (w, h), answer_vocab)
    t_train = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    pil = Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))
    norm = codecs.encode_xy_norm2000(_grid_points_px(w, h, gw, gh), w, h)
    qs = [depth_text.prompt(tuple(int(v) for v in p)) for p in norm]
    pred = HFPredictor.from_pretrained(path, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                       max_pixels=max(w * h, 65536))  # presets: min_pixels 65536
    n = len(qs)

    def dense(mode: str, idx):
        pred.decoding = mode
        return pred.answer_with_prefix_reuse([pil], [qs[i] for i in idx], "depth", None)

    dense("template", [0, 1])  # warm-up
    runs: dict[str, dict] = {}
    answers: dict[str, dict[int, str]] = {}
    ref_idx = np.sort(rng.choice(n, size=n if reference_points <= 0 else min(reference_points, n), replace=False))
    pre_idx = np.arange(n) if prefix_points <= 0 else np.sort(rng.choice(n, size=min(prefix_points, n),
                                                                           replace=False))
    dense_idx = np.arange(n) if dense_points <= 0 else np.sort(np.union1d(
        rng.choice(n, size=min(dense_points, n), replace=False), pre_idx if prefix_points > 0 else []).astype(int))
    pre_idx = np.union1d(pre_idx, ref_idx).astype(int)
    dense_idx = np.union1d(dense_idx, pre_idx).astype(int)
    plan = [(name, idx) for name, idx in (("template", dense_idx), ("exact", dense_idx), ("prefix_reuse", pre_idx),
                                          ("one_by_one", ref_idx)) if name in chosen]
    for name, idx in plan:
        if name == "one_by_one":
            texts, dt = _timed(pred.answer_one_by_one, [pil], [qs[i] for i in idx])
        else:
            texts, dt = _timed(dense, "generate" if name == "prefix_reuse" else name, list(idx))
        answers[name] = dict(zip(idx.tolist(), texts))
        runs[name] = {"points": len(idx), "seconds": round(dt, 2), "points_per_s": round(len(idx) / dt, 3)}
        click.echo(f"{name:13s}: {len(idx) / dt:9.2f} points/s ({len(idx)} points in {dt:.1f} s)", err=True)
    ref = answers["one_by_one"]
    for name in runs:
        same = [i for i in ref if answers[name].get(i) == ref[i]]
        runs[name]["identical_to_one_by_one"] = f"{len(same)}/{len(ref)}"
        runs[name]["speedup_vs_one_by_one"] = round(runs[name]["points_per_s"] / runs["one_by_one"]["points_per_s"], 2)
    base = answers.get("prefix_reuse", {})
    for name in ("exact", "template"):
        if name in answers and base:
            same = sum(answers[name][i] == base[i] for i in base)
            runs[name]["identical_to_prefix_reuse"] = f"{same}/{len(base)}"
    parsed = {k: sum(depth_text.parse_answer(t).ok for t in v.values()) for k, v in answers.items()}
    result = {
        "benchmark": "dense_depth_grid", "model": model_name, "model_path": path,
        "train_steps": train_steps, "lora": lora, "answer_vocab": answer_vocab, "train_seconds": round(t_train, 1),
        "grid": [gw, gh], "points": n, "image_size": [w, h], "text_format": "release (think answers)",
        "max_new_tokens": max_new_tokens, "batch_size": batch_size, "paths": runs,
        "parsed": {k: f"{parsed[k]}/{len(answers[k])}" for k in answers},
        "example_answer": answers["one_by_one"][int(ref_idx[0])],
        "torch_threads": torch.get_num_threads(), "machine": platform.machine(), "torch": torch.__version__,
    }
    click.echo(json.dumps(result, indent=2))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        click.echo(f"wrote {out}", err=True)


if __name__ == "__main__":
    main()
