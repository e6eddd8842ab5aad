"""Typed training configuration: dataclasses <-> YAML, with ``key=value`` CLI overrides.

A run is reproducible from its resolved config alone: ``vlm3 train`` writes it to
``<output_dir>/config.yaml`` and beside every checkpoint. Sections:

- ``model``: what to train (preset / checkpoint / hub id), dtype, image pixel budget, LoRA;
- ``data``: where the shards are, which split, sequence cap, optional system prompt;
- ``train``: optimisation and bookkeeping (lr, global batch, schedule, clipping, bf16,
  gradient checkpointing, logging/saving cadence, resume).

Overrides use dotted keys and YAML values: ``train.learning_rate=1e-4 model.lora.enabled=true``.
``help_text()`` lists every field with its documentation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml


def _f(default: Any, help: str, **kw):  # noqa: A002 - mirrors argparse naming
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


class ConfigError(ValueError):
    """A config file or override that is not valid (message names the key)."""


@dataclass
class LoraSection:
    enabled: bool = _f(False, "Train LoRA adapters (peft) instead of all weights.")
    r: int = _f(16, "LoRA rank.")
    alpha: int = _f(32, "LoRA alpha (scale = alpha / r).")
    dropout: float = _f(0.05, "Dropout on the LoRA branch.")
    target_modules: list = _f(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                              "Linear layer names of the language model that get adapters.")


@dataclass
class ModelSection:
    name_or_path: str = _f("tiny", "Model preset (tiny, qwen3_vl_4b), preset YAML, checkpoint dir or cached hub id.")
    dtype: str = _f("auto", "Weights dtype: auto (float32 on CPU, bfloat16 with train.bf16 on GPU), float32, bfloat16.")
    min_pixels: int = _f(65536, "Smallest image area in pixels the processor allows (Qwen3-VL default 65536).")
    max_pixels: int = _f(16777216, "Largest image area in pixels; larger images are downscaled.")
    attn_implementation: str | None = _f(None, "Attention kernel: sdpa, eager, flash_attention_2 (None = default).")
    freeze_vision: bool = _f(False, "Freeze the vision tower (train merger + language model only).")
    seed: int = _f(0, "Seed of the random init of presets.")
    lora: LoraSection = field(default_factory=LoraSection)


@dataclass
class DataSection:
    train_path: str = _f("", "Dataset root (with shards/<split>/), folder of .jsonl files, or one .jsonl file.")
    split: str = _f("train", "Samples with a different `split` field are left out.")
    eval_path: str | None = _f(None, "Optional evaluation set (same forms as train_path).")
    eval_split: str = _f("val", "Split used from eval_path.")
    max_length: int | None = _f(None, "Token cap per sample: trailing question/answer pairs are dropped to fit.")
    max_samples: int | None = _f(None, "Use only the first N samples (smoke runs).")
    system_prompt: str | None = _f(None, "System message added to every sample (None = no system turn).")
    group_by_length: bool = _f(True, "Batch samples of similar token length together.")
    isolate_questions: bool = _f(False, "Each answer attends to the images and its own question only, at the "
                                 "positions inference gives it (vlm3.train.isolation); not with flash_attention_2.")
    num_workers: int = _f(0, "DataLoader worker processes (image decoding).")


@dataclass
class TrainSection:
    output_dir: str = _f("runs/vlm3", "Where checkpoints, config.yaml, logs.jsonl and TensorBoard files go.")
    learning_rate: float = _f(1e-4, "Peak learning rate (AdamW).")
    global_batch_size: int = _f(8, "Samples per optimiser step over all devices (= per_device x devices x accumulation).")
    per_device_batch_size: int = _f(8, "Samples per forward pass on one device.")
    num_epochs: float = _f(1.0, "Passes over the training set (ignored when max_steps > 0).")
    max_steps: int = _f(-1, "Stop after this many optimiser steps (-1 = use num_epochs).")
    lr_scheduler: str = _f("cosine", "transformers scheduler name (cosine, linear, constant_with_warmup, ...).")
    warmup_ratio: float = _f(0.1, "Fraction of steps with linear warm-up.")
    optim: str = _f("adamw_torch_fused", "transformers optimiser name: adamw_torch_fused (the transformers default: "
                                          "one fused kernel, ~5x faster optimiser steps than adamw_torch on a CPU, "
                                          "benchmarks/bench_optim.py), adamw_torch, ...")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    adam_beta1: float = _f(0.9, "AdamW beta1 (transformers default).")
    adam_beta2: float = _f(0.999, "AdamW beta2 (transformers default).")
    max_grad_norm: float = _f(1.0, "Gradient clipping norm (the paper's recipes use 0.02).")
    bf16: str = _f("auto", "bfloat16 mixed precision: auto (on when a CUDA GPU supports it), true, false.")
    gradient_checkpointing: bool = _f(False, "Recompute activations in backward to save memory.")
    answer_logits_only: bool = _f(True, "Compute LM-head logits only at supervised positions (same loss, faster).")
    answer_vocab: str = _f("full", "Softmax over the full vocabulary (full, plain SFT) or only over the tokens the "
                                   "training answers use (answers: single-process small-model runs; decoding is "
                                   "restricted the same way, see vlm3.train.answer_vocab).")
    embedding_grad: str = _f("dense", "How the tied embedding trains: dense (a full-matrix gradient) or used_rows "
                                      "(a table of the rows the training set uses: the same updates with "
                                      "weight_decay 0, ~25 % faster micro steps on a CPU; needs "
                                      "answer_vocab=answers, see vlm3.train.embedding_rows).")
    logging_steps: int = _f(10, "Log loss, lr, tokens/s and labels/s every N steps.")
    save_steps: int = _f(500, "Save a checkpoint every N steps.")
    save_total_limit: int | None = _f(3, "Keep at most N checkpoints (None = all).")
    eval_steps: int | None = _f(None, "Evaluate every N steps when data.eval_path is set.")
    seed: int = _f(42, "Seed for data order and training.")
    resume: str = _f("auto", "auto (latest checkpoint in output_dir if any), never, or a checkpoint path.")
    report_to: list = _f(["tensorboard"], "Logging integrations (tensorboard; [] for none).")
    disable_tqdm: bool = _f(False, "Hide the progress bar.")


@dataclass
class RunConfig:
    """Everything a training run needs."""

    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    description: str = _f("", "Free text saying what this recipe is.")


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown config key {where + key!r}; valid keys: {', '.join(sorted(names))}")
        ftype = names[key].type
        sub = {"LoraSection": LoraSection, "ModelSection": ModelSection, "DataSection": DataSection,
               "TrainSection": TrainSection}.get(ftype if isinstance(ftype, str) else getattr(ftype, "__name__", ""))
        kwargs[key] = _build(sub, value, f"{where}{key}.") if sub else _coerce(value, ftype, where + key)
    return cls(**kwargs)


def _coerce(value: Any, ftype: Any, key: str) -> Any:
    t = str(ftype)
    if value is None:
        if "None" in t:
            return None
        raise ConfigError(f"{key} may not be null")
    try:
        if t.startswith("float"):
            return float(value)
        if t.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if t == "bool":
            if not isinstance(value, bool):
                raise ValueError
            return value
        if t.startswith("list") and not isinstance(value, list):
            return [value]
        if t.startswith("str") and not isinstance(value, str):
            return str(value).lower() if isinstance(value, bool) else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: cannot use {value!r} as {t}") from None
    return value


def config_from_dict(data: dict) -> RunConfig:
    """Build a RunConfig from a nested mapping (unknown keys are an error)."""
    return _build(RunConfig, data or {}, "")


def apply_overrides(data: dict, overrides: Sequence[str]) -> dict:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested mapping."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r}: {p!r} is not a section")
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return data


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a YAML recipe (or a shipped recipe name, e.g. ``tiny_cpu``) and apply overrides."""
    data: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            shipped = Path(__file__).resolve().parents[1] / "configs" / "train" / f"{path}.yaml"
            if not shipped.is_file():
                raise ConfigError(f"config {path} not found (neither a file nor a shipped recipe: {', '.join(recipe_names())})")
            p = shipped
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    return config_from_dict(apply_overrides(data, overrides))


def recipe_names() -> list[str]:
    """Shipped recipes (``vlm3/configs/train/*.yaml``)."""
    return sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "configs" / "train").glob("*.yaml"))


def to_dict(cfg: RunConfig) -> dict:
    return dataclasses.asdict(cfg)


def save_config(cfg: RunConfig, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")


def help_text() -> str:
    """Every config key with its default and documentation (for ``vlm3 train --help-config``)."""
    lines = []

    def walk(cls, prefix):
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(f.default_factory() if f.default_factory is not dataclasses.MISSING else None):
                walk(type(f.default_factory()), prefix + f.name + ".")
                continue
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"{prefix}{f.name} = {default!r}\n    {f.metadata.get('help', '')}")

    walk(RunConfig, "")
    return "\n".join(lines)
