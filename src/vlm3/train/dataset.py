"""Read training samples from the data engine's JSONL shards, memory-mapped through their index.

Accepted inputs (``ShardDataset(path, split="train")``):

- a dataset root built by ``vlm3 data``: ``<root>/shards/<split>/*.jsonl``, images
  referenced relative to ``<root>`` (``images/<sha1>.png``);
- a directory of ``*.jsonl`` files (searched recursively), images relative to it;
- one ``.jsonl`` file, images relative to its folder.

Each line is one chat sample (docs/modules.md, "Sample (chat) format on disk"). Samples
whose ``split`` field differs from the requested split are left out (a sample without a
``split`` is kept). Malformed lines are a clear error naming file and line.

Paper-scale sets: ``vlm3 data build`` writes an index beside the shards
(``vlm3.io.shard_index``: line offsets, token counts and image sizes counted once at
build time). With it a rank maps a few arrays and reads only the lines its batches need:
memory and start-up time do not grow with the number of samples. A set without an index
(built before indexes existed, or edited since) is read the old way, every sample parsed
into memory and tokenised for ``lengths``, with one note saying to run
``vlm3 data index PATH`` once.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from torch.utils.data import Dataset

from vlm3.io.shard_index import (DatasetFormatError, ShardIndex, find_shards, index_dir, open_index,
                                 parse_sample_line)
from vlm3.model.chat import ChatFormatError, validate_messages

__all__ = ["DatasetFormatError", "find_shards", "read_jsonl_samples", "ShardDataset"]


def _check_sample(s: Any, where: str) -> dict[str, Any]:
    if not isinstance(s, dict) or "messages" not in s:
        raise DatasetFormatError(f"{where}: a sample must be an object with `messages`")
    try:
        validate_messages(s["messages"])
    except ChatFormatError as exc:
        raise DatasetFormatError(f"{where}: {exc}") from None
    if not isinstance(s.get("images", []), list):
        raise DatasetFormatError(f"{where}: `images` must be a list of paths")
    return s


def read_jsonl_samples(files: list[Path], split: str | None = None) -> list[dict[str, Any]]:
    """Parse and check every sample (messages alternate user/assistant; images is a list)."""
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                s = parse_sample_line(line, f"{f}:{lineno}")
                if s is None:
                    continue
                if isinstance(s, dict) and split and s.get("split") not in (None, split):
                    continue
                out.append(_check_sample(s, f"{f}:{lineno}"))
    return out


class _IndexedSamples(Sequence):
    """The samples of an indexed set as a read-on-demand sequence (nothing is kept)."""

    def __init__(self, ds: "ShardDataset"):
        self._ds = ds

    def __len__(self) -> int:
        return len(self._ds)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._ds.sample(j) for j in range(*i.indices(len(self)))]
        return self._ds.sample(i)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._ds.sample(j) for j in range(len(self)))


class ShardDataset(Dataset):
    """Map-style dataset of sample dicts; each item carries ``_image_root`` for the collator.

    ``use_index=False`` reads the set the old way (all samples in memory) even when it has
    an index (benchmarks compare the two). ``samples`` is a sequence of sample dicts either
    way (read on demand when indexed).
    """

    def __init__(self, path: str | Path, split: str | None = "train", max_samples: int | None = None,
                 use_index: bool = True):
        files, self.image_root = find_shards(path, split)
        self.files = files
        self.index: ShardIndex | None = open_index(files, self.image_root, split) if use_index else None
        self._samples: list[dict[str, Any]] | None = None
        if self.index is None:
            if use_index and int(os.environ.get("RANK", "0")) == 0:
                state = "a stale" if (index_dir(files, self.image_root, split) / "meta.json").is_file() else "no"
                print(f"note: {path} has {state} shard index: reading all {len(files)} shard(s) into memory "
                      f"(for large sets run `vlm3 data index {path}` once, then loading is memory-mapped)",
                      file=sys.stderr, flush=True)
            self._samples = read_jsonl_samples(files, split)
            n = len(self._samples)
        else:
            n = len(self.index)
        self._n = min(n, int(max_samples)) if max_samples is not None else n
        if self._n <= 0:
            raise DatasetFormatError(f"no samples for split {split!r} in {path}")

    @property
    def indexed(self) -> bool:
        """True when samples are read through the memory-mapped index."""
        return self.index is not None

    @property
    def samples(self) -> Sequence[dict[str, Any]]:
        if self._samples is not None:
            return self._samples[: self._n]
        return _IndexedSamples(self)

    def __len__(self) -> int:
        return self._n

    def sample(self, i: int) -> dict[str, Any]:
        """Sample ``i`` as stored (no ``_image_root``)."""
        i = int(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"sample {i} out of range for {self._n} samples")
        if self._samples is not None:
            return self._samples[i]
        raw = self.index.read_line(i)
        f, lineno = self.index.location(i)
        try:
            s = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetFormatError(f"{f}:{lineno}: not valid JSON ({exc.msg}); if the shard was edited, "
                                     f"rebuild the index with `vlm3 data index {self.image_root}`") from None
        return _check_sample(s, f"{f}:{lineno}")

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {**self.sample(i), "_image_root": str(self.image_root)}

    def lengths(self, processor) -> np.ndarray:
        """(N,) int32 token counts per sample (text + image tokens at ``processor``'s pixel
        budget), for length-grouped batches (``vlm3.train.sampler``). Indexed: from the stored
        counts, no tokenising; else counted now."""
        if self._samples is None:
            return self._indexed_lengths(processor).astype(np.int32)
        from vlm3.train.collator import estimate_length

        return np.array([int(s.get("num_tokens") or estimate_length(processor, s, self.image_root))
                         for s in self._samples[: self._n]], dtype=np.int32)

    def _indexed_lengths(self, processor) -> np.ndarray:
        from vlm3.model.processor import num_image_tokens

        n, idx = self._n, self.index
        start = np.asarray(idx["image_start"][: n + 1])
        wh = np.asarray(idx["image_wh"][: int(start[-1])])
        counts = np.diff(start)
        text = np.asarray(idx["text_tokens"][:n], dtype=np.int64)
        if not len(wh):
            return text
        codes = wh[:, 0].astype(np.int64) << 32 | wh[:, 1].astype(np.int64)
        sizes, inverse = np.unique(codes, return_inverse=True)  # few distinct sizes: grid-cropped images
        per_size = np.array([num_image_tokens(processor, int(c & 0xFFFFFFFF), int(c >> 32)) for c in sizes],
                            dtype=np.int64)
        per_image = per_size[inverse.reshape(-1)]
        image_tokens = np.bincount(np.repeat(np.arange(n), counts), weights=per_image, minlength=n).astype(np.int64)
        return text - counts + image_tokens

    def num_labels(self) -> int:
        """Number of question/answer pairs (supervised labels) in the dataset."""
        if self._samples is None:
            return int(np.asarray(self.index["num_turns"][: self._n], dtype=np.int64).sum())
        return sum(sum(m["role"] == "assistant" for m in s["messages"]) for s in self._samples[: self._n])
