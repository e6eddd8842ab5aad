"""How a trained model must be asked: the preprocessing and text settings saved beside its weights.

A model answers only in the conditions it was trained in: images focal-normalised to the
training ``focal_px`` of each task and cropped to its ``max_pixels``, questions in the text
format it learnt (``format_version``), numbers decoded the way its answers are written. Like a
Hugging Face ``preprocessor_config.json``, ``vlm3 train`` writes these settings into the model
directory as ``vlm3.json`` (``ASKING_FILE``) at the final save, learnt from the training set
(the data engine's ``manifest.json``, else the samples themselves); ``vlm3 predict`` and the
Python API (``vlm3.load``) read them by default and flags only override them.

File layout (``asking_version`` 1)::

    {"asking_version": 1, "name": "vlm3-micro", "base_model": "micro", "steps": 2100,
     "numbers": "median", "grid": 32, "learnt_from": "manifest", "preprocessing": "project",
     "tasks": {"depth": {"focal_px": 200.0, "max_pixels": 49152, "text_format": "compact",
                         "format_version": "vlm3-compact-v3"}, ...}}

``numbers`` is ``median`` when every task is in the compact format (fixed-width numbers, the
CPU demo's small model, ``vlm3.train.small.number_decoding``) and ``greedy`` otherwise (the
paper's protocol). A model without the file (a hub checkpoint, a preset) is asked with each task's
defaults (``release_asking``): its unit's ``focal_px`` and ``max_pixels`` (``vlm3.tasks.unit.Task``,
the one home of these numbers: the release's 1000 px, 750 px for pose, and its image budget; a task
asked before focal normalisation, such as calibration, has no focal: ``focal_px`` None).

``preprocessing`` is how a view is standardised before it is shown (``vlm3.standardize.
standardize_view``'s option): "project" (the data engine's crop to the grid and budget: every
vlm3-trained model, and a file written before the key existed), "release" (the published
checkpoints' uncropped resize: a model folder without ``vlm3.json``, ``PUBLISHED_PREPROCESSING``,
as ``vlm3 eval`` asks it) or "pad". ``vlm3 predict`` and ``vlm3.load`` use it; ``vlm3 eval`` pads
a vlm3 model's benchmark images instead (no benchmark point cut away).

The tasks are the registry's (``vlm3.tasks.TASKS``); this module lives with them so that a new task
needs no line here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from vlm3.errors import Vlm3Error
from vlm3.protocol import TEXT_FORMATS, format_version_of, text_format_of_version
from vlm3.standardize.release import PREPROCESSING
from vlm3.tasks import TASKS, get_task

ASKING_FILE = "vlm3.json"
ASKING_VERSION = 1
#: the tasks a model can be asked: the registry's
TASK_NAMES = TASKS
NUMBER_MODES = ("greedy", "median")
#: how a vlm3-trained model's views are standardised (the data engine's default; files without the key)
TRAINED_PREPROCESSING = "project"
#: how a model folder without ``vlm3.json`` (weights trained elsewhere: a published VLM3 checkpoint)
#: is asked, by ``vlm3 predict`` as by ``vlm3 eval``: the release's uncropped resize
PUBLISHED_PREPROCESSING = "release"


class AskingError(Vlm3Error, ValueError):
    """A ``vlm3.json`` that cannot be used (message names the file and the key)."""


@dataclass(frozen=True)
class TaskAsking:
    """How one task is asked: target focal (px; None: the task is asked before focal normalisation),
    image cap (px area), text format name."""

    focal_px: float | None
    max_pixels: int
    text_format: str = "release"

    @property
    def format_version(self) -> str:
        return format_version_of(self.text_format)


@dataclass(frozen=True)
class Asking:
    """The settings a model must be asked with (see module doc).

    Attributes:
        tasks: task name -> TaskAsking (every name in ``TASK_NAMES``).
        numbers: "greedy" or "median" number decoding.
        name: the model's display name (reports, outputs).
        base_model: what was fine-tuned (preset name, checkpoint or hub id); None = unknown.
        steps: optimiser steps trained; None = unknown.
        grid: the crop grid in px (Qwen3-VL: 32).
        learnt_from: "manifest", "samples", "release" (defaults) or "file" (hand-written).
        trained: False for the release defaults of a model without ``vlm3.json``.
        preprocessing: how views are standardised (``vlm3.standardize.release.PREPROCESSING``:
            "project", "release" or "pad"; see the module doc).
    """

    tasks: Mapping[str, TaskAsking]
    numbers: str = "greedy"
    name: str = "model"
    base_model: str | None = None
    steps: int | None = None
    grid: int = 32
    learnt_from: str = "release"
    trained: bool = field(default=True, compare=False)
    preprocessing: str = TRAINED_PREPROCESSING

    def task(self, task: str) -> TaskAsking:
        """The settings of one task (AskingError for an unknown task)."""
        if task not in self.tasks:
            raise AskingError(f"unknown task {task!r}; use one of {', '.join(TASK_NAMES)}")
        return self.tasks[task]

    def to_dict(self) -> dict[str, Any]:
        tasks = {t: {**asdict(a), "format_version": a.format_version} for t, a in self.tasks.items()}
        return {"asking_version": ASKING_VERSION, "name": self.name, "base_model": self.base_model,
                "steps": self.steps, "numbers": self.numbers, "grid": self.grid,
                "learnt_from": self.learnt_from, "preprocessing": self.preprocessing, "tasks": tasks}


def release_asking(name: str = "model", preprocessing: str = TRAINED_PREPROCESSING) -> Asking:
    """The default settings (a model without ``vlm3.json``): each task unit's ``focal_px`` and
    ``max_pixels`` (the release's: focal 1000 px, pose 750, and its budget per task), views
    standardised by ``preprocessing`` (``PUBLISHED_PREPROCESSING`` for a published checkpoint's
    folder; the project's crop for a preset or a base model)."""
    return Asking({t: TaskAsking(get_task(t).focal_px, get_task(t).max_pixels) for t in TASK_NAMES},
                  name=name, learnt_from="release", trained=False, preprocessing=_preprocessing(preprocessing))


def _preprocessing(value: Any, where: str = "preprocessing") -> str:
    if value not in PREPROCESSING:
        raise AskingError(f"{where} {value!r} is not one of {', '.join(PREPROCESSING)}")
    return str(value)


def _number_mode(tasks: Mapping[str, TaskAsking]) -> str:
    return "median" if all(a.text_format == "compact" for a in tasks.values()) else "greedy"


def _format_name(format_version: Any) -> str | None:
    """The text format name of a ``format_version`` (None or "": the release's), None if unknown."""
    try:
        return text_format_of_version(format_version).name
    except ValueError:
        return None


def _task_from(raw: Any, where: str, task: str | None = None) -> TaskAsking:
    if not isinstance(raw, Mapping):
        raise AskingError(f"{where} must be a mapping with focal_px, max_pixels, text_format")
    unfocused = task is not None and get_task(task).focal_px is None  # asked before focal normalisation
    try:
        focal = None if unfocused else float(raw["focal_px"])
        max_pixels = int(raw["max_pixels"])
    except (KeyError, TypeError, ValueError):
        raise AskingError(f"{where} needs a number focal_px and an integer max_pixels, got {dict(raw)}") from None
    fmt = raw.get("text_format")
    if fmt is None and raw.get("format_version") is not None:  # format_version alone names the format too
        fmt = _format_name(raw["format_version"])
    fmt = fmt or "release"
    if focal is not None and (not math.isfinite(focal) or focal <= 0):
        raise AskingError(f"{where}.focal_px must be a positive number, got {raw['focal_px']!r}")
    if max_pixels < 1024:
        raise AskingError(f"{where}.max_pixels must be at least 1024 (one 32-px cell), got {max_pixels}")
    if fmt not in TEXT_FORMATS:
        raise AskingError(f"{where}.text_format {fmt!r} is not one of {', '.join(TEXT_FORMATS)}")
    return TaskAsking(focal, max_pixels, fmt)


def asking_from_dict(data: Mapping[str, Any], where: str = ASKING_FILE) -> Asking:
    """An ``Asking`` from the JSON layout of the module doc; tasks left out get release defaults."""
    if not isinstance(data, Mapping):
        raise AskingError(f"{where} must hold a JSON object")
    base = release_asking()
    tasks = dict(base.tasks)
    raw_tasks = data.get("tasks") or {}
    if not isinstance(raw_tasks, Mapping):
        raise AskingError(f"{where}: tasks must be a mapping task -> settings")
    for t, raw in raw_tasks.items():
        if t not in TASK_NAMES:
            raise AskingError(f"{where}: unknown task {t!r} (use {', '.join(TASK_NAMES)})")
        tasks[t] = _task_from(raw, f"{where}: tasks.{t}", t)
    numbers = str(data.get("numbers") or _number_mode(tasks))
    if numbers not in NUMBER_MODES:
        raise AskingError(f"{where}: numbers {numbers!r} is not one of {', '.join(NUMBER_MODES)}")
    steps = data.get("steps")
    preprocessing = _preprocessing(data.get("preprocessing") or TRAINED_PREPROCESSING, f"{where}: preprocessing")
    return Asking(tasks, numbers=numbers, name=str(data.get("name") or "model"),
                  base_model=data.get("base_model"), steps=int(steps) if steps is not None else None,
                  grid=int(data.get("grid") or 32), learnt_from=str(data.get("learnt_from") or "file"),
                  preprocessing=preprocessing)


def read_asking(model_dir: str | Path) -> Asking | None:
    """The settings saved in ``model_dir/vlm3.json`` (or in its parent, for a ``checkpoint-N``
    folder of a training run); None when there are none. AskingError for a broken file."""
    d = Path(model_dir)
    for p in (d / ASKING_FILE, d.parent / ASKING_FILE if d.name.startswith("checkpoint-") else None):
        if p is not None and p.is_file():
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise AskingError(f"{p} is not valid JSON ({err}); delete it to use the release settings") from None
            return asking_from_dict(data, str(p))
    return _from_run_config(d)


def _from_run_config(model_dir: Path) -> Asking | None:
    """Settings of a training output saved before ``vlm3.json`` existed: learnt again from the
    ``config.yaml`` ``vlm3 train`` wrote beside the weights (its ``data.train_path`` manifest)."""
    import yaml

    p = model_dir / "config.yaml"
    if not p.is_file() or not (model_dir / "config.json").is_file():
        return None
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        train_path = Path(str(cfg["data"]["train_path"]))
        base = cfg.get("model", {}).get("name_or_path")
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None
    if not train_path.exists():  # relative paths: from the folder training ran in
        return None
    found = _from_manifest(train_path if train_path.is_dir() else train_path.parent)
    if found is None:
        return None
    return replace(learn_asking(train_path, base_model=base), learnt_from="config.yaml")


def write_asking(model_dir: str | Path, asking: Asking) -> Path:
    """Write ``model_dir/vlm3.json``; returns its path."""
    p = Path(model_dir) / ASKING_FILE
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(asking.to_dict(), indent=1) + "\n", encoding="utf-8")
    return p


def _from_manifest(root: Path) -> tuple[dict[str, TaskAsking], int] | None:
    """Per-task settings from a data-engine ``manifest.json`` (its resolved config) under ``root``."""
    for p in (root / "manifest.json", root.parent / "manifest.json", root.parent.parent / "manifest.json"):
        if p.is_file():
            try:
                cfg = json.loads(p.read_text(encoding="utf-8")).get("config") or {}
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                return None
            tasks = {t: _task_from(v, f"{p}: config.tasks.{t}", t) for t, v in (cfg.get("tasks") or {}).items()
                     if t in TASK_NAMES and isinstance(v, Mapping)}
            return (tasks, int(cfg.get("grid") or 32)) if tasks else None
    return None


def _from_samples(samples: Iterable[Mapping[str, Any]]) -> dict[str, TaskAsking]:
    """Per-task settings read off the samples: text format from ``format_version``, focal from
    the standardised camera of the pixmaps, the largest image area as the cap (no manifest)."""
    seen: dict[str, dict[str, Any]] = {}
    for s in samples:
        t = s.get("task")
        if t not in TASK_NAMES:
            continue
        info = seen.setdefault(t, {"formats": set(), "focal": [], "area": 0})
        info["formats"].add(_format_name(s.get("format_version")) or "release")
        for pm in s.get("pixmaps") or []:
            dst = (pm or {}).get("dst") or {}
            if "fx" in dst:
                info["focal"].append(float(dst["fx"]))
                info["area"] = max(info["area"], int(dst.get("width", 0)) * int(dst.get("height", 0)))
    out = {}
    for t, info in seen.items():
        fmt = "compact" if info["formats"] == {"compact"} else "release"
        unit = get_task(t)
        focal = sorted(info["focal"])[len(info["focal"]) // 2] if info["focal"] else unit.focal_px
        area = info["area"] if info["area"] >= 1024 else unit.max_pixels
        out[t] = TaskAsking(None if unit.focal_px is None or focal is None else round(focal, 1), area, fmt)
    return out


def learn_asking(train_path: str | Path, samples: Iterable[Mapping[str, Any]] = (), base_model: str | None = None,
                 steps: int | None = None, name: str | None = None) -> Asking:
    """The settings a model trained on ``train_path`` must be asked with.

    Reads the data engine's ``manifest.json`` (the build's resolved config: focal_px,
    max_pixels, text_format per task) at ``train_path`` or above it; without one, reads the
    ``samples`` (format_version, pixmaps). Tasks the training set lacks keep release defaults.
    ``name`` defaults to ``vlm3-<base model>`` (the preset name or the checkpoint folder name).
    """
    root = Path(train_path)
    found = _from_manifest(root if root.is_dir() else root.parent)
    if found is not None:
        learnt, grid, source = found[0], found[1], "manifest"
    else:
        learnt, grid, source = _from_samples(samples), 32, "samples"
    tasks = {**release_asking().tasks, **learnt}
    numbers = _number_mode(learnt) if learnt else "greedy"
    base = None if base_model is None else str(base_model)
    stem = Path(base).stem if base else "model"
    return Asking(tasks, numbers=numbers, name=name or f"vlm3-{stem}", base_model=base, steps=steps, grid=grid,
                  learnt_from=source if learnt else "release")


def with_overrides(asking: Asking, task: str, focal_px: float | None = None, max_pixels: int | None = None,
                   text_format: str | None = None) -> TaskAsking:
    """One task's settings with the given (non-None) values replacing the saved ones."""
    a = asking.task(task)
    changes = {k: v for k, v in (("focal_px", focal_px), ("max_pixels", max_pixels),
                                 ("text_format", text_format)) if v is not None}
    return replace(a, **changes)


__all__ = ["ASKING_FILE", "ASKING_VERSION", "TASK_NAMES", "NUMBER_MODES", "PUBLISHED_PREPROCESSING",
           "TRAINED_PREPROCESSING",
           "Asking", "AskingError", "TaskAsking", "release_asking", "asking_from_dict", "read_asking",
           "write_asking", "learn_asking", "with_overrides"]
