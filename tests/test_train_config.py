"""Typed configs: YAML + overrides, clear errors, the paper's 4B recipes."""

from __future__ import annotations

import pytest
import yaml

from vlm3.train.config import ConfigError, load_config, recipe_names, save_config
from vlm3.train.trainer import build_training_arguments, gradient_accumulation

# task -> (lr, global batch, GPU counts to check: one node + the paper's cluster size)
PAPER = {"depth": (5.5e-5, 1344, (8, 32, 64)), "object": (3.5e-4, 640, (8, 32)),
         "correspondence": (2e-5, 2816, (8, 64)), "pose": (5e-5, 448, (8, 32))}


@pytest.mark.parametrize("task", sorted(PAPER))
def test_paper_recipes(task):
    cfg = load_config(f"qwen3_vl_4b_{task}")
    lr, batch, gpu_counts = PAPER[task]
    t = cfg.train
    assert (t.learning_rate, t.global_batch_size) == (lr, batch)
    assert (t.lr_scheduler, t.warmup_ratio, t.max_grad_norm) == ("cosine", 0.1, 0.02)
    assert t.bf16 == "true" and t.gradient_checkpointing and cfg.model.name_or_path == "Qwen/Qwen3-VL-4B-Instruct"
    for gpus in gpu_counts:  # per-device batch x GPUs x accumulation = global batch exactly
        assert gradient_accumulation(cfg, gpus) * gpus * t.per_device_batch_size == batch


def test_overrides_round_trip_and_errors(tmp_path):
    cfg = load_config("tiny_cpu", ["train.learning_rate=3e-4", "model.lora.enabled=true", "data.max_length=null",
                                   "train.report_to=[]"])
    assert cfg.train.learning_rate == 3e-4 and cfg.model.lora.enabled and cfg.data.max_length is None
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg
    with pytest.raises(ConfigError, match="unknown config key 'train.lr'"):
        load_config("tiny_cpu", ["train.lr=1"])
    with pytest.raises(ConfigError, match="train.max_steps"):
        load_config("tiny_cpu", ["train.max_steps=abc"])
    with pytest.raises(ConfigError, match="not found"):
        load_config("no_such_recipe")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"train": {"global_batch_size": 10, "per_device_batch_size": 4}}))
    with pytest.raises(ConfigError, match="multiple"):
        build_training_arguments(load_config(tmp_path / "bad.yaml"), world_size=1)
    assert "tiny_cpu" in recipe_names()


def test_training_arguments_follow_recipe():
    cfg = load_config("qwen3_vl_4b_object", ["train.bf16=false"])
    args = build_training_arguments(cfg, world_size=32)
    assert args.gradient_accumulation_steps == 5 and args.max_grad_norm == 0.02
    assert args.learning_rate == 3.5e-4 and args.lr_scheduler_type == "cosine" and args.warmup_steps == 0.1
    assert args.optim == "adamw_torch_fused"  # the same AdamW, one fused kernel (transformers' default)
    assert build_training_arguments(load_config("tiny_cpu", ["train.optim=adamw_torch"])).optim == "adamw_torch"
