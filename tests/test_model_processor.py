"""Image-only processor: 32-px grid images are not resized; budget; same inputs as the collator."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlm3.model.chat import build_generation_inputs
from vlm3.model.processor import build_processor, num_image_tokens, resized_size_hw


@pytest.fixture(scope="module")
def proc():
    return build_processor(min_pixels=32 * 32, max_pixels=256 * 256)


def _img(h, w, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _unpatch(pixel_values, grid, patch=16, merge=2):
    """Invert Qwen's patch layout: (gh*gw, 3*2*16*16) -> (3, H, W) of the first frame."""
    _, gh, gw = grid
    x = pixel_values.reshape(gh // merge, gw // merge, merge, merge, 3, 2, patch, patch)[:, :, :, :, :, 0]
    x = x.transpose(4, 0, 2, 5, 1, 3, 6)  # C, gh/m, m, p, gw/m, m, p
    return x.reshape(3, gh * patch, gw * patch)


@pytest.mark.parametrize("h,w", [(96, 128), (64, 64), (224, 160)])
def test_grid_images_are_not_resized(proc, h, w):
    img = _img(h, w)
    out = proc.image_processor(images=[img], return_tensors="np")
    grid = out["image_grid_thw"][0]
    assert tuple(grid) == (1, h // 16, w // 16)
    back = _unpatch(out["pixel_values"], grid)
    expect = (np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    np.testing.assert_allclose(back, expect, atol=1e-5)  # pixel-exact: no resampling
    assert num_image_tokens(proc, h, w) == (h // 32) * (w // 32)


def test_off_grid_and_over_budget_images_are_resized(proc):
    assert resized_size_hw(proc, 100, 130) == (96, 128)
    h, w = resized_size_hw(proc, 512, 512)  # 4x the 256*256 budget
    assert h * w <= 256 * 256 and h % 32 == 0 and w % 32 == 0


def test_generation_inputs_use_training_template(proc):
    img = _img(64, 96)
    inputs = build_generation_inputs(proc, [img], [{"role": "user", "content": "How far?"}])
    ids = inputs["input_ids"][0].tolist()
    tok = proc.tokenizer
    assert ids.count(tok.convert_tokens_to_ids("<|image_pad|>")) == 6
    assert tok.decode(ids[-3:]) == "<|im_start|>assistant\n"
    assert int(inputs["mm_token_type_ids"].sum()) == 6
    assert tuple(inputs["image_grid_thw"][0].tolist()) == (1, 4, 6)
