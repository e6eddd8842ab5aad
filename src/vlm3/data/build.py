"""Building a dataset: enumerate sources, plan the mixture, build shards (local or Ray), manifest.

The unit of work is the shard: ``build_shard(spec, root)`` is a pure function of its JSON
spec (records, seeds, task knobs) that writes the shard's images, JSONL and done-marker,
so the local engine and Ray Data produce the same bytes, and a re-run after an
interruption keeps every finished shard and rebuilds the rest identically.

Testing hook: with ``VLM3_DATA_FAIL_AFTER_SHARDS=N`` in the environment the local engine
raises after building N shards (to test resume after a crash).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vlm3.config import save, to_dict
from vlm3.data.adapters import load_adapter
from vlm3.data.config import DataConfig
from vlm3.errors import Vlm3Error
from vlm3.tasks.common import TaskConfig
from vlm3.data.mixture import plan, split_counts
from vlm3.io.records import Record, RecordError, Skipped, record_from_dict
from vlm3.io.shard_index import sidecar_path
from vlm3.data.shard_index import build_indexes
from vlm3.data.shards import (atomic_write_bytes, is_done, marker_path, shard_name, store_image,
                              write_shard)
from vlm3.tasks.common import BuildContext
from vlm3.protocol import FORMAT_VERSION, format_version_of
from vlm3.standardize.calibration import provided_policies, register_policy
from vlm3.tasks import get_task
from vlm3.tasks.packing import pack_sample

FAIL_AFTER_ENV = "VLM3_DATA_FAIL_AFTER_SHARDS"
LAYOUT_VERSION = "vlm3-data-v1"


class BuildError(Vlm3Error, RuntimeError):
    """A build stopped: bad input under --strict, a missing required source, a missing extra."""


def enumerate_sources(cfg: DataConfig, strict: bool = False
                      ) -> tuple[dict[str, list[Record]], list[dict], dict]:
    """Run every source's adapter. Returns (records per source, adapter skips, source report)."""
    records: dict[str, list[Record]] = {}
    skipped: list[dict] = []
    report: dict[str, Any] = {}
    for s in cfg.sources:
        if not Path(s.path).exists():
            if s.optional:
                report[s.name] = {"status": "missing (optional, left out)", "path": s.path}
                continue
            raise BuildError(f"{s.path}: source {s.name!r} not found (mark it optional: true to "
                             f"build without it)")
        try:
            adapter = load_adapter(s.adapter)
        except ValueError as err:
            raise BuildError(f"source {s.name!r}: {err}") from None
        recs: list[Record] = []
        n_skip = 0
        for item in adapter.iter_records(s):
            if isinstance(item, Skipped):
                if strict:
                    raise BuildError(f"{item.path}: {item.reason}")
                skipped.append(item.to_dict())
                n_skip += 1
            else:
                recs.append(item)
        records[s.name] = recs
        report[s.name] = {"status": "ok", "path": s.path, "adapter": s.adapter,
                          "records": len(recs), "skipped": n_skip}
    return records, skipped, report


