"""Samples -> padded model batches with the loss on assistant answers only.

One vlm3 sample (docs/modules.md, "Sample (chat) format") holds images and alternating
user/assistant turns; several questions about the same images are packed as a multi-turn
chat, so one pass over the image tokens supervises every answer. ``encode_sample`` renders
it with ``vlm3.model.chat.render_chat`` (the inference template), expands each image to its
``<|image_pad|>`` tokens (one per 32 x 32 px after the processor's resize) and labels:

- supervised (label = token id): the tokens of each assistant answer and its ``<|im_end|>``;
- masked (label = -100): system, user text, vision tokens, ``<|im_start|>role\\n`` headers,
  the newline after ``<|im_end|>``, and padding.

Labels are aligned with ``input_ids`` (the shift happens in the loss), as in transformers.

With ``isolate_questions`` every token also gets a turn id (`turn_ids`): 0 for the shared
prefix (system, user header, images), k for question k with its answer, -1 for the
``<|im_start|>user\n`` header of questions 2.. and for padding. ``vlm3.train.isolation``
turns them into the attention mask that shows each answer its images and its question only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from vlm3.model.chat import RenderedChat, load_image, render_chat, validate_messages

IGNORE_INDEX = -100


class SampleTooLongError(ValueError):
    """Even the first question/answer pair of a sample does not fit in ``max_length`` tokens."""


@dataclass
class EncodedSample:
    """One tokenised sample.

    input_ids, labels, mm_token_type_ids: (L,) int64; pixel_values: (P, 1536) float32
    (P patches of 16 x 16 px x 2 frames x 3 channels); image_grid_thw: (n_images, 3) int64.
    """

    input_ids: np.ndarray
    labels: np.ndarray
    mm_token_type_ids: np.ndarray
    pixel_values: np.ndarray | None
    image_grid_thw: np.ndarray | None
    num_turns: int
    turn_ids: np.ndarray | None = None


def labels_from_spans(offsets: Sequence[tuple[int, int]], input_ids: Sequence[int],
                      spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Token labels: the id where the token's characters lie inside a supervised span, else -100."""
    labels = np.full(len(input_ids), IGNORE_INDEX, dtype=np.int64)
    if not spans:
        return labels
    starts = np.array([s for s, _ in spans])
    ends = np.array([e for _, e in spans])
    off = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    a, b = off[:, 0], off[:, 1]
    k = np.searchsorted(starts, a, side="right") - 1  # the last span starting at or before each token
    kc = np.clip(k, 0, None)
    inside = (b > a) & (k >= 0) & (a >= starts[kc]) & (b <= ends[kc])
    labels[inside] = np.asarray(input_ids, dtype=np.int64)[inside]
    return labels


NO_TURN = -1


def chat_token_ids(samples: Iterable[dict[str, Any]], tokenizer, system: str | None = None
                   ) -> tuple[set[int], set[int]]:
    """(label token ids, all token ids) of ``samples``, by the collator's own labelling path.

    The chat is rendered without image tokens (they never carry labels and do not change how
    the text tokenises), tokenised with offsets and labelled by ``labels_from_spans``.
    """
    label_ids: set[int] = set()
    all_ids: set[int] = set()
    rendered = [render_chat(s["messages"], [0] * len(s.get("images") or []), system=system) for s in samples]
    for start in range(0, len(rendered), 512):  # batched: the fast tokenizer encodes a batch in parallel
        chunk = rendered[start:start + 512]
        enc = tokenizer([r.text for r in chunk], add_special_tokens=False, return_offsets_mapping=True)
        for r, input_ids, offsets in zip(chunk, enc["input_ids"], enc["offset_mapping"]):
            labels = labels_from_spans(offsets, input_ids, r.supervised_spans)
            label_ids.update(int(t) for t in labels[labels != IGNORE_INDEX])
            all_ids.update(int(t) for t in input_ids)
    return label_ids, all_ids


