"""The Qwen3-VL processor for images only, built offline and without torchvision.

``Qwen3VLProcessor`` in transformers wants a video processor, and the fast (torchvision)
image processor; neither is needed for vlm3 (still images only) and torchvision does not
import everywhere. This module provides:

- ``build_image_processor(min_pixels, max_pixels)``: the PIL ``Qwen2VLImageProcessorPil``
  configured exactly as Qwen3-VL's ``preprocessor_config.json`` (patch 16, temporal patch 2,
  spatial merge 2, mean = std = 0.5), so one visual token covers 32 x 32 pixels.
- ``Qwen3VLImageProcessor``: a ``Qwen3VLProcessor`` subclass with no video processor.
- ``build_processor(...)``: offline tokenizer (``vlm3.model.tokenizer``) + the above.

Resizing rule (Qwen ``smart_resize``, factor 32): an image whose height and width are both
multiples of 32 px and whose area lies in [min_pixels, max_pixels] is NOT resized. The data
engine crops images to the 32-px grid, so the focal length it normalised is preserved.
"""

from __future__ import annotations

import os

from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize
from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor

from vlm3.model.tokenizer import chat_template, load_qwen_tokenizer

PATCH_SIZE_PX = 16
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
#: Side of the square of pixels that becomes one visual token in the language model.
TOKEN_GRID_PX = PATCH_SIZE_PX * MERGE_SIZE
#: Qwen3-VL defaults (preprocessor_config.json): shortest_edge / longest_edge are pixel areas.
QWEN3_VL_MIN_PIXELS = 65_536
QWEN3_VL_MAX_PIXELS = 16_777_216


class Qwen3VLImageProcessor(Qwen3VLProcessor):
    """``Qwen3VLProcessor`` for images only (no video processor, no torchvision).

    Calling it with ``images=[...]`` and ``text=[...]`` (text containing
    ``<|vision_start|><|image_pad|><|vision_end|>`` per image) returns ``input_ids``,
    ``attention_mask``, ``mm_token_type_ids``, ``pixel_values`` (N_patches, 1536) and
    ``image_grid_thw`` (N_images, 3), exactly as the stock processor does for images.
    """

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


def build_image_processor(
    min_pixels: int = QWEN3_VL_MIN_PIXELS, max_pixels: int = QWEN3_VL_MAX_PIXELS
) -> Qwen2VLImageProcessorPil:
    """The PIL Qwen3-VL image processor with a pixel budget (areas in pixels, not sides)."""
    if min_pixels <= 0 or max_pixels < min_pixels:
        raise ValueError(f"pixel budget must satisfy 0 < min_pixels <= max_pixels, got {min_pixels}, {max_pixels}")
    return Qwen2VLImageProcessorPil(
        size={"shortest_edge": int(min_pixels), "longest_edge": int(max_pixels)},
        patch_size=PATCH_SIZE_PX,
        temporal_patch_size=TEMPORAL_PATCH_SIZE,
        merge_size=MERGE_SIZE,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )


def build_processor(
    min_pixels: int = QWEN3_VL_MIN_PIXELS,
    max_pixels: int = QWEN3_VL_MAX_PIXELS,
    tokenizer_cache_dir: str | os.PathLike | None = None,
) -> Qwen3VLImageProcessor:
    """Offline Qwen3-VL processor: real Qwen tokenizer + PIL image processor + chat template."""
    tokenizer = load_qwen_tokenizer(tokenizer_cache_dir)
    return Qwen3VLImageProcessor(
        image_processor=build_image_processor(min_pixels, max_pixels),
        tokenizer=tokenizer,
        chat_template=chat_template(),
    )


def set_pixel_budget(processor, min_pixels: int | None = None, max_pixels: int | None = None) -> None:
    """Change the image pixel budget of a processor in place (areas in pixels)."""
    ip = processor.image_processor
    size = dict(ip.size) if not hasattr(ip.size, "__dict__") else {
        "shortest_edge": ip.size.shortest_edge, "longest_edge": ip.size.longest_edge}
    lo = int(min_pixels) if min_pixels is not None else int(size["shortest_edge"])
    hi = int(max_pixels) if max_pixels is not None else int(size["longest_edge"])
    if lo <= 0 or hi < lo:
        raise ValueError(f"pixel budget must satisfy 0 < min_pixels <= max_pixels, got {lo}, {hi}")
    new = build_image_processor(lo, hi)
    ip.size = new.size


def resized_size_hw(processor, height_px: int, width_px: int) -> tuple[int, int]:
    """(height, width) in pixels that the processor will feed the vision tower for an image."""
    ip = processor.image_processor if hasattr(processor, "image_processor") else processor
    size = ip.size
    lo = size["shortest_edge"] if isinstance(size, dict) else size.shortest_edge
    hi = size["longest_edge"] if isinstance(size, dict) else size.longest_edge
    return smart_resize(height_px, width_px, factor=ip.patch_size * ip.merge_size, min_pixels=lo, max_pixels=hi)


def num_image_tokens(processor, height_px: int, width_px: int) -> int:
    """Number of ``<|image_pad|>`` tokens one image of this size becomes (one per 32 x 32 px)."""
    h, w = resized_size_hw(processor, height_px, width_px)
    ip = processor.image_processor if hasattr(processor, "image_processor") else processor
    return (h // (ip.patch_size * ip.merge_size)) * (w // (ip.patch_size * ip.merge_size))
