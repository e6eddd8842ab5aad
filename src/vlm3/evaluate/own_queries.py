"""Benchmarks with their own queries (eval kind ``records``): a data adapter's records -> cases.

A ``records`` benchmark names a data adapter (``depthlm_jsonl``, ``pairs_txt``,
``spatialrgpt_json``, ``wai``, ...), its input ``path`` and adapter ``options``, and one
``task``. Every record the adapter yields is built by that task's builder as the data
engine builds training samples -- the same focal (``focal_px``: 1000 px, pose 750 px), the
32-px grid, the ``calibration`` policy for views without intrinsics -- except that nothing
is cut away: the adapter option ``preprocessing`` defaults to "pad" here (the whole
focal-normalised image padded to the grid, no pixel budget), so every point the benchmark
gives is asked; "release" (set by ``vlm3 eval`` for a published checkpoint) is the
release's resize; "project" is training's crop (``max_pixels``), whose dropped points are
counted in the coverage (``vlm3.evaluate.coverage``). The benchmark's own queries are kept: DepthLM's given points (``depth_points``), the pair
list's pairs, the bench's questions; nothing is re-sampled (the builders' seeded choices
-- question order, template -- use seed ``seed``, default 0, per record).

``adapter: correspondence_list`` is the one evaluation-only reader: a fixed list of
matches (``vlm3.evaluate.correspondence_list``), which no data adapter yields (the data
engine derives matches from depth and pose).

Bad input (a missing image, intrinsics of the wrong length, an RLE of the wrong size, ...)
is a counted skip with its reason (``Benchmark.skipped``; with ``items``, the number of given
points it held, when known), or with ``strict: true`` one
``InputError`` line naming the file and the problem. Standardised images are written once
(content-addressed PNG) under the cache folder, so the cases hold paths, not pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.evaluate import correspondence_list as corr_list
from vlm3.errors import InputError
from vlm3.tasks import TASKS, get_task
from vlm3.tasks.common import BuildContext, TaskConfig

#: how evaluation standardises a benchmark's own queries unless the benchmark (or the pipeline, for a
#: published checkpoint: "release") says otherwise: the whole focal-normalised image, padded to the grid
EVAL_PREPROCESSING = "pad"


def task_config(task: str, options: dict[str, Any]) -> TaskConfig:
    """The builder's knobs: the task's release focal and budget unless ``focal_px`` /
    ``max_pixels`` are set (`TaskConfig.for_task`)."""
    q = int(options.get("questions_per_sample") or 10)
    return TaskConfig(focal_px=options.get("focal_px") or None, max_pixels=options.get("max_pixels") or None,
                      questions_per_sample=q, eval_questions_per_sample=q,
                      min_covisibility=float(options.get("min_covisibility") or 0.0),
                      text_format=str(options.get("text_format") or "release"),
                      answer_style=str(options.get("answer_style") or "think")).for_task(task)


def _drafts(name: str, o: dict[str, Any], path: Path, task: str, ctx: BuildContext
            ) -> Iterator[tuple[str, Any]]:
    """(id, SampleDraft | skipped-input dict) per input of the benchmark, in its order."""
    from vlm3.io.records import RecordError, Skipped

    adapter_name = str(o.get("adapter") or "")
    if adapter_name == corr_list.ADAPTER:  # evaluation-only: matches given, no pose or depth
        if task != "correspondence":
            raise InputError(f"benchmark {name!r}: adapter {adapter_name} feeds the correspondence task only")
        base = path.parent / str(ctx.options.get("image_dir", "."))
        for where, entry in corr_list.iter_lines(path):
            try:
                if isinstance(entry, RecordError):
                    raise entry
                yield where, corr_list.build_pair(entry, where, base, ctx)
            except RecordError as err:
                yield where, {"source": name, "record_id": where, "path": err.path, "reason": err.problem}
        return
    from vlm3.data.adapters import load_adapter
    from vlm3.data.config import SourceConfig

    try:
        adapter = load_adapter(adapter_name)
    except ValueError as err:
        raise InputError(f"benchmark {name!r}: {err}") from None
    unit = get_task(task)
    seed = int(o.get("seed") or 0)
    for item in adapter.iter_records(SourceConfig(name=name, adapter=adapter_name, path=str(path),
                                                  options=dict(ctx.options))):
        if isinstance(item, Skipped):
            yield item.record_id, item.to_dict()
        elif item.kind not in unit.record_kinds:
            continue  # another task's record (a multi-task source such as wai yields views and pairs)
        elif not unit.usable(item):
            yield item.record_id, {"source": name, "record_id": item.record_id, "path": item.record_id,
                                   "reason": f"a {item.kind} record cannot feed the {task} task"}
        else:
            try:
                yield item.record_id, unit.build(item, ctx, np.random.default_rng(seed))
            except RecordError as err:
                skip = {"source": name, "record_id": item.record_id, "path": err.path, "reason": err.problem}
                given = getattr(item, "depth_points", None)
                if given is not None:  # the benchmark's own points: counted in the coverage as given, not scored
                    skip["items"] = len(given.xy_px)
                yield item.record_id, skip


def record_samples(name: str, o: dict[str, Any], path: Path, cache_root: Path
                   ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(chat samples with image paths relative to ``cache_root``, skipped inputs) of the
    ``records`` benchmark ``name`` with options ``o`` and input ``path`` (see the module doc);
    InputError (one line) for the first bad input under ``strict``."""
    from vlm3.data.shards import store_image
    from vlm3.tasks.packing import build_messages

    task = str(o.get("task") or "")
    if task not in TASKS:
        raise InputError(f"benchmark {name!r}: task {task!r} is not one of {', '.join(TASKS)}")
    # evaluation keeps every point: the whole focal-normalised image, padded to the grid, unless
    # the benchmark (or the pipeline, for a published checkpoint: "release") says otherwise
    options = {"preprocessing": EVAL_PREPROCESSING, **dict(o.get("options") or {})}
    ctx = BuildContext(task_config(task, o), 32, str(o.get("calibration") or "none"), options)
    samples, skipped = [], []
    for sample_id, draft in _drafts(name, o, path, task, ctx):
        if isinstance(draft, dict):
            if o.get("strict"):
                raise InputError(f"{draft['path']}: {draft['reason']}")
            skipped.append(draft)
            continue
        images = [store_image(cache_root, im) for im in draft.images]
        samples.append({"id": sample_id, "task": task, "source": name, "images": images,
                        "messages": build_messages(draft.qa), "labels": draft.labels, "pixmaps": draft.pixmaps,
                        "format_version": draft.format_version})
    return samples, skipped


__all__ = ["record_samples", "task_config"]
