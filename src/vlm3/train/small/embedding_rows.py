"""Train the tied embedding through the rows the training set uses: the same updates, faster.

A small model with Qwen's 151,936-token vocabulary spends a quarter of a CPU training step
on its embedding matrix: every step writes a dense 151,936-row gradient (input embedding
plus the answer head's row gather), clips it and runs AdamW over it, although the step
touches a few hundred rows. ``train.embedding_grad: used_rows`` freezes the matrix and
trains a zero-initialised table of deltas, one row per token id that occurs in the
training set (``attach_used_rows``): the input embedding adds ``delta[row(id)]`` (a forward
hook) and the answer head reads ``weight[ids] + delta[row(ids)]`` (``output_rows``).

With ``weight_decay = 0`` this is the dense run: a row that never occurs has a zero
gradient, so AdamW never moves it, and the rows that do occur get the same gradients,
norm and moments in the table as in the matrix (tested against a dense run).
``UsedRows.fold`` adds the deltas into the matrix and zeroes them, keeping the optimiser's
moments; the trainer folds before every save (``vlm3.train.small.trainer``), so checkpoints and the final model are plain
Qwen3-VL weights without the table, and a resumed run (zero deltas over the saved matrix)
continues from the same state.
"""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from vlm3.errors import Vlm3Error

#: name of the delta table's module under the input embedding
MODULE_NAME = "vlm3_used_rows"


class EmbeddingRowsError(Vlm3Error, ValueError):
    """A token id the used-rows table does not hold reached a training forward pass."""


class UsedRows(nn.Module):
    """Zero-initialised delta rows for ``token_ids`` of the (frozen) tied embedding ``weight``."""

    def __init__(self, weight: nn.Parameter, token_ids: Iterable[int]):
        super().__init__()
        ids = torch.tensor(sorted({int(t) for t in token_ids}), dtype=torch.long, device=weight.device)
        row = torch.full((weight.shape[0],), -1, dtype=torch.long, device=weight.device)
        row[ids] = torch.arange(len(ids), device=weight.device)
        self.register_buffer("ids", ids, persistent=False)
        self.register_buffer("row", row, persistent=False)
        self.delta = nn.Parameter(torch.zeros(len(ids), weight.shape[1], dtype=weight.dtype, device=weight.device))
        self._weight = (weight,)  # a tuple: the matrix stays registered only where the model has it
        # saved weights never hold the table (the trainer folds it first); loading one refills zeros
        self.register_state_dict_post_hook(self._drop_delta)
        self.register_load_state_dict_pre_hook(self._zero_delta_when_missing)

    @property
    def weight(self) -> nn.Parameter:
        return self._weight[0]

    @staticmethod
    def _drop_delta(module, state_dict, prefix, local_metadata) -> None:
        state_dict.pop(prefix + "delta", None)

    def _zero_delta_when_missing(self, module, state_dict, prefix, *args) -> None:
        state_dict.setdefault(prefix + "delta", torch.zeros_like(self.delta))

    def embed_hook(self, module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
        """Forward hook of the input embedding: ``weight[ids] + delta[row(ids)]``."""
        ids = args[0]
        row = self.row[ids]
        missing = row < 0
        if torch.is_grad_enabled() and bool(missing.any()):
            bad = sorted({int(t) for t in ids[missing].tolist()})[:10]
            raise EmbeddingRowsError(f"token ids {bad} are not in the embedding rows collected from the training "
                                     "set (train.embedding_grad=used_rows); use train.embedding_grad=dense")
        add = F.embedding(row.clamp(min=0), self.delta)
        return out + add * (~missing).unsqueeze(-1).to(out.dtype)

    def rows(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Current rows of ``token_ids`` (all in the table): the answer head's weights."""
        return self.weight[token_ids] + self.delta[self.row[token_ids]]

    @torch.no_grad()
    def fold(self) -> None:
        """Add the deltas into the matrix and zero them (the effective weights do not change)."""
        self.weight[self.ids] += self.delta
        self.delta.zero_()


def training_token_ids(chat_ids: Iterable[int], tokenizer, model_config) -> set[int]:
    """Every token id a training batch can hold: the samples' chat token ids
    (``vlm3.train.collator.chat_token_ids``), padding, and the image / video placeholders."""
    return {int(t) for t in chat_ids} | {tokenizer.pad_token_id, model_config.image_token_id,
                                         model_config.video_token_id}


def attach_used_rows(model, token_ids: Iterable[int]) -> UsedRows:
    """Freeze the tied embedding of ``model`` and train it through delta rows for ``token_ids``."""
    emb = model.get_input_embeddings()
    if model.get_output_embeddings() is None or model.get_output_embeddings().weight is not emb.weight:
        raise EmbeddingRowsError("train.embedding_grad=used_rows needs tied input/output embeddings "
                                 "(tie_word_embeddings: true); use train.embedding_grad=dense")
    rows = UsedRows(emb.weight, token_ids)
    emb.weight.requires_grad_(False)
    emb.add_module(MODULE_NAME, rows)
    emb.register_forward_hook(rows.embed_hook)
    return rows


def used_rows_of(model) -> UsedRows | None:
    """The table attached to ``model``'s input embedding, if any."""
    return getattr(model.get_input_embeddings(), MODULE_NAME, None)


def output_rows(model, token_ids: torch.Tensor) -> torch.Tensor:
    """``lm_head`` rows of ``token_ids``, through the used-rows table when one is attached."""
    rows = used_rows_of(model)
    return rows.rows(token_ids) if rows is not None else model.lm_head.weight[token_ids]
