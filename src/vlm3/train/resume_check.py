"""A resume that proves itself: after a checkpoint is loaded, count the optimizer states it restored.

A checkpoint can hold an optimizer state that the loader silently does not use: under FSDP1
with SHARDED_STATE_DICT accelerate's ``load_fsdp_optimizer`` builds its load template from an
optimizer that has not stepped yet, so ``torch.distributed.checkpoint.load`` fills nothing and
the run continues with a fresh AdamW (issue #27: 0 of 86 states restored on rank 0, no warning;
0 of 102 over 2 processes in tests/test_train_sharded.py).
``check_optimizer_restored`` counts, over all ranks, the parameters the optimizer updates and
how many of them hold a state after the load, and stops the run in one line when some do not.

The count works on the optimizers of every training path: torch AdamW on DDP and FSDP2 (one
state per parameter or per local DTensor shard) and DeepSpeed ZeRO (one state per flat fp32
partition of its inner optimizer), through the wrappers accelerate and DeepSpeed put around them.
"""

from __future__ import annotations

import torch

from vlm3.config import ConfigError


class ResumeError(ConfigError):
    """The checkpoint's optimizer state was not restored; the message says what to do (one line)."""


def state_holders(optimizer) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    """(the optimizer that holds the states, the trainable tensors it keeps a state for).

    Unwraps accelerate's ``AcceleratedOptimizer`` and DeepSpeed's ZeRO optimizers (each keeps the
    one it wraps in ``.optimizer``). ZeRO-3 hands its inner optimizer one flat fp32 partition per
    sub-group only for that sub-group's step (``param_groups`` are empty between steps): its
    ``fp32_partitioned_groups_flat`` are the tensors then.
    """
    outer = None
    while hasattr(optimizer, "optimizer"):
        outer, optimizer = optimizer, optimizer.optimizer
    flats = getattr(outer, "fp32_partitioned_groups_flat", None)
    if flats is not None:
        return optimizer, [p for p in flats if p.numel()]
    return optimizer, [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]


def optimizer_state_counts(optimizer) -> tuple[int, int]:
    """(restored, expected) on this process: ``expected`` the trainable tensors the optimizer keeps a
    state for (``state_holders``), ``restored`` those of them that hold a non-empty state."""
    opt, params = state_holders(optimizer)
    return sum(1 for p in params if opt.state.get(p)), len(params)


def check_optimizer_restored(optimizer, checkpoint: str, device: torch.device | str = "cpu",
                             say=print) -> tuple[int, int]:
    """Sum ``optimizer_state_counts`` over all processes (a collective when torch.distributed is
    initialised); print one line (``say``, main process) and return (restored, expected).

    Raises ResumeError when fewer states were restored than there are trainable tensors.
    """
    restored, expected = optimizer_state_counts(optimizer)
    main = True
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        counts = torch.tensor([restored, expected], dtype=torch.int64, device=device)
        torch.distributed.all_reduce(counts)
        restored, expected = (int(x) for x in counts.tolist())
        main = torch.distributed.get_rank() == 0
    if expected == 0:
        raise ResumeError(f"resume from {checkpoint}: the optimizer holds no trainable tensors, so its restored "
                          "state cannot be checked (an optimizer layout vlm3 does not know): pass train.resume=never "
                          "to start over")
    if restored < expected:
        raise ResumeError(
            f"resume from {checkpoint}: only {restored} of {expected} optimizer states were restored (the others "
            "would restart AdamW from zero): this checkpoint's optimizer cannot be loaded on this training path "
            "(FSDP1 with SHARDED_STATE_DICT does this: use configs/accelerate/fsdp2.yaml), or pass "
            "train.resume=never to start over")
    if main:
        say(f"resume from {checkpoint}: {restored} of {expected} optimizer states restored")
    return restored, expected
