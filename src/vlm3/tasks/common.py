"""Task builders: one record + a seeded RNG -> one chat sample draft in the text protocol.

Each builder module (``depth``, ``correspondence``, ``pose``, ``objects``) has
``build(record, ctx: BuildContext, rng) -> SampleDraft`` and raises ``RecordError`` for
input it cannot use (counted as a skip). A draft holds standardised images as arrays;
the shard writer stores them (content-addressed PNG) and fills in ids and paths.
Builders write the text format of ``ctx.task.text_format`` ("release", the default, or
"compact") through `text_format_for` and record its ``format_version`` in the draft. Both
formats consume the RNG identically, so the same seed picks the same points/questions in
either format.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import numpy as np

from vlm3.config import option
from vlm3.io.records import ViewRecord
from vlm3.protocol import FORMAT_VERSION, format_version_of, text_format_of_version
from vlm3.standardize import StandardView, standardize_view
from vlm3.standardize.release import RELEASE_MAX_PIXELS, preprocessing_of


@dataclass
class TaskConfig:
    """Per-task standardisation and sampling knobs.

    focal_px: target focal length after normalisation; None (the default) = the task's own
        (``Task.focal_px``: the release's 1000 px; pose 750; calibration is not focal-normalised).
    max_pixels: image-size cap (pixels) after focal normalisation; a token budget of
        N visual tokens is N * grid**2 pixels. Images are centre-cropped to fit. None (the
        default) = the task's release budget (1,310,720 px; pose 5,529,600 px).
    questions_per_sample: Q&A turns packed per sample (depth, correspondence, object; <= 10).
    eval_questions_per_sample: the same for val/test samples (default: questions_per_sample).
        Evaluation asks every question on its own, so more turns there only add test points
        (the demo trains on short 4-point samples and tests on 10 points per image).
    samples: number of samples per split, spread over sources by the mixture weights.
    depth_label_kind: "ray" (distance to the camera centre) or "z"; a source may override.
    min_covisibility: pairs below this covisible fraction are not used (correspondence, pose).
    answer_style: release depth answers, "think" (DepthLM/release style) or "plain";
        compact depth answers are always the bare number.
    text_format: "release" (vlm3-release-v1, the default) or "compact" (vlm3-compact-v3:
        short project prompts and bare answers, docs/protocol.md); samples carry the
        matching ``format_version``.
    """

    focal_px: float | None = option(None, "Target focal length (px) after normalisation; unset = the task's release "
                                          "value: 1000, pose 750 (vlm3.tasks.unit.Task.focal_px); calibration has none "
                                          "(asked on the image as given).")
    max_pixels: int | None = option(None, "Image budget (px) per view, centre-cropped to fit; unset = the task's "
                                          "release budget: 1310720 (1,280 tokens), pose 5529600 (5,400 tokens).")
    questions_per_sample: int = 10
    eval_questions_per_sample: int | None = None
    samples: dict[str, int] = field(default_factory=lambda: {"train": 100, "val": 10, "test": 10})
    depth_label_kind: str = "ray"
    min_covisibility: float = 0.25
    answer_style: str = "think"
    text_format: str = "release"

    def for_task(self, task: str) -> "TaskConfig":
        """A copy with ``focal_px`` / ``max_pixels`` left unset filled with ``task``'s defaults (its
        unit's ``focal_px`` / ``max_pixels``; a task asked before focal normalisation keeps None)."""
        from vlm3.tasks import get_task  # the registry imports the units, which import this module

        unit = get_task(task)
        if unit.focal_px is None and self.focal_px is not None:
            raise ValueError(f"task {task!r} is asked on the image as given, without focal normalisation: "
                             f"leave its focal_px unset (got {self.focal_px})")
        focal = None if unit.focal_px is None else (unit.focal_px if self.focal_px is None else float(self.focal_px))
        return replace(self, focal_px=focal,
                       max_pixels=unit.max_pixels if self.max_pixels is None else int(self.max_pixels))


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs besides the record: task knobs, grid, calibration, source options."""

    task: TaskConfig
    grid: int = 32
    calibration: str = "none"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SampleDraft:
    """A sample before storage: images (H, W, 3) uint8, (question, answer) turns, labels, pixmaps.

    The shard writer packs the turns with ``vlm3.tasks.packing.pack_sample``, passing
    ``format_version`` (the text format the turns are written in).
    """

    images: list[np.ndarray]
    qa: list[tuple[str, str]]
    labels: dict[str, Any]
    pixmaps: list[dict[str, Any]]
    format_version: str = FORMAT_VERSION


def text_format_for(task: str, format_version: str | None = None) -> ModuleType:
    """The text-format module of ``task`` for ``format_version`` (None: the release).

    ``vlm3.tasks.<task>.<module>``, the module named by the format's row of
    ``vlm3.protocol.TEXT_FORMAT_TABLE``: ``text`` for the release format (vlm3-release-v1),
    ``compact`` for the demo's compact format (vlm3-compact-v3); all have the same
    functions (prompts, answer renderers, parsers), and each parser reads its own format
    only, so parse a record's answers with the module of the record's ``format_version``.
    ValueError for an unknown format version or task.
    """
    fmt = text_format_of_version(format_version)
    name = f"vlm3.tasks.{task}.{fmt.module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name not in (f"vlm3.tasks.{task}", name):
            raise
        raise ValueError(f"task {task!r} has no {fmt.format_version} text format") from None


def standardize_for(task: str, view: ViewRecord, ctx: BuildContext, **kwargs: Any) -> StandardView:
    """The one place a builder standardises a view (``vlm3.standardize.standardize_view``):
    ``task``'s focal length and image budget (``ctx.task``, unset = the release's), the grid,
    the calibration policy and the source option ``preprocessing`` ("project", the default:
    crop to the grid and budget; "pad": whole image padded to the grid, how evaluation asks
    the project's own models; "release": the published checkpoints' resize). ``kwargs``:
    ``with_depth``, ``depth_kind``, ``one_scale``. Raises RecordError as standardize_view."""
    tc = ctx.task.for_task(task)
    return standardize_view(view, tc.focal_px, tc.max_pixels, ctx.grid, ctx.calibration,
                            preprocessing=preprocessing_of(ctx.options), **kwargs)


def release_mode(ctx: BuildContext) -> bool:
    """True when the source option ``preprocessing`` is "release" (the published checkpoints')."""
    return preprocessing_of(ctx.options) == "release"


def draft_format_version(ctx: BuildContext) -> str:
    """The ``format_version`` of the text a builder writes under ``ctx`` (ValueError on an
    unknown ``text_format``)."""
    return format_version_of(str(getattr(ctx.task, "text_format", "release")))


def spread_pick(xy: np.ndarray, width: int, height: int, n: int, rng: np.random.Generator,
                values: np.ndarray | None = None, cells: int = 3, value_bins: int = 4,
                max_candidates: int = 4096) -> np.ndarray:
    """Indices of up to ``n`` candidates spread over the image (cells x cells) and, when
    ``values`` is given, over its range (quantile bins). Round-robin over non-empty groups
    in random order; deterministic for a given ``rng`` state.

    Args:
        xy: (N, 2) integer pixel coordinates of candidates.
        values: optional (N,) values to spread over (e.g. depth in metres).
        max_candidates: above this many candidates, work on a uniform random subset of
            about this size (keeps the cost independent of the image size).
    Returns: (k,) int indices into ``xy``, k = min(n, N), distinct.
    """
    if len(xy) > max_candidates:
        sub = np.unique(rng.integers(0, len(xy), size=max_candidates))
        picked = spread_pick(xy[sub], width, height, n, rng,
                             None if values is None else values[sub], cells, value_bins,
                             max_candidates)
        return sub[picked]
    count = len(xy)
    if count == 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    cx = np.minimum(xy[:, 0] * cells // max(width, 1), cells - 1)
    cy = np.minimum(xy[:, 1] * cells // max(height, 1), cells - 1)
    group = cx * cells + cy
    if values is not None and value_bins > 1:
        ranks = np.empty(count, dtype=np.int64)  # rank of each value = inverse of its sort order
        ranks[np.argsort(values, kind="stable")] = np.arange(count)
        group = group * value_bins + (ranks * value_bins // count)
    order = rng.permutation(count)  # random order inside each group
    g_sorted = group[order]
    by_group = np.argsort(g_sorted, kind="stable")  # groups ascending, random order kept inside
    starts = np.flatnonzero(np.diff(g_sorted[by_group], prepend=-1))
    buckets = np.split(order[by_group], starts[1:])
    bucket_order = rng.permutation(len(buckets))
    picked: list[int] = []
    depth = 0
    while len(picked) < min(n, count):
        progressed = False
        for b in bucket_order:
            if depth < len(buckets[b]):
                picked.append(int(buckets[b][depth]))
                progressed = True
                if len(picked) >= n:
                    break
        if not progressed:
            break
        depth += 1
    return np.asarray(picked, dtype=np.int64)


__all__ = ["BuildContext", "RELEASE_MAX_PIXELS", "SampleDraft", "TaskConfig", "draft_format_version", "release_mode",
           "spread_pick", "standardize_for", "text_format_for"]
