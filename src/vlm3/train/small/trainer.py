"""``SmallModelTrainer``: the CPU demo's ``VLM3Trainer``, with the answer-vocabulary loss and the used-rows fold.

``run_training`` (``vlm3.train.trainer``) picks it, and imports this package, only when the
config sets a small-model option (``train.answer_vocab=answers``, ``train.embedding_grad=used_rows``;
every 4B recipe keeps the defaults and trains with ``VLM3Trainer`` itself). It fills the two
seams of ``VLM3Trainer``:

- ``answer_loss``: the softmax over the answer tokens only (``answer_vocab.answer_vocab_loss``),
  whatever ``train.answer_logits_only`` says (the head reads the answer positions only anyway);
- ``before_save``: the used-rows table (``embedding_rows``), when attached, is folded into the
  embedding matrix before every checkpoint and the final save, so the saved weights are plain
  Qwen3-VL weights and a resumed run continues from the same state.

The answer head and the table come from ``options.prepare``, called on the model before this
trainer is built.
"""

from __future__ import annotations

from typing import Any

import torch

from vlm3.train.sft_trainer import VLM3Trainer
from vlm3.train.small.answer_vocab import AnswerHead, answer_vocab_loss
from vlm3.train.small.embedding_rows import used_rows_of


class SmallModelTrainer(VLM3Trainer):
    """``VLM3Trainer`` whose loss is over the answer vocabulary and whose saves fold the used rows."""

    def __init__(self, *args, answer_head: AnswerHead, **kwargs):
        kwargs["answer_logits_only"] = True  # the answer head computes logits at supervised positions only
        super().__init__(*args, **kwargs)
        self.answer_head = answer_head

    def answer_loss(self, model, inputs: dict, num_items_in_batch: int | torch.Tensor | None
                    ) -> tuple[torch.Tensor, Any]:
        """(loss, outputs) with the softmax over the answer vocabulary (``answer_vocab.answer_vocab_loss``)."""
        return answer_vocab_loss(model, inputs, self.answer_head, num_items_in_batch, return_outputs=True)

    def before_save(self) -> None:
        """Fold the used-rows deltas into the matrix (``embedding_rows.UsedRows.fold``): plain Qwen3-VL weights."""
        rows = used_rows_of(self.accelerator.unwrap_model(self.model))
        if rows is not None:
            rows.fold()
