"""Pose pair lists from WAI test scenes, written to a file so every run scores the same pairs.

The rule (VLM3's own pair lists are not published; ../shared/FORMATS.md):

1. frames: Depth-Anything-3's benchmark sampling (``bench/evaluator.py``, ``_sample_frames``):
   a scene with more than ``max_frames`` (100) frames keeps
   ``sorted(shuffled(range(N))[:max_frames])`` where the shuffle is Python's ``random`` seeded
   with 42 for every scene; smaller scenes keep all frames (in ``scene_meta.json`` order);
2. pairs: all C(n, 2) pairs i < j of the kept frames (DA3), kept when MapAnything's
   normalised covisibility (``vlm3.data.adapters.wai.normalized_covisibility``, reference
   view i) is strictly above ``min_covisibility`` (MapAnything's test thresholds: 0.25 for
   ScanNet++ v2, 0.025 for ETH3D).

The file (JSON, ``format: vlm3-pair-list-v1``) records the rule's parameters, per scene the
kept frame names, every pair ``{scene, frame0, frame1, covisibility}`` and the scenes left out
with their reason. The ``wai`` adapter reads it with ``options.pair_list`` and then yields
exactly these pairs. ``vlm3 data pair-list`` writes one.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any, Sequence

import click
import numpy as np

from vlm3.errors import Command
from vlm3.io.paths import OutputPathError, check_out_file

from vlm3.data.adapters.wai import (PAIR_LIST_FORMAT, PairListError, SceneError, load_covisibility,
                                    load_scene_meta, normalized_covisibility, pairs_by_scene,
                                    read_pair_list, read_split_lists, scene_dirs)

RULE = ("frames: DA3 (max_frames, random.seed(seed) shuffle, sorted); pairs: all i<j with "
        "MapAnything's normalised covisibility (C[i,j]+C[j,i])/2/C[i,i] > min_covisibility")


def da3_sample_frames(n_frames: int, max_frames: int = 100, seed: int = 42) -> list[int]:
    """Indices of the frames DA3 evaluates in a scene of ``n_frames`` frames (sorted).

    Same numbers as DA3's ``random.seed(seed); random.shuffle(indices)``, from a private
    ``random.Random(seed)`` (the global RNG is left alone). ``max_frames <= 0``: all frames.
    """
    if max_frames <= 0 or n_frames <= max_frames:
        return list(range(n_frames))
    indices = list(range(n_frames))
    random.Random(seed).shuffle(indices)
    return sorted(indices[:max_frames])


def scene_pairs(scene_dir: Path, min_covisibility: float, max_frames: int = 100,
                seed: int = 42) -> tuple[list[str], list[dict[str, Any]]]:
    """(kept frame names, pairs) of one WAI scene by the module's rule; SceneError if unusable."""
    meta = load_scene_meta(scene_dir)
    frames = meta["frames"]
    names = [str(f.get("frame_name", i)) if isinstance(f, dict) else str(i)
             for i, f in enumerate(frames)]
    S = normalized_covisibility(load_covisibility(scene_dir, len(frames), meta=meta))
    kept = da3_sample_frames(len(frames), max_frames, seed)
    pairs = []
    for a in range(len(kept)):
        for b in range(a + 1, len(kept)):
            i, j = kept[a], kept[b]
            if S[i, j] > min_covisibility:
                pairs.append({"scene": scene_dir.name, "frame0": names[i], "frame1": names[j],
                              "covisibility": round(float(S[i, j]), 6)})
    return [names[i] for i in kept], pairs


def pose_pair_list(root: str | Path, min_covisibility: float, max_frames: int = 100, seed: int = 42,
                   scenes: Sequence[str] = (), split_lists: str | Path | None = None,
                   dataset: str | None = None, splits: Sequence[str] = ("test",)) -> dict[str, Any]:
    """The pair-list document of the WAI scenes under ``root`` (see module docstring).

    Args:
        root: a WAI dataset folder (or one scene folder).
        min_covisibility: MapAnything's threshold on the normalised covisibility.
        scenes: keep only these scene names (default: all).
        split_lists / dataset / splits: with MapAnything's split lists, keep only scenes of
            ``splits`` (default: the test split); ``dataset`` defaults to ``root``'s name.
    """
    root = Path(root)
    dirs = scene_dirs(root)
    if split_lists is not None:
        split_of = read_split_lists(split_lists, dataset or root.name)
        dirs = [d for d in dirs if split_of.get(d.name) in set(splits)]
    if scenes:
        dirs = [d for d in dirs if d.name in set(scenes)]
    doc: dict[str, Any] = {"format": PAIR_LIST_FORMAT, "rule": RULE, "max_frames": max_frames,
                           "seed": seed, "min_covisibility": min_covisibility,
                           "dataset": dataset or root.name, "scenes": {}, "pairs": [], "skipped": []}
    for d in dirs:
        try:
            kept, pairs = scene_pairs(d, min_covisibility, max_frames, seed)
        except SceneError as err:
            doc["skipped"].append({"scene": d.name, "reason": str(err)})
            continue
        doc["scenes"][d.name] = {"frames": kept, "pairs": len(pairs)}
        doc["pairs"].extend(pairs)
    return doc


