"""Kill-and-resume: a run that crashes after a checkpoint and is resumed ends where an
uninterrupted run ends (same weights, same logged losses), data order included."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from _train_helpers import write_micro_preset, write_nyu_depth_set, write_synthetic_depth_set
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


# --- issue #21: resume never silently wrong, never ruins a finished run, interrupts say what to do ---

def _micro(tmp_path, data, out, *extra):
    return load_config(None, [
        f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024", f"data.train_path={data}",
        f"train.output_dir={out}", "train.per_device_batch_size=2", "train.global_batch_size=2",
        "train.save_steps=1", "train.logging_steps=1", "train.report_to=[]", "train.disable_tqdm=true",
        "train.save_total_limit=null", *extra])


@pytest.fixture(scope="module")
def crashed_run(tmp_path_factory):
    """A run of 6 planned steps killed at the end of step 6: checkpoints 2 and 4, logs of steps 1-5."""
    tmp = tmp_path_factory.mktemp("crashed")
    data = write_synthetic_depth_set(tmp / "data", images=2, n_per_image=2)  # 4 samples, 2 steps per epoch
    with pytest.raises(KeyboardInterrupt):
        run_training(_micro(tmp, data, tmp / "out", "train.max_steps=6", "train.save_steps=2"), callbacks=[Crash(6)])
    return tmp, data


def _copy(crashed_run, tmp_path):
    tmp, data = crashed_run
    shutil.copytree(tmp / "out", tmp_path / "out")
    return data, tmp_path / "out"


def test_resume_logs_each_step_once_and_says_which_steps_train_loss_covers(crashed_run, tmp_path, capsys):
    data, out = _copy(crashed_run, tmp_path)
    assert sorted(_losses(out)) == [1, 2, 3, 4, 5] and (out / "checkpoint-4").is_dir()
    res = run_training(_micro(tmp_path, data, out, "train.max_steps=6", "train.save_steps=2"))
    assert res["resumed_from"].endswith("checkpoint-4") and res["global_step"] == 6
    steps = [json.loads(x).get("step") for x in (out / "logs.jsonl").read_text().splitlines() if '"loss"' in x]
    assert steps == [1, 2, 3, 4, 5, 6]  # step 5 (logged before the crash, then re-run) is in the log once
    assert "dropped 1 line(s) of steps after 4" in capsys.readouterr().out
    # train_loss is the mean over the steps this run trained (5 and 6), and says so
    assert (res["train_loss_first_step"], res["train_loss_last_step"]) == (5, 6)
    losses = _losses(out)
    assert res["train_loss"] == pytest.approx((losses[5] + losses[6]) / 2, rel=1e-4)
    final = json.loads((out / "logs.jsonl").read_text().splitlines()[-1])
    assert final["train_loss_first_step"] == 5 and final["train_loss_last_step"] == 6


def test_incomplete_newest_checkpoint_is_skipped_and_missing_optimizer_warns(crashed_run, tmp_path, capsys):
    data, out = _copy(crashed_run, tmp_path)
    (out / "checkpoint-4" / "model.safetensors").unlink()  # a save cut short
    (out / "checkpoint-2" / "optimizer.pt").unlink()
    res = run_training(_micro(tmp_path, data, out, "train.max_steps=3"))
    printed = capsys.readouterr().out
    assert res["resumed_from"].endswith("checkpoint-2") and res["global_step"] == 3
    assert f"note: skipping {out / 'checkpoint-4'} (no model weights" in printed
    assert f"warning: {out / 'checkpoint-2'} has no optimizer state (optimizer.pt): resuming" in printed


def test_train_refuses_an_output_dir_holding_another_model_before_writing(crashed_run, tmp_path):
    """`vlm3 train tiny_cpu` into the folder of a trained micro model: one line, nothing touched."""
    from click.testing import CliRunner

    from vlm3.train.cli import train

    data, out = _copy(crashed_run, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    res = CliRunner().invoke(train, ["tiny_cpu", f"train.output_dir={out}", f"data.train_path={data}"])
    assert res.exit_code == 1, res.output
    line = res.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"train.output_dir={out} already holds a different model" in line
    assert "text_config.hidden_size 64 there, 256 in this run" in line and "choose a new train.output_dir" in line
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.slow  # a real `vlm3 train` subprocess to interrupt: ~30 s alone, ~90 s on shared cores
def test_ctrl_c_says_what_is_kept_and_the_command_that_resumes(crashed_run, tmp_path):
    """A real SIGINT to `vlm3 train` after its first checkpoint: exit 130, the kept checkpoint and
    a command that resumes from it (no bare "Aborted!")."""
    import os
    import shlex
    import signal
    import subprocess
    import sys
    import time

    from vlm3.train.trainer import find_resume_checkpoint

    _, data = crashed_run
    out = tmp_path / "out"
    args = ["train", str(tmp_path / "run.yaml"), f"train.output_dir={out}"]
    base = _micro(tmp_path, data, out, "train.max_steps=200")
    from vlm3.config import save as save_config

    save_config(base, tmp_path / "run.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "vlm3.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            # a shell's background job inherits SIGINT ignored: give the child Ctrl-C back
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    deadline = time.time() + 240
    while not (out / "checkpoint-1" / "trainer_state.json").is_file() and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    line = [x for x in err.splitlines() if x.startswith("interrupted:")]
    assert len(line) == 1 and "Aborted!" not in err and "Traceback" not in err, err[-3000:]
    assert f"interrupted: kept {out}/checkpoint-" in line[0] and "(the last checkpoint); resume with: vlm3 train " in line[0]
    kept = line[0].split("kept ")[1].split(" ")[0]
    command = shlex.split(line[0].split("resume with: ")[1])
    assert command[:2] == ["vlm3", "train"] and command[2:] == args[1:]
    assert find_resume_checkpoint(load_config(command[2], command[3:])) == kept
