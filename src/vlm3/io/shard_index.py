"""The shard index on disk: where each sample's line is and how long it is, memory-mapped.

A set of JSONL shards (``vlm3.data``) is read by training through this index, so a rank
neither parses every sample nor keeps them: it maps a few arrays and reads the one line a
batch needs (``ShardIndex.read_line``: seek + read). Two files per set and split::

    <base>/<shard stem>.index.json   one per shard, beside it (the data engine writes it
                                     with the shard): the shard's columns as JSON lists
    <base>/index/<name>/             the set's index: meta.json + one .npy per column

Columns (one row per sample, N samples, M images in all):

- ``file_id`` (N,) uint32: the shard, an index into ``meta["files"]`` (paths relative to
  ``<base>``); ``offset`` (N,) uint64 and ``nbytes`` (N,) uint32: the line's bytes in it
  (newline included); ``line`` (N,) uint32: its 1-based line number (for error messages);
- ``text_tokens`` (N,) int32: tokens of the chat rendered through the chat template with
  ONE ``<|image_pad|>`` per image (``vlm3.model.chat.tokenize_chats``); the image tokens
  depend on the processor's pixel budget and are added at training time from
- ``image_start`` (N+1,) int64 and ``image_wh`` (M, 2) int32: sample i's images are rows
  ``image_start[i]:image_start[i+1]`` of ``image_wh``, (width, height) in pixels;
- ``num_turns`` (N,) int16: assistant turns (supervised answers).

``meta.json`` holds the index version, the tokenizer the lengths came from, the split the
rows were filtered by, and each shard's size in bytes: an index whose shards changed
(added, removed, another size) is stale (``ShardIndex.matches``). Every file is written
to a temporary folder that is renamed into place, so a reader never sees half an index.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.errors import Vlm3Error

INDEX_VERSION = 1
INDEX_DIRNAME = "index"
SIDECAR_SUFFIX = ".index.json"
COLUMNS: dict[str, Any] = {
    "file_id": np.uint32, "offset": np.uint64, "nbytes": np.uint32, "line": np.uint32,
    "text_tokens": np.int32, "num_turns": np.int16, "image_start": np.int64, "image_wh": np.int32,
}
#: Open shard files kept per process by ``ShardIndex.read_line`` (least recently used closed first).
MAX_OPEN_FILES = 64


class DatasetFormatError(Vlm3Error, ValueError):
    """A shard file, sample or index that does not follow the vlm3 sample format."""


def parse_sample_line(raw: str | bytes, where: str) -> dict[str, Any] | None:
    """One JSONL line of a shard as a sample dict (None for a blank line); DatasetFormatError
    naming ``where`` (``file:line``) for a line that is not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{where}: not valid JSON ({exc.msg})") from None


def find_shards(path: str | Path, split: str | None = "train") -> tuple[list[Path], Path]:
    """(sorted shard files, base folder) for a dataset root, a folder of JSONL files or one file.

    The base folder is where image paths are relative to and where the index lives: the
    dataset root (``<root>/shards/<split>/*.jsonl``), the folder, or the file's folder.
    """
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


def index_name(files: Sequence[Path], base: Path, split: str | None) -> str:
    """Folder name under ``<base>/index/`` of the index of these shards and split: the split
    (``all`` for none), or ``<stem>.<split>`` for a single shard at the top of ``base`` (one
    .jsonl file given, or a folder holding just it: the same shards, the same index)."""
    key = split or "all"
    if len(files) == 1 and files[0].parent == base:  # one .jsonl file given
        return f"{files[0].stem}.{key}"
    return key


def index_dir(files: Sequence[Path], base: Path, split: str | None) -> Path:
    return base / INDEX_DIRNAME / index_name(files, base, split)


def sidecar_path(shard: str | Path) -> Path:
    """``<stem>.index.json`` beside a ``<stem>.jsonl`` shard."""
    p = Path(shard)
    return p.with_name(p.name[: -len(".jsonl")] + SIDECAR_SUFFIX)


