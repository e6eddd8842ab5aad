"""Question isolation: every answer is trained as inference asks it, from the images and its own question.

A vlm3 sample packs several questions about the same images as one multi-turn chat, so one
pass over the image tokens supervises every answer. Under plain causal attention, answer k
also sees questions and answers 1..k-1. Two things then differ from inference, where
``vlm3.infer`` asks each question alone after the images:

- the model can copy an earlier answer (the scale of a scene, the rotation it already gave)
  instead of reading the image, a shortcut that is not there at inference;
- question k sits hundreds of positions after the image instead of right after it.

``isolated_inputs`` (``data.isolate_questions=true``) replaces the padding mask with a block
mask built from the collator's ``turn_ids``: the shared prefix (system, user header, images)
is causal as usual; the tokens of question k attend to the prefix and to question k only;
and question k gets the positions question 1 has. So every answer's logits are exactly those
of a single-question prompt (tested against separate forwards). The ``<|im_start|>user\\n``
header before questions 2.. stays in the sequence (one pass, no re-encoding); nothing attends
to it. The cost is a dense (B, 1, L, L) mask: SDPA and eager attention take it, FlashAttention-2
does not.
"""

from __future__ import annotations

import torch


def isolated_inputs(model, batch: dict) -> dict:
    """Model inputs with the question-isolating attention mask and positions (``turn_ids`` consumed).

    ``model``: the ``Qwen3VLForConditionalGeneration`` or a peft wrapper of it (not a DDP /
    FSDP wrapper: the trainer passes ``accelerator.unwrap_model(model)``). ``batch``: collator
    output with ``turn_ids``; it is not modified. The returned ``attention_mask`` is a
    (B, 1, L, L) mask (boolean, True = attend; additive float32 for eager attention) and
    ``position_ids`` the (3, B, L) M-RoPE positions with each question moved to question 1's.
    """
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    inputs = {k: v for k, v in batch.items() if k != "turn_ids"}
    turns = batch["turn_ids"]
    b, length = turns.shape
    device = turns.device
    idx = torch.arange(length, device=device).expand(b, length)
    n_turns = int(turns.max()) + 1
    first = torch.full((b, max(n_turns, 2)), length, dtype=torch.long, device=device)
    first.scatter_reduce_(1, turns.clamp(min=0), idx, reduce="amin")
    own_first = first.gather(1, turns.clamp(min=0))
    shift = torch.where(turns >= 1, own_first - first[:, 1:2], torch.zeros_like(turns))
    # the model's own M-RoPE positions (3, B, L) of the packed sequence, then each turn moved
    positions, _ = model.model.get_rope_index(inputs["input_ids"], inputs["mm_token_type_ids"],
                                              image_grid_thw=inputs.get("image_grid_thw"),
                                              attention_mask=inputs["attention_mask"])
    positions = positions - shift.unsqueeze(0)

    query, key = turns.unsqueeze(2), turns.unsqueeze(1)
    allowed = (key == 0) | ((key == query) & (query >= 1))
    allowed &= torch.ones(length, length, dtype=torch.bool, device=device).tril()
    allowed &= inputs["attention_mask"].bool().unsqueeze(1)
    allowed |= torch.eye(length, dtype=torch.bool, device=device)  # padding and headers see themselves
    mask = allowed.unsqueeze(1)
    if getattr(model.config, "_attn_implementation", None) == "eager":  # eager adds the mask to the scores
        mask = torch.zeros(mask.shape, device=device).masked_fill(~mask, torch.finfo(torch.float32).min)
    inputs["attention_mask"] = mask
    inputs["position_ids"] = positions
    return inputs

