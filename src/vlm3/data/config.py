"""Typed configuration of a data build, read from YAML (the resolved form goes in the manifest).

Strings may use ``${VAR}`` or ``${VAR:-default}``; they are expanded from the environment
(plus ``--var NAME=VALUE`` on the CLI), so data roots never live in source code.
Relative paths are taken from the current directory.

Layout of a config file::

    seed: 0
    output_dir: ${VLM3_DATA_OUT:-data/demo_set}
    calibration: none          # none | anycalib | fov<deg> (e.g. fov60: a stated guess)
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

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from vlm3.protocol import TEXT_FORMATS
from vlm3.tasks.common import TaskConfig

TASKS = ("depth", "correspondence", "pose", "object")
SPLITS = ("train", "val", "test")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A data config is malformed; the message names the key and the problem."""


@dataclass
class SourceConfig:
    """One source: which adapter reads it, where, and its mixture weight per task.

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


@dataclass
class DataConfig:
    """A whole build: output, seed, calibration policy, task knobs and sources."""

    output_dir: str = "data/vlm3_set"
    seed: int = 0
    calibration: str = "none"
    shard_size: int = 64
    grid: int = 32
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    sources: list[SourceConfig] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def expand_vars(value: Any, variables: Mapping[str, str]) -> Any:
    """Expand ``${VAR}`` / ``${VAR:-default}`` in every string of a nested structure."""
    if isinstance(value, str):
        def sub(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            if name in variables:
                return variables[name]
            if default is not None:
                return default
            raise ConfigError(f"${{{name}}} is not set (set the environment variable or "
                              f"pass --var {name}=...)")
        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_vars(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_vars(v, variables) for v in value]
    return value


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    try:
        return cls(**raw)
    except TypeError as err:
        raise ConfigError(f"{where}: {err}") from None


def config_from_dict(raw: dict[str, Any], variables: Mapping[str, str] | None = None) -> DataConfig:
    """Validate and type a config mapping (after variable expansion)."""
    from vlm3.tasks.object.build import qualitative_fraction  # here: vlm3.tasks.common imports this module

    env = dict(os.environ)
    env.update(variables or {})
    raw = expand_vars(raw, env)
    if not isinstance(raw, dict):
        raise ConfigError("config: top level must be a mapping")
    raw = dict(raw)
    tasks_raw = raw.pop("tasks", {}) or {}
    sources_raw = raw.pop("sources", []) or []
    cfg = _build(DataConfig, raw, "config")
    for name, t in tasks_raw.items():
        if name not in TASKS:
            raise ConfigError(f"tasks: unknown task {name!r}; use {list(TASKS)}")
        tc = _build(TaskConfig, t or {}, f"tasks.{name}")
        if tc.text_format not in TEXT_FORMATS:
            raise ConfigError(f"tasks.{name}.text_format must be one of {list(TEXT_FORMATS)}, "
                              f"got {tc.text_format!r}")
        if tc.answer_style not in ("think", "plain"):
            raise ConfigError(f"tasks.{name}.answer_style must be 'think' or 'plain'")
        if tc.depth_label_kind not in ("z", "ray"):
            raise ConfigError(f"tasks.{name}.depth_label_kind must be 'z' or 'ray'")
        for key in ("questions_per_sample", "eval_questions_per_sample"):
            q = getattr(tc, key)
            if q is not None and not (isinstance(q, int) and 1 <= q <= 10):
                raise ConfigError(f"tasks.{name}.{key} must be an integer in 1..10, got {q!r}")
        if tc.focal_px <= 0 or tc.max_pixels < cfg.grid * cfg.grid:
            raise ConfigError(f"tasks.{name}: focal_px must be > 0 and max_pixels >= grid^2")
        bad = set(tc.samples) - set(SPLITS)
        if bad:
            raise ConfigError(f"tasks.{name}.samples: unknown split(s) {sorted(bad)}")
        cfg.tasks[name] = tc
    for i, s in enumerate(sources_raw):
        sc = _build(SourceConfig, s, f"sources[{i}]")
        for task, w in sc.weights.items():
            if task not in TASKS:
                raise ConfigError(f"sources[{i}] ({sc.name}): unknown task {task!r} in weights")
            if not isinstance(w, (int, float)) or w < 0:
                raise ConfigError(f"sources[{i}] ({sc.name}): weight for {task} must be >= 0")
        try:
            qualitative_fraction(sc.options)
        except ValueError as err:
            raise ConfigError(f"sources[{i}] ({sc.name}): {err}") from None
        if sc.split is not None and sc.split not in SPLITS + ("source",):
            raise ConfigError(f"sources[{i}] ({sc.name}): split must be one of {SPLITS} or 'source'")
        if not re.fullmatch(r"[A-Za-z0-9_.]+", sc.name):
            raise ConfigError(f"sources[{i}]: name {sc.name!r} may use letters, digits, _ and . only")
        cfg.sources.append(sc)
    names = [s.name for s in cfg.sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"sources: duplicate names in {names}")
    return cfg


def load_config(path: str | Path, variables: Mapping[str, str] | None = None) -> DataConfig:
    """Read a YAML data config; ConfigError (one line) for a missing or malformed file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: malformed YAML ({str(err).splitlines()[0]})") from None
    return config_from_dict(raw or {}, variables)


__all__ = ["TaskConfig", "SourceConfig", "DataConfig", "ConfigError", "load_config",
           "config_from_dict", "expand_vars", "TASKS", "SPLITS"]
