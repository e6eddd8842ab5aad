"""The Qwen3-VL processor for images only, built offline and without torchvision.

``Qwen3VLProcessor`` in transformers wants a video processor, and the fast (torchvision)
image processor; neither is needed for vlm3 (still images only) and torchvision does not
import everywhere. This module provides:

- ``build_image_processor(min_pixels, max_pixels)``: the PIL ``Qwen2VLImageProcessorPil``
  configured exactly as Qwen3-VL's ``preprocessor_config.json`` (patch 16, temporal patch 2,
  spatial merge 2, mean = std = 0.5), so one visual token covers 32 x 32 pixels.
- ``Qwen3VLImageProcessor``: a ``Qwen3VLProcessor`` subclass with no video processor. Its
  ``save_pretrained`` writes the stock Qwen3-VL processor files (``save_stock_processor``):
  ``preprocessor_config.json``, ``video_preprocessor_config.json``, ``chat_template.jinja`` and
  the tokenizer files, all naming ``Qwen3VLProcessor``, so ``AutoProcessor``, transformers'
  ``Qwen3VLProcessor.from_pretrained`` and vLLM load a vlm3 model as they load
  ``Qwen/Qwen3-VL-4B-Instruct`` (the stock video processor needs torchvision to load).
- ``build_processor(...)``: offline tokenizer (``vlm3.model.tokenizer``) + the above.

Resizing rule (Qwen ``smart_resize``, factor 32): an image whose height and width are both
multiples of 32 px and whose area lies in [min_pixels, max_pixels] is NOT resized. The data
engine crops images to the 32-px grid, so the focal length it normalised is preserved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize
from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

from vlm3.model.tokenizer import chat_template, load_qwen_tokenizer

PATCH_SIZE_PX = 16
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
#: Side of the square of pixels that becomes one visual token in the language model.
TOKEN_GRID_PX = PATCH_SIZE_PX * MERGE_SIZE
#: Qwen3-VL defaults (preprocessor_config.json): shortest_edge / longest_edge are pixel areas.
QWEN3_VL_MIN_PIXELS = 65_536
QWEN3_VL_MAX_PIXELS = 16_777_216
#: The video budget of Qwen3-VL's ``video_preprocessor_config.json`` (areas in pixels over all frames).
QWEN3_VL_VIDEO_SIZE = {"longest_edge": 25_165_824, "shortest_edge": 4096}
#: The files ``save_stock_processor`` writes besides the tokenizer's (the layout of the Qwen3-VL hub repos).
STOCK_PROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json", "chat_template.jinja")


class Qwen3VLImageProcessor(Qwen3VLProcessor):
    """``Qwen3VLProcessor`` for images only (no video processor, no torchvision).

    Calling it with ``images=[...]`` and ``text=[...]`` (text containing
    ``<|vision_start|><|image_pad|><|vision_end|>`` per image) returns ``input_ids``,
    ``attention_mask``, ``mm_token_type_ids``, ``pixel_values`` (N_patches, 1536) and
    ``image_grid_thw`` (N_images, 3), exactly as the stock processor does for images.
    """

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    def save_pretrained(self, save_directory, push_to_hub: bool = False, **kwargs) -> list[str]:
        """Write the stock Qwen3-VL processor files (``save_stock_processor``), not an image-only one."""
        return save_stock_processor(self, save_directory)


def save_stock_processor(processor, out_dir: str | os.PathLike) -> list[str]:
    """Write ``processor`` as the stock Qwen3-VL processor files into ``out_dir``; returns the paths.

    ``preprocessor_config.json`` (the image processor with its pixel budget, type
    ``Qwen2VLImageProcessorFast`` as in the hub repos: transformers picks the torchvision or PIL
    backend), ``video_preprocessor_config.json`` (``Qwen3VLVideoProcessor`` with Qwen3-VL's
    defaults: vlm3 never feeds videos, stock loaders need the file), ``chat_template.jinja`` and
    the tokenizer files; every one names ``Qwen3VLProcessor`` as its processor class. A stale
    transformers-5 ``processor_config.json`` (image processor only) is removed: it would shadow
    these files.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = processor.tokenizer
    tokenizer._set_processor_class("Qwen3VLProcessor")
    written = [str(p) for p in tokenizer.save_pretrained(str(out))]
    image = processor.image_processor.to_dict()
    image.update(image_processor_type="Qwen2VLImageProcessorFast", processor_class="Qwen3VLProcessor")
    video = Qwen3VLVideoProcessor(size=dict(QWEN3_VL_VIDEO_SIZE)).to_dict()
    video.update(processor_class="Qwen3VLProcessor")
    template = processor.chat_template
    template = template.get("default") if isinstance(template, dict) else template
    files = {"preprocessor_config.json": json.dumps(image, indent=2, sort_keys=True) + "\n",
             "video_preprocessor_config.json": json.dumps(video, indent=2, sort_keys=True) + "\n",
             "chat_template.jinja": template or chat_template()}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(str(out / name))
    (out / "processor_config.json").unlink(missing_ok=True)
    return written


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
