"""Answer-position logits give the same loss and gradients as the full-logits forward."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from _train_helpers import write_micro_preset
from vlm3.model.factory import load_model_and_processor
from vlm3.train.collator import SFTCollator
from vlm3.train.loss import answer_position_loss, full_logits_loss


def test_answer_position_loss_equals_full_loss(tmp_path):
    model, proc = load_model_and_processor(str(write_micro_preset(tmp_path)), min_pixels=1024, max_pixels=128 * 128)
    rng = np.random.default_rng(0)
    img = lambda h, w: Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))  # noqa: E731
    s1 = {"images": [img(64, 96)], "messages": [
        {"role": "user", "content": "How far?"}, {"role": "assistant", "content": "<answer> 3.50 </answer>"},
        {"role": "user", "content": "And there?"}, {"role": "assistant", "content": "<answer> 12.25 </answer>"}]}
    s2 = {"images": [img(64, 64), img(32, 64)], "messages": [
        {"role": "user", "content": "Match?"}, {"role": "assistant", "content": "The corresponding pixel is (338, 52)"}]}
    batch = SFTCollator(proc)([s1, s2])
    fast = answer_position_loss(model, batch)
    grads_fast = torch.autograd.grad(fast, [p for p in model.parameters() if p.requires_grad])
    full = full_logits_loss(model, batch)
    grads_full = torch.autograd.grad(full, [p for p in model.parameters() if p.requires_grad])
    assert abs(fast.item() - full.item()) < 1e-5
    for a, b in zip(grads_fast, grads_full):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # sum / num_items_in_batch normalisation (gradient accumulation) agrees too
    n = int((batch["labels"][:, 1:] != -100).sum())
    assert abs(answer_position_loss(model, batch, num_items_in_batch=2 * n).item() - full.item() / 2) < 1e-5
