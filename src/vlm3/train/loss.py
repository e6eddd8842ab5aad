"""Next-token loss with output logits computed only at supervised positions.

With Qwen's 151,936-token vocabulary the LM head dominates the cost of a small model and
the memory of a large one: full logits are (B, L, 151936) floats, but only the few answer
tokens carry a loss. ``answer_position_loss`` asks the model for logits only at positions
t where ``labels[t + 1] != -100`` (transformers' boolean ``logits_to_keep`` mask, so it goes
through the model's own ``forward`` and works under FSDP, DeepSpeed and peft wrappers),
then takes the cross-entropy against the shifted labels. It equals the standard shifted
causal-LM loss over the same labels (tested to 1e-5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def supervised_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep mask (B, L) bool: positions whose NEXT token is supervised, targets (N,) int64)."""
    shift = labels[:, 1:]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = shift != IGNORE_INDEX
    return keep, shift[shift != IGNORE_INDEX]


def answer_position_loss(model, batch: dict, num_items_in_batch: int | torch.Tensor | None = None,
                         return_outputs: bool = False):
    """Mean cross-entropy over supervised tokens (sum / ``num_items_in_batch`` when given).

    ``batch``: collator output (``labels`` aligned with ``input_ids``; not modified).
    Returns ``loss`` or ``(loss, outputs)`` where ``outputs.logits`` is (N, vocab) for the
    N supervised tokens in row-major (batch, position) order.
    """
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    keep, targets = supervised_positions(batch["labels"])
    outputs = model(**inputs, logits_to_keep=keep, use_cache=False)
    loss = token_cross_entropy(outputs.logits.reshape(-1, outputs.logits.shape[-1]), targets, num_items_in_batch)
    return (loss, outputs) if return_outputs else loss


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                        num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
    """Summed cross-entropy of (N, V) logits against (N,) targets / ``num_items_in_batch`` (else N)."""
    if targets.numel() == 0:
        return logits.sum() * 0.0
    total = F.cross_entropy(logits.float(), targets.to(logits.device), reduction="sum")
    denom = num_items_in_batch if num_items_in_batch is not None else targets.numel()
    if isinstance(denom, torch.Tensor):
        denom = denom.to(total.device)
    return total / denom


def full_logits_loss(model, batch: dict) -> torch.Tensor:
    """Reference: the model's own loss from full (B, L, vocab) logits (slow; for tests)."""
    return model(**batch, use_cache=False).loss
