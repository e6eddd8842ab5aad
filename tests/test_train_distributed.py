"""Real 2-process training on CPU (torchrun, gloo) through the project's trainer (issue #18).

DDP: two processes train the micro preset, the final output is one complete HF model folder
that stock transformers loads and that answers (greedy) as the in-memory model did; config.yaml
is written by rank 0 only; a second launch resumes from that run's checkpoint.

FSDP2 and DeepSpeed ZeRO-3 (and the FSDP1 resume failure) run through the same worker in
tests/test_train_sharded.py: accelerate refuses them on a CPU-only machine, so the worker first
applies the test-only patches of tests/_cpu_dist_patches.py.

This file is also the worker: ``torchrun ... tests/test_train_distributed.py --worker [--sharded] OUT ARGS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TORCHRUN = Path(sys.executable).with_name("torchrun")
ACCELERATE = Path(sys.executable).with_name("accelerate")


def worker(argv: list[str]) -> None:
    """Run ``run_training`` in this process of a torchrun group; rank 0 records what it saw."""
    sys.path.insert(0, str(HERE))
    import _cpu_dist_patches

    _cpu_dist_patches.apply()  # accelerate's FSDP / DeepSpeed on CPU processes (test-only)
    import vlm3.train.trainer as trainer_mod
    from test_train_save import Remember

    from vlm3.train.config import load_config

    sharded = argv[0] == "--sharded"  # FSDP / ZeRO-3: the model answers only with every rank taking part
    report, overrides = Path(argv[int(sharded)]), argv[int(sharded) + 1:]
    rank = int(os.environ["RANK"])
    save = trainer_mod.save

    def save_and_record(cfg, path):  # who writes config.yaml (the real save, plus a note of the rank)
        with open(report.with_name(f"config_writes_rank{rank}.txt"), "a", encoding="utf-8") as f:
            f.write(f"{path}\n")
        return save(cfg, path)

    trainer_mod.save = save_and_record
    callbacks = [] if sharded else [Remember(report)]
    metrics = trainer_mod.run_training(load_config(None, overrides), callbacks=callbacks)
    if rank == 0:
        report.with_suffix(".metrics.json").write_text(json.dumps(
            {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, type(None)))}))


def _free_port() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _launch(cmd: list[str], tmp: Path, timeout_s: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(HERE)]))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    res = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-6000:]
    return res


def _overrides(tmp: Path, out: Path, max_steps: int) -> list[str]:
    from _train_helpers import write_micro_preset

    return [f"model.name_or_path={write_micro_preset(tmp)}", "model.min_pixels=1024", f"data.train_path={tmp / 'data'}",
            f"train.output_dir={out}", f"train.max_steps={max_steps}", "train.per_device_batch_size=1",
            "train.global_batch_size=2", "train.save_steps=1", "train.logging_steps=1", "train.report_to=[]",
            "train.disable_tqdm=true", "train.save_total_limit=null", "train.warmup_ratio=0"]


def _torchrun(tmp: Path, report: Path, overrides: list[str]) -> subprocess.CompletedProcess:
    return _launch([str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(Path(__file__).resolve()),
                    "--worker", str(report), *overrides], tmp)


@pytest.mark.slow
def test_ddp_two_processes_save_a_loadable_model_and_resume(tmp_path):
    from _train_helpers import write_synthetic_depth_set
    from test_train_save import check_hf_model_dir

    write_synthetic_depth_set(tmp_path / "data", images=2, n_per_image=2)  # 4 samples: 2 steps per epoch
    out = tmp_path / "out"
    _torchrun(tmp_path, tmp_path / "run1.json", _overrides(tmp_path, out, 2))
    assert (out / "checkpoint-2" / "rng_state_1.pth").is_file()  # two ranks saved their RNG state
    answer = json.loads((tmp_path / "run1.json").read_text())
    check_hf_model_dir(out, answer)
    # config.yaml: written by rank 0 only (before training, into each checkpoint, at the end)
    assert not (tmp_path / "config_writes_rank1.txt").exists()
    assert (tmp_path / "config_writes_rank0.txt").read_text().count(str(out / "config.yaml")) == 2
    # a second launch with more steps resumes from that run's newest checkpoint
    _torchrun(tmp_path, tmp_path / "run2.json", _overrides(tmp_path, out, 3))
    metrics = json.loads((tmp_path / "run2.metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-2") and metrics["global_step"] == 3
    assert (metrics["train_loss_first_step"], metrics["train_loss_last_step"]) == (3, 3)
    steps = [json.loads(x)["step"] for x in (out / "logs.jsonl").read_text().splitlines() if '"loss"' in x]
    assert steps == [1, 2, 3]  # each step logged once, by one rank
    check_hf_model_dir(out, json.loads((tmp_path / "run2.json").read_text()))


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    worker(sys.argv[2:])