def make_specs(cfg: DataConfig, records: dict[str, list[Record]]) -> tuple[list[dict], dict]:
    """Shard specs (JSON-able, ordered) from the mixture plan, and the mixture report."""
    planned, report = plan(cfg, records)
    groups: dict[tuple[str, str, str], list] = defaultdict(list)
    for p in planned:
        groups[(p.split, p.task, p.source)].append(p)
    opts = {s.name: s.options for s in cfg.sources}
    specs = []
    for (split, task, source), items in groups.items():
        for k in range(0, len(items), cfg.shard_size):
            chunk = items[k:k + cfg.shard_size]
            specs.append({
                "name": shard_name(split, task, source, k // cfg.shard_size),
                "split": split, "task": task, "source": source,
                "format_version": format_version_of(cfg.tasks[task].text_format), "grid": cfg.grid,
                "calibration": cfg.calibration,
                "task_cfg": _task_cfg_for_split(cfg.tasks[task], split), "options": opts[source],
                "samples": [{"id": p.sample_id, "seed": p.seed,
                             "record": records[source][p.record_index].to_dict()} for p in chunk],
            })
    return specs, report


def _task_cfg_for_split(tc: TaskConfig, split: str) -> dict[str, Any]:
    """The task config a shard of ``split`` is built with: val/test samples carry
    ``eval_questions_per_sample`` questions when it is set."""
    out = dataclasses.asdict(tc)
    if split != "train" and tc.eval_questions_per_sample is not None:
        out["questions_per_sample"] = tc.eval_questions_per_sample
    return out


def build_shard(spec: dict[str, Any], root: str | Path, strict: bool = False) -> dict[str, Any]:
    """Build one shard from its spec into ``root``; returns its done-marker (see shards.py).

    Records that fail (RecordError) are skipped and listed in the marker, or with
    ``strict`` raise BuildError naming the file and the problem.
    """
    root = Path(root)
    task = get_task(spec["task"])
    ctx = BuildContext(TaskConfig(**spec["task_cfg"]), spec["grid"], spec["calibration"],
                       dict(spec["options"]))
    lines, skipped = [], []
    for s in spec["samples"]:
        record = record_from_dict(s["record"])
        try:
            draft = task.build(record, ctx, np.random.default_rng(s["seed"]))
        except RecordError as err:
            if strict:
                raise BuildError(str(err)) from None
            skipped.append({"sample_id": s["id"], "record_id": record.record_id,
                            "path": err.path, "reason": err.problem})
            continue
        images = [store_image(root, im) for im in draft.images]
        lines.append(pack_sample(draft.qa, images, spec["task"], spec["source"], spec["split"],
                                 draft.labels, draft.pixmaps, s["id"], draft.format_version))
    return write_shard(root, spec, lines, skipped)


def run_local(specs: list[dict], root: Path, strict: bool = False, progress: bool = True
              ) -> list[dict]:
    """Build pending shards one after another in this process; finished ones are kept."""
    fail_after = int(os.environ.get(FAIL_AFTER_ENV, "0") or 0)
    markers, built = [], 0
    for spec in tqdm(specs, desc="shards", unit="shard", disable=not progress):
        marker = is_done(root, spec)
        if marker is None:
            if fail_after and built >= fail_after:
                raise RuntimeError(f"{FAIL_AFTER_ENV}={fail_after}: stopping on purpose (testing hook)")
            marker = build_shard(spec, root, strict)
            built += 1
        markers.append(marker)
    return markers


def _build_shard_row(row: dict[str, Any], root: str, strict: bool,
                     policies: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ray Data row function: build the shard whose JSON spec is ``row["spec"]``.

    ``policies``: the calibration policies the driver's command registered (``model:DIR``), made
    known to this worker process before it standardises a view. A BuildError (strict mode) comes
    back as ``row["error"]`` rather than as a failed Ray task, so the driver can stop with the
    same one-line message as the local engine.
    """
    for prefix, factory in (policies or {}).items():
        register_policy(prefix, factory)
    spec = json.loads(row["spec"])
    try:
        marker = build_shard(spec, root, strict)
    except BuildError as err:
        return {"name": spec["name"], "error": str(err)}
    return {"name": marker["name"], "error": ""}


def run_ray(specs: list[dict], root: Path, strict: bool = False, progress: bool = True
            ) -> list[dict]:
    """Build pending shards with Ray Data (``pip install 'vlm3[ray]'``); same bytes as local.

    Each pending shard is one row (and one block) of a Ray dataset mapped with the same
    ``build_shard`` as the local engine; images are content-addressed and every file is
    written atomically, so workers never clash and the bytes do not depend on the order.
    Connects to the cluster named by ``RAY_ADDRESS`` or starts a local Ray instance
    (when Ray is not yet initialised). Paths in the config must resolve on every worker
    (a shared filesystem on a multi-node cluster); the output root is made absolute.
    """
    try:
        import ray
        import ray.data
    except ImportError:
        raise BuildError("--engine ray needs the ray extra: pip install 'vlm3[ray]'") from None
    root = Path(root).resolve()
    pending = [s for s in specs if is_done(root, s) is None]
    if pending:
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        ds = ray.data.from_items([{"spec": json.dumps(s)} for s in pending],
                                 override_num_blocks=len(pending))
        try:
            rows = ds.map(_build_shard_row, fn_kwargs={"root": str(root), "strict": strict,
                                                       "policies": provided_policies()}).take_all()
        except Exception as err:  # a worker crashed (not a record problem): one line, no trace
            first = str(err).strip().splitlines()
            raise BuildError(f"Ray engine failed: {first[-1] if first else type(err).__name__}"
                             ) from None
        errors = sorted((r["name"], r["error"]) for r in rows if r["error"])
        if errors:
            raise BuildError(errors[0][1])
    markers = []
    for s in specs:
        marker = is_done(root, s)
        if marker is None:
            raise BuildError(f"{s['name']}: Ray finished but the shard is missing or corrupt")
        markers.append(marker)
    return markers


def _remove_stale(root: Path, keep: set[str]) -> list[str]:
    """Delete shards (and markers) this program wrote earlier that the current plan lacks."""
    removed = []
    for m in sorted((root / "shards").glob("*/*.done.json")):
        name = str(m.relative_to(root))[: -len(".done.json")] + ".jsonl"
        if name not in keep:
            (root / name).unlink(missing_ok=True)
            sidecar_path(root / name).unlink(missing_ok=True)
            m.unlink()
            removed.append(name)
    return removed


def assemble_manifest(cfg: DataConfig, root: Path, markers: list[dict], adapter_skips: list[dict],
                      sources: dict, mixture: dict, records: dict[str, list[Record]]) -> dict:
    """The manifest dict (also written to ``root/manifest.json``)."""
    counts: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    build_skips, shards = [], []
    for m in markers:
        counts[m["split"]][m["task"]][m["source"]] += m["written"]
        build_skips.extend({**s, "shard": m["name"]} for s in m["skipped"])
        shards.append({"name": m["name"], "sha256": m["sha256"], "samples": m["written"],
                       "split": m["split"], "task": m["task"], "source": m["source"]})
    reasons = skip_reasons(adapter_skips + build_skips)
    n_images = len(list((root / "images").glob("*.png"))) if (root / "images").is_dir() else 0
    return {
        "format_version": FORMAT_VERSION, "layout_version": LAYOUT_VERSION,
        "format_versions": {t: format_version_of(tc.text_format) for t, tc in cfg.tasks.items()},
        "config": to_dict(cfg), "sources": sources, "splits": split_counts(cfg, records),
        "mixture": mixture,
        "counts": {sp: {t: dict(v) for t, v in d.items()} for sp, d in counts.items()},
        "total_samples": sum(m["written"] for m in markers), "images": n_images,
        "skipped": {"adapters": adapter_skips, "build": build_skips, "by_reason": reasons},
        "shortfall": shortfall(cfg, mixture, counts),
        "shards": shards,
    }


def skip_reasons(skips: list[dict]) -> dict[str, int]:
    """{reason: number of distinct bad inputs}. A record drawn several times (a source used for
    more than one pass) counts once; reasons that differ only in their numbers share one line,
    labelled with the first one seen (``... (and similar)`` when the numbers vary)."""
    seen: set[tuple] = set()
    groups: dict[str, list[str]] = defaultdict(list)
    for sk in skips:
        key = (sk.get("record_id"), sk.get("path"), sk["reason"])
        if key in seen:
            continue
        seen.add(key)
        groups[re.sub(r"\d+(?:\.\d+)?", "#", sk["reason"])].append(sk["reason"])
    out = {}
    for reasons in groups.values():
        label = reasons[0] if len(set(reasons)) == 1 else f"{reasons[0]} (and similar)"
        out[label] = len(reasons)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def shortfall(cfg: DataConfig, mixture: dict, counts: dict) -> list[dict]:
    """Every (task, split) that got fewer samples than requested, with the reason:
    no usable record in that split, or samples skipped while building."""
    out = []
    for task, tc in cfg.tasks.items():
        for split, requested in tc.samples.items():
            if requested <= 0:
                continue
            written = sum(counts.get(split, {}).get(task, {}).values())
            if written >= requested:
                continue
            planned = sum(e["planned"] for e in mixture.get(task, {}).get(split, {}).get("sources", {}).values())
            why = (f"no source has usable {task} records in the {split} split" if planned == 0 else
                   f"{planned - written} planned samples were skipped while building (see skipped by reason)")
            out.append({"task": task, "split": split, "requested": int(requested), "written": int(written),
                        "reason": why})
    return out


def build(cfg: DataConfig, out_dir: str | Path | None = None, engine: str = "local",
          strict: bool = False, progress: bool = True) -> dict:
    """Build (or resume) the dataset described by ``cfg``; returns the manifest."""
    cfg.check_buildable()
    root = Path(out_dir or cfg.output_dir)
    records, adapter_skips, sources = enumerate_sources(cfg, strict)
    specs, mixture = make_specs(cfg, records)
    root.mkdir(parents=True, exist_ok=True)  # after the sources are found: a missing one leaves no folder
    if engine == "local":
        markers = run_local(specs, root, strict, progress)
    elif engine == "ray":
        markers = run_ray(specs, root, strict, progress)
    else:
        raise BuildError(f"unknown engine {engine!r}; use local or ray")
    _remove_stale(root, {s["name"] for s in specs})
    build_indexes(root, [s["name"] for s in specs], progress)  # the memory-mapped index training reads (vlm3.io.shard_index)
    manifest = assemble_manifest(cfg, root, markers, adapter_skips, sources, mixture, records)
    # the resolved config: `vlm3 data build DIR/config.yaml` rebuilds this set
    save(dataclasses.replace(cfg, output_dir=str(root)), root / "config.yaml")
    atomic_write_bytes(root / "manifest.json",
                       (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    if manifest["total_samples"] == 0:
        top = next(iter(manifest["skipped"]["by_reason"]), None)
        why = f"most common skip: {top}" if top else "no source has usable records for the tasks asked"
        raise BuildError(f"0 samples built ({why}); see {root / 'manifest.json'} (sources, skipped, shortfall)")
    return manifest


__all__ = ["BuildError", "FAIL_AFTER_ENV", "enumerate_sources", "make_specs", "build_shard",
           "run_local", "run_ray", "assemble_manifest", "skip_reasons", "shortfall", "build", "marker_path"]
