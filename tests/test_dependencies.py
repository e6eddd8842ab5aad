"""The dependency window (issue 18, items 1 and 9): what pyproject allows is what the code runs on.

- pyproject's transformers lower bound is the trainer's ``MIN_TRANSFORMERS``;
- the transformers backend uses the installed transformers' name for the KV cache
  (``cache`` since 5.24; ``past_key_values`` before), so ``generate`` emits no deprecation;
- each install set (``.[dev]``, ``.[vllm]``, ``.[ray]``, ``.[app]``) with the CPU torch pin resolves from
  the package registry (``pip install --dry-run --ignore-installed``) to a transformers the
  trainer accepts. Slow and needs the registry: marked ``slow`` + ``network``, skipped with the
  reason when the registry cannot be reached. Measured 2026-12-02 (pip 25, this registry):
  ``.[vllm]`` -> vllm 0.30.0 + transformers 5.24.0 (vllm 0.31/0.32/0.33 cap transformers
  below 5.18/5.20/5.21, so pip backtracks to 0.30.0, the newest release without such a cap);
  ``.[ray]`` -> ray 2.60.0; ``.[dev]`` -> transformers 5.24.0.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tomllib
import warnings

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from shared_paths import REPO

TORCH_PIN = "torch==2.13.0"  # the Makefile's TORCH_PIN (the CPU build)


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return {r.name: r for r in reqs}


def test_transformers_range_is_the_trainers():
    from vlm3.train.trainer import MIN_TRANSFORMERS

    spec = _requirements()["transformers"].specifier
    assert spec.contains(MIN_TRANSFORMERS + ".0") and not spec.contains("5.22.2") and not spec.contains("6.0")
    # vLLM: the newest release whose requirements admit that transformers (module doc)
    vllm = _requirements()["vllm"].specifier
    assert vllm.contains("0.30.0") and not vllm.contains("0.29.0")


def test_generate_uses_the_current_cache_name():
    """Prefix reuse hands the prefix KV cache to ``generate`` by the name the installed
    transformers reads: no FutureWarning from ``generate`` and no deprecation log line for
    ``output.past_key_values`` (transformers 5.24 renamed both to ``cache``)."""
    from transformers.utils import logging as hf_logging

    from vlm3.predictors import make_predictor
    from vlm3.predictors.base import Request

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = hf_logging.get_logger("transformers")
    handler = Keep()
    logger.addHandler(handler)
    logging.Logger.warning_once.cache_clear()  # transformers' once-per-process warnings: say them again
    try:
        p = make_predictor("model:tiny", max_new_tokens=3, decoding="generate")
        img = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = p.predict([Request("r", "depth", [img], ["depth at (10, 20)?", "depth at (30, 40)?",
                                                           "how far is (1000, 5)?"])])
    finally:
        logger.removeHandler(handler)
    assert len(out[0].texts) == 3
    messages = [str(w.message) for w in caught] + lines
    assert not [m for m in messages if "past_key_values" in m], messages


def _registry_reachable() -> str | None:
    """None when pip can query the registry, else why not."""
    try:
        r = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "pip"], capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "the package registry did not answer within 120 s"
    return None if r.returncode == 0 else f"the package registry is unreachable ({r.stderr.strip()[-200:]})"


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("extra", ["dev", "vllm", "ray", "app"])
def test_install_set_resolves(extra, tmp_path):
    why = _registry_reachable()
    if why:
        pytest.skip(why)
    from vlm3.train.trainer import MIN_TRANSFORMERS

    report = tmp_path / "report.json"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), TORCH_PIN, f"{REPO}[{extra}]"],
                       capture_output=True, text=True, timeout=1200)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ERROR")]
    assert r.returncode == 0, "\n".join(errors) or r.stderr[-2000:]
    chosen = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    assert Version(chosen["torch"]).base_version == TORCH_PIN.split("==")[1]
    assert Version(chosen["transformers"]) >= Version(MIN_TRANSFORMERS), chosen["transformers"]
    wanted = {"vllm": "vllm", "ray": "ray", "dev": "pytest", "app": "gradio"}[extra]
    assert wanted in chosen, sorted(chosen)
    print(f".[{extra}] + {TORCH_PIN}: transformers {chosen['transformers']}, {wanted} {chosen[wanted]}")