def turn_ids_from_offsets(offsets: Sequence[tuple[int, int]], user_turns: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per token: 0 before the first question (the shared prefix), k from question k up to the
    user header of question k + 1, and ``NO_TURN`` for those headers (see module docstring).
    ``user_turns``: ``RenderedChat.user_turns`` (header start, question start) in characters."""
    starts = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)[:, 0]
    questions = np.asarray([q for _, q in user_turns], dtype=np.int64)
    turn = np.searchsorted(questions, starts, side="right").astype(np.int64)
    for header, question in user_turns[1:]:
        turn[(starts >= header) & (starts < question)] = NO_TURN
    return turn


def _truncate_turns(messages: list[dict], keep_pairs: int) -> list[dict]:
    head = [messages[0]] if messages[0]["role"] == "system" else []
    turns = messages[len(head):]
    return head + turns[: 2 * keep_pairs]


def encode_sample(processor, sample: dict, image_root: str | Path | None = None, system: str | None = None,
                  max_length: int | None = None, isolate_questions: bool = False) -> EncodedSample:
    """Tokenise one sample with answer-only labels (see module docstring).

    ``sample["images"]``: paths (relative to ``image_root``), PIL images or arrays.
    ``max_length``: drop trailing question/answer pairs until the sequence fits; raises
    ``SampleTooLongError`` if the first pair alone does not fit.
    """
    messages = list(sample.get("messages") or [])
    validate_messages(messages)
    images = [load_image(im, image_root) for im in (sample.get("images") or [])]
    tok = processor.tokenizer
    pixel_values = grid = None
    counts: list[int] = []
    if images:
        feats = processor.image_processor(images=images, return_tensors="np")
        pixel_values = np.asarray(feats["pixel_values"], dtype=np.float32)
        grid = np.asarray(feats["image_grid_thw"], dtype=np.int64)
        merge = processor.image_processor.merge_size
        counts = [int(np.prod(g) // (merge * merge)) for g in grid]
    n_pairs = sum(m["role"] == "assistant" for m in messages)
    while True:
        rendered: RenderedChat = render_chat(_truncate_turns(messages, n_pairs), counts, system=system)
        enc = tok(rendered.text, add_special_tokens=False, return_offsets_mapping=True)
        if max_length is None or len(enc["input_ids"]) <= max_length:
            break
        if n_pairs <= 1:
            raise SampleTooLongError(
                f"sample {sample.get('id', '?')}: {len(enc['input_ids'])} tokens with one question "
                f"exceed max_length={max_length} (images give {sum(counts)} tokens); lower the pixel budget")
        n_pairs -= 1
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    labels = labels_from_spans(enc["offset_mapping"], ids, rendered.supervised_spans)
    image_token_id = tok.convert_tokens_to_ids("<|image_pad|>")
    mm = (ids == image_token_id).astype(np.int64)
    if int(mm.sum()) != sum(counts):
        raise RuntimeError(f"image token count mismatch: {int(mm.sum())} in text vs {sum(counts)} from images")
    turns = turn_ids_from_offsets(enc["offset_mapping"], rendered.user_turns) if isolate_questions else None
    return EncodedSample(ids, labels, mm, pixel_values, grid, n_pairs, turns)


def estimate_length(processor, sample: dict, image_root: str | Path | None = None) -> int:
    """Cheap token count (image headers only, no pixel decoding) for length-grouped batching."""
    from PIL import Image

    from vlm3.model.processor import num_image_tokens

    counts = []
    for im in sample.get("images") or []:
        if isinstance(im, (str, Path)):
            p = Path(im) if image_root is None or Path(im).is_absolute() else Path(image_root) / im
            with Image.open(p) as pil:
                w, h = pil.size
        elif hasattr(im, "size") and not hasattr(im, "shape"):
            w, h = im.size
        else:
            h, w = im.shape[:2]
        counts.append(num_image_tokens(processor, h, w))
    text = render_chat(sample["messages"], [0] * len(counts)).text
    return len(processor.tokenizer(text, add_special_tokens=False)["input_ids"]) + sum(counts)


class SFTCollator:
    """Batch samples for ``Qwen3VLForConditionalGeneration`` (right padding).

    Returns tensors: input_ids, attention_mask, labels, mm_token_type_ids (B, L);
    pixel_values (sum P, 1536) and image_grid_thw (n_images, 3) when there are images;
    turn_ids (B, L) with ``isolate_questions``. Accepts raw sample dicts or ``EncodedSample``
    objects.
    """

    def __init__(self, processor, image_root: str | Path | None = None, system: str | None = None,
                 max_length: int | None = None, pad_to_multiple_of: int | None = None,
                 isolate_questions: bool = False):
        self.processor = processor
        self.isolate_questions = isolate_questions
        self.image_root = image_root
        self.system = system
        self.max_length = max_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.pad_id = processor.tokenizer.pad_token_id

    def encode(self, sample: Any) -> EncodedSample:
        if isinstance(sample, EncodedSample):
            return sample
        root = sample.get("_image_root", self.image_root)
        return encode_sample(self.processor, sample, root, self.system, self.max_length, self.isolate_questions)

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
        turns = torch.full((b, length), NO_TURN, dtype=torch.long) if self.isolate_questions else None
        for i, e in enumerate(encoded):
            n = len(e.input_ids)
            input_ids[i, :n] = torch.from_numpy(e.input_ids)
            labels[i, :n] = torch.from_numpy(e.labels)
            attention[i, :n] = 1
            mm[i, :n] = torch.from_numpy(e.mm_token_type_ids)
            if turns is not None:
                if e.turn_ids is None:
                    raise ValueError("isolate_questions needs samples encoded with isolate_questions=True")
                turns[i, :n] = torch.from_numpy(e.turn_ids)
        batch = {"input_ids": input_ids, "attention_mask": attention, "labels": labels, "mm_token_type_ids": mm}
        if turns is not None:
            batch["turn_ids"] = turns
        pv = [e.pixel_values for e in encoded if e.pixel_values is not None]
        if pv:
            batch["pixel_values"] = torch.from_numpy(np.concatenate(pv, axis=0))
            batch["image_grid_thw"] = torch.from_numpy(
                np.concatenate([e.image_grid_thw for e in encoded if e.image_grid_thw is not None], axis=0))
        return batch
