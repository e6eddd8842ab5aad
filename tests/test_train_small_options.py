"""The small-model speed-ups stay out of the 4B path: every 4B recipe resolves with them off,
and then nothing is attached to the model, ``vlm3.train.trainer`` never imports ``vlm3.train.small``
(a default run trains with ``VLM3Trainer``); bad combinations are one-line config errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from _train_helpers import write_micro_preset, write_synthetic_depth_set
from vlm3.config import ConfigError
from vlm3.train.config import load_config, recipe_names
from vlm3.train.small.options import check_options, prepare
from vlm3.train.trainer import uses_small_model_options

REPO = Path(__file__).resolve().parents[1]

# a fresh interpreter: importing the trainer, then a default run (save included), loads no vlm3.train.small module
NO_SMALL_MODULES = """
import sys

import vlm3.train.trainer as trainer
from vlm3.train.config import load_config


def small():
    return sorted(m for m in sys.modules if m == "vlm3.train.small" or m.startswith("vlm3.train.small."))


assert not small(), f"import vlm3.train.trainer loaded {small()}"
metrics = trainer.run_training(load_config(None, sys.argv[1:]))
assert metrics["global_step"] == 1, metrics
assert not small(), f"a default run loaded {small()}"
print("no vlm3.train.small module")
"""


@pytest.mark.parametrize("recipe", [r for r in recipe_names() if r.startswith("qwen3_vl_4b")])
def test_4b_recipes_resolve_without_small_model_options(recipe):
    cfg = load_config(recipe)
    assert (cfg.train.answer_vocab, cfg.train.embedding_grad) == ("full", "dense")
    check_options(cfg)
    # nothing is collected or attached: the model and tokenizer are not even looked at
    assert prepare(cfg, model=None, tokenizer=None, samples=iter(())) is None


def test_unknown_modes_are_named():
    with pytest.raises(ConfigError, match="train.embedding_grad must be one of dense, used_rows"):
        check_options(load_config(None, ["train.embedding_grad=sparse"]))
    with pytest.raises(ConfigError, match="train.answer_vocab must be one of full, answers"):
        check_options(load_config(None, ["train.answer_vocab=some"]))


def test_only_small_model_options_bring_the_small_trainer():
    assert not uses_small_model_options(load_config(None, []))
    for extra in (["train.answer_vocab=answers"], ["train.embedding_grad=used_rows"], ["train.answer_vocab=some"]):
        assert uses_small_model_options(load_config(None, extra)), extra  # a bad value too: check_options names it


def test_trainer_and_a_default_run_import_no_small_model_code(tmp_path):
    data = write_synthetic_depth_set(tmp_path / "data")
    overrides = [f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024",
                 f"data.train_path={data}", f"train.output_dir={tmp_path / 'run'}", "train.max_steps=1",
                 "train.per_device_batch_size=2", "train.global_batch_size=2", "train.save_steps=1",
                 "train.report_to=[]", "train.disable_tqdm=true"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-c", NO_SMALL_MODULES, *overrides], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert "no vlm3.train.small module" in res.stdout
    assert (tmp_path / "run" / "model.safetensors").is_file() and (tmp_path / "run" / "checkpoint-1").is_dir()
