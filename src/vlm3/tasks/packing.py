"""Packing a task's question/answer pairs about one image (or an image pair) into one
multi-turn chat sample, in the on-disk format of docs/modules.md ("Sample (chat) format").

One pass over the image tokens then supervises every answer in the sample. The first
user turn carries the image(s): model-side code inserts one image placeholder per image,
in order, before the first user text; the messages here hold text only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from vlm3.protocol import FORMAT_VERSION
from vlm3.tasks import get_task

#: Dataset splits a sample can belong to.
SPLITS = ("train", "val", "test")


def build_messages(qa_pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """[(question, answer), ...] -> alternating user/assistant messages. Raises ValueError
    on an empty list or a non-string / empty question or answer."""
    if not qa_pairs:
        raise ValueError("a sample needs at least one (question, answer) pair")
    messages = []
    for i, pair in enumerate(qa_pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"qa_pairs[{i}] must be a (question, answer) pair, got {pair!r}")
        q, a = pair
        if not isinstance(q, str) or not q.strip():
            raise ValueError(f"qa_pairs[{i}] question must be a non-empty string, got {q!r}")
        if not isinstance(a, str) or not a.strip():
            raise ValueError(f"qa_pairs[{i}] answer must be a non-empty string, got {a!r}")
        messages.append({"role": "user", "content": q})
        messages.append({"role": "assistant", "content": a})
    return messages


def pack_sample(qa_pairs: Sequence[tuple[str, str]], images: Sequence[str], task: str, source: str,
                split: str = "train", labels: Mapping[str, Any] | None = None,
                pixmaps: Sequence[Mapping[str, Any]] | None = None, sample_id: str | None = None,
                format_version: str = FORMAT_VERSION) -> dict[str, Any]:
    """A chat sample dict (JSON-serialisable) for one image (depth, object) or a pair
    (correspondence, pose).

    images: relative image paths, in the order the model sees them; labels: task ground
    truth in standardised pixels / metres; pixmaps: one `PixelMap.to_dict()` per image.
    sample_id defaults to a SHA-1 of the content, so identical samples get identical ids.
    """
    expected = get_task(task).n_images  # ValueError naming the tasks for an unknown one
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    images = list(images)
    if len(images) != expected or not all(isinstance(p, str) and p for p in images):
        raise ValueError(f"task {task!r} needs {expected} image path(s), got {images!r}")
    pixmaps = [dict(p) for p in pixmaps] if pixmaps is not None else []
    if pixmaps and len(pixmaps) != len(images):
        raise ValueError(f"need one pixmap per image: {len(pixmaps)} pixmaps for {len(images)} images")
    sample = {
        "id": "",
        "format_version": format_version,
        "task": task,
        "source": source,
        "split": split,
        "images": images,
        "messages": build_messages(qa_pairs),
        "labels": dict(labels) if labels is not None else {},
        "pixmaps": pixmaps,
    }
    if sample_id is None:
        blob = json.dumps({k: v for k, v in sample.items() if k != "id"}, sort_keys=True, default=str)
        sample_id = hashlib.sha1(blob.encode("utf-8")).hexdigest()[:16]
    sample["id"] = sample_id
    return sample


def qa_pairs_of(sample: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (question, answer) pairs of a packed sample, in order. Raises ValueError when
    the messages do not alternate user/assistant."""
    messages = sample.get("messages", [])
    if len(messages) % 2 or not messages:
        raise ValueError("sample messages must be non-empty user/assistant pairs")
    pairs = []
    for i in range(0, len(messages), 2):
        u, a = messages[i], messages[i + 1]
        if u.get("role") != "user" or a.get("role") != "assistant":
            raise ValueError(f"messages {i}, {i + 1} must be user then assistant")
        pairs.append((u["content"], a["content"]))
    return pairs
