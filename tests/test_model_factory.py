"""Model factory: presets (tiny, 4B on meta), checkpoint round trip, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from _train_helpers import write_micro_preset
from vlm3.model.factory import (ModelLoadError, build_model_from_preset, count_parameters,
                                load_model_and_processor, preset_names)


def test_tiny_preset_is_seeded_and_tied():
    m1, proc = load_model_and_processor("tiny", seed=3)
    m2 = build_model_from_preset("tiny", seed=3)
    assert 35e6 < count_parameters(m1) < 50e6
    assert m1.lm_head.weight.data_ptr() == m1.model.language_model.embed_tokens.weight.data_ptr()
    torch.testing.assert_close(m1.model.visual.patch_embed.proj.weight, m2.model.visual.patch_embed.proj.weight)
    assert m1.config.vision_config.patch_size == 16 and m1.config.vision_config.spatial_merge_size == 2
    assert proc.image_processor.patch_size == 16 and proc.image_processor.merge_size == 2


def test_4b_architecture_on_meta_device():
    model = build_model_from_preset("qwen3_vl_4b", dtype="bfloat16", device="meta")
    n = count_parameters(model)
    assert 4.40e9 < n < 4.48e9  # Qwen3-VL-4B: 4.44B parameters
    tc, vc = model.config.text_config, model.config.vision_config
    assert (tc.num_hidden_layers, tc.hidden_size, tc.vocab_size) == (36, 2560, 151936)
    assert (vc.depth, vc.out_hidden_size, list(vc.deepstack_visual_indexes)) == (24, 2560, [5, 11, 17])
    assert next(model.parameters()).device.type == "meta"


def test_checkpoint_round_trip(tmp_path):
    model, proc = load_model_and_processor(str(write_micro_preset(tmp_path)), min_pixels=1024)
    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt)
    proc.save_pretrained(ckpt)
    loaded, proc2 = load_model_and_processor(str(ckpt), dtype="float32")
    ids = torch.tensor([[9707, 1879, 151645]])
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, loaded(input_ids=ids).logits)
    assert proc2.tokenizer.encode("Hello world") == [9707, 1879]
    assert proc2.image_processor.size.shortest_edge == 1024


def test_clear_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model_and_processor(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelLoadError, match="Qwen3-VL"):
        load_model_and_processor(str(tmp_path))
    with pytest.raises(ModelLoadError, match="never downloads"):
        load_model_and_processor("someone/not-a-cached-model")
    with pytest.raises(ModelLoadError, match="unknown model preset"):
        load_model_and_processor("x", tiny_preset="nope")
    assert {"tiny", "qwen3_vl_4b"} <= set(preset_names())
