"""WAI scene files (MapAnything's unified format): the scene folders, ``scene_meta.json``, the
covisibility matrix and the split lists; the records are `vlm3.data.adapters.wai`'s.

Not an adapter itself (no ``iter_records``): `vlm3.data.adapters.wai` re-exports these names.
Facts in ../shared/FORMATS.md, read from facebookresearch/map-anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.errors import Vlm3Error

META = "scene_meta.json"
META_DISTORTED = "scene_meta_distorted.json"
SPLITS = ("train", "val", "test")


class SceneError(Vlm3Error, ValueError):
    """A WAI scene that cannot be used at all; ``str(err)`` is the one-line reason."""


def scene_dirs(root: str | Path) -> list[Path]:
    """Scene folders under ``root`` (or ``root`` itself when it is one), sorted by name.

    A scene folder holds ``scene_meta.json`` or ``scene_meta_distorted.json``.
    """
    root = Path(root)
    if (root / META).is_file() or (root / META_DISTORTED).is_file():
        return [root]
    return sorted(d for d in root.iterdir()
                  if d.is_dir() and ((d / META).is_file() or (d / META_DISTORTED).is_file()))


def load_scene_meta(scene_dir: Path) -> dict[str, Any]:
    """The scene's ``scene_meta.json`` (SceneError: distorted-only, missing, malformed)."""
    path = scene_dir / META
    if not path.is_file():
        if (scene_dir / META_DISTORTED).is_file():
            raise SceneError("only scene_meta_distorted.json: the scene is not undistorted yet "
                             "(run MapAnything's undistortion step of its conversion scripts)")
        raise SceneError("no scene_meta.json")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SceneError(f"malformed scene_meta.json ({err})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("frames"), list) or not meta["frames"]:
        raise SceneError("scene_meta.json has no 'frames' list")
    conv = meta.get("camera_convention", "opencv")
    if conv != "opencv":
        raise SceneError(f"camera_convention {conv!r} is not supported (WAI writes 'opencv')")
    return meta


def is_metric(meta: dict[str, Any]) -> bool:
    """True when the scene's ``scale_type`` is "metric" (absent or any other scale: False)."""
    return str(meta.get("scale_type", "")).lower() == "metric"


def covisibility_file(scene_dir: Path, meta: dict[str, Any] | None = None, version: str = "v0") -> Path:
    """The scene's covisibility matrix, where MapAnything's loaders look: the file named by
    scene_meta's ``scene_modalities.pairwise_covisibility.scene_key`` (relative to the scene,
    e.g. DL3DV's ``covisibility/v0_mvsa_based/...``), else the first ``covisibility/<version>/*.npy``.
    ``meta``: scene_meta.json already read (None: read here). SceneError naming where it looked."""
    meta = load_scene_meta(scene_dir) if meta is None else meta
    try:
        key = meta["scene_modalities"]["pairwise_covisibility"]["scene_key"]
    except (OSError, ValueError, KeyError, TypeError):
        key = None
    if key and (scene_dir / str(key)).is_file():
        return scene_dir / str(key)
    folder = scene_dir / "covisibility" / version
    files = sorted(folder.glob("*.npy")) if folder.is_dir() else []
    if not files:
        named = f"{scene_dir / str(key)} (scene_meta's scene_key) nor in " if key else ""
        raise SceneError(f"no covisibility matrix in {named}{folder} (run MapAnything's "
                         "scripts/covisibility.py); pairs of this scene are left out")
    return files[0]


def load_covisibility(scene_dir: Path, n_frames: int, version: str = "v0",
                      meta: dict[str, Any] | None = None) -> np.ndarray:
    """The scene's raw N x N covisibility matrix (float32, memory-mapped; `covisibility_file`
    finds it); SceneError."""
    path = covisibility_file(scene_dir, meta, version)
    try:
        C = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:
        raise SceneError(f"{path}: unreadable covisibility matrix ({err})") from None
    if C.shape != (n_frames, n_frames):
        raise SceneError(f"{path}: covisibility is {C.shape}, expected {n_frames}x{n_frames} "
                         "(one row per frame of scene_meta.json)")
    return C


def normalized_covisibility(C: np.ndarray) -> np.ndarray:
    """MapAnything's pair score S[i, j] = (C[i, j] + C[j, i]) / 2 / (C[i, i] + 1e-8).

    Row i = reference view i: the symmetrised overlap divided by view i's own covisibility
    (its diagonal); S is not symmetric when the diagonal is not constant. (N, N) float64.
    """
    C = np.asarray(C, dtype=np.float64)
    return (C + C.T) / 2.0 / (np.diag(C)[:, None] + 1e-8)


def read_split_lists(folder: str | Path, dataset: str) -> dict[str, str]:
    """scene name -> split from ``<folder>/<split>/<dataset>_scene_list_<split>.npy|.txt``."""
    out: dict[str, str] = {}
    for split in SPLITS:
        base = Path(folder) / split / f"{dataset}_scene_list_{split}"
        if base.with_suffix(".npy").is_file():
            try:
                names = np.load(base.with_suffix(".npy"), allow_pickle=False).tolist()
            except ValueError:
                raise SceneError(f"{base}.npy is a pickled object array; save it as a string "
                                 "array or a .txt list (one scene per line)") from None
        elif base.with_suffix(".txt").is_file():
            names = base.with_suffix(".txt").read_text().split()
        else:
            continue
        out.update({str(n): split for n in names})
    return out


__all__ = ["META", "META_DISTORTED", "SPLITS", "SceneError", "covisibility_file", "is_metric", "load_covisibility",
           "load_scene_meta", "normalized_covisibility", "read_split_lists", "scene_dirs"]
