"""The data-build schema (``DataConfig``, ``SourceConfig``; ``TaskConfig`` from vlm3.tasks.common)
and its range checks; read with the one loader (vlm3.config), the resolved form goes in the
manifest and ``<dataset>/config.yaml``.

Strings may use ``${VAR}``, ``${VAR:-default}`` or ``${oc.env:VAR,default}``; they are
expanded from the environment (plus ``--var NAME=VALUE`` on the CLI), so data roots never
live in source code. Relative paths are taken from the current directory.

Layout of a config file (``vlm3 data build --help-config`` lists every key)::

    seed: 0
    output_dir: ${VLM3_DATA_OUT:-data/demo_set}
    calibration: none          # none | anycalib | anycalib|fov60 | fov<deg> (e.g. fov60: a stated guess)
    shard_size: 64             # samples per shard
    grid: 32                   # Qwen3-VL: one visual token per 32x32 px
    tasks:
      depth: {focal_px: 1000, max_pixels: 1310720, questions_per_sample: 10,
              samples: {train: 1000, val: 50, test: 50}, depth_label_kind: ray}
      ...
    sources:
      - {name: nyu, adapter: rgbd_folder, path: ${VLM3_REAL_DATA}/nyu/meta.json,
         weights: {depth: 0.5}, split: null, split_fractions: {val: 0.1, test: 0.1},
         optional: true, options: {depth_kind: z}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlm3.config import ConfigError, load, option
from vlm3.protocol import TEXT_FORMATS
from vlm3.tasks import TASKS
from vlm3.tasks.common import TaskConfig
from vlm3.tasks.object.build import qualitative_fraction
from vlm3.tasks.packing import SPLITS


@dataclass
class SourceConfig:
    """One source: which adapter reads it, where, and its mixture weight per task.

    name: the source's name in shard names and sample ``source`` fields (letters, digits, _ and .).
    adapter: the adapter reading it (scene_format, rgbd_folder, pairs_txt, spatialrgpt_json).
    path: the adapter's input (a folder or file; relative to the current directory).
    weights: mixture weight per task (tasks without a weight get no samples from this source).
    split: force every record of this source into one split (e.g. "test"); "source" = the
        split the source gives each scene; None = by a hash of the scene id.
    split_fractions: fractions of scenes for val and test (the rest is train).
    optional: a missing path is reported and the source left out instead of failing.
    options: adapter-specific settings (see the adapter's docstring).
    """

    name: str
    adapter: str
    path: str
    weights: dict[str, float] = field(default_factory=dict)
    split: str | None = None
    split_fractions: dict[str, float] = field(default_factory=lambda: {"val": 0.1, "test": 0.1})
    optional: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        """Range checks (ConfigError naming ``where``, e.g. ``sources[0]``)."""
        if not re.fullmatch(r"[A-Za-z0-9_.]+", self.name):
            raise ConfigError(f"{where}.name: {self.name!r} may use letters, digits, _ and . only")
        for task, w in self.weights.items():
            if task not in TASKS:
                raise ConfigError(f"{where}.weights: unknown task {task!r}; use {', '.join(TASKS)}")
            if w < 0:
                raise ConfigError(f"{where}.weights.{task}: {w} is negative; weights are >= 0")
        try:
            qualitative_fraction(self.options)
        except ValueError as err:
            raise ConfigError(f"{where}.{err}") from None  # "options.qualitative_fraction ..."
        if self.split is not None and self.split not in SPLITS + ("source",):
            raise ConfigError(f"{where}.split: {self.split!r} is not one of {', '.join(SPLITS)}, source or null")


def _validate_task(name: str, tc: TaskConfig, grid: int) -> None:
    where = f"tasks.{name}"
    if tc.text_format not in TEXT_FORMATS:
        raise ConfigError(f"{where}.text_format: {tc.text_format!r} is not one of {', '.join(TEXT_FORMATS)}")
    if tc.answer_style not in ("think", "plain"):
        raise ConfigError(f"{where}.answer_style: {tc.answer_style!r} is not think or plain")
    if tc.depth_label_kind not in ("z", "ray"):
        raise ConfigError(f"{where}.depth_label_kind: {tc.depth_label_kind!r} is not z or ray")
    for key in ("questions_per_sample", "eval_questions_per_sample"):
        q = getattr(tc, key)
        if q is not None and not 1 <= q <= 10:
            raise ConfigError(f"{where}.{key}: {q} is not an integer in 1..10")
    if tc.focal_px is not None and tc.focal_px <= 0:  # None: a task asked without focal normalisation
        raise ConfigError(f"{where}.focal_px: {tc.focal_px} is not > 0")
    if tc.max_pixels < grid * grid:
        raise ConfigError(f"{where}.max_pixels: {tc.max_pixels} is below grid^2 = {grid * grid}")
    bad = sorted(set(tc.samples) - set(SPLITS))
    if bad:
        raise ConfigError(f"{where}.samples: unknown split(s) {bad}; use {', '.join(SPLITS)}")
    for split, n in tc.samples.items():
        if n < 0:
            raise ConfigError(f"{where}.samples.{split}: {n} is negative; give a count >= 0")


@dataclass
class DataConfig:
    """A whole build: output, seed, calibration policy, task knobs and sources."""

    output_dir: str = option("data/vlm3_set", "Dataset folder (images/, shards/, manifest.json, config.yaml).")
    seed: int = option(0, "Seed of the mixture plan and of every sample's RNG.")
    calibration: str = option("none", "Views without intrinsics: none (refused), anycalib, anycalib|fov<deg> "
                                      "(AnyCalib when installed, else the guess), or fov<deg> (e.g. fov60: a stated guess).")
    shard_size: int = option(64, "Samples per shard (the unit of work and of resuming).")
    grid: int = option(32, "Pixels per visual token side (Qwen3-VL: 32); image sides are multiples of it.")
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    sources: list[SourceConfig] = field(default_factory=list)

    def validate(self) -> None:
        """Range checks of the whole build (ConfigError naming the key)."""
        for key in ("shard_size", "grid"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: {getattr(self, key)} is not an integer >= 1")
        for name, tc in list(self.tasks.items()):
            if name not in TASKS:
                raise ConfigError(f"tasks.{name}: unknown task; use {', '.join(TASKS)}")
            try:
                self.tasks[name] = tc = tc.for_task(name)  # unset focal_px / max_pixels: the task's own
            except ValueError as err:
                raise ConfigError(f"tasks.{name}.focal_px: {err}") from None
            _validate_task(name, tc, self.grid)
        for i, s in enumerate(self.sources):
            s.validate(f"sources[{i}]")
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ConfigError(f"sources: duplicate names in {names}")

    def check_buildable(self) -> None:
        """ConfigError when the build would make nothing: no task, no source, or a task that
        asks for samples and that no source feeds (a weight > 0). Separate from validate(),
        which checks values, so partial configs still load."""
        if not self.tasks:
            raise ConfigError(f"tasks: none given, so nothing would be built; add at least one of "
                              f"{', '.join(TASKS)} (see --help-config)")
        if not self.sources:
            raise ConfigError("sources: none given, so nothing would be built; add a source "
                              "(adapter, path, weights per task; see docs/data.md)")
        for name, tc in self.tasks.items():
            wanted = sum(max(n, 0) for n in tc.samples.values())
            if wanted and not any(s.weights.get(name, 0) > 0 for s in self.sources):
                raise ConfigError(f"tasks.{name}: no source feeds it (no source has weights.{name} > 0); "
                                  f"give one a weight or remove the task")


def config_from_dict(raw: Mapping[str, Any], variables: Mapping[str, str] | None = None) -> DataConfig:
    """Type and validate a config mapping (``${VAR}`` expanded from the environment + ``variables``)."""
    return load(DataConfig, raw, variables=variables)


def load_config(path: str | Path, variables: Mapping[str, str] | None = None,
                overrides: Sequence[str] = ()) -> DataConfig:
    """Read a YAML data config or a shipped one (``vlm3/configs/data/<name>.yaml``), apply
    dotted ``overrides``; ConfigError (one line) for a missing or malformed file."""
    return load(DataConfig, path, overrides, kind="data", variables=variables)


__all__ = ["SourceConfig", "DataConfig", "load_config", "config_from_dict"]
