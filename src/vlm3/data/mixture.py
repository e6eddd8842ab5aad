"""Mixture: scene-level splits and the seeded, deterministic plan of which record feeds which sample.

Splits: a scene goes to val/test/train by a hash of (source, scene_id) against the
source's ``split_fractions`` (independent of the seed, so test scenes stay fixed when the
mixture is re-drawn), or all to ``split`` when a source forces one (``split: source`` keeps the split the
source itself gives each scene, e.g. the synthetic world's). All views and pairs
of a scene share its split: no scene leaks across splits.

Plan, per task and split with N samples requested: each sample draws its source from the
weights of the sources that have usable records there (multinomial, seeded), then takes
that source's records in a seeded random order, reshuffled on every pass (so repeats
only start after every record was used once). Every sample gets its own seed for the
builder's random choices. The same config gives the same plan, on any machine.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from vlm3.data.config import DataConfig
from vlm3.io.records import Record
from vlm3.tasks import get_task
from vlm3.tasks.packing import SPLITS


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts' text (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def split_of(source: str, scene_id: str, fractions: Mapping[str, float],
             forced: str | None = None, hint: str | None = None) -> str:
    """"train", "val" or "test" for a scene (see module docstring). ``forced="source"`` uses
    the record's own ``hint`` (its source's split) and falls back to the hash without one."""
    if forced == "source":
        if hint in SPLITS:
            return hint
    elif forced is not None:
        return forced
    u = stable_int("split", source, scene_id) / 2.0**64
    val, test = float(fractions.get("val", 0.0)), float(fractions.get("test", 0.0))
    if u < val:
        return "val"
    if u < val + test:
        return "test"
    return "train"


def usable_for(task: str, min_covisibility: float = 0.0) -> Callable[[Record], bool]:
    """Predicate: can a record feed this task (by kind, available ground truth and, for
    pairs with a stored covisibility, ``min_covisibility``)? Asks the task unit
    (``Task.usable``); ValueError for an unknown task."""
    unit = get_task(task)
    return lambda r: unit.usable(r, min_covisibility)


@dataclass(frozen=True)
class PlannedSample:
    """One sample to build: id, task, source, split, the record's index in its source, seed."""

    sample_id: str
    task: str
    source: str
    split: str
    record_index: int
    seed: int


def plan(cfg: DataConfig, records: Mapping[str, Sequence[Record]]
         ) -> tuple[list[PlannedSample], dict]:
    """The full sample plan and a report of requested weights vs planned counts.

    Args:
        cfg: resolved config (tasks, sources with weights and split rules, seed).
        records: source name -> its records, in adapter order.
    Returns:
        (samples ordered by task, split, source, index; report
        ``{task: {split: {source: {"weight", "share", "planned", "records", "passes"}}}}``).
    """
    out: list[PlannedSample] = []
    report: dict = {}
    by_name = {s.name: s for s in cfg.sources}
    for task, tcfg in cfg.tasks.items():
        ok = usable_for(task, tcfg.min_covisibility)
        report[task] = {}
        for split in SPLITS:
            n = int(tcfg.samples.get(split, 0))
            pools: dict[str, list[int]] = {}
            for s in cfg.sources:
                w = float(s.weights.get(task, 0.0))
                if w <= 0 or s.name not in records:
                    continue
                idx = [i for i, r in enumerate(records[s.name])
                       if ok(r) and split_of(s.name, r.scene_id, s.split_fractions, s.split, r.split_hint) == split]
                if idx:
                    pools[s.name] = idx
            if n <= 0 or not pools:
                report[task][split] = {"requested": n, "sources": {}}
                continue
            names = list(pools)
            weights = np.array([float(by_name[k].weights[task]) for k in names])
            p = weights / weights.sum()
            rng = np.random.default_rng(stable_int(cfg.seed, "mixture", task, split))
            draws = rng.choice(len(names), size=n, p=p)
            counts = np.bincount(draws, minlength=len(names))
            entry = {}
            for k, name in enumerate(names):
                pool = pools[name]
                m = int(counts[k])
                order: list[int] = []
                passes = 0
                while len(order) < m:
                    prng = np.random.default_rng(stable_int(cfg.seed, "order", task, split, name, passes))
                    order.extend(int(pool[i]) for i in prng.permutation(len(pool)))
                    passes += 1
                for j in range(m):
                    out.append(PlannedSample(f"{task}-{name}-{split}-{j:07d}", task, name, split,
                                             order[j], stable_int(cfg.seed, "sample", task, split, name, j)))
                entry[name] = {"weight": float(weights[k]), "share": float(p[k]), "planned": m,
                               "records": len(pool), "passes": passes}
            report[task][split] = {"requested": n, "sources": entry}
    return out, report


def split_counts(cfg: DataConfig, records: Mapping[str, Sequence[Record]]) -> dict:
    """{source: {split: {"scenes": n, "records": n}}} for the manifest (leak checks)."""
    out: dict = {}
    for s in cfg.sources:
        scenes: dict[str, set] = defaultdict(set)
        counts: dict[str, int] = defaultdict(int)
        for r in records.get(s.name, []):
            sp = split_of(s.name, r.scene_id, s.split_fractions, s.split, r.split_hint)
            scenes[sp].add(r.scene_id)
            counts[sp] += 1
        out[s.name] = {sp: {"scenes": len(scenes[sp]), "records": counts[sp]} for sp in SPLITS}
    return out


__all__ = ["stable_int", "split_of", "usable_for", "PlannedSample", "plan", "split_counts"]
