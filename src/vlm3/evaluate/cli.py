"""``vlm3 eval`` (stage 1 + 2 over the benchmarks of an eval config) and ``vlm3 report``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from vlm3.infer.predictor import InputError


def _fit_trivial(fit_root: str | None, split: str):
    from vlm3.evaluate.baselines.trivial import TrivialPredictor

    triv = TrivialPredictor()
    if fit_root:
        from vlm3.data.shards import read_samples, shard_paths
        from vlm3.evaluate.benchmarks import expand_path

        paths = shard_paths(expand_path(fit_root), split)
        if not paths:
            raise InputError(f"no {split} shards under {fit_root} to fit the trivial baseline (set trivial_fit.root)")
        triv.fit(read_samples(paths))
    return triv


@click.command("eval")
@click.option("--config", "config_name", default="synthetic", show_default=True,
              help="eval config: a YAML file or a name in vlm3/configs/eval/")
@click.option("--model", "model", default=None,
              help="model to evaluate: preset, checkpoint dir or cached hub id (omit to run baselines only)")
@click.option("--baselines", default="oracle,trivial,sift", show_default=True,
              help="comma-separated baselines: oracle, trivial, sift (empty for none)")
@click.option("--out", "run_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="run directory (predictions are cached here; rerunning resumes)")
@click.option("--max-samples", type=int, default=None, help="cap samples per benchmark (quick checks)")
@click.option("--batch-size", default=64, show_default=True, help="questions decoded together (model)")
def eval_cmd(config_name: str, model: str | None, baselines: str, run_dir: Path, max_samples: int | None,
             batch_size: int) -> None:
    """Predict (cached, resumable) and score every benchmark of an eval config.

    Writes RUN_DIR/predictions/*.jsonl, summary.json, report.json and table.md.
    """
    from vlm3.evaluate.benchmarks import load_eval_config
    from vlm3.evaluate.harness import config_hash, predict_benchmark, score_run

    try:
        cfg, benches = load_eval_config(config_name)
        predictors = []
        if model:
            from vlm3.infer.hf import HFPredictor

            mp = HFPredictor.from_pretrained(model, batch_size=batch_size,
                                             max_new_tokens=int(cfg.get("max_new_tokens", 64)))
            mp.name = Path(model).name or model
            predictors.append(mp)
        names = [b.strip() for b in baselines.split(",") if b.strip()]
        unknown = set(names) - {"oracle", "trivial", "sift"}
        if unknown:
            raise click.BadParameter(f"unknown baselines {sorted(unknown)}; choose from oracle, trivial, sift",
                                     param_hint="--baselines")
        fit = cfg.get("trivial_fit") or {}
        triv = _fit_trivial(fit.get("root"), str(fit.get("split", "train"))) if {"trivial", "sift"} & set(names) else None
        for n in names:
            if n == "oracle":
                from vlm3.evaluate.baselines.oracle import OraclePredictor

                predictors.append(OraclePredictor())
            elif n == "trivial":
                predictors.append(triv)
            else:
                import numpy as np

                from vlm3.evaluate.baselines.sift import SiftPredictor

                predictors.append(SiftPredictor(distance_m=float(np.linalg.norm(triv.mean_t_m)) or 1.0))
        if not predictors:
            raise click.UsageError("nothing to evaluate: give --model and/or --baselines")
        run_dir.mkdir(parents=True, exist_ok=True)
        timing: dict[str, float] = {}
        skipped = []
        primary = None
        for b in benches:
            ok, why = b.available()
            if not ok:
                if not b.optional:
                    raise InputError(f"benchmark {b.name!r}: {why}")
                skipped.append(f"{b.name}: {why}")
                click.echo(f"skip benchmark {b.name} ({why})")
                continue
            primary = primary or b.name
            t0 = time.perf_counter()
            reqs = b.requests()
            if max_samples:
                reqs = reqs[:max_samples]
            timing[f"load:{b.name}"] = round(time.perf_counter() - t0, 3)
            for p in predictors:
                stats = predict_benchmark(p, b.name, reqs, run_dir, config={"benchmark": b.options,
                                                                            "format": cfg.get("format_version")})
                timing[f"predict:{p.name}:{b.name}"] = round(stats["seconds"], 3)
                click.echo(f"{p.name} on {b.name}: {stats['predicted']} predicted, {stats['reused']} reused from cache")
        meta = {"model_name": predictors[0].name if model else None, "primary_benchmark": primary,
                "config": cfg, "config_hash": config_hash(cfg), "skipped_benchmarks": skipped, "timing_s": timing}
        (run_dir / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        score_run(run_dir)
    except InputError as err:
        raise click.UsageError(str(err)) from None
    click.echo((run_dir / "table.md").read_text())
    click.echo(f"wrote {run_dir}/summary.json, report.json, table.md")


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_html", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file (default: RUN_DIR/report.html of the first run); numbers go next to it as <name>_numbers.json")
def report_cmd(run_dirs: tuple[Path, ...], out_html: Path | None) -> None:
    """One self-contained HTML page (tables + figures) for one or more evaluated runs."""
    from vlm3.evaluate.report import build_report

    out_html = out_html or run_dirs[0] / "report.html"
    try:
        build_report(list(run_dirs), out_html)
    except FileNotFoundError as err:
        raise click.UsageError(str(err)) from None
    click.echo(f"wrote {out_html} and {out_html.with_name(out_html.stem + '_numbers.json')}")


#: name the root `vlm3` command imports
report = report_cmd
