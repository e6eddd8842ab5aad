"""Typed configs: YAML + overrides, clear errors, the paper's 4B recipes."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from vlm3.config import ConfigError, help_text, save
from vlm3.train.cli import train
from vlm3.train.config import RunConfig, load_config, recipe_names
from vlm3.train.trainer import build_training_arguments, plan_batch

# task -> (lr, global batch, GPU counts to check: one node + the paper's cluster size)
PAPER = {"depth": (5.5e-5, 1344, (8, 32, 64)), "object": (3.5e-4, 640, (8, 32)),
         "correspondence": (2e-5, 2816, (8, 64)), "pose": (5e-5, 448, (8, 32))}


@pytest.mark.parametrize("task", sorted(PAPER))
def test_paper_recipes(task):
    cfg = load_config(f"qwen3_vl_4b_{task}")
    lr, batch, gpu_counts = PAPER[task]
    t = cfg.train
    assert (t.learning_rate, t.global_batch_size) == (lr, batch)
    assert (t.lr_scheduler, t.warmup_ratio, t.max_grad_norm) == ("cosine", 0.1, 0.02)
    assert t.bf16 == "true" and t.gradient_checkpointing and cfg.model.name_or_path == "Qwen/Qwen3-VL-4B-Instruct"
    for gpus in gpu_counts:  # per-device batch x GPUs x accumulation = global batch exactly
        plan = plan_batch(batch, t.per_device_batch_size, gpus)
        assert plan.global_batch == batch and plan.per_device == t.per_device_batch_size


@pytest.mark.parametrize("task", sorted(PAPER))
@pytest.mark.parametrize("gpus", [1, 8, 16, 24, 32, 48, 64])
def test_every_gpu_count_that_divides_the_global_batch_is_accepted(task, gpus):
    """The recipes' global batch is kept exactly; the per-device batch is lowered when it must be;
    only a device count that does not divide the global batch is refused (one line, two fixes)."""
    t = load_config(f"qwen3_vl_4b_{task}").train
    if t.global_batch_size % gpus:
        with pytest.raises(ConfigError, match=f"cannot be split evenly over {gpus} devices; use"):
            plan_batch(t.global_batch_size, t.per_device_batch_size, gpus)
        return
    plan = plan_batch(t.global_batch_size, t.per_device_batch_size, gpus)
    assert plan.global_batch == t.global_batch_size and 1 <= plan.per_device <= t.per_device_batch_size
    # the largest per-device batch that divides the samples one device sees per step
    per_step = t.global_batch_size // gpus
    assert not any(per_step % d == 0 for d in range(plan.per_device + 1, t.per_device_batch_size + 1))


def test_batch_plans_and_the_one_impossible_case():
    assert plan_batch(1344, 3, 24).describe() == "global batch 1344 = 2 per device x 24 devices x 28 accumulation steps"
    assert (plan_batch(640, 4, 64).per_device, plan_batch(640, 4, 64).accumulation) == (2, 5)
    assert (plan_batch(8, 8, 1).per_device, plan_batch(8, 8, 1).accumulation) == (8, 1)
    with pytest.raises(ConfigError, match=r"1344 cannot be split evenly over 40 devices; use "
                                          r"train.global_batch_size=1320 or 1360"):
        plan_batch(1344, 3, 40)


def test_overrides_round_trip_and_errors(tmp_path):
    cfg = load_config("tiny_cpu", ["train.learning_rate=3e-4", "model.lora.enabled=true", "data.max_length=null",
                                   "train.report_to=[]"])
    assert cfg.train.learning_rate == 3e-4 and cfg.model.lora.enabled and cfg.data.max_length is None
    save(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg
    with pytest.raises(ConfigError, match=r"^train.lr: unknown key; allowed: output_dir, learning_rate, "):
        load_config("tiny_cpu", ["train.lr=1"])
    with pytest.raises(ConfigError, match=r"^train.max_steps: 'abc' is not an integer \(from the command line\)$"):
        load_config("tiny_cpu", ["train.max_steps=abc"])
    with pytest.raises(ConfigError, match="not found"):
        load_config("no_such_recipe")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"train": {"global_batch_size": 10, "per_device_batch_size": 4}}))
    args = build_training_arguments(load_config(tmp_path / "bad.yaml"), world_size=1)  # 10 = 2 x 1 x 5, not 4 x 2.5
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, 5)
    with pytest.raises(ConfigError, match="cannot be split evenly over 3 devices"):
        build_training_arguments(load_config(tmp_path / "bad.yaml"), world_size=3)
    assert "tiny_cpu" in recipe_names()


def test_training_arguments_follow_recipe():
    cfg = load_config("qwen3_vl_4b_object", ["train.bf16=false"])
    args = build_training_arguments(cfg, world_size=32)
    assert args.gradient_accumulation_steps == 5 and args.max_grad_norm == 0.02
    assert args.learning_rate == 3.5e-4 and args.lr_scheduler_type == "cosine" and args.warmup_steps == 0.1
    assert args.optim == "adamw_torch_fused"  # the same AdamW, one fused kernel (transformers' default)
    assert build_training_arguments(load_config("tiny_cpu", ["train.optim=adamw_torch"])).optim == "adamw_torch"


def test_config_errors_are_one_line_naming_key_value_and_file(tmp_path, monkeypatch):
    """Wrong types and ranges in a file, unset variables, malformed YAML: one line each."""
    recipe = tmp_path / "train.yaml"
    recipe.write_text("train:\n  learning_rate: fast\n")
    with pytest.raises(ConfigError) as err:
        load_config(recipe)
    assert str(err.value) == "train.learning_rate: 'fast' is not a float (from train.yaml)"
    recipe.write_text("train:\n  warmup_ratio: 1.5\n")
    with pytest.raises(ConfigError, match=r"^train.warmup_ratio: 1.5 is not in \[0, 1\] \(from train.yaml\)$"):
        load_config(recipe)
    recipe.write_text("data:\n  train_path: ${VLM3_TEST_UNSET_ROOT}/set\n")
    monkeypatch.delenv("VLM3_TEST_UNSET_ROOT", raising=False)
    with pytest.raises(ConfigError, match="data.train_path: environment variable VLM3_TEST_UNSET_ROOT is not set"):
        load_config(recipe)
    monkeypatch.setenv("VLM3_TEST_UNSET_ROOT", "/d")
    assert load_config(recipe).data.train_path == "/d/set"
    recipe.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="malformed YAML") as err:
        load_config(recipe)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="must look like key=value"):
        load_config("tiny_cpu", ["train.learning_rate"])


def test_environment_interpolation_spellings(monkeypatch, tmp_path):
    """${VAR}, ${VAR:-default} and ${oc.env:VAR,default} are one mechanism (defaults with / and .)."""
    monkeypatch.delenv("VLM3_TEST_A", raising=False)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data:\n  train_path: ${VLM3_TEST_A:-../shared/data}/x\n"
                      "  eval_path: ${oc.env:VLM3_TEST_A,runs/e}\n")
    cfg = load_config(recipe)
    assert (cfg.data.train_path, cfg.data.eval_path) == ("../shared/data/x", "runs/e")
    monkeypatch.setenv("VLM3_TEST_A", str(tmp_path))
    cfg = load_config(recipe, ["train.output_dir=${VLM3_TEST_A}/out"])
    assert (cfg.data.train_path, cfg.data.eval_path, cfg.train.output_dir) == (
        f"{tmp_path}/x", str(tmp_path), f"{tmp_path}/out")


def test_help_config_lists_every_key_with_its_doc():
    text = help_text(RunConfig)
    assert "train.learning_rate = 0.0001\n    Peak learning rate (AdamW)." in text
    assert "model.lora.r = 16" in text and "data.train_path = ''" in text
    out = CliRunner().invoke(train, ["--help-config"]).output
    assert out.strip() == text.strip()


def test_cli_config_mistake_is_one_line_without_traceback():
    res = CliRunner().invoke(train, ["tiny_cpu", "train.learning_rate=fast", "--print-config"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert res.output.strip() == "Error: config error: train.learning_rate: 'fast' is not a float (from the command line)"
    res = CliRunner().invoke(train, ["tiny_cpu", "train.max_steps=7", "--print-config"])
    assert res.exit_code == 0 and "max_steps: 7" in res.output


def test_too_old_transformers_is_one_line(tmp_path, monkeypatch):
    """`vlm3 train` on transformers < 5.23 stops before loading anything, naming what to install."""
    import transformers

    from vlm3.train.trainer import MIN_TRANSFORMERS, TransformersVersionError, check_transformers

    check_transformers()  # the installed one is new enough
    with pytest.raises(TransformersVersionError, match=r"needs transformers >= 5.23, this environment has 5.19.1"):
        check_transformers("5.19.1")
    monkeypatch.setattr(transformers, "__version__", "5.22.0")
    (tmp_path / "s.jsonl").write_text("{}\n")  # a shard: the paths pass the checks made before torch loads
    res = CliRunner().invoke(train, ["tiny_cpu", f"data.train_path={tmp_path}", f"train.output_dir={tmp_path / 'o'}"])
    assert res.exit_code == 1 and res.exception.__class__ is SystemExit
    assert f"transformers>={MIN_TRANSFORMERS},<6" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