def write_index(out: Path, files: Sequence[Path], base: Path, columns: dict[str, np.ndarray],
                meta: dict[str, Any]) -> Path:
    """Write the set index ``out`` (a folder) atomically: columns as .npy, ``meta.json``.

    ``files``: the shards in ``file_id`` order (absolute, or relative to the cwd), each
    recorded relative to ``base`` with its current size.
    """
    missing = set(COLUMNS) - set(columns)
    if missing:
        raise ValueError(f"index columns missing: {sorted(missing)}")
    n = len(columns["offset"])
    if len(columns["image_start"]) != n + 1 or int(columns["image_start"][-1]) != len(columns["image_wh"]):
        raise ValueError("image_start must have N+1 entries ending at len(image_wh)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, dtype in COLUMNS.items():
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(columns[name], dtype=dtype))
    full = {**meta, "version": INDEX_VERSION, "num_samples": n, "num_images": len(columns["image_wh"]),
            "files": [str(Path(f).relative_to(base)) for f in files],
            "sizes": [Path(f).stat().st_size for f in files]}
    (tmp / "meta.json").write_text(json.dumps(full, indent=1, sort_keys=True) + "\n")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


class ShardIndex:
    """A set index opened memory-mapped (``np.load(mmap_mode="r")``): constant memory in N.

    Safe to use after ``fork`` (DataLoader workers): each process opens its own shard files.
    """

    def __init__(self, path: str | Path, base: str | Path):
        self.path = Path(path)
        self.base = Path(base)
        try:
            self.meta = json.loads((self.path / "meta.json").read_text())
            self.columns = {name: np.load(self.path / f"{name}.npy", mmap_mode="r") for name in COLUMNS}
        except (OSError, ValueError) as err:
            raise DatasetFormatError(f"{self.path}: unreadable shard index ({err}); rebuild it with "
                                     f"`vlm3 data index {self.base}`") from None
        if self.meta.get("version") != INDEX_VERSION:
            raise DatasetFormatError(f"{self.path}: index version {self.meta.get('version')} is not "
                                     f"{INDEX_VERSION}; rebuild it with `vlm3 data index {self.base}`")
        self.files = [self.base / f for f in self.meta["files"]]
        self._open: OrderedDict[int, Any] = OrderedDict()
        self._pid = os.getpid()

    def __len__(self) -> int:
        return int(self.meta["num_samples"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def matches(self, files: Sequence[Path]) -> bool:
        """True when the index covers exactly these shards, each still of its recorded size."""
        if [str(Path(f).relative_to(self.base)) for f in files] != self.meta["files"]:
            return False
        return all(Path(f).stat().st_size == s for f, s in zip(files, self.meta["sizes"]))

    def image_wh(self, i: int) -> np.ndarray:
        """(n_images, 2) int32 (width, height) px of sample ``i``."""
        s = self.columns["image_start"]
        return np.asarray(self.columns["image_wh"][int(s[i]):int(s[i + 1])])

    def location(self, i: int) -> tuple[Path, int]:
        """(shard file, 1-based line number) of sample ``i``."""
        return self.files[int(self.columns["file_id"][i])], int(self.columns["line"][i])

    def read_line(self, i: int) -> bytes:
        """The raw JSONL line of sample ``i`` (one seek and one read)."""
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range for {len(self)} samples")
        if os.getpid() != self._pid:  # forked: do not share file offsets with the parent
            self._open, self._pid = OrderedDict(), os.getpid()
        fid = int(self.columns["file_id"][i])
        fh = self._open.pop(fid, None)
        if fh is None:
            fh = open(self.files[fid], "rb")
            while len(self._open) >= MAX_OPEN_FILES:
                self._open.popitem(last=False)[1].close()
        self._open[fid] = fh
        fh.seek(int(self.columns["offset"][i]))
        return fh.read(int(self.columns["nbytes"][i]))

    def __getstate__(self) -> dict[str, Any]:  # pickled to spawn workers: reopen there
        return {"path": self.path, "base": self.base}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["base"])


def open_index(files: Sequence[Path], base: Path, split: str | None) -> ShardIndex | None:
    """The set's index when it exists and matches ``files``; None when absent or stale."""
    path = index_dir(files, base, split)
    if not (path / "meta.json").is_file():
        return None
    index = ShardIndex(path, base)
    return index if index.matches(files) else None


__all__ = ["INDEX_VERSION", "INDEX_DIRNAME", "SIDECAR_SUFFIX", "COLUMNS", "DatasetFormatError", "find_shards",
           "index_name", "index_dir", "sidecar_path", "write_index", "ShardIndex", "open_index"]
