"""The GPU check script (benchmarks/gpu/run.sh) runs end to end on the CPU at tiny sizes.

``--dry-run``: the micro preset instead of the 4B one, 128-px images, one training step
through ``accelerate launch --cpu`` (the FSDP config needs GPUs), micro-batches of one,
two demo steps, one held-out case per task. It checks that every step of the script runs
and reports what it must (the numbers themselves mean nothing on a CPU). No GPU was
available when this was written: the full-size run has not been run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared_paths import REPO


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    r = subprocess.run(["bash", str(REPO / "benchmarks/gpu/run.sh"), "--dry-run"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=1500)
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
    for task in ("depth", "correspondence", "pose"):
        mb = fsdp["micro_batches"][task]
        assert mb["tokens"] > mb["image_tokens"] > 0 and "peak_memory_gib" in mb, mb
    assert load["missing"] == [] and load["auto_model"] == "Qwen3VLForConditionalGeneration"
    assert load["vlm3_predictor"]["device"] == "cpu"
    assert demo["steps"] == 2 and demo["headline"].strip()
    assert json.loads(open(demo["report"]).read())  # the held-out evaluation's report.json
    assert res["environment"]["torch"] and res["dry_run"] is True


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
