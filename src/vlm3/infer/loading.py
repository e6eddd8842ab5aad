"""Whether a model spec can load, checked before any weights are read, and quiet loading.

``check_model_spec`` accepts a model directory (a training output or checkpoint), ``vllm:DIR``,
a random-weight preset (``is_preset``) or a hub id ``owner/name``; ``check_model_files`` says in
one line what is wrong with a directory (no Qwen3-VL config.json, truncated weights, a tokenizer
config without its tokenizer). ``quiet_transformers`` removes the loading bars and deprecation
warnings transformers prints on every predict. ``saved_asking`` reads the settings a local model
must be asked with (its ``vlm3.json``, ``vlm3.tasks.asking``) without loading weights, and
``default_asking`` those of a model without one (a published checkpoint's folder: the release's
preprocessing, as ``vlm3 eval``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlm3.infer.inputs import path_exists
from vlm3.model.presets import is_preset, model_spec_problem
from vlm3.errors import InputError

VLLM_PREFIX = "vllm:"


def model_path(spec: str) -> str:
    """The directory, preset or hub id a model spec names (``spec`` without its ``vllm:`` prefix)."""
    return spec[len(VLLM_PREFIX):] if spec.startswith(VLLM_PREFIX) else spec


def saved_asking(spec: str) -> Any:
    """The ``Asking`` saved with a local model directory (its ``vlm3.json``, else learnt from its
    training config), None for presets, hub ids and directories without one; InputError (one line)
    for an unusable file."""
    from vlm3.tasks.asking import AskingError, read_asking

    path = model_path(spec)
    if is_preset(spec) or not path_exists(path):
        return None
    try:
        return read_asking(path)
    except AskingError as err:
        raise InputError(str(err)) from None


def default_asking(spec: str) -> Any:
    """How a model without ``vlm3.json`` is asked: each task's release settings; a model folder
    (weights trained elsewhere: a published VLM3 checkpoint) with the release's own preprocessing
    (``PUBLISHED_PREPROCESSING``, as ``vlm3 eval`` asks it), a preset or a hub id with the
    project's crop; named "<preset> (random weights)" or by the folder's name."""
    from vlm3.tasks.asking import PUBLISHED_PREPROCESSING, TRAINED_PREPROCESSING, release_asking

    path, preset = model_path(spec), is_preset(spec)
    name = f"{spec} (random weights)" if preset else Path(path).name or spec
    folder = not preset and path_exists(path) and Path(path).is_dir()
    return release_asking(name, PUBLISHED_PREPROCESSING if folder else TRAINED_PREPROCESSING)


def model_asking(spec: str) -> tuple[Any, bool]:
    """(the ``Asking`` a model spec is asked with, whether it was saved with the model): its
    ``vlm3.json`` (``saved_asking``), else ``default_asking``."""
    saved = saved_asking(spec)
    return (saved, True) if saved is not None else (default_asking(spec), False)


def quiet_transformers() -> None:
    """No weight-loading bars, deprecation warnings or info logs from transformers on every predict."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=r".*(past_key_values|cache_params).*deprecated", category=FutureWarning)


def check_model_files(path: str | Path) -> None:
    """InputError (one line) for a model directory whose files cannot load: no Qwen3-VL
    config.json, a truncated or corrupt ``*.safetensors``, a tokenizer config without its
    ``tokenizer.json``."""
    from vlm3.predictors.hf import check_model_dir

    check_model_dir(str(path))
    p = Path(path)
    for f in sorted(p.glob("*.safetensors")):
        try:
            from safetensors import safe_open
            with safe_open(str(f), framework="pt") as st:
                st.keys()
        except Exception as err:  # noqa: BLE001 - SafetensorError and OSError alike: the file is unusable
            raise InputError(f"{f} is truncated or corrupt ({str(err).splitlines()[0]}): copy it again or "
                             f"re-run the training that wrote it") from None
    if not list(p.glob("*.safetensors")) and not list(p.glob("*.bin")):
        raise InputError(f"{p} has a config.json but no weights (model.safetensors): point --model at a finished "
                         f"training output or a full checkpoint")
    has_tokenizer = any((p / f).is_file() for f in ("tokenizer.json", "vocab.json"))
    if (p / "tokenizer_config.json").is_file() and not has_tokenizer:
        raise InputError(f"{p} has tokenizer_config.json but no tokenizer.json: copy tokenizer.json from the "
                         f"training output or the base model into it")


def check_model_spec(spec: str) -> None:
    """InputError (one line) unless ``spec`` can name a model: an existing model directory
    (checked by ``check_model_files``), ``vllm:DIR``, a preset, or a hub id ``owner/name``."""
    path = model_path(spec)
    if is_preset(path) and not spec.startswith(VLLM_PREFIX):
        return
    if path_exists(path) or spec.startswith(VLLM_PREFIX):
        check_model_files(path)
        return
    problem = model_spec_problem(spec)
    if problem is not None:
        raise InputError(f"--model {problem}")

