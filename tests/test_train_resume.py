"""Kill-and-resume: a run that crashes after a checkpoint and is resumed ends where an
uninterrupted run ends (same weights, same logged losses), data order included."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from _train_helpers import write_micro_preset, write_nyu_depth_set
from vlm3.train.config import load_config
from vlm3.train.trainer import run_training


class Crash(TrainerCallback):
    def __init__(self, at_step):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt(f"simulated kill at step {self.at_step}")


def _cfg(tmp_path, data, out):
    return load_config(None, [
        f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024", f"data.train_path={data}",
        f"train.output_dir={out}", "train.max_steps=4", "train.per_device_batch_size=2", "train.global_batch_size=2",
        "train.save_steps=2", "train.logging_steps=1", "train.learning_rate=1e-3", "train.report_to=[]",
        "train.disable_tqdm=true", "train.save_total_limit=null"])


def _losses(out):
    lines = [json.loads(x) for x in (out / "logs.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in lines if "loss" in r}


def test_kill_and_resume_matches_uninterrupted(tmp_path):
    data = write_nyu_depth_set(tmp_path / "data", n_per_image=2, questions=2)  # 6 samples, 3 steps per epoch
    ref = run_training(_cfg(tmp_path, data, tmp_path / "a"))
    with pytest.raises(KeyboardInterrupt):
        run_training(_cfg(tmp_path, data, tmp_path / "b"), callbacks=[Crash(3)])
    assert (tmp_path / "b" / "checkpoint-2").is_dir() and not (tmp_path / "b" / "checkpoint-4").exists()
    assert (tmp_path / "b" / "checkpoint-2" / "config.yaml").is_file()
    res = run_training(_cfg(tmp_path, data, tmp_path / "b"))
    assert res["resumed_from"].endswith("checkpoint-2") and res["global_step"] == ref["global_step"] == 4
    wa = load_file(str(tmp_path / "a" / "model.safetensors"))
    wb = load_file(str(tmp_path / "b" / "model.safetensors"))
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-5, atol=1e-6)
    la, lb = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    for step in (3, 4):
        assert lb[step] == pytest.approx(la[step], rel=1e-5)
    rec = json.loads((tmp_path / "a" / "logs.jsonl").read_text().splitlines()[0])
    assert rec["tokens_per_s"] > 0 and rec["labels_per_s"] > 0 and "learning_rate" in rec
    # re-running the finished run trains nothing (Trainer alone would take a step past max_steps)
    again = run_training(_cfg(tmp_path, data, tmp_path / "a"))
    assert again["already_finished"] and again["global_step"] == 4
    assert not (tmp_path / "a" / "checkpoint-5").exists()
    for k, v in load_file(str(tmp_path / "a" / "model.safetensors")).items():
        torch.testing.assert_close(v, wa[k])
