"""Answer-vocabulary head: softmax over the tokens answers use, for small models on a CPU.

A vlm3 answer is a number, a coordinate pair, a triple, "Yes"/"No" or a clock hour: a few
dozen distinct tokens of Qwen's 151,936. For a tiny model the full-vocabulary head costs
more than the rest of the network (hidden 128: ~39 MFLOP per answer token forward, the
4-layer trunk ~1.6 MFLOP per token), so ``train.answer_vocab: answers`` trains with a
softmax restricted to the *answer vocabulary*: the token ids that appear as labels in
the training set (collected before training by the exact labelling path of the
collator). The model keeps the real tokenizer, embedding and ``lm_head``; only the
normaliser of the softmax changes.

Decoding must make the same restriction, in any loader: ``restrict_generation`` writes
every other token id into the model's ``generation_config.suppress_tokens``, which
``save_pretrained`` stores in ``generation_config.json`` and plain transformers ``generate``
applies by itself (vlm3's predictors add nothing; the vLLM backend turns it into
``allowed_token_ids``). Single-process runs of small models only (the default ``full``
keeps the paper's plain SFT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import torch
import torch.nn.functional as F

from vlm3.errors import Vlm3Error
from vlm3.train.collator import chat_token_ids
from vlm3.train.loss import supervised_positions, token_cross_entropy
from vlm3.train.small.embedding_rows import output_rows

ANSWER_VOCAB_MODES = ("full", "answers")


class AnswerVocabError(Vlm3Error, ValueError):
    """A label outside the answer vocabulary."""


@dataclass(frozen=True)
class AnswerVocab:
    """Sorted token ids the answer head may produce (always includes ``<|im_end|>``)."""

    token_ids: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.token_ids)

    def suppressed(self, vocab_size: int) -> list[int]:
        """Every token id in [0, vocab_size) outside the vocabulary (what decoding must never write)."""
        keep = set(self.token_ids)
        return [i for i in range(vocab_size) if i not in keep]


def answer_vocab_from_labels(label_ids: Iterable[int], tokenizer, extra_tokens: Sequence[str] = ("<|im_end|>",)
                             ) -> AnswerVocab:
    """The vocabulary of these label token ids plus ``extra_tokens``."""
    ids = {int(tokenizer.convert_tokens_to_ids(t)) for t in extra_tokens}
    return AnswerVocab(tuple(sorted(ids | {int(t) for t in label_ids})))


def collect_answer_vocab(samples: Iterable[dict[str, Any]], tokenizer, extra_tokens: Sequence[str] = ("<|im_end|>",)
                         ) -> AnswerVocab:
    """Every label token id of ``samples`` (the collator's labelling, ``chat_token_ids``) plus ``extra_tokens``."""
    return answer_vocab_from_labels(chat_token_ids(samples, tokenizer)[0], tokenizer, extra_tokens)


class AnswerHead:
    """Index maps between the full vocabulary and the answer vocabulary (on one device)."""

    def __init__(self, vocab: AnswerVocab, vocab_size: int, device: torch.device | str = "cpu"):
        self.ids = torch.tensor(vocab.token_ids, dtype=torch.long, device=device)
        self.position = torch.full((vocab_size,), -1, dtype=torch.long, device=device)
        self.position[self.ids] = torch.arange(len(vocab), device=device)

    def to(self, device: torch.device) -> "AnswerHead":
        if self.ids.device != device:
            self.ids, self.position = self.ids.to(device), self.position.to(device)
        return self

    def targets(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Positions in the answer vocabulary; AnswerVocabError for a token outside it."""
        pos = self.position[token_ids]
        if bool((pos < 0).any()):
            bad = sorted({int(t) for t in token_ids[pos < 0].tolist()})[:10]
            raise AnswerVocabError(f"label token ids {bad} are not in the answer vocabulary; it must be collected "
                                   "from the same training set (train.answer_vocab=answers does this)")
        return pos


def _unwrap(model):
    """The ``Qwen3VLForConditionalGeneration`` inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def answer_vocab_loss(model, batch: dict, head: AnswerHead, num_items_in_batch: int | torch.Tensor | None = None,
                      return_outputs: bool = False):
    """Mean cross-entropy over supervised tokens with the softmax over the answer vocabulary.

    Runs the trunk (``model.model``: vision tower + language model), keeps the hidden states
    at positions whose next token is supervised and multiplies them with the ``lm_head``
    rows of the answer vocabulary only. ``outputs`` (when asked) holds ``logits`` (N, |V_a|).
    """
    base = _unwrap(model)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    keep, targets = supervised_positions(batch["labels"])
    hidden = base.model(**inputs, use_cache=False).last_hidden_state[keep]
    head = head.to(hidden.device)
    logits = F.linear(hidden, output_rows(base, head.ids))
    loss = token_cross_entropy(logits, head.targets(targets.to(hidden.device)), num_items_in_batch)
    if return_outputs:
        return loss, {"logits": logits}
    return loss


def restrict_generation(model, vocab: AnswerVocab) -> None:
    """Make ``model.generate`` (and the saved ``generation_config.json``) decode under ``vocab``."""
    base = _unwrap(model)
    base.generation_config.suppress_tokens = vocab.suppressed(base.config.text_config.vocab_size)
