"""What a model name names, told without importing torch: a random-weight preset
(``vlm3/configs/model/<name>.yaml`` or a preset YAML file), a model directory, or a hub id.

Commands check a model name with ``model_spec_problem`` before anything heavy loads (the
factory, ``vlm3.model.factory``, loads what the name names and says the rest: a directory
that is not a Qwen3-VL checkpoint, a hub id that is not in the local cache).
"""

from __future__ import annotations

import re
from pathlib import Path

#: the shipped model presets: ``<name>.yaml`` with a ``qwen3_vl_config`` mapping
PRESET_DIR = Path(__file__).resolve().parents[1] / "configs" / "model"
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def preset_names() -> list[str]:
    """Names of the shipped model presets (``vlm3/configs/model/*.yaml``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def is_preset(spec: str) -> bool:
    """True when ``spec`` names a random-weight preset (a shipped name or a preset YAML), not weights."""
    return str(spec) in preset_names() or str(spec).endswith((".yaml", ".yml"))


def model_spec_problem(spec: str) -> str | None:
    """None when ``spec`` can name a model: a shipped preset, an existing preset YAML file, an
    existing directory or a hub id ``owner/name``; else one line saying what it is not."""
    spec = str(spec)
    try:
        exists, is_dir = Path(spec).expanduser().exists(), Path(spec).expanduser().is_dir()
    except (OSError, ValueError):  # a name the file system refuses
        exists = is_dir = False
    if spec in preset_names():
        return None
    if spec.endswith((".yaml", ".yml")):
        return None if exists and not is_dir else f"preset YAML {spec} not found"
    if exists:
        return None if is_dir else f"{spec} is a file, not a model directory or preset YAML"
    if _HUB_ID.fullmatch(spec) and not spec.startswith((".", "/", "~")):
        return None  # a hub id: the factory looks in the local cache and says how to fetch it
    return (f"{spec!r} is neither a model directory (not found), a preset ({', '.join(preset_names())}) "
            f"nor a hub id owner/name")


__all__ = ["PRESET_DIR", "preset_names", "is_preset", "model_spec_problem"]
