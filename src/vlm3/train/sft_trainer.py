"""``VLM3Trainer``: the transformers ``Trainer`` of plain SFT, as ``run_training`` (``vlm3.train.trainer``) builds it.

It differs from ``Trainer`` in small ways: the loss uses logits only at supervised positions
(``vlm3.train.loss``), the sampler groups samples of similar token length, logs carry
throughput (``tokens_per_s``, ``labels_per_s`` = answers/s, ``supervised_tokens_per_s``), every
save writes stock Qwen3-VL weights on every path (``vlm3.train.saving``: ZeRO-3 gathered in
fp32, FSDP checkpoints completed with config and processor files), and a resume counts the
optimizer states it restored (``vlm3.train.resume_check``).

Two methods are the seams a subclass fills: ``answer_loss`` (the loss of one batch when
``train.answer_logits_only``) and ``before_save`` (bring the weights to the form a save
writes; nothing here). The CPU demo's ``vlm3.train.small.trainer.SmallModelTrainer`` fills
both; this module knows nothing of it (a separate module from ``run_training``, which picks
that subclass, so that the two packages import each other in one direction only).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import torch
from transformers import Trainer

from vlm3.train.checkpoints import optimizer_state_missing, say_main
from vlm3.train.collator import normalize_pixel_values
from vlm3.train.loss import answer_position_loss
from vlm3.train.resume_check import check_optimizer_restored
from vlm3.train.sampler import LengthGroupedSampler  # transformers' order on numpy lengths
from vlm3.train.saving import save_gathered_model, save_sharded_checkpoint_metadata


class VLM3Trainer(Trainer):
    """``Trainer`` with answer-position logits, length grouping and throughput logs."""

    def __init__(self, *args, lengths: Sequence[int] | None = None, answer_logits_only: bool = True,
                 im_end_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._lengths = lengths  # numpy int32 from ShardDataset.lengths: 4 bytes a sample
        self._answer_logits_only = answer_logits_only
        self._im_end_id = im_end_id
        self._counts = {"tokens": 0, "sup_tokens": 0, "labels": 0}
        self._t_last: float | None = None

    def _get_train_sampler(self, train_dataset=None):
        ds = train_dataset if train_dataset is not None else self.train_dataset
        if self._lengths is not None and self.args.train_sampling_strategy == "group_by_length":
            return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                        dataset=ds, lengths=self._lengths)
        return super()._get_train_sampler(train_dataset)

    def answer_loss(self, model, inputs: dict, num_items_in_batch: int | torch.Tensor | None
                    ) -> tuple[torch.Tensor, Any]:
        """(loss, outputs) of one batch from the logits at supervised positions only (``vlm3.train.loss``)."""
        return answer_position_loss(model, inputs, num_items_in_batch, return_outputs=True)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = normalize_pixel_values(inputs, self.processing_class)  # uint8 from the workers -> floats here
        if not self._answer_logits_only:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        loss, outputs = self.answer_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None and self.model_accepts_loss_kwargs:
            loss = loss * self.accelerator.num_processes  # DDP averages gradients; undo for a global token mean
        return (loss, outputs) if return_outputs else loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self._t_last is None:
            self._t_last = time.perf_counter()
        labels = inputs.get("labels")
        if labels is not None:
            self._counts["tokens"] += int(inputs["attention_mask"].sum())
            self._counts["sup_tokens"] += int((labels[:, 1:] != -100).sum())
            if self._im_end_id is not None:
                self._counts["labels"] += int((labels == self._im_end_id).sum())
        return super().training_step(model, inputs, num_items_in_batch)

    def before_save(self) -> None:
        """Bring the model's weights to the form a save writes: called before every checkpoint and
        before the final save (``run_training``). Nothing to do here; a subclass may fold state in."""

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        self.before_save()
        if not save_gathered_model(self, output_dir or self.args.output_dir):  # ZeRO-3: stock names, fp32
            super().save_model(output_dir, _internal_call)
        save_sharded_checkpoint_metadata(self, output_dir or self.args.output_dir)

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)  # DeepSpeed: loaded before, with the weights
        # a resume proves itself (vlm3.train.resume_check); a checkpoint without optimizer state was warned about
        if checkpoint is not None and optimizer_state_missing(checkpoint) is None:
            check_optimizer_restored(self.optimizer, checkpoint, device=self.accelerator.device, say=say_main)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._t_last is not None:
            now = time.perf_counter()
            dt = max(now - self._t_last, 1e-9)
            world = self.accelerator.num_processes
            logs["tokens_per_s"] = round(self._counts["tokens"] * world / dt, 2)
            logs["supervised_tokens_per_s"] = round(self._counts["sup_tokens"] * world / dt, 2)
            logs["labels_per_s"] = round(self._counts["labels"] * world / dt, 3)
            self._counts = {k: 0 for k in self._counts}
            self._t_last = now
        if "train_loss" in logs:  # the mean over the steps this call ran (a resumed run: only those)
            first = getattr(self, "_initial_global_step", 0) + 1
            logs["train_loss_first_step"], logs["train_loss_last_step"] = first, self.state.global_step
        super().log(logs, start_time)
