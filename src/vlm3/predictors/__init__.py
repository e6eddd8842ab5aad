"""Every model and baseline behind one interface (``vlm3.predictors.base``), registered by name.

``PREDICTORS`` maps a name to the module that implements it and its constructor; a module
is imported only when its predictor is made, so a backend whose extra is not installed
(vLLM) costs nothing until asked for, and then fails with one line saying what to install.
``make_predictor(spec)`` builds one from a spec string ``NAME`` or ``NAME:ARG``:

- ``model:<preset | checkpoint dir | cached hub id>``: transformers ``generate`` (default ``tiny``);
- ``vllm:<checkpoint dir>``: vLLM (extra ``vllm``, CUDA GPU);
- ``oracle``, ``trivial`` (fitted on training shards by the harness), ``sift``: baselines.

``resolve_device("auto" | "cpu" | "cuda" | "cuda:N")`` turns a ``--device`` value into a
torch device string (auto: the first CUDA GPU when one is visible, else the CPU), one line
when the device does not exist.

Adding a predictor means adding its module and one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from vlm3.errors import InputError
from vlm3.predictors.base import Prediction, Predictor, Request


@dataclass(frozen=True)
class Entry:
    """Where a predictor lives: ``module``, the ``constructor`` in it (``Class`` or
    ``Class.method``), what ``NAME:ARG`` means (None: it takes no argument), the argument
    used when none is given (None: one is required), and the pip extra its imports need."""

    module: str
    constructor: str
    argument: str | None = None
    default: str | None = None
    extra: str | None = None


PREDICTORS: dict[str, Entry] = {
    "model": Entry("vlm3.predictors.hf", "HFPredictor.from_pretrained", "preset, checkpoint dir or cached hub id",
                   default="tiny"),
    "vllm": Entry("vlm3.predictors.vllm", "VLLMPredictor", "checkpoint dir", extra="vllm"),
    "oracle": Entry("vlm3.predictors.oracle", "OraclePredictor"),
    "trivial": Entry("vlm3.predictors.trivial", "TrivialPredictor"),
    "sift": Entry("vlm3.predictors.sift", "SiftPredictor"),
}


DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"


def resolve_device(device: str | None) -> str:
    """A ``--device`` value (``auto``, ``cpu``, ``cuda``, ``cuda:N``; None = auto) as the torch
    device a model is moved to. InputError (one line) for an unknown value or a GPU that is
    not there (no CUDA, or N >= the visible GPU count)."""
    import torch

    text = (device or "auto").strip().lower()
    if text == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return "cpu"
    kind, _, index = text.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise InputError(f"unknown device {device!r}: use {DEVICE_CHOICES}")
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        raise InputError(f"device {device!r} asked for, but no CUDA GPU is visible: use --device cpu (or auto)")
    k = int(index or 0)
    if k >= n:
        raise InputError(f"device {device!r} asked for, but only {n} CUDA GPU(s) are visible (cuda:0..cuda:{n - 1})")
    return f"cuda:{k}"


def _usage() -> str:
    return ", ".join(f"{n}:<{e.argument}>" if e.argument else n for n, e in PREDICTORS.items())


def make_predictor(spec: str, **kwargs: Any) -> Predictor:
    """The predictor named by ``spec`` (see module doc); ``kwargs`` go to its constructor.

    Raises InputError (one line) for an unknown name, a missing or unexpected argument, or
    a backend whose optional dependencies are not installed.
    """
    name, _, arg = spec.partition(":")
    entry = PREDICTORS.get(name)
    if entry is None:
        raise InputError(f"unknown predictor {spec!r}: use {_usage()}")
    if arg and entry.argument is None:
        raise InputError(f"predictor {name!r} takes no argument, got {spec!r}")
    arg = arg or entry.default or ""
    if entry.argument is not None and not arg:
        raise InputError(f"predictor {name!r} needs {name}:<{entry.argument}>")
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as err:
        if err.name is None or err.name.split(".")[0] == "vlm3":
            raise
        hint = f": pip install 'vlm3[{entry.extra}]'" if entry.extra else ""
        raise InputError(f"predictor {name!r} needs the {err.name!r} package, which is not installed{hint}") from None
    constructor: Any = module
    for part in entry.constructor.split("."):
        constructor = getattr(constructor, part)
    return constructor(arg, **kwargs) if entry.argument is not None else constructor(**kwargs)


__all__ = ["DEVICE_CHOICES", "PREDICTORS", "Entry", "InputError", "Prediction", "Predictor", "Request", "make_predictor",
           "resolve_device"]
