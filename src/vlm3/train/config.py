"""The training schema (``RunConfig``: model, data and train sections) and its range checks,
read with the one loader (vlm3.config): YAML recipe + dotted ``key=value`` overrides.

A run is reproducible from its resolved config alone: ``vlm3 train`` writes it to
``<output_dir>/config.yaml`` and beside every checkpoint. Sections:

- ``model``: what to train (preset / checkpoint / hub id), dtype, image pixel budget, LoRA;
- ``data``: where the shards are, which split, sequence cap, optional system prompt;
- ``train``: optimisation and bookkeeping (lr, global batch, schedule, clipping, bf16,
  gradient checkpointing, logging/saving cadence, resume).

Overrides use dotted keys and YAML values: ``train.learning_rate=1e-4 model.lora.enabled=true``.
``vlm3 train --help-config`` lists every field with its documentation (vlm3.config.help_text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from vlm3.config import ConfigError, load, option, shipped_names


@dataclass
class LoraSection:
    enabled: bool = option(False, "Train LoRA adapters (peft) instead of all weights.")
    r: int = option(16, "LoRA rank.")
    alpha: int = option(32, "LoRA alpha (scale = alpha / r).")
    dropout: float = option(0.05, "Dropout on the LoRA branch.")
    target_modules: list = option(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                              "Linear layer names of the language model that get adapters.")


@dataclass
class ModelSection:
    name_or_path: str = option("tiny", f"Model preset ({', '.join(shipped_names('model'))}: "
                                      "random-init sizes of Qwen3-VL), preset YAML, checkpoint dir or cached hub id.")
    dtype: str = option("auto", "Dtype of the trained (master) weights: auto = float32 = the only one for full "
                                 "training (bf16 compute comes from train.bf16); bfloat16 / float16 only with LoRA "
                                 "(the frozen base), refused otherwise.")
    min_pixels: int = option(65536, "Smallest image area in pixels the processor allows (Qwen3-VL default 65536).")
    max_pixels: int = option(16777216, "Largest image area in pixels; larger images are downscaled.")
    attn_implementation: str | None = option(None, "Attention kernel: sdpa, eager, flash_attention_2 (None = default).")
    freeze_vision: bool = option(False, "Freeze the vision tower (train merger + language model only).")
    seed: int = option(0, "Seed of the random init of presets.")
    lora: LoraSection = field(default_factory=LoraSection)


@dataclass
class DataSection:
    train_path: str = option("", "Dataset root (with shards/<split>/), folder of .jsonl files, or one .jsonl file.")
    split: str = option("train", "Samples with a different `split` field are left out.")
    eval_path: str | None = option(None, "Optional evaluation set (same forms as train_path).")
    eval_split: str = option("val", "Split used from eval_path.")
    max_length: int | None = option(None, "Token cap per sample: trailing question/answer pairs are dropped to fit.")
    max_samples: int | None = option(None, "Use only the first N samples (smoke runs).")
    system_prompt: str | None = option(None, "System message added to every sample (None = no system turn).")
    group_by_length: bool = option(True, "Batch samples of similar token length together.")
    num_workers: int = option(0, "DataLoader worker processes (image decoding).")


@dataclass
class TrainSection:
    output_dir: str = option("runs/vlm3", "Where checkpoints, config.yaml, logs.jsonl and TensorBoard files go.")
    learning_rate: float = option(1e-4, "Peak learning rate (AdamW).")
    global_batch_size: int = option(8, "Samples per optimiser step over all devices (= per_device x devices x accumulation).")
    per_device_batch_size: int = option(8, "Most samples per forward pass on one device (lowered, with a note, "
                                           "when it does not divide global_batch_size / devices).")
    num_epochs: float = option(1.0, "Passes over the training set (ignored when max_steps > 0).")
    max_steps: int = option(-1, "Stop after this many optimiser steps (-1 = use num_epochs).")
    lr_scheduler: str = option("cosine", "transformers scheduler name (cosine, linear, constant_with_warmup, ...).")
    warmup_ratio: float = option(0.1, "Fraction of steps with linear warm-up.")
    optim: str = option("adamw_torch_fused", "transformers optimiser name: adamw_torch_fused (the transformers default: "
                                          "one fused kernel, ~5x faster optimiser steps than adamw_torch on a CPU, "
                                          "benchmarks/bench_optim.py), adamw_torch, ...")
    weight_decay: float = option(0.0, "AdamW weight decay.")
    adam_beta1: float = option(0.9, "AdamW beta1 (transformers default).")
    adam_beta2: float = option(0.999, "AdamW beta2 (transformers default).")
    max_grad_norm: float = option(1.0, "Gradient clipping norm (the paper's recipes use 0.02).")
    bf16: str = option("auto", "bfloat16 mixed precision: auto (on when a CUDA GPU supports it), true, false.")
    gradient_checkpointing: bool = option(False, "Recompute activations in backward to save memory.")
    answer_logits_only: bool = option(True, "Compute LM-head logits only at supervised positions (same loss, faster).")
    answer_vocab: str = option("full", "Softmax over the full vocabulary (full, plain SFT) or only over the tokens the "
                                   "training answers use (answers: single-process small-model runs; decoding is "
                                   "restricted the same way through the saved generation_config.json, see "
                                   "vlm3.train.small.answer_vocab).")
    embedding_grad: str = option("dense", "How the tied embedding trains: dense (a full-matrix gradient) or used_rows "
                                      "(a table of the rows the training set uses: the same updates with "
                                      "weight_decay 0, ~25 % faster micro steps on a CPU; needs "
                                      "answer_vocab=answers, see vlm3.train.small.embedding_rows).")
    logging_steps: int = option(10, "Log loss, lr, tokens/s and labels/s every N steps.")
    save_steps: int = option(500, "Save a checkpoint every N steps.")
    save_total_limit: int | None = option(3, "Keep at most N checkpoints (None = all).")
    eval_steps: int | None = option(None, "Evaluate every N steps when data.eval_path is set.")
    seed: int = option(42, "Seed for data order and training.")
    resume: str = option("auto", "auto (latest checkpoint in output_dir if any), never, or a checkpoint path.")
    report_to: list = option(["tensorboard"], "Logging integrations (tensorboard; [] for none).")
    disable_tqdm: bool = option(False, "Hide the progress bar.")


@dataclass
class RunConfig:
    """Everything a training run needs."""

    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    description: str = option("", "Free text saying what this recipe is.")

    def validate(self) -> None:
        """Range checks that need no model or devices (the trainer checks the rest)."""
        t = self.train
        checks = [("train.learning_rate", t.learning_rate, t.learning_rate > 0, "> 0"),
                  ("train.global_batch_size", t.global_batch_size, t.global_batch_size >= 1, ">= 1"),
                  ("train.per_device_batch_size", t.per_device_batch_size, t.per_device_batch_size >= 1, ">= 1"),
                  ("train.warmup_ratio", t.warmup_ratio, 0 <= t.warmup_ratio <= 1, "in [0, 1]"),
                  ("train.max_grad_norm", t.max_grad_norm, t.max_grad_norm >= 0, ">= 0"),
                  ("train.logging_steps", t.logging_steps, t.logging_steps >= 1, ">= 1"),
                  ("train.save_steps", t.save_steps, t.save_steps >= 1, ">= 1"),
                  ("model.lora.r", self.model.lora.r, self.model.lora.r >= 1, ">= 1"),
                  ("model.min_pixels", self.model.min_pixels, 0 < self.model.min_pixels <= self.model.max_pixels,
                   "in (0, model.max_pixels]")]
        for key, value, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"{key}: {value!r} is not {allowed}")


#: ``model.dtype`` values that would make the trained weights themselves low precision.
LOW_PRECISION = ("bfloat16", "bf16", "float16", "fp16")


def check_master_dtype(cfg: RunConfig) -> None:
    """ConfigError (one line) for bf16/fp16 master weights: nothing upcasts them on DDP or one device.

    Adam updates below bf16's resolution are lost (one step at lr 5.5e-5 moves no RMSNorm
    weight); float32 weights with ``train.bf16=true`` train in bf16 compute with fp32 masters.
    LoRA is allowed: the frozen base may be bf16, the adapters are float32 (peft).
    """
    if str(cfg.model.dtype).lower() in LOW_PRECISION and not cfg.model.lora.enabled:
        raise ConfigError(f"model.dtype={cfg.model.dtype} would train {cfg.model.dtype} master weights (small updates "
                          "are rounded away: norm weights never move); use model.dtype=float32 with "
                          "train.bf16=true (bf16 compute, float32 master weights)")


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a YAML recipe (or a shipped recipe name, e.g. ``tiny_cpu``) and apply dotted overrides."""
    return load(RunConfig, path, overrides, kind="train")


def recipe_names() -> list[str]:
    """Shipped recipes (``vlm3/configs/train/*.yaml``)."""
    return shipped_names("train")
