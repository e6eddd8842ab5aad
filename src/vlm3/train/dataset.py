"""Read training samples from the data engine's JSONL shards.

Accepted inputs (``ShardDataset(path, split="train")``):

- a dataset root built by ``vlm3 data``: ``<root>/shards/<split>/*.jsonl``, images
  referenced relative to ``<root>`` (``images/<sha1>.png``);
- a directory of ``*.jsonl`` files (searched recursively), images relative to it;
- one ``.jsonl`` file, images relative to its folder.

Each line is one chat sample (docs/modules.md, "Sample (chat) format on disk"). Samples
whose ``split`` field differs from the requested split are left out (a sample without a
``split`` is kept). Malformed lines are a clear error naming file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from vlm3.model.chat import ChatFormatError, validate_messages


class DatasetFormatError(ValueError):
    """A shard file or sample that does not follow the vlm3 sample format."""


def find_shards(path: str | Path, split: str | None = "train") -> tuple[list[Path], Path]:
    """(sorted shard files, image root) for a dataset root, a folder of JSONL files or one file."""
    p = Path(path).expanduser()
    if p.is_file():
        if p.suffix != ".jsonl":
            raise DatasetFormatError(f"{p} is not a .jsonl shard")
        return [p], p.parent
    if not p.is_dir():
        raise DatasetFormatError(f"dataset path does not exist: {p}")
    shards_dir = p / "shards"
    if shards_dir.is_dir():
        sub = shards_dir / split if split and (shards_dir / split).is_dir() else shards_dir
        files = sorted(sub.rglob("*.jsonl"))
    else:
        files = sorted(p.rglob("*.jsonl"))
    if not files:
        raise DatasetFormatError(f"no .jsonl shards under {p}" + (f" for split {split!r}" if split else ""))
    return files, p


def read_jsonl_samples(files: list[Path], split: str | None = None) -> list[dict[str, Any]]:
    """Parse and check samples (messages alternate user/assistant; images is a list)."""
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    s = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetFormatError(f"{f}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(s, dict) or "messages" not in s:
                    raise DatasetFormatError(f"{f}:{lineno}: a sample must be an object with `messages`")
                if split and s.get("split") not in (None, split):
                    continue
                try:
                    validate_messages(s["messages"])
                except ChatFormatError as exc:
                    raise DatasetFormatError(f"{f}:{lineno}: {exc}") from None
                if not isinstance(s.get("images", []), list):
                    raise DatasetFormatError(f"{f}:{lineno}: `images` must be a list of paths")
                out.append(s)
    return out


class ShardDataset(Dataset):
    """Map-style dataset of sample dicts; each item carries ``_image_root`` for the collator."""

    def __init__(self, path: str | Path, split: str | None = "train", max_samples: int | None = None):
        files, self.image_root = find_shards(path, split)
        self.files = files
        self.samples = read_jsonl_samples(files, split)
        if max_samples is not None:
            self.samples = self.samples[: int(max_samples)]
        if not self.samples:
            raise DatasetFormatError(f"no samples for split {split!r} in {path}")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {**self.samples[i], "_image_root": str(self.image_root)}

    def lengths(self, processor) -> list[int]:
        """Approximate token counts per sample (for length-grouped batches)."""
        from vlm3.train.collator import estimate_length

        return [int(s.get("num_tokens") or estimate_length(processor, s, self.image_root)) for s in self.samples]

    def num_labels(self) -> int:
        """Number of question/answer pairs (supervised labels) in the dataset."""
        return sum(sum(m["role"] == "assistant" for m in s["messages"]) for s in self.samples)
