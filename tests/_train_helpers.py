"""Shared helpers for the model/train tests: a micro Qwen3-VL preset and small real samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from shared_paths import REAL

NYU = REAL / "nyu"

MICRO_PRESET = {
    "description": "micro Qwen3-VL for fast tests (hidden 64, 2 text layers, 1 vision block)",
    "qwen3_vl_config": {
        "tie_word_embeddings": True,
        "text_config": {
            "vocab_size": 151936, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32, "tie_word_embeddings": True,
            "max_position_embeddings": 4096, "eos_token_id": 151645,
            "rope_parameters": {"rope_type": "default", "rope_theta": 5000000.0,
                                "mrope_section": [6, 5, 5], "mrope_interleaved": True},
        },
        "vision_config": {
            "depth": 1, "hidden_size": 64, "intermediate_size": 128, "num_heads": 2, "patch_size": 16,
            "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 64,
            "num_position_embeddings": 256, "deepstack_visual_indexes": [0],
        },
    },
}


def write_micro_preset(dir_: Path) -> Path:
    path = Path(dir_) / "micro.yaml"
    path.write_text(yaml.safe_dump(MICRO_PRESET), encoding="utf-8")
    return path


def nyu_frames(width_px: int = 64, height_px: int = 64):
    """Real NYU frames resized to (width, height), or skip when ../shared is absent."""
    if not (NYU / "meta.json").is_file():
        pytest.skip(f"real sample data not found at {NYU} (only present in the dev workspace)")
    from toy_data import load_nyu_frames

    return load_nyu_frames(NYU, width_px, height_px)


def write_nyu_depth_set(root: Path, n_per_image: int = 2, questions: int = 2, width_px: int = 64,
                        height_px: int = 64, style: str = "plain", seed: int = 0) -> Path:
    """A small depth dataset (real NYU frames and metric depth) in the shard layout."""
    from toy_data import depth_samples, write_dataset

    rng = np.random.default_rng(seed)
    images, samples = {}, []
    for i, (img, depth) in enumerate(nyu_frames(width_px, height_px)):
        rel = f"images/nyu{i}.png"
        images[rel] = img
        samples += depth_samples(depth, rel, n_per_image, questions, rng, style=style)
    return write_dataset(root, images, samples)


def write_synthetic_depth_set(root: Path, images: int = 2, n_per_image: int = 2, questions: int = 2,
                              width_px: int = 64, height_px: int = 64, seed: int = 0) -> Path:
    """A small depth dataset in the shard layout from random images and smooth z-depth (1-6 m):
    needs nothing outside the repository (unlike ``write_nyu_depth_set``)."""
    from PIL import Image
    from toy_data import depth_samples, write_dataset

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height_px, 0:width_px]
    pics, samples = {}, []
    for i in range(images):
        rel = f"images/synthetic{i}.png"
        pics[rel] = Image.fromarray(rng.integers(0, 256, (height_px, width_px, 3), dtype=np.uint8))
        depth_m = 1.0 + 3.0 * xs / width_px + 2.0 * ys / height_px + 0.5 * i
        samples += depth_samples(depth_m, rel, n_per_image, questions, rng)
    return write_dataset(root, pics, samples)
