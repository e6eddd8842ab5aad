"""A resume proves itself (issue #27): ``check_optimizer_restored`` counts the optimizer states a
checkpoint restored and stops in one line when some trainable tensor has none.

Real torch AdamW on a small real module: a fresh optimizer (what FSDP1 + SHARDED_STATE_DICT
resumed with, silently) is refused; one that has stepped, or loaded a saved state, passes; a
state that covers only some parameters is refused with the count. The multi-process paths
(FSDP2, ZeRO-3, FSDP1) are run in tests/test_train_sharded.py.
"""

from __future__ import annotations

import pytest
import torch

from vlm3.train.resume_check import ResumeError, check_optimizer_restored, optimizer_state_counts


def _model_and_optimizer():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def _step(model, optimizer):
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    optimizer.zero_grad()


def test_a_fresh_optimizer_after_resume_is_refused_in_one_line():
    _, optimizer = _model_and_optimizer()
    assert optimizer_state_counts(optimizer) == (0, 4)
    with pytest.raises(ResumeError, match=r"^resume from ckpt/checkpoint-2: only 0 of 4 optimizer states were "
                                          r"restored .*train.resume=never") as err:
        check_optimizer_restored(optimizer, "ckpt/checkpoint-2")
    assert "\n" not in str(err.value)


def test_a_loaded_optimizer_state_passes_and_is_reported():
    model, optimizer = _model_and_optimizer()
    _step(model, optimizer)
    saved = optimizer.state_dict()
    model2, resumed = _model_and_optimizer()
    resumed.load_state_dict(saved)
    lines = []
    assert check_optimizer_restored(resumed, "ckpt/checkpoint-2", say=lines.append) == (4, 4)
    assert lines == ["resume from ckpt/checkpoint-2: 4 of 4 optimizer states restored"]


def test_a_partial_state_is_refused_with_the_count():
    model, optimizer = _model_and_optimizer()
    _step(model, optimizer)
    first = next(iter(optimizer.state))
    del optimizer.state[first]
    with pytest.raises(ResumeError, match=r"only 3 of 4 optimizer states"):
        check_optimizer_restored(optimizer, "ckpt/checkpoint-2")


def test_frozen_parameters_need_no_state():
    model, _ = _model_and_optimizer()
    model[0].weight.requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    _step(model, optimizer)
    assert optimizer_state_counts(optimizer) == (3, 3)
