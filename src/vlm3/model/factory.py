"""Model factory: a Qwen3-VL model and its image-only processor from one name.

``load_model_and_processor(name_or_path)`` accepts

- a **preset** name (``"tiny"``, ``"qwen3_vl_4b"``; files ``vlm3/configs/model/<name>.yaml``)
  or a path to such a YAML file: the architecture is built with seeded random weights
  (``device="meta"`` builds it without allocating memory, e.g. to check a 4B recipe);
- a **checkpoint directory** with a Qwen3-VL ``config.json`` (a Hugging Face snapshot of
  ``Qwen/Qwen3-VL-4B-Instruct``, a published VLM3 checkpoint, or a vlm3 training output);
- a **hub id** (``Qwen/Qwen3-VL-4B-Instruct``) already in the local Hugging Face cache.
  Nothing is downloaded: a missing model is a clear error saying how to fetch it.

The processor always comes from ``vlm3.model.processor`` (PIL image processor, no video
processor, no torchvision); its tokenizer comes from the checkpoint when it has one, else
the offline Qwen tokenizer. The pixel budget (areas in pixels) is configurable.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from vlm3.errors import Vlm3Error
from vlm3.model.processor import (
    QWEN3_VL_MAX_PIXELS,
    QWEN3_VL_MIN_PIXELS,
    Qwen3VLImageProcessor,
    build_image_processor,
    build_processor,
)
from vlm3.model.presets import PRESET_DIR, is_preset, preset_names
from vlm3.model.tokenizer import chat_template


class ModelLoadError(Vlm3Error, ValueError):
    """A model name, path or preset that cannot be loaded (message says why and what to do)."""


@dataclass(frozen=True)
class Preset:
    """A named architecture: Qwen3VLConfig keyword arguments plus a description."""

    name: str
    description: str
    config_kwargs: dict


def load_preset(name_or_yaml: str | os.PathLike) -> Preset:
    """Read a preset by name or from a YAML file with a ``qwen3_vl_config`` mapping."""
    path = Path(name_or_yaml)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        text, name = path.read_text(encoding="utf-8"), path.stem
    else:
        name = str(name_or_yaml)
        if name not in preset_names():
            raise ModelLoadError(f"unknown model preset {name!r}; shipped presets: {', '.join(preset_names())}")
        text = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if "qwen3_vl_config" not in data:
        raise ModelLoadError(f"model preset {name!r} has no `qwen3_vl_config` mapping")
    return Preset(name=name, description=str(data.get("description", "")), config_kwargs=data["qwen3_vl_config"])


def build_config(preset: Preset | str):
    """``Qwen3VLConfig`` for a preset."""
    from transformers import Qwen3VLConfig

    preset = load_preset(preset) if isinstance(preset, str) else preset
    return Qwen3VLConfig(**preset.config_kwargs)


def _torch_dtype(dtype: str | torch.dtype | None) -> torch.dtype | str | None:
    if dtype is None or isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in names:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use one of {sorted(names)} or 'auto'")
    return names[dtype]


def build_model_from_preset(preset: Preset | str, dtype: str | torch.dtype | None = "float32", seed: int = 0,
                            device: str | torch.device | None = None, attn_implementation: str | None = None):
    """A randomly initialised ``Qwen3VLForConditionalGeneration`` (seeded) for a preset."""
    from transformers import Qwen3VLForConditionalGeneration

    config = build_config(preset)
    if attn_implementation:
        config._attn_implementation = attn_implementation
    torch_dtype = _torch_dtype(dtype)
    torch_dtype = torch.float32 if torch_dtype in (None, "auto") else torch_dtype
    if str(device) == "meta":
        with torch.device("meta"):
            model = Qwen3VLForConditionalGeneration(config)
        return model.to(torch_dtype)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).to(torch_dtype)
    return model.to(device) if device is not None else model


def _checkpoint_dir(name_or_path: str) -> Path | None:
    """A local directory for a path or a hub id in the HF cache, else None."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelLoadError(f"{name_or_path} is a file, not a checkpoint directory or preset YAML")
    if name_or_path.count("/") == 1 and not name_or_path.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(name_or_path, local_files_only=True))
        except Exception:  # noqa: BLE001 - any miss means "not cached"
            raise ModelLoadError(
                f"{name_or_path!r} is not in the local Hugging Face cache and vlm3 never downloads weights. "
                f"Fetch it first (`hf download {name_or_path}`) or pass a checkpoint directory; "
                f"random-weight presets: {', '.join(preset_names())}"
            ) from None
    return None


