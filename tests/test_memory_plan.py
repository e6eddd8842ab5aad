"""The memory plan (``vlm3 train RECIPE --plan``, issue #27) before a GPU is touched.

Its activation figure is measured under ``FakeTensorMode`` (full-size shapes, no memory); here
the same micro-batch is run for real on the CPU through the real Qwen3-VL text model at 2 layers
(reduced width), the bytes autograd keeps counted on real storages, and the plan's per-layer
figure must match it. The 4B recipes are planned offline from the shipped architecture.
"""

from __future__ import annotations

import torch
from click.testing import CliRunner

from vlm3.model.factory import build_config
from vlm3.train.config import load_config
from vlm3.train.memory_plan import GIB, build_plan, format_plan, layer_activation_bytes


def _reduced_4b():
    """The 4B architecture at reduced width (same head layout ratios, GQA, mRoPE)."""
    config = build_config("qwen3_vl_4b")
    t = config.text_config
    t.hidden_size, t.intermediate_size, t.num_attention_heads, t.num_key_value_heads, t.head_dim = 256, 960, 8, 2, 32
    t.vocab_size = 2048
    t.rope_parameters = {**t.rope_parameters, "mrope_section": [6, 5, 5]}
    config.vision_config.out_hidden_size = 256
    return config


def test_per_layer_activations_match_a_measured_cpu_run_at_two_layers():
    config, tokens = _reduced_4b(), 1536
    for checkpointing in (False, True):
        planned = layer_activation_bytes(config, tokens, torch.float32, fake=True, checkpointing=checkpointing)
        measured = layer_activation_bytes(config, tokens, torch.float32, fake=False, checkpointing=checkpointing)
        print(f"checkpointing={checkpointing}: planned {planned}, measured {measured}")
        assert measured["layer1"] > 0
        assert abs(planned["layer1"] - measured["layer1"]) <= 0.02 * measured["layer1"]
    # with checkpointing a layer keeps its input only: tokens x hidden values
    kept = layer_activation_bytes(config, tokens, torch.float32, fake=True, checkpointing=True)["layer1"]
    assert kept == tokens * config.text_config.hidden_size * 4


def test_4b_plan_offline_counts_the_published_architecture():
    cfg = load_config("qwen3_vl_4b_pose")
    plan = build_plan(cfg, "qwen3_vl_4b_pose")
    assert 4.3e9 < plan.trainable < 4.5e9  # Qwen3-VL-4B: ~4.44B parameters, tied embedding once
    one = plan.per_gpu(1)
    assert abs(one["params"] - 4 * plan.trainable / GIB) < 1e-6 and abs(one["adamw"] - 2 * one["params"]) < 1e-6
    assert plan.per_gpu(8)["params"] == one["params"] / 8
    text = format_plan(plan)
    assert text.count("\n") == 5 and "80 GiB (H100)" in text and "141 GiB (H200)" in text


def test_cli_plan_prints_the_table_and_trains_nothing(tmp_path):
    from vlm3.train.cli import train

    res = CliRunner().invoke(train, ["qwen3_vl_4b_object", "--plan", f"train.output_dir={tmp_path / 'out'}"])
    assert res.exit_code == 0, res.output
    assert "memory plan for qwen3_vl_4b_object" in res.output and "\n32 | " in res.output
    assert not (tmp_path / "out").exists()
