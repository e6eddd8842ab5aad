"""The training options of the small-model speed-ups: validation, and what the trainer attaches.

``check_options(cfg)`` refuses settings that cannot work (one line naming the key);
``prepare(cfg, model, tokenizer, samples)`` collects the answer vocabulary, restricts the
model's generation to it and attaches the used-rows table, returning the ``AnswerHead``
the loss of ``SmallModelTrainer`` needs (None when ``train.answer_vocab=full``, the default and
every 4B recipe, which ``run_training`` never brings here).
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from vlm3.config import ConfigError
from vlm3.train.collator import chat_token_ids
from vlm3.train.config import RunConfig
from vlm3.train.small.answer_vocab import (ANSWER_VOCAB_MODES, AnswerHead, answer_vocab_from_labels,
                                           restrict_generation)
from vlm3.train.small.embedding_rows import EmbeddingRowsError, attach_used_rows, training_token_ids

EMBEDDING_GRAD_MODES = ("dense", "used_rows")


def check_options(cfg: RunConfig) -> None:
    """ConfigError for an unknown mode or a combination the speed-ups do not support."""
    t = cfg.train
    if t.answer_vocab not in ANSWER_VOCAB_MODES:
        raise ConfigError(f"train.answer_vocab must be one of {', '.join(ANSWER_VOCAB_MODES)}, got {t.answer_vocab!r}")
    if t.answer_vocab == "answers" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("train.answer_vocab=answers runs the trunk outside the distributed wrapper; "
                          "use it in single-process runs (multi-GPU recipes keep answer_vocab=full)")
    if t.embedding_grad not in EMBEDDING_GRAD_MODES:
        raise ConfigError(f"train.embedding_grad must be one of {', '.join(EMBEDDING_GRAD_MODES)}, "
                          f"got {t.embedding_grad!r}")
    if t.embedding_grad != "used_rows":
        return
    needs = [("train.answer_vocab=answers (the full-vocabulary head needs every row)", t.answer_vocab == "answers"),
             ("train.weight_decay=0 (decay would move rows the data never uses)", t.weight_decay == 0),
             ("model.lora.enabled=false (LoRA freezes the embedding)", not cfg.model.lora.enabled)]
    for need, ok in needs:
        if not ok:
            raise ConfigError(f"train.embedding_grad=used_rows needs {need}; or use train.embedding_grad=dense")


def prepare(cfg: RunConfig, model: Any, tokenizer: Any, samples: Iterable[dict]) -> AnswerHead | None:
    """Attach the enabled speed-ups to ``model`` (before the ``Trainer`` is built).

    One pass over the training samples' tokens gives both the answer vocabulary (label ids)
    and the used embedding rows (all ids). Returns the answer head, or None.
    """
    if cfg.train.answer_vocab != "answers":  # check_options: used_rows only with answers
        return None
    label_ids, chat_ids = chat_token_ids(samples, tokenizer, cfg.data.system_prompt)
    vocab = answer_vocab_from_labels(label_ids, tokenizer)
    restrict_generation(model, vocab)
    if cfg.train.embedding_grad == "used_rows":
        try:
            attach_used_rows(model, training_token_ids(chat_ids, tokenizer, model.config))
        except EmbeddingRowsError as exc:
            raise ConfigError(str(exc)) from None
    return AnswerHead(vocab, model.config.text_config.vocab_size)
