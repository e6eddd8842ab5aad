"""One chat rendering for training and inference (the Qwen3-VL template, image-only).

vlm3 samples store ``messages`` as alternating ``{"role", "content": str}`` turns and a list
of ``images``; the image placeholders go before the first user text, one per image, in
order (docs/modules.md). This module turns that into the exact Qwen3-VL chat text:

    [<|im_start|>system\\n{system}<|im_end|>\\n]
    <|im_start|>user\\n<|vision_start|><|image_pad|>*n1<|vision_end|>...{question}<|im_end|>\\n
    <|im_start|>assistant\\n{answer}<|im_end|>\\n ...

and records the character spans that carry the training loss: each assistant answer plus
its ``<|im_end|>`` (not the ``<|im_start|>assistant\\n`` header, not the trailing newline).
``build_generation_inputs`` renders a prompt with ``add_generation_prompt`` the same way, so
training and inference see identical token sequences up to the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from PIL import Image

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END, IMAGE_PAD = "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"


class ChatFormatError(ValueError):
    """Messages that do not follow the vlm3 sample format (the message says what is wrong)."""


@dataclass
class RenderedChat:
    """Chat text, the [start, end) character spans that carry the loss, and for each user
    turn (start of its ``<|im_start|>user`` header, start of its question text; the first
    question's text comes after the images)."""

    text: str
    supervised_spans: list[tuple[int, int]] = field(default_factory=list)
    user_turns: list[tuple[int, int]] = field(default_factory=list)


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


def render_chat(
    messages: Sequence[dict],
    image_token_counts: Sequence[int],
    add_generation_prompt: bool = False,
    system: str | None = None,
) -> RenderedChat:
    """Qwen3-VL chat text with ``image_token_counts[i]`` ``<|image_pad|>`` tokens for image i.

    ``image_token_counts`` of all 1 gives the un-expanded template text (what the Jinja
    chat template renders); the processor-sized counts give the model's token sequence.
    """
    validate_messages(messages, for_generation=add_generation_prompt)
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    users: list[tuple[int, int]] = []
    pos = 0

    def emit(s: str) -> None:
        nonlocal pos
        parts.append(s)
        pos += len(s)

    msgs = list(messages)
    if msgs[0]["role"] == "system":
        system = msgs.pop(0)["content"]
    if system is not None:
        emit(f"{IM_START}system\n{system}{IM_END}\n")
    first_user = True
    for m in msgs:
        header = pos
        emit(f"{IM_START}{m['role']}\n")
        if m["role"] == "user":
            if first_user:
                for n in image_token_counts:
                    emit(VISION_START + IMAGE_PAD * int(n) + VISION_END)
                first_user = False
            users.append((header, pos))
            emit(m["content"] + IM_END)
        else:
            start = pos
            emit(m["content"] + IM_END)
            spans.append((start, pos))
        emit("\n")
    if add_generation_prompt:
        emit(f"{IM_START}assistant\n")
    return RenderedChat(text="".join(parts), supervised_spans=spans, user_turns=users)


def template_messages(messages: Sequence[dict], num_images: int) -> list[dict]:
    """Sample messages -> ``apply_chat_template`` messages (image parts before the first user text)."""
    out, first_user = [], True
    for m in messages:
        if m["role"] == "user" and first_user:
            content = [{"type": "image"} for _ in range(num_images)] + [{"type": "text", "text": m["content"]}]
            out.append({"role": "user", "content": content})
            first_user = False
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def load_image(image: Any, root: str | Path | None = None) -> Image.Image:
    """A PIL RGB image from a PIL image, numpy HxWx3 uint8 array, or a path (relative to ``root``)."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if hasattr(image, "shape"):
        return Image.fromarray(image).convert("RGB")
    path = Path(image)
    if root is not None and not path.is_absolute():
        path = Path(root) / path
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with Image.open(path) as im:
        return im.convert("RGB")


def build_generation_inputs(processor, images: Sequence[Any], messages: Sequence[dict],
                            system: str | None = None, image_root: str | Path | None = None):
    """Model inputs for ``model.generate`` with the training template and a generation prompt.

    ``messages``: sample-format turns ending with a user turn (earlier assistant turns are
    kept, so packed questions can be asked one after another). ``images``: PIL images,
    arrays or paths. Returns the processor's ``BatchFeature`` (batch of 1, tensors "pt"):
    ``input_ids``, ``attention_mask``, ``mm_token_type_ids``, ``pixel_values``, ``image_grid_thw``.
    """
    pil = [load_image(im, image_root) for im in images]
    text = render_chat(messages, [1] * len(pil), add_generation_prompt=True, system=system).text
    return processor(images=pil or None, text=[text], return_tensors="pt")
