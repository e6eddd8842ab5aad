"""The eval-config schema (``EvalConfig``: decoding settings, trivial-baseline fit, benchmarks)
and its checks, read with the one loader (vlm3.config); ``vlm3 eval --help-config`` lists it.

An eval config (``vlm3/configs/eval/*.yaml``) lists benchmarks; each names a ``kind``:

* ``shards`` -- chat samples built by the data engine (``vlm3 data``): ``root`` (dataset
  root with ``shards/<split>/...``), ``split`` (default ``test``), ``tasks`` (default all),
  ``sources`` (default all: keep only samples of these data sources),
  ``max_samples_per_task``. This is how held-out synthetic scenes and any real dataset
  (converted with the data engine, i.e. focal-normalised) are evaluated.
* ``records`` -- a benchmark with its own queries (vlm3.evaluate.own_queries): ``adapter``
  (a data adapter: depthlm_jsonl, pairs_txt, spatialrgpt_json, ...), ``path`` (its input),
  ``options`` (the adapter's options), ``task``; standardised as training does
  (``focal_px``: default 1000, pose 750; every pixel kept: ``options.preprocessing`` pad by
  default, release for a published checkpoint, project = training's crop within
  ``max_pixels``; ``calibration`` for views without
  intrinsics, e.g. ``anycalib|fov60``), ``questions_per_sample`` (default 10), ``text_format``
  (release), ``seed`` (0), ``strict`` (bad input is one error line instead of a counted skip).
* ``pairs_txt`` -- image pairs with ground-truth pose in the SuperGlue/ScanNet text
  format (``pairs``: the text file; ``image_dir``: folder of images, default ``images``
  next to it; ``resize_max_side``: optional resize as SuperGlue's evaluation does). Not
  standardised like training: baselines only (a model is refused with one line).

Paths may use ``${VAR}``, ``${VAR:-default}`` or ``${oc.env:VAR,default}``; relative
paths are relative to the current directory. ``optional: true`` turns a missing root into
a counted skip with a reason instead of an error (e.g. ../shared samples on a fresh clone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlm3.config import ConfigError, load, option
from vlm3.evaluate.benchmarks import KINDS, Benchmark
from vlm3.predictors.base import DECODINGS
from vlm3.tasks import TASKS

#: the keys each kind reads (the others must stay unset)
KIND_KEYS = {"shards": ("root", "split", "tasks", "sources", "max_samples_per_task"),
             "records": ("path", "adapter", "options", "task", "focal_px", "max_pixels", "questions_per_sample",
                         "calibration", "text_format", "seed", "strict"),
             "pairs_txt": ("pairs", "image_dir", "resize_max_side")}
#: the key naming each kind's input
INPUT_KEY = {"shards": "root", "records": "path", "pairs_txt": "pairs"}


@dataclass
class BenchmarkConfig:
    """One benchmark entry (unset keys take the kind's default, see the module doc)."""

    name: str = option("???", "Benchmark name (a column of the report).")
    kind: str = option("???", "shards (data-engine samples), records (a benchmark's own queries through a data "
                              "adapter) or pairs_txt (a SuperGlue/ScanNet pair list; baselines only).")
    optional: bool = option(False, "A missing root is a counted skip with a reason instead of an error.")
    root: str | None = option(None, "shards: dataset root (with shards/<split>/).")
    split: str | None = option(None, "shards: split to evaluate (default test).")
    tasks: list[str] | None = option(None, "shards: tasks to evaluate (default all).")
    sources: list[str] | None = option(None, "shards: keep only samples of these data sources (default all).")
    max_samples_per_task: int | None = option(None, "shards: cap samples per task (default none).")
    pairs: str | None = option(None, "pairs_txt: the pair list (text file).")
    image_dir: str | None = option(None, "pairs_txt: image folder next to the pair list (default images).")
    resize_max_side: int | None = option(None, "pairs_txt: resize so the long side is at most this (pixels).")
    path: str | None = option(None, "records: the adapter's input (file or folder).")
    adapter: str | None = option(None, "records: data adapter (depthlm_jsonl, pairs_txt, spatialrgpt_json, ...).")
    options: dict[str, Any] | None = option(None, "records: the adapter's options (see its docstring).")
    task: str | None = option(None, "records: the task its records feed (depth, correspondence, pose, object).")
    focal_px: float | None = option(None, "records: focal length after normalisation (default: training's, "
                                          "1000 px; pose 750 px).")
    max_pixels: int | None = option(None, "records: image cap in pixels under options.preprocessing: project (the "
                                          "training crop; default the task's release budget); the default pad and "
                                          "release keep the whole image.")
    questions_per_sample: int | None = option(None, "records: questions per case (default 10).")
    calibration: str | None = option(None, "records: views without K: none, anycalib, anycalib|fov60, fov<deg>.")
    text_format: str | None = option(None, "records: release (default) or compact.")
    seed: int | None = option(None, "records: seed of the builders' choices (question order, template).")
    strict: bool | None = option(None, "records: bad input is one error line instead of a counted skip.")

    def validate(self, where: str) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"{where}.kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        for needed in (INPUT_KEY[self.kind],) + (("adapter", "task") if self.kind == "records" else ()):
            if getattr(self, needed) is None:
                raise ConfigError(f"{where}.{needed}: missing (a {self.kind} benchmark needs it)")
        if self.kind == "records" and self.task not in TASKS:
            raise ConfigError(f"{where}.task: {self.task!r} is not one of {', '.join(TASKS)}")
        for task in self.tasks or ():
            if task not in TASKS:
                raise ConfigError(f"{where}.tasks: {task!r} is not one of {', '.join(TASKS)}")
        if self.max_samples_per_task is not None and self.max_samples_per_task < 1:
            raise ConfigError(f"{where}.max_samples_per_task: {self.max_samples_per_task} is not >= 1")
        for kind, keys in KIND_KEYS.items():
            for key in keys:
                if kind != self.kind and getattr(self, key) is not None:
                    raise ConfigError(f"{where}.{key}: not a key of a {self.kind} benchmark "
                                      f"(allowed: {', '.join(KIND_KEYS[self.kind])})")

    def benchmark(self) -> Benchmark:
        """The runtime benchmark: the set keys of its kind as options."""
        opts = {k: getattr(self, k) for k in KIND_KEYS[self.kind] if getattr(self, k) is not None}
        return Benchmark(self.name, self.kind, opts, self.optional)


@dataclass
class TrivialFit:
    """Where the trivial baselines take their statistics (median depth, mean translation, ...)."""

    root: str | None = option(None, "Dataset root whose shards fit the trivial baselines (None: unfitted).")
    split: str = option("train", "Split used for the fit.")


@dataclass
class EvalConfig:
    """One evaluation: decoding settings, the trivial-baseline fit and the benchmarks."""

    format_version: str | None = option(None, "Text format version of the prompts (recorded; cache key).")
    max_new_tokens: int = option(64, "Longest model answer in tokens.")
    paper_tables: bool = option(False, "Also write paper.md: the paper's tables with the run's rows beside the "
                                       "published ones (vlm3.evaluate.paper; benchmark names as in configs/eval/paper.yaml).")
    numbers: str = option("greedy", "How the model's numbers are decoded: greedy, or median (the demo's "
                                    "small model, vlm3.train.small).")
    decoding: str = option("exact", "How the model's answers are decoded (transformers backend): exact (greedy, "
                                    "the answer template as a checked draft), template (the template forced: "
                                    "fastest, greedy answers only where the model writes it) or generate (plain "
                                    "generate). On vllm:DIR, template forces it by structured output.")
    trivial_fit: TrivialFit = field(default_factory=TrivialFit)
    benchmarks: list[BenchmarkConfig] = field(default_factory=list)

    def validate(self) -> None:
        if not self.benchmarks:
            raise ConfigError("benchmarks: none listed")
        if self.decoding not in DECODINGS:
            raise ConfigError(f"decoding: {self.decoding!r} is not one of {', '.join(DECODINGS)}")
        if self.decoding == "template" and self.numbers != "greedy":
            raise ConfigError(f"decoding: template forces greedy numbers; numbers={self.numbers!r} needs "
                              f"decoding=exact or generate")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens: {self.max_new_tokens} is not >= 1")
        for i, b in enumerate(self.benchmarks):
            b.validate(f"benchmarks[{i}]")
        names = [b.name for b in self.benchmarks]
        if len(set(names)) != len(names):
            raise ConfigError(f"benchmarks: duplicate names in {names}")


def load_eval_config(source: str | Path | Mapping[str, Any], overrides: Sequence[str] = (),
                     variables: Mapping[str, str] | None = None) -> EvalConfig:
    """The resolved config from an eval YAML, a shipped name (``vlm3/configs/eval/<name>.yaml``)
    or a mapping, with dotted ``overrides``; ConfigError (one line) when malformed."""
    return load(EvalConfig, source, overrides, kind="eval", variables=variables)


__all__ = ["BenchmarkConfig", "TrivialFit", "EvalConfig", "KIND_KEYS", "load_eval_config"]
