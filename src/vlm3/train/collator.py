"""Samples -> padded model batches with the loss on assistant answers only.

One vlm3 sample (docs/modules.md, "Sample (chat) format") holds images and alternating
user/assistant turns; several questions about the same images are packed as a multi-turn
chat, so one pass over the image tokens supervises every answer. ``encode_sample`` renders
it through the chat template (``vlm3.model.chat.tokenize_chats``, the one rendering
inference uses too), expands each image to its ``<|image_pad|>`` tokens (one per 32 x 32 px
after the processor's resize) and labels from the template's ``{% generation %}`` mask:

- supervised (label = token id): the tokens of each assistant answer and its ``<|im_end|>``;
- masked (label = -100): system, user text, vision tokens, ``<|im_start|>role\\n`` headers,
  the newline after ``<|im_end|>``, and padding.

Labels are aligned with ``input_ids`` (the shift happens in the loss), as in transformers.
``tests/golden_chat_tokens.json`` holds the ids and labels of demo samples this must reproduce.

Pixels: ``SFTCollator(uint8_pixels=True)`` (what the trainer uses) ships the resized
image's bytes, ``pixel_values`` (P, 768) uint8 = one temporal frame of each patch, instead
of the processor's (P, 1536) float32 (8x fewer bytes through the DataLoader's shared
memory); ``normalize_pixel_values`` turns them into exactly the processor's float values
on the device (rescale, normalise and the temporal copy happen there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from vlm3.errors import Vlm3Error
from vlm3.io.images import read_image_size, read_rgb_pil
from vlm3.model.chat import IMAGE_PAD, expand_image_pads, tokenize_chats, validate_messages

IGNORE_INDEX = -100


class SampleTooLongError(Vlm3Error, ValueError):
    """Even the first question/answer pair of a sample does not fit in ``max_length`` tokens."""


@dataclass
class EncodedSample:
    """One tokenised sample.

    input_ids, labels, mm_token_type_ids: (L,) int64; pixel_values: (P, 1536) float32
    (P patches of 16 x 16 px x 2 frames x 3 channels) or, encoded with ``uint8_pixels``,
    (P, 768) uint8 (one frame, bytes before rescaling); image_grid_thw: (n_images, 3) int64.
    """

    input_ids: np.ndarray
    labels: np.ndarray
    mm_token_type_ids: np.ndarray
    pixel_values: np.ndarray | None
    image_grid_thw: np.ndarray | None
    num_turns: int


def chat_token_ids(samples: Iterable[dict[str, Any]], tokenizer, system: str | None = None
                   ) -> tuple[set[int], set[int]]:
    """(label token ids, all token ids) of ``samples``, by the collator's own labelling path.

    The chat is rendered with one ``<|image_pad|>`` per image (image tokens never carry
    labels, and how many there are does not change how the text tokenises).
    """
    label_ids: set[int] = set()
    all_ids: set[int] = set()
    convs = [(s["messages"], len(s.get("images") or [])) for s in samples]
    for start in range(0, len(convs), 512):  # batched: the fast tokenizer encodes a batch in parallel
        for ids, mask in tokenize_chats(tokenizer, convs[start:start + 512], system):
            label_ids.update(int(t) for t in ids[mask])
            all_ids.update(int(t) for t in ids)
    return label_ids, all_ids


def _truncate_turns(messages: list[dict], keep_pairs: int) -> list[dict]:
    head = [messages[0]] if messages[0]["role"] == "system" else []
    turns = messages[len(head):]
    return head + turns[: 2 * keep_pairs]


def image_bytes(image_processor, images: list) -> tuple[np.ndarray, np.ndarray]:
    """(pixel bytes (P, C*p*p) uint8, image_grid_thw (n, 3) int64): the processor's patches
    before rescale and normalisation, one temporal frame (the frames of a still image are copies).

    Row order and the (C, p, p) layout inside a row are the processor's (``patchify``);
    ``normalize_pixel_values`` gives back its float ``pixel_values`` exactly.
    """
    feats = image_processor(images=images, return_tensors="np", do_rescale=False, do_normalize=False)
    raw = np.asarray(feats["pixel_values"])  # (P, C*T*p*p) float32 holding the resized uint8 values
    p, t = image_processor.patch_size, image_processor.temporal_patch_size
    frames = raw.reshape(len(raw), -1, t, p * p)[:, :, 0]
    out = frames.astype(np.uint8).reshape(len(raw), -1)
    if not np.array_equal(out, frames.reshape(len(raw), -1)):
        raise ValueError("image processor produced non-integer pixels before rescaling; use uint8_pixels=False")
    return out, np.asarray(feats["image_grid_thw"], dtype=np.int64)


def _pixel_lut(image_processor) -> np.ndarray:
    """(C, 256) float32: the processor's rescale + normalise of every byte value, per channel
    (its own numpy functions on a ramp, so the values are bit-identical)."""
    ip = image_processor
    ramp = np.tile(np.arange(256, dtype=np.uint8)[None, None, :], (len(ip.image_mean), 1, 1))  # (C, 1, 256)
    x = ip.rescale(ramp, ip.rescale_factor) if ip.do_rescale else ramp.astype(np.float32)
    if ip.do_normalize:
        x = ip.normalize(x, ip.image_mean, ip.image_std)
    return np.asarray(x, dtype=np.float32)[:, 0, :]


def normalize_pixel_values(inputs: dict[str, Any], processor) -> dict[str, Any]:
    """A batch with uint8 ``pixel_values`` (P, C*p*p) -> the same batch with the processor's
    float32 ``pixel_values`` (P, C*T*p*p), computed where the tensor is (the GPU in training).

    Batches with float pixels (or none) are returned unchanged. ``processor``: the
    processor or its image processor.
    """
    pv = inputs.get("pixel_values") if hasattr(inputs, "get") else None
    if pv is None or pv.dtype != torch.uint8:
        return inputs
    ip = getattr(processor, "image_processor", processor)
    lut = torch.from_numpy(_pixel_lut(ip)).to(pv.device)
    c, t, p = lut.shape[0], ip.temporal_patch_size, ip.patch_size
    n = pv.shape[0]
    idx = pv.view(n, c, p * p).long() + (torch.arange(c, device=pv.device) * 256).view(1, c, 1)
    vals = lut.view(-1)[idx].view(n, c, 1, p * p).expand(n, c, t, p * p)
    out = dict(inputs)
    out["pixel_values"] = vals.reshape(n, c * t * p * p)
    return out


def encode_sample(processor, sample: dict, image_root: str | Path | None = None, system: str | None = None,
                  max_length: int | None = None, uint8_pixels: bool = False) -> EncodedSample:
    """Tokenise one sample with answer-only labels (see module docstring).

    ``sample["images"]``: paths (relative to ``image_root``), PIL images or arrays.
    ``max_length``: drop trailing question/answer pairs until the sequence fits; raises
    ``SampleTooLongError`` if the first pair alone does not fit. ``uint8_pixels``:
    ``pixel_values`` as (P, 768) uint8 bytes (``image_bytes``) instead of (P, 1536) float32.
    """
    messages = list(sample.get("messages") or [])
    validate_messages(messages)
    images = [read_rgb_pil(im, image_root) for im in (sample.get("images") or [])]
    tok = processor.tokenizer
    image_token_id = tok.convert_tokens_to_ids(IMAGE_PAD)
    pixel_values = grid = None
    counts: list[int] = []
    if images and uint8_pixels:
        pixel_values, grid = image_bytes(processor.image_processor, images)
    elif images:
        feats = processor.image_processor(images=images, return_tensors="np")
        pixel_values = np.asarray(feats["pixel_values"], dtype=np.float32)
        grid = np.asarray(feats["image_grid_thw"], dtype=np.int64)
    if images:
        merge = processor.image_processor.merge_size
        counts = [int(np.prod(g) // (merge * merge)) for g in grid]
    n_pairs = sum(m["role"] == "assistant" for m in messages)
    while True:
        [(ids, mask)] = tokenize_chats(tok, [(_truncate_turns(messages, n_pairs), len(images))], system)
        ids, mask = expand_image_pads(ids, mask, image_token_id, counts)
        if max_length is None or len(ids) <= max_length:
            break
        if n_pairs <= 1:
            raise SampleTooLongError(
                f"sample {sample.get('id', '?')}: {len(ids)} tokens with one question "
                f"exceed max_length={max_length} (images give {sum(counts)} tokens); lower the pixel budget")
        n_pairs -= 1
    labels = np.where(mask, ids, IGNORE_INDEX)
    mm = (ids == image_token_id).astype(np.int64)
    return EncodedSample(ids, labels, mm, pixel_values, grid, n_pairs)


def estimate_length(processor, sample: dict, image_root: str | Path | None = None) -> int:
    """Cheap token count (image headers only, no pixel decoding) for length-grouped batching."""
    from vlm3.model.processor import num_image_tokens

    counts = []
    for im in sample.get("images") or []:
        if isinstance(im, (str, Path)):
            w, h = read_image_size(im, image_root)
        elif hasattr(im, "size") and not hasattr(im, "shape"):
            w, h = im.size
        else:
            h, w = im.shape[:2]
        counts.append(num_image_tokens(processor, h, w))
    [(ids, _)] = tokenize_chats(processor.tokenizer, [(sample["messages"], len(counts))])
    return len(ids) - len(counts) + sum(counts)


class SFTCollator:
    """Batch samples for ``Qwen3VLForConditionalGeneration`` (right padding).

    Returns tensors: input_ids, attention_mask, labels, mm_token_type_ids (B, L);
    pixel_values (sum P, 1536) float32 and image_grid_thw (n_images, 3) when there are images.
    ``uint8_pixels=True``: pixel_values (sum P, 768) uint8 instead, for
    ``normalize_pixel_values`` on the device. Accepts raw sample dicts or ``EncodedSample`` objects.
    """

    def __init__(self, processor, image_root: str | Path | None = None, system: str | None = None,
                 max_length: int | None = None, pad_to_multiple_of: int | None = None,
                 uint8_pixels: bool = False):
        self.processor = processor
        self.uint8_pixels = uint8_pixels
        self.image_root = image_root
        self.system = system
        self.max_length = max_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.pad_id = processor.tokenizer.pad_token_id

    def encode(self, sample: Any) -> EncodedSample:
        if isinstance(sample, EncodedSample):
            return sample
        root = sample.get("_image_root", self.image_root)
        return encode_sample(self.processor, sample, root, self.system, self.max_length, self.uint8_pixels)

    def __call__(self, samples: Sequence[Any]) -> dict[str, torch.Tensor]:
        encoded = [self.encode(s) for s in samples]
        length = max(len(e.input_ids) for e in encoded)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        b = len(encoded)
        input_ids = torch.full((b, length), self.pad_id, dtype=torch.long)
        labels = torch.full((b, length), IGNORE_INDEX, dtype=torch.long)
        attention = torch.zeros((b, length), dtype=torch.long)
        mm = torch.zeros((b, length), dtype=torch.long)
        for i, e in enumerate(encoded):
            n = len(e.input_ids)
            input_ids[i, :n] = torch.from_numpy(e.input_ids)
            labels[i, :n] = torch.from_numpy(e.labels)
            attention[i, :n] = 1
            mm[i, :n] = torch.from_numpy(e.mm_token_type_ids)
        batch = {"input_ids": input_ids, "attention_mask": attention, "labels": labels, "mm_token_type_ids": mm}
        pv = [e.pixel_values for e in encoded if e.pixel_values is not None]
        if pv:
            batch["pixel_values"] = torch.from_numpy(np.concatenate(pv, axis=0))
            batch["image_grid_thw"] = torch.from_numpy(
                np.concatenate([e.image_grid_thw for e in encoded if e.image_grid_thw is not None], axis=0))
        return batch
