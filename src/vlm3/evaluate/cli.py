"""``vlm3 eval`` (stage 1 + 2 over the benchmarks of an eval config) and ``vlm3 report``."""

from __future__ import annotations

from pathlib import Path

import click

from vlm3.config import ConfigError, help_text
from vlm3.errors import Command
from vlm3.io.images import ImageReadError
from vlm3.io.paths import OutputPathError, check_out_dir, check_out_file
from vlm3.model.presets import model_spec_problem
from vlm3.predictors import resolve_device
from vlm3.errors import InputError


def _check(check, *args) -> None:
    """An output path check (vlm3.io.paths) as a one-line usage error."""
    try:
        check(*args)
    except OutputPathError as err:
        raise click.UsageError(str(err)) from None


@click.command("eval", cls=Command)
@click.argument("overrides", nargs=-1)
@click.option("--config", "config_name", default="synthetic", show_default=True,
              help="eval config: a YAML file or a name in vlm3/configs/eval/")
@click.option("--model", "model", default=None,
              help="model to evaluate: preset, checkpoint dir, cached hub id, or vllm:DIR for the vLLM backend "
                   "(omit to run baselines only)")
@click.option("--device", default="auto", show_default=True,
              help="where the model runs: auto (the GPU when there is one), cpu, cuda or cuda:N")
@click.option("--baselines", default="oracle,trivial,sift", show_default=True,
              help="comma-separated baselines: oracle, trivial, sift (empty for none)")
@click.option("--out", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="run directory (required; predictions are cached here; rerunning resumes)")
@click.option("--max-samples", type=click.IntRange(min=1), default=None,
              help="cap samples per benchmark (quick checks)")
@click.option("--batch-size", default=64, show_default=True, help="questions decoded together (model)")
@click.option("--help-config", is_flag=True, help="List every eval config key with its default and meaning, then exit.")
def eval_cmd(overrides: tuple[str, ...], config_name: str, model: str | None, baselines: str, run_dir: Path | None,
             max_samples: int | None, batch_size: int, help_config: bool, device: str) -> None:
    """Predict (cached, resumable) and score every benchmark of an eval config.

    OVERRIDES: dotted config keys with YAML values, e.g. `max_new_tokens=32 trivial_fit.root=runs/demo/data`.
    Writes RUN_DIR/predictions/*.jsonl, summary.json, report.json, table.md and config.yaml (resolved).
    """
    from vlm3.evaluate.config import EvalConfig
    from vlm3.evaluate.pipeline import run_eval

    if help_config:
        click.echo(help_text(EvalConfig))
        return
    if run_dir is None:
        raise click.UsageError("give --out RUN_DIR")
    _check(check_out_dir, run_dir)

    problem = model_spec_problem(model.removeprefix("vllm:")) if model else None
    if problem is not None:  # before torch and the predictors load
        raise click.UsageError(f"--model {problem}")
    names = [b.strip() for b in baselines.split(",") if b.strip()]
    try:
        if model and not model.startswith("vllm:"):
            resolve_device(device)  # a bad --device is one line before anything is loaded
        run_eval(config_name, run_dir, model=model, baselines=names, max_samples=max_samples,
                 batch_size=batch_size, log=click.echo, overrides=overrides, device=device)
    except ConfigError as err:
        raise click.ClickException(f"config error: {err}") from None
    except (InputError, ImageReadError) as err:
        raise click.UsageError(str(err)) from None
    click.echo((run_dir / "table.md").read_text())
    if (run_dir / "paper.md").is_file():  # --config paper: the paper's tables beside the published rows
        click.echo((run_dir / "paper.md").read_text())
    click.echo(f"wrote {run_dir}/summary.json, report.json, table.md")


@click.command("report", cls=Command)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_html", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file (default: RUN_DIR/report.html of the first run); numbers go next to it as <name>_numbers.json")
def report_cmd(run_dirs: tuple[Path, ...], out_html: Path | None) -> None:
    """One self-contained HTML page (tables + figures) for one or more evaluated runs."""
    from vlm3.evaluate.report import build_report

    out_html = out_html or run_dirs[0] / "report.html"
    _check(check_out_file, out_html, (".html", ".htm"))
    try:
        build_report(list(run_dirs), out_html)
    except FileNotFoundError as err:
        raise click.UsageError(str(err)) from None
    click.echo(f"wrote {out_html} and {out_html.with_name(out_html.stem + '_numbers.json')}")


#: name the root `vlm3` command imports
report = report_cmd
