"""One evaluation run as a function: predict (cached) and score every benchmark of a config.

``vlm3 eval`` and ``vlm3 demo`` both call :func:`run_eval`; stage 1 caches predictions under
``RUN_DIR/predictions`` (rerunning resumes), stage 2 writes summary.json, report.json and
table.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.predictors.base import InputError

BASELINES = ("oracle", "trivial", "sift")


def _fit_trivial(fit_root: str | None, split: str):
    from vlm3.predictors.trivial import TrivialPredictor

    triv = TrivialPredictor()
    if fit_root:
        from vlm3.data.shards import read_samples, shard_paths
        from vlm3.evaluate.benchmarks import expand_path

        paths = shard_paths(expand_path(fit_root), split)
        if not paths:
            raise InputError(f"no {split} shards under {fit_root} to fit the trivial baseline (set trivial_fit.root)")
        triv.fit(read_samples(paths))
    return triv


def build_predictors(cfg: dict[str, Any], model: str | None, baselines: list[str], batch_size: int = 64,
                     model_name: str | None = None) -> list:
    """The model predictor (when given) followed by the named baselines, on one interface."""
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise InputError(f"unknown baselines {sorted(unknown)}; choose from {', '.join(BASELINES)}")
    predictors = []
    if model:
        from vlm3.predictors.hf import HFPredictor

        mp = HFPredictor.from_pretrained(model, batch_size=batch_size,
                                         max_new_tokens=int(cfg.get("max_new_tokens", 64)),
                                         numbers=str(cfg.get("numbers", "greedy")))
        mp.name = model_name or Path(model).name or model
        predictors.append(mp)
    fit = cfg.get("trivial_fit") or {}
    triv = _fit_trivial(fit.get("root"), str(fit.get("split", "train"))) if {"trivial", "sift"} & set(baselines) else None
    for n in baselines:
        if n == "oracle":
            from vlm3.predictors.oracle import OraclePredictor

            predictors.append(OraclePredictor())
        elif n == "trivial":
            predictors.append(triv)
        else:
            from vlm3.predictors.sift import SiftPredictor

            predictors.append(SiftPredictor(distance_m=float(np.linalg.norm(triv.mean_t_m)) or 1.0))
    if not predictors:
        raise InputError("nothing to evaluate: give a model and/or baselines")
    return predictors


def run_eval(config: str | Path, run_dir: str | Path, model: str | None = None,
             baselines: list[str] | tuple[str, ...] = BASELINES, max_samples: int | None = None,
             batch_size: int = 64, model_name: str | None = None,
             log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Stage 1 (cached predictions) + stage 2 (scores) for every benchmark of ``config``.

    Returns the report dict (also written to RUN_DIR/report.json). Optional benchmarks whose
    data is missing are skipped with the reason recorded in run.json.
    """
    from vlm3.evaluate.benchmarks import load_eval_config
    from vlm3.evaluate.harness import config_hash, predict_benchmark, score_run

    run_dir = Path(run_dir)
    cfg, benches = load_eval_config(config)
    predictors = build_predictors(cfg, model, list(baselines), batch_size, model_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    timing: dict[str, float] = {}
    skipped, primary = [], None
    for b in benches:
        ok, why = b.available()
        if not ok:
            if not b.optional:
                raise InputError(f"benchmark {b.name!r}: {why}")
            skipped.append(f"{b.name}: {why}")
            log(f"skip benchmark {b.name} ({why})")
            continue
        t0 = time.perf_counter()
        reqs = b.requests()
        if max_samples:
            reqs = reqs[:max_samples]
        if not reqs:
            skipped.append(f"{b.name}: no samples")
            log(f"skip benchmark {b.name} (no samples)")
            continue
        primary = primary or b.name
        timing[f"load:{b.name}"] = round(time.perf_counter() - t0, 3)
        for p in predictors:
            stats = predict_benchmark(p, b.name, reqs, run_dir,
                                      config={"benchmark": b.options, "format": cfg.get("format_version")})
            timing[f"predict:{p.name}:{b.name}"] = round(stats["seconds"], 3)
            log(f"{p.name} on {b.name}: {stats['predicted']} predicted, {stats['reused']} reused from cache")
    meta = {"model_name": predictors[0].name if model else None, "primary_benchmark": primary,
            "config": cfg, "config_hash": config_hash(cfg), "skipped_benchmarks": skipped, "timing_s": timing}
    (run_dir / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    score_run(run_dir)
    return json.loads((run_dir / "report.json").read_text())
