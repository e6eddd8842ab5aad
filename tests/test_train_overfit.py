"""A small Qwen3-VL overfits a handful of real depth samples: the loss falls and greedy
answers parse with the protocol parser and approach the labels (slow: ~1-3 min on 2 cores)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from _train_helpers import write_micro_preset, write_nyu_depth_set
from vlm3.model.chat import build_generation_inputs
from vlm3.model.factory import load_model_and_processor
from vlm3.tasks.depth import text as depth_text
from vlm3.train.config import load_config
from vlm3.train.dataset import ShardDataset
from vlm3.train.trainer import run_training


@pytest.mark.slow
def test_tiny_model_overfits_real_depth_samples(tmp_path):
    data = write_nyu_depth_set(tmp_path / "data", n_per_image=1, questions=2, style="plain")  # 3 samples, 6 labels
    out = tmp_path / "run"
    cfg = load_config(None, [
        f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024", f"data.train_path={data}",
        f"train.output_dir={out}", "train.max_steps=120", "train.per_device_batch_size=3", "train.global_batch_size=3",
        "train.learning_rate=3e-3", "train.warmup_ratio=0.05", "train.logging_steps=10", "train.save_steps=1000",
        "train.report_to=[]", "train.disable_tqdm=true"])
    run_training(cfg)
    losses = [json.loads(x)["loss"] for x in (out / "logs.jsonl").read_text().splitlines() if '"loss"' in x]
    assert losses[-1] < 0.2 * losses[0]

    model, proc = load_model_and_processor(str(out), dtype="float32")
    model.eval()
    ds = ShardDataset(data)
    errors, parsed = [], 0
    for s in ds.samples:
        history = []
        for q, a in zip(s["messages"][0::2], s["messages"][1::2]):
            inputs = build_generation_inputs(proc, s["images"], history + [q], image_root=ds.image_root)
            with torch.no_grad():
                gen = model.generate(**inputs, max_new_tokens=16, do_sample=False)
            text = proc.tokenizer.decode(gen[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            pred, truth = depth_text.parse_answer(text), depth_text.parse_answer(a["content"])
            if pred.ok:
                parsed += 1
                errors.append(abs(pred.value - truth.value) / truth.value)
            history += [q, a]
    assert parsed == 6
    assert float(np.median(errors)) < 0.1