def write_pair_list(doc: dict[str, Any], path: str | Path) -> Path:
    """Write the document as JSON (sorted keys, one pair per line stays diff-able)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path


def _why_no_pairs(doc: dict[str, Any], root: str, scenes: Sequence[str], split_lists: str | None,
                  min_covisibility: float) -> str:
    """One line saying why a pair-list document holds no pairs."""
    if doc["scenes"]:
        return (f"0 pairs: no frame pair of the {len(doc['scenes'])} scene(s) has a normalised covisibility "
                f"above --min-covisibility {min_covisibility:g}")
    if doc["skipped"]:
        first = doc["skipped"][0]
        return f"0 pairs: all {len(doc['skipped'])} scene(s) unusable (first: {first['scene']}: {first['reason']})"
    if scenes or split_lists:
        return f"0 pairs: no WAI scene under {root} matches --scene / --split-lists"
    return (f"0 pairs: no WAI scenes under {root} (a scene is a folder with scene_meta.json); give a WAI "
            f"dataset folder or one scene folder")


@click.command("pair-list", cls=Command)
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The pair-list JSON to write (give it to the wai adapter as options.pair_list).")
@click.option("--min-covisibility", type=float, required=True,
              help="MapAnything's normalised-covisibility threshold: 0.25 for ScanNet++ v2 test, "
                   "0.025 for ETH3D test.")
@click.option("--max-frames", default=100, show_default=True, help="DA3's frames per scene (<= 0: all).")
@click.option("--seed", default=42, show_default=True, help="DA3's frame-sampling seed.")
@click.option("--scene", "scenes", multiple=True, help="Only this scene (repeatable).")
@click.option("--split-lists", type=click.Path(exists=True, file_okay=False), default=None,
              help="MapAnything's split-list folder (<dir>/<split>/<dataset>_scene_list_<split>.npy).")
@click.option("--dataset", default=None, help="Dataset name in the split-list file names (default: ROOT's name).")
@click.option("--split", "splits", multiple=True, default=("test",), show_default=True,
              help="Splits to keep with --split-lists (repeatable).")
@click.option("--allow-empty", is_flag=True, help="Write the list even when it holds no pairs (default: "
              "an error saying why, and no file).")
def pair_list_cmd(root: str, out_path: str, min_covisibility: float, max_frames: int, seed: int,
                  scenes: tuple[str, ...], split_lists: str | None, dataset: str | None,
                  splits: tuple[str, ...], allow_empty: bool) -> None:
    """Write the pose pair list of the WAI scenes under ROOT: DA3's frames (up to 100,
    random.seed(42)), all their pairs above MapAnything's covisibility threshold.
    A list without pairs is an error unless --allow-empty."""
    try:
        check_out_file(out_path, (".json",))
    except OutputPathError as err:
        raise click.UsageError(str(err)) from None
    try:
        doc = pose_pair_list(root, min_covisibility, max_frames, seed, scenes, split_lists,
                             dataset, splits)
    except (SceneError, OSError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    if not doc["pairs"] and not allow_empty:
        click.echo(f"error: {_why_no_pairs(doc, root, scenes, split_lists, min_covisibility)}; nothing written "
                   f"(--allow-empty writes the empty list)", err=True)
        sys.exit(1)
    path = write_pair_list(doc, out_path)
    n_frames = int(np.sum([len(s["frames"]) for s in doc["scenes"].values()]))
    click.echo(f"{len(doc['pairs'])} pairs from {len(doc['scenes'])} scenes ({n_frames} frames) -> {path}")
    for s in doc["skipped"]:
        click.echo(f"  skipped {s['scene']}: {s['reason']}")


__all__ = ["PAIR_LIST_FORMAT", "PairListError", "da3_sample_frames", "scene_pairs", "pose_pair_list",
           "write_pair_list", "read_pair_list", "pairs_by_scene", "pair_list_cmd"]
