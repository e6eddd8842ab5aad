"""The one chat rendering for training and inference: the Jinja template (``chat_template.jinja``).

vlm3 samples store ``messages`` as alternating ``{"role", "content": str}`` turns and a list
of ``images``; the image placeholders go before the first user text, one per image, in
order (docs/modules.md). ``template_messages`` turns that into ``apply_chat_template``
messages, and the template renders the Qwen3-VL chat text:

    [<|im_start|>system\\n{system}<|im_end|>\\n]
    <|im_start|>user\\n<|vision_start|><|image_pad|><|vision_end|>...{question}<|im_end|>\\n
    <|im_start|>assistant\\n{answer}<|im_end|>\\n ...

(one ``<|image_pad|>`` per image; the processor expands it to the image's token count).

- ``tokenize_chats``: the rendering tokenised, with the template's ``{% generation %}`` mask:
  1 on each assistant answer and its ``<|im_end|>`` (not the ``<|im_start|>assistant\\n``
  header, not the trailing newline). The training collator labels from it.
- ``build_generation_inputs``: a prompt with ``add_generation_prompt`` through the same
  template, so training and inference see identical token sequences up to the answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.errors import Vlm3Error
from vlm3.io.images import read_rgb_pil
from vlm3.model.tokenizer import chat_template

IMAGE_PAD = "<|image_pad|>"


class ChatFormatError(Vlm3Error, ValueError):
    """Messages that do not follow the vlm3 sample format (the message says what is wrong)."""


def validate_messages(messages: Sequence[dict], for_generation: bool = False) -> None:
    """Check roles: optional system first, then user/assistant alternating, starting with user.

    Training samples must end with an assistant turn; prompts for generation with a user turn.
    """
    if not messages:
        raise ChatFormatError("a sample needs at least one message")
    turns = list(messages[1:] if messages[0].get("role") == "system" else messages)
    if not turns:
        raise ChatFormatError("a sample needs a user message after the system message")
    for i, m in enumerate(turns):
        want = "user" if i % 2 == 0 else "assistant"
        if m.get("role") != want:
            raise ChatFormatError(f"message {i} has role {m.get('role')!r}, expected {want!r} (turns alternate, user first)")
        if not isinstance(m.get("content"), str):
            raise ChatFormatError(f"message {i} content must be a string, got {type(m.get('content')).__name__}")
    last = turns[-1]["role"]
    if for_generation and last != "user":
        raise ChatFormatError("a generation prompt must end with a user message")
    if not for_generation and last != "assistant":
        raise ChatFormatError("a training sample must end with an assistant message")


def template_messages(messages: Sequence[dict], num_images: int, system: str | None = None) -> list[dict]:
    """Sample messages -> ``apply_chat_template`` messages: image parts before the first user
    text; ``system`` becomes a system turn unless the messages start with one."""
    out: list[dict] = []
    if system is not None and (not messages or messages[0]["role"] != "system"):
        out.append({"role": "system", "content": system})
    first_user = True
    for m in messages:
        if m["role"] == "user" and first_user:
            content = [{"type": "image"} for _ in range(num_images)] + [{"type": "text", "text": m["content"]}]
            out.append({"role": "user", "content": content})
            first_user = False
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def tokenize_chats(tokenizer, conversations: Sequence[tuple[Sequence[dict], int]], system: str | None = None
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Render and tokenise training chats through the template, with their answer masks.

    ``conversations``: (sample-format messages ending with an assistant turn, number of
    images) pairs. Returns per chat ``(input_ids (L,) int64, answer_mask (L,) bool)`` with ONE
    ``<|image_pad|>`` per image (``expand_image_pads`` gives the model's sequence) and the
    mask True on the tokens of each assistant answer and its ``<|im_end|>``. Always renders
    with vlm3's template (``chat_template.jinja``): a checkpoint's own template may lack the
    ``{% generation %}`` markers (the official Qwen3-VL one does; its text is the same).
    """
    if not conversations:
        return []
    for messages, _ in conversations:
        validate_messages(messages)
    convs = [template_messages(m, n, system) for m, n in conversations]
    enc = tokenizer.apply_chat_template(convs, chat_template=chat_template(), tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=True)
    return [(np.asarray(ids, dtype=np.int64), np.asarray(mask, dtype=bool))
            for ids, mask in zip(enc["input_ids"], enc["assistant_masks"])]


def expand_image_pads(input_ids: np.ndarray, mask: np.ndarray, image_pad_id: int, counts: Sequence[int]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Repeat the i-th ``<|image_pad|>`` of a template rendering ``counts[i]`` times (ids and mask).

    ``counts``: visual tokens per image (one per 32 x 32 px after the processor's resize).
    The result equals tokenising the expanded text (``<|image_pad|>`` is a special token).
    """
    pads = np.flatnonzero(input_ids == image_pad_id)
    if len(pads) != len(counts):
        raise ChatFormatError(f"{len(pads)} image placeholders in the chat for {len(counts)} images")
    repeats = np.ones(len(input_ids), dtype=np.int64)
    repeats[pads] = np.asarray(counts, dtype=np.int64)
    return np.repeat(input_ids, repeats), np.repeat(mask, repeats)


def build_generation_inputs(processor, images: Sequence[Any], messages: Sequence[dict],
                            system: str | None = None, image_root: str | Path | None = None):
    """Model inputs for ``model.generate`` with the training template and a generation prompt.

    ``messages``: sample-format turns ending with a user turn (earlier assistant turns are
    kept, so packed questions can be asked one after another). ``images``: PIL images,
    arrays or paths. Returns the processor's ``BatchFeature`` (batch of 1, tensors "pt"):
    ``input_ids``, ``attention_mask``, ``mm_token_type_ids``, ``pixel_values``, ``image_grid_thw``.
    """
    validate_messages(messages, for_generation=True)
    pil = [read_rgb_pil(im, image_root) for im in images]
    text = processor.tokenizer.apply_chat_template(template_messages(messages, len(pil), system),
                                                   chat_template=chat_template(), tokenize=False,
                                                   add_generation_prompt=True)
    return processor(images=pil or None, text=[text], return_tensors="pt")
