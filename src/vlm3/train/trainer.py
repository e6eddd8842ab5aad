"""Plain SFT of Qwen3-VL with the transformers ``Trainer`` (the whole VLM3 training recipe).

``run_training(cfg)`` loads the model and processor (``vlm3.model.factory``), reads the
shards (``vlm3.train.dataset``), batches them with answer-only labels
(``vlm3.train.collator``) and trains with AdamW, a cosine schedule with warm-up, gradient
clipping, optional bf16 / gradient checkpointing / LoRA. Multi-GPU runs (FSDP or DeepSpeed)
come from ``accelerate launch`` / ``torchrun``; nothing here is cluster specific.

The ``Trainer`` is ``VLM3Trainer`` (``vlm3.train.sft_trainer``: answer-position logits, length
grouping, throughput logs, stock-weight saves). Only a config that sets a small-model option
of the CPU demo (``train.answer_vocab`` / ``train.embedding_grad`` off their defaults, which
every 4B recipe keeps) imports ``vlm3.train.small``, inside ``run_training``: the options are
checked, attached to the model, and ``SmallModelTrainer`` (the answer-vocabulary loss, the
used-rows table folded before every save) trains instead. Every log line also goes to
``<output_dir>/logs.jsonl``; the resolved config is written (by the main process) to
``<output_dir>/config.yaml`` and into each checkpoint.
Resuming (``train.resume=auto``) continues from the newest complete checkpoint
(``vlm3.train.checkpoints``), data order included, and counts the optimizer states it
restored (``vlm3.train.resume_check``: fewer than the trainable tensors stop the run); log lines of steps after it are dropped
from logs.jsonl (they are re-run) and ``train_loss`` names the steps it covers.
The final output is a complete Hugging Face model folder on every path (``vlm3.train.saving``).
Master weights are float32 on every path (bf16 is compute only, ``train.bf16``): a bf16
``model.dtype`` for trained weights is refused in one line.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from transformers import TrainerCallback, TrainingArguments

from vlm3.errors import Vlm3Error
from vlm3.model.factory import load_model_and_processor, model_config_dict
from vlm3.tasks.asking import learn_asking, write_asking
from vlm3.train.collator import SFTCollator
from vlm3.config import ConfigError, save
from vlm3.train.checkpoints import finished_step, find_resume_checkpoint, refuse_other_model
from vlm3.train.config import RunConfig, check_master_dtype
from vlm3.train.dataset import ShardDataset
from vlm3.train.saving import save_final_model
from vlm3.train.sft_trainer import VLM3Trainer

CONFIG_NAME = "config.yaml"
LOG_NAME = "logs.jsonl"


class JsonlLogCallback(TrainerCallback):
    """Append every log dict (with step and epoch) to ``<output_dir>/logs.jsonl``.

    On a resumed run, lines of steps after the checkpoint (logged before the interruption and
    now re-run) are dropped first, so every step is logged once.
    """

    def on_train_begin(self, args, state, control, **kwargs):
        path = Path(args.output_dir) / LOG_NAME
        if not state.is_world_process_zero or state.global_step == 0 or not path.is_file():
            return
        lines = path.read_text(encoding="utf-8").splitlines()
        keep = [x for x in lines if _step_of(x) <= state.global_step]
        if len(keep) != len(lines):
            path.write_text("".join(x + "\n" for x in keep), encoding="utf-8")
            print(f"note: {LOG_NAME}: dropped {len(lines) - len(keep)} line(s) of steps after "
                  f"{state.global_step} (logged before the interruption; they are re-run)", flush=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            rec = {"step": state.global_step, "epoch": state.epoch, "time": time.time(), **logs}
            with open(Path(args.output_dir) / LOG_NAME, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")


def _step_of(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return 0


class SaveConfigCallback(TrainerCallback):
    """Write the resolved run config beside each checkpoint."""

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir():
                save(self.cfg, ckpt / CONFIG_NAME)


def resolve_bf16(flag: str) -> bool:
    """``train.bf16``: auto -> True only on a CUDA GPU with bf16 support."""
    flag = str(flag).lower()
    if flag in ("true", "1", "yes"):
        return True
    if flag in ("false", "0", "no"):
        return False
    if flag != "auto":
        raise ConfigError(f"train.bf16 must be auto, true or false, got {flag!r}")
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


#: The oldest transformers the trainer runs on: ``TrainingArguments(activation_checkpointing=...)``
#: is 5.23, the boolean ``logits_to_keep`` mask 5.22 (older ones fail with TypeError / IndexError).
MIN_TRANSFORMERS = "5.23"


class TransformersVersionError(Vlm3Error, RuntimeError):
    """The installed transformers is older than the trainer needs; the message says what to install."""


def check_transformers(installed: str | None = None) -> None:
    """TransformersVersionError (one line) when transformers is older than ``MIN_TRANSFORMERS``."""
    import transformers
    from packaging.version import Version

    installed = installed or transformers.__version__
    if Version(installed) < Version(MIN_TRANSFORMERS):
        raise TransformersVersionError(
            f"vlm3 train needs transformers >= {MIN_TRANSFORMERS}, this environment has {installed}: "
            f"pip install 'transformers>={MIN_TRANSFORMERS},<6' (the vllm extra may pin an older one: "
            "train in an environment without it)")


@dataclass(frozen=True)
class BatchPlan:
    """How one optimiser step of ``global_batch`` samples is split: per_device x devices x accumulation."""

    per_device: int
    devices: int
    accumulation: int

    @property
    def global_batch(self) -> int:
        return self.per_device * self.devices * self.accumulation

    def describe(self) -> str:
        return (f"global batch {self.global_batch} = {self.per_device} per device x {self.devices} devices "
                f"x {self.accumulation} accumulation steps")


def plan_batch(global_batch: int, per_device_max: int, devices: int) -> BatchPlan:
    """The split of ``global_batch`` over ``devices`` with the largest per-device batch <= ``per_device_max``.

    The global batch is kept exactly (it is part of the recipe, with the learning rate); the
    per-device batch is lowered when it does not divide the samples each device must see per
    step (e.g. 1,344 over 24 GPUs: 56 per device per step = 2 x 28, not 3 x 18.7). Only a
    global batch that no split reaches is refused: one that is not a multiple of the device
    count, with the nearest ones that are in the message.
    """
    if global_batch % devices:
        lo = max(devices, global_batch // devices * devices)
        hi = (global_batch // devices + 1) * devices
        raise ConfigError(f"train.global_batch_size={global_batch} cannot be split evenly over {devices} devices; "
                          f"use train.global_batch_size={lo} or {hi} (scale the learning rate if needed)")
    per_step = global_batch // devices
    per_device = max(d for d in range(1, min(per_device_max, per_step) + 1) if per_step % d == 0)
    return BatchPlan(per_device, devices, per_step // per_device)


def _apply_lora(model, cfg: RunConfig):
    from peft import LoraConfig, get_peft_model

    lc = cfg.model.lora
    # restrict to the language model: the vision tower names its layers differently anyway
    pattern = r".*language_model.*\.(" + "|".join(lc.target_modules) + r")$"
    return get_peft_model(model, LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                                            target_modules=pattern, task_type="CAUSAL_LM"))


def build_training_arguments(cfg: RunConfig, world_size: int | None = None) -> TrainingArguments:
    """``TrainingArguments`` for a run config (output_dir, optimiser, schedule, precision, cadence)."""
    t = cfg.train
    world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
    batch = plan_batch(t.global_batch_size, t.per_device_batch_size, world)
    if batch.per_device != t.per_device_batch_size and int(os.environ.get("RANK", "0")) == 0:
        print(f"note: train.per_device_batch_size {t.per_device_batch_size} -> {batch.per_device} so that "
              f"{batch.describe()}", flush=True)
    return TrainingArguments(
        output_dir=t.output_dir,
        per_device_train_batch_size=batch.per_device,
        per_device_eval_batch_size=batch.per_device,
        gradient_accumulation_steps=batch.accumulation,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,
        weight_decay=t.weight_decay,
        adam_beta1=t.adam_beta1,
        adam_beta2=t.adam_beta2,
        optim=t.optim,
        max_grad_norm=t.max_grad_norm,
        num_train_epochs=t.num_epochs,
        max_steps=t.max_steps,
        bf16=resolve_bf16(t.bf16),
        activation_checkpointing=t.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if t.gradient_checkpointing else None,
        logging_steps=t.logging_steps,
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        eval_strategy="steps" if (cfg.data.eval_path and t.eval_steps) else "no",
        eval_steps=t.eval_steps,
        seed=t.seed,
        data_seed=t.seed,
        report_to=list(t.report_to) or "none",
        remove_unused_columns=False,
        dataloader_num_workers=cfg.data.num_workers,
        train_sampling_strategy="group_by_length" if cfg.data.group_by_length else "random",
        disable_tqdm=t.disable_tqdm,
        use_cpu=not torch.cuda.is_available(),
    )


def _check_optim(cfg: RunConfig) -> None:
    from transformers.training_args import OptimizerNames

    names = [o.value for o in OptimizerNames]
    if cfg.train.optim not in names:
        raise ConfigError(f"train.optim={cfg.train.optim!r} is not a transformers optimiser; "
                          f"use adamw_torch_fused (default) or adamw_torch (all: {', '.join(names)})")


def uses_small_model_options(cfg: RunConfig) -> bool:
    """Whether ``cfg`` sets an option of the CPU demo's small-model speed-ups (``vlm3.train.small``).

    ``train.answer_vocab`` or ``train.embedding_grad`` off its default (``full``, ``dense``: plain
    SFT, every 4B recipe), an unknown value included: ``check_options`` names it.
    """
    return (cfg.train.answer_vocab, cfg.train.embedding_grad) != ("full", "dense")


def run_training(cfg: RunConfig, callbacks: Sequence[TrainerCallback] = ()) -> dict[str, Any]:
    """Train per ``cfg``; returns final metrics. Writes the model + processor to ``output_dir``.

    Re-running a finished run (newest checkpoint at train.max_steps, final model saved)
    trains nothing: ``Trainer`` would otherwise take one more step past max_steps.
    A config with small-model options (``uses_small_model_options``) trains with
    ``vlm3.train.small.trainer.SmallModelTrainer``, the package imported on that path only;
    any other config with ``VLM3Trainer``.
    """
    check_transformers()
    if not cfg.data.train_path:
        raise ConfigError("data.train_path is empty: point it at a dataset built by `vlm3 data build`")
    small = uses_small_model_options(cfg)
    if small:
        from vlm3.train.small.options import check_options

        check_options(cfg)
    _check_optim(cfg)
    check_master_dtype(cfg)
    out = Path(cfg.train.output_dir)
    new_arch = model_config_dict(cfg.model.name_or_path)
    if new_arch is not None:
        refuse_other_model(out, new_arch)
    resume = find_resume_checkpoint(cfg)
    done = finished_step(resume, cfg)
    if done is not None:
        return {"global_step": done, "resumed_from": resume, "already_finished": True}
    args = build_training_arguments(cfg)
    if args.should_save:
        out.mkdir(parents=True, exist_ok=True)
        save(cfg, out / CONFIG_NAME)
    train_ds = ShardDataset(cfg.data.train_path, cfg.data.split, cfg.data.max_samples)
    eval_ds = ShardDataset(cfg.data.eval_path, cfg.data.eval_split) if cfg.data.eval_path else None
    dtype = cfg.model.dtype if cfg.model.dtype != "auto" else "float32"
    model, processor = load_model_and_processor(
        cfg.model.name_or_path, dtype=dtype, min_pixels=cfg.model.min_pixels, max_pixels=cfg.model.max_pixels,
        seed=cfg.model.seed, attn_implementation=cfg.model.attn_implementation)
    model.config.use_cache = False
    if cfg.model.freeze_vision:
        for p in model.model.visual.parameters():
            p.requires_grad_(False)
    if cfg.model.lora.enabled:
        model = _apply_lora(model, cfg)
    trainer_class, small_kwargs = VLM3Trainer, {}
    if small:  # the answer vocabulary (and the used-rows table) attached to the model, then the subclass
        from vlm3.train.small.options import prepare
        from vlm3.train.small.trainer import SmallModelTrainer

        trainer_class = SmallModelTrainer
        small_kwargs = {"answer_head": prepare(cfg, model, processor.tokenizer, train_ds.samples)}
    lengths = train_ds.lengths(processor) if cfg.data.group_by_length else None
    collator = SFTCollator(processor, image_root=train_ds.image_root, system=cfg.data.system_prompt,
                           max_length=cfg.data.max_length, uint8_pixels=True)
    trainer = trainer_class(
        model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds, data_collator=collator,
        processing_class=processor, lengths=lengths, answer_logits_only=cfg.train.answer_logits_only,
        im_end_id=processor.tokenizer.convert_tokens_to_ids("<|im_end|>"),
        callbacks=[JsonlLogCallback(), SaveConfigCallback(cfg), *callbacks], **small_kwargs)
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.before_save()
    save_final_model(trainer, out)
    if trainer.is_world_process_zero():
        save(cfg, out / CONFIG_NAME)
        # how the model must be asked (focal, image cap, text format, numbers): read by vlm3 predict / vlm3.load
        write_asking(out, learn_asking(cfg.data.train_path, train_ds.samples, cfg.model.name_or_path,
                                       trainer.state.global_step))
    metrics = dict(result.metrics)
    metrics["train_loss_first_step"] = trainer._initial_global_step + 1
    metrics["train_loss_last_step"] = trainer.state.global_step
    metrics["global_step"] = trainer.state.global_step
    metrics["resumed_from"] = resume
    metrics["num_samples"] = len(train_ds)
    metrics["final_loss"] = next((h["loss"] for h in reversed(trainer.state.log_history) if "loss" in h), math.nan)
    return metrics
