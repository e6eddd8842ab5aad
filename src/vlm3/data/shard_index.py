"""Writing the shard index (``vlm3.io.shard_index``): token lengths counted once, by the data engine.

- ``shard_sidecar(...)``: the per-shard columns of freshly written lines (``write_shard``
  calls it, so each Ray worker counts its own shards' tokens);
- ``build_index(path, split)``: the set's memory-mapped index from the sidecars (a
  sidecar missing, stale or from another tokenizer is recounted from its shard, and
  rewritten); ``vlm3 data build`` ends with it, ``vlm3 data index PATH`` runs it on a set
  built before indexes existed.

Text tokens are counted with the project's Qwen3-VL tokenizer through the chat template
(``vlm3.model.chat.tokenize_chats``, the rendering the collator uses), with one
``<|image_pad|>`` per image; image sizes come from the PNG headers.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from vlm3.io.images import read_image_size
from vlm3.io.shard_index import (DatasetFormatError, find_shards, index_dir, parse_sample_line, sidecar_path,
                                 write_index)
from vlm3.model.chat import ChatFormatError, tokenize_chats

SIDECAR_VERSION = 1
_BATCH = 512


@functools.lru_cache(maxsize=1)
def _tokenizer():
    from vlm3.model.tokenizer import load_qwen_tokenizer

    return load_qwen_tokenizer()


def tokenizer_id(tokenizer=None) -> str:
    """Names the tokenizer the lengths were counted with (class and vocabulary size)."""
    tok = tokenizer or _tokenizer()
    return f"{type(tok).__name__}:{len(tok)}"


def shard_sidecar(lines: Sequence[bytes], samples: Sequence[dict[str, Any]], image_root: Path,
                  where: str = "", tokenizer=None) -> dict[str, Any]:
    """The sidecar of one shard: per-line offsets, token counts, turns, split, image sizes.

    ``lines``: the shard's lines as written (bytes, newline included; blank lines allowed and
    skipped); ``samples``: the parsed non-blank lines in order; ``where``: the shard, for errors.
    """
    tok = tokenizer or _tokenizer()
    rows: dict[str, list] = {"offset": [], "nbytes": [], "line": [], "split": [], "num_turns": [],
                             "images": [], "text_tokens": []}
    offset, k, sizes = 0, 0, {}
    for lineno, raw in enumerate(lines, 1):
        if raw.strip():
            s = samples[k]
            k += 1
            imgs = s.get("images") or []
            if not isinstance(imgs, list):
                raise DatasetFormatError(f"{where}:{lineno}: `images` must be a list of paths")
            for im in imgs:
                if im not in sizes:
                    sizes[im] = list(read_image_size(im, image_root))
            rows["offset"].append(offset)
            rows["nbytes"].append(len(raw))
            rows["line"].append(lineno)
            rows["split"].append(s.get("split"))
            rows["num_turns"].append(sum(m.get("role") == "assistant" for m in s["messages"]))
            rows["images"].append([sizes[im] for im in imgs])
        offset += len(raw)
    for start in range(0, len(samples), _BATCH):
        chunk = samples[start:start + _BATCH]
        try:
            enc = tokenize_chats(tok, [(s["messages"], len(s.get("images") or [])) for s in chunk])
        except ChatFormatError:  # name the line: retry one by one
            for j, s in enumerate(chunk):
                try:
                    tokenize_chats(tok, [(s["messages"], len(s.get("images") or []))])
                except ChatFormatError as exc:
                    raise DatasetFormatError(f"{where}:{rows['line'][start + j]}: {exc}") from None
            raise
        rows["text_tokens"].extend(len(ids) for ids, _ in enc)
    return {"version": SIDECAR_VERSION, "tokenizer": tokenizer_id(tok), "nbytes": offset, "rows": rows}


def parse_shard(path: Path) -> tuple[list[bytes], list[dict[str, Any]]]:
    """(raw lines, parsed samples) of a JSONL shard; a bad line is one error naming file and line."""
    lines = path.read_bytes().splitlines(keepends=True)
    samples = []
    for lineno, raw in enumerate(lines, 1):
        s = parse_sample_line(raw, f"{path}:{lineno}")
        if s is None:
            continue
        if not isinstance(s, dict) or not isinstance(s.get("messages"), list):
            raise DatasetFormatError(f"{path}:{lineno}: a sample must be an object with `messages`")
        samples.append(s)
    return lines, samples


def _sidecar_for(shard: Path, image_root: Path) -> dict[str, Any]:
    """The shard's sidecar, recounted (and rewritten) when missing or not matching the shard."""
    side = sidecar_path(shard)
    try:
        data = json.loads(side.read_text())
        if (data.get("version") == SIDECAR_VERSION and data.get("nbytes") == shard.stat().st_size
                and data.get("tokenizer") == tokenizer_id()):
            return data
    except (OSError, json.JSONDecodeError):
        pass
    lines, samples = parse_shard(shard)
    data = shard_sidecar(lines, samples, image_root, str(shard))
    try:
        side.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    except OSError:
        pass  # a read-only set: the set index below is what training reads
    return data


def build_index(path: str | Path, split: str | None = "train", progress: bool = True,
                files: Sequence[Path] | None = None) -> Path:
    """Build the memory-mapped index of ``path`` (a dataset root, a folder of JSONL or a file).

    Rows are filtered by ``split`` as ``ShardDataset`` does (a sample without a ``split``
    is kept). ``files``: the shards to index (default: those ``find_shards`` lists; the
    data engine passes the shards it wrote). Returns the index folder (``<base>/index/<name>``).
    """
    found, base = find_shards(path, split)
    files = sorted(Path(f) for f in files) if files is not None else found
    cols: dict[str, list] = {k: [] for k in ("file_id", "offset", "nbytes", "line", "text_tokens", "num_turns")}
    counts, wh = [], []
    for fid, shard in enumerate(tqdm(files, desc="index", unit="shard", disable=not progress)):
        rows = _sidecar_for(shard, base)["rows"]
        keep = [j for j, sp in enumerate(rows["split"]) if not split or sp in (None, split)]
        cols["file_id"].append(np.full(len(keep), fid, dtype=np.uint32))
        for k in ("offset", "nbytes", "line", "text_tokens", "num_turns"):
            cols[k].append(np.asarray(rows[k], dtype=np.int64)[keep] if keep else np.zeros(0, np.int64))
        counts.extend(len(rows["images"][j]) for j in keep)
        wh.extend(hw for j in keep for hw in rows["images"][j])
    columns = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    columns["image_start"] = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    columns["image_wh"] = np.asarray(wh, dtype=np.int32).reshape(-1, 2)
    meta = {"split": split, "tokenizer": tokenizer_id(), "text_tokens": "chat template, one <|image_pad|> per image"}
    return write_index(index_dir(files, base, split), files, base, columns, meta)


def build_indexes(root: str | Path, names: Sequence[str], progress: bool = True) -> list[Path]:
    """The index of every split of a built dataset root, over the shards ``names``
    (``shards/<split>/...jsonl`` relative to ``root``, as the data engine plans them)."""
    by_split: dict[str, list[Path]] = {}
    for name in names:
        by_split.setdefault(Path(name).parts[1], []).append(Path(root) / name)
    return [build_index(root, sp, progress, files) for sp, files in sorted(by_split.items())]


__all__ = ["SIDECAR_VERSION", "tokenizer_id", "shard_sidecar", "parse_shard", "build_index", "build_indexes"]
