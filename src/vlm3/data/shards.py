"""On-disk layout of a built set: content-addressed images, JSONL shards, done-markers, manifest.

Layout under the dataset root::

    images/<sha1>.png                          each standardised image once; sha1 of
                                               "HxWxC" + the RGB bytes (decoded pixels)
    shards/<split>/<task>-<source>-NNNNN.jsonl one chat sample per line
    shards/<split>/<task>-<source>-NNNNN.index.json
                                               the shard's index sidecar: line offsets,
                                               token counts, image sizes (vlm3.io.shard_index)
    shards/<split>/<task>-<source>-NNNNN.done.json
                                               done-marker: sha256 of the shard, the hash
                                               of the shard's spec, counts, skips
    manifest.json                              counts, skips, resolved config, checksums
    index/<split>/                             the split's memory-mapped index (built last)

Every write goes to a temporary file first and is renamed into place, so an
interrupted build never leaves a half-written file under its final name. A shard counts
as finished only when its marker exists, names the same spec hash and the shard's bytes
still have the recorded checksum; anything else is rebuilt (to the same bytes).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from vlm3.data.shard_index import shard_sidecar
from vlm3.io.shard_index import sidecar_path

PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def canonical_json(obj: Any) -> str:
    """Compact, key-sorted JSON (used for hashing specs)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a unique temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def store_image(root: Path, image: np.ndarray) -> str:
    """Store an (H, W, 3) uint8 RGB image once; returns its path relative to ``root``."""
    img = np.ascontiguousarray(image)
    h = hashlib.sha1(f"{img.shape[0]}x{img.shape[1]}x{img.shape[2]}".encode())
    h.update(img.data)
    rel = f"images/{h.hexdigest()}.png"
    path = root / rel
    if not path.exists():
        ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), PNG_PARAMS)
        if not ok:
            raise OSError(f"PNG encoding failed for {rel}")
        atomic_write_bytes(path, buf.tobytes())
    return rel


def shard_name(split: str, task: str, source: str, index: int) -> str:
    """Relative path of a shard: ``shards/<split>/<task>-<source>-NNNNN.jsonl``."""
    return f"shards/{split}/{task}-{source}-{index:05d}.jsonl"


def marker_path(root: Path, name: str) -> Path:
    return root / (name[: -len(".jsonl")] + ".done.json")


def spec_hash(spec: dict[str, Any]) -> str:
    """sha256 of a shard spec's canonical JSON (what the shard would contain)."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


def is_done(root: Path, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The done-marker of a finished, intact shard for this exact spec, else None."""
    mpath = marker_path(root, spec["name"])
    if not mpath.is_file():
        return None
    try:
        marker = json.loads(mpath.read_text())
    except (json.JSONDecodeError, OSError):
        return None
    shard = root / spec["name"]
    if marker.get("spec_hash") != spec_hash(spec) or not shard.is_file():
        return None
    if sha256_file(shard) != marker.get("sha256"):
        return None
    return marker


def write_shard(root: Path, spec: dict[str, Any], lines: Iterable[dict[str, Any]],
                skipped: list[dict[str, str]]) -> dict[str, Any]:
    """Write the shard's JSONL, its index sidecar and then its done-marker; returns the marker.

    The sidecar (``<stem>.index.json``, ``vlm3.data.shard_index.shard_sidecar``) holds each
    line's offset and token count, counted here once so that training never re-tokenises.
    """
    lines = list(lines)
    encoded = [(json.dumps(s, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8") for s in lines]
    raw = b"".join(encoded)
    atomic_write_bytes(root / spec["name"], raw)
    side = shard_sidecar(encoded, lines, root, spec["name"])
    atomic_write_bytes(sidecar_path(root / spec["name"]), (json.dumps(side, separators=(",", ":")) + "\n").encode())
    marker = {"name": spec["name"], "spec_hash": spec_hash(spec),
              "sha256": hashlib.sha256(raw).hexdigest(),
              "split": spec["split"], "task": spec["task"], "source": spec["source"],
              "planned": len(spec["samples"]), "written": len(encoded), "skipped": skipped}
    atomic_write_bytes(marker_path(root, spec["name"]),
                       (json.dumps(marker, indent=1, sort_keys=True) + "\n").encode())
    return marker


def read_samples(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """All samples of some JSONL shards, in order."""
    out = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def shard_paths(root: str | Path, split: str | None = None, task: str | None = None) -> list[Path]:
    """Sorted shard files of a dataset root, optionally filtered by split and task."""
    base = Path(root) / "shards"
    pats = f"{split or '*'}/{task or '*'}-*.jsonl"
    return sorted(base.glob(pats))


__all__ = ["canonical_json", "sha256_file", "atomic_write_bytes", "store_image", "shard_name",
           "marker_path", "spec_hash", "is_done", "write_shard", "read_samples", "shard_paths",
           "PNG_PARAMS"]