def processor_for_checkpoint(ckpt: Path, min_pixels: int | None = None, max_pixels: int | None = None):
    """Image-only processor for a checkpoint dir: its tokenizer + its pixel budget (overridable)."""
    from transformers import AutoTokenizer

    lo, hi = QWEN3_VL_MIN_PIXELS, QWEN3_VL_MAX_PIXELS
    size: dict = {}
    if (ckpt / "preprocessor_config.json").is_file():  # HF hub layout
        size = json.loads((ckpt / "preprocessor_config.json").read_text()).get("size") or {}
    elif (ckpt / "processor_config.json").is_file():  # transformers 5 save_pretrained layout
        size = (json.loads((ckpt / "processor_config.json").read_text()).get("image_processor") or {}).get("size") or {}
    lo, hi = int(size.get("shortest_edge", lo)), int(size.get("longest_edge", hi))
    lo, hi = (min_pixels or lo), (max_pixels or hi)
    if any((ckpt / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json")):
        tokenizer = AutoTokenizer.from_pretrained(str(ckpt))
        template = getattr(tokenizer, "chat_template", None)
        for f in ("chat_template.jinja", "chat_template.json"):
            if not template and (ckpt / f).is_file():
                raw = (ckpt / f).read_text(encoding="utf-8")
                template = json.loads(raw)["chat_template"] if f.endswith(".json") else raw
        return Qwen3VLImageProcessor(image_processor=build_image_processor(lo, hi), tokenizer=tokenizer,
                                     chat_template=template or chat_template())
    return build_processor(lo, hi)


def load_model_and_processor(
    name_or_path: str | os.PathLike,
    dtype: str | torch.dtype | None = "auto",
    tiny_preset: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    attn_implementation: str | None = None,
    with_model: bool = True,
) -> tuple[Any, Qwen3VLImageProcessor]:
    """(model, processor) for a preset name / preset YAML / checkpoint dir / cached hub id.

    ``tiny_preset`` forces a preset (random weights) whatever ``name_or_path`` says.
    ``dtype``: "auto" keeps a checkpoint's dtype (float32 for presets); "bfloat16" etc.
    ``min_pixels``/``max_pixels``: image area budget of the processor in pixels.
    ``with_model=False`` returns ``(None, processor)``.
    """
    name = str(tiny_preset or name_or_path)
    if tiny_preset is not None or is_preset(name):
        preset = load_preset(name)
        processor = build_processor(min_pixels or QWEN3_VL_MIN_PIXELS, max_pixels or QWEN3_VL_MAX_PIXELS)
        if not with_model:
            return None, processor
        model = build_model_from_preset(preset, dtype=dtype, seed=seed, device=device,
                                        attn_implementation=attn_implementation)
        return model, processor
    ckpt = _checkpoint_dir(name)
    if ckpt is None:
        raise ModelLoadError(
            f"{name!r} is neither a model preset ({', '.join(preset_names())}), a checkpoint directory, "
            "nor a hub id of the form owner/name"
        )
    cfg_path = ckpt / "config.json"
    if not cfg_path.is_file():
        raise ModelLoadError(f"{ckpt} is not a model checkpoint: it has no config.json")
    model_type = json.loads(cfg_path.read_text()).get("model_type")
    if model_type != "qwen3_vl":
        raise ModelLoadError(f"{ckpt} holds a {model_type!r} model; vlm3 expects a Qwen3-VL checkpoint "
                             "(config.json model_type 'qwen3_vl')")
    processor = processor_for_checkpoint(ckpt, min_pixels, max_pixels)
    if not with_model:
        return None, processor
    from transformers import Qwen3VLForConditionalGeneration

    kwargs: dict[str, Any] = {"dtype": _torch_dtype(dtype) or "auto"}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    model = Qwen3VLForConditionalGeneration.from_pretrained(str(ckpt), **kwargs)
    return (model.to(device) if device is not None else model), processor


def model_config_dict(name_or_path: str | os.PathLike) -> dict | None:
    """The ``config.json`` contents of the model ``name_or_path`` names, without building it.

    A preset gives its ``Qwen3VLConfig``; a checkpoint directory or cached hub id its
    ``config.json``. None when the name cannot be resolved (``load_model_and_processor`` then
    says why).
    """
    name = str(name_or_path)
    try:
        if is_preset(name):
            return build_config(load_preset(name)).to_dict()
        ckpt = _checkpoint_dir(name)
        if ckpt is None or not (ckpt / "config.json").is_file():
            return None
        return json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    except (ModelLoadError, OSError, ValueError):
        return None


def count_parameters(model) -> int:
    """Number of distinct parameters (tied weights counted once)."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total
