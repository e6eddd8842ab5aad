"""``vlm3 demo``: world -> data -> train -> eval -> report on the CPU, as a script of the public stages.

The demo is the five public commands in a row (karpathy/nanochat ``runs/runcpu.sh`` style);
each stage calls the function its command runs, with the stage's shipped config and the
overrides of the demo preset (``vlm3/configs/demo/<preset>.yaml``, where the equivalent
command lines are written out)::

    vlm3 world generate --preset demo --scenes 100 --seed 0 --workers 2 --out RUN/world
    VLM3_WORLD=RUN/world VLM3_DATA_OUT=RUN/data vlm3 data build demo
    VLM3_DATA=RUN/data VLM3_TRAIN_OUT=RUN/train vlm3 train demo
    VLM3_DATA=RUN/data vlm3 eval --config demo --model RUN/train --out RUN/eval
    vlm3 report RUN/eval --out RUN/report.html

Every stage resumes on its own (complete world scenes are kept, finished shards are kept,
training resumes from its newest checkpoint, predictions are cached), so running the demo
again after an interruption continues where it stopped. All four stage configs are resolved
before the first stage runs (a config mistake costs no compute); each is saved beside its
artefact (``RUN/<stage>/config.yaml``), the demo's own in ``RUN/demo.yaml``. The real
samples (``$VLM3_REAL_DATA``, else ``../shared/data/real``) are optional sources of the
demo's data config: absent, they are left out and the demo evaluates on synthetic scenes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from vlm3.config import ConfigError, load, option, save, shipped_names, to_dict
from vlm3.data.config import DataConfig
from vlm3.errors import Command
from vlm3.evaluate.config import EvalConfig
from vlm3.io.paths import real_data_root
from vlm3.train.config import RunConfig
from vlm3.world.config import WorldConfig


@dataclass
class StageConfig:
    """One stage: its config and the demo's overrides of it."""

    config: str = option("demo", "The stage's config: a shipped name (vlm3/configs/<stage>/) or a YAML file.")
    overrides: list[str] = option([], "Dotted key=value overrides of that config.")


@dataclass
class WorldStage(StageConfig):
    """The world stage: a world config plus how many scenes, from which seed, on how many processes."""

    scenes: int = option(100, "Synthetic scenes (80/10/10 train/val/test by scene).")
    workers: int = option(2, "World worker processes (at most the CPU count).")


@dataclass
class DemoConfig:
    """A demo preset: the four configured stages (the report needs no config)."""

    description: str = option("", "What this preset is (sizes, expected time).")
    world: WorldStage = field(default_factory=WorldStage)
    data: StageConfig = field(default_factory=StageConfig)
    train: StageConfig = field(default_factory=StageConfig)
    eval: StageConfig = field(default_factory=StageConfig)

    def validate(self) -> None:
        if self.world.scenes < 1 or self.world.workers < 1:
            raise ConfigError(f"world.scenes and world.workers must be >= 1, got {self.world.scenes}, "
                              f"{self.world.workers}")


@dataclass
class DemoPlan:
    """The resolved config of every stage of one demo run, and where each writes."""

    run_dir: Path
    world: WorldConfig
    data: DataConfig
    train: RunConfig
    eval: EvalConfig

    @property
    def world_dir(self) -> Path:
        return self.run_dir / "world"


def stage_variables(run_dir: Path, real: Path | None) -> dict[str, str]:
    """The ``${VAR}`` values that point the stage configs at the run folder (and the real data)."""
    out = {"VLM3_WORLD": str(run_dir / "world"), "VLM3_DATA_OUT": str(run_dir / "data"),
           "VLM3_DATA": str(run_dir / "data"), "VLM3_TRAIN_OUT": str(run_dir / "train")}
    if real is not None:
        out["VLM3_REAL_DATA"] = str(real)
    return out


def plan_demo(cfg: DemoConfig, run_dir: Path, real: Path | None) -> DemoPlan:
    """Resolve the four stage configs (ConfigError on any mistake, before anything runs)."""
    env = stage_variables(run_dir, real)
    return DemoPlan(
        run_dir,
        world=load(WorldConfig, cfg.world.config, cfg.world.overrides, kind="world"),
        data=load(DataConfig, cfg.data.config, cfg.data.overrides, kind="data", variables=env),
        train=load(RunConfig, cfg.train.config, cfg.train.overrides, kind="train", variables=env),
        eval=load(EvalConfig, cfg.eval.config, cfg.eval.overrides, kind="eval", variables=env))


class Stages:
    """Times each stage and keeps the times in RUN/stages.json.

    A resumed stage adds its time to what earlier runs spent on it, so ``seconds`` is the
    total work of the stage; ``runs`` counts how many times it was entered.
    """

    def __init__(self, run_dir: Path):
        self.path = run_dir / "stages.json"
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        click.secho(f"\n=== stage {name} ===", bold=True)
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        dt = round(time.perf_counter() - t0, 1)
        prev = self.state.get(name, {})
        self.state[name] = {"seconds": round(prev.get("seconds", 0.0) + dt, 1), "runs": prev.get("runs", 0) + 1}
        self.path.write_text(json.dumps(self.state, indent=2))
        click.echo(f"stage {name}: {dt:.1f} s" + (f" (total over {self.state[name]['runs']} runs: "
                                                   f"{self.state[name]['seconds']:.1f} s)" if prev else ""))
        return out

    def timing(self) -> dict[str, float]:
        return {k: v["seconds"] for k, v in self.state.items()}


def _final_model_dir(train_dir: Path) -> Path:
    """run_training saves the final model (and processor) into its output folder."""
    if not (train_dir / "config.json").is_file():
        raise click.ClickException(f"no trained model found in {train_dir}")
    return train_dir


def run_demo(cfg: DemoConfig, run_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Every stage of the demo into ``run_dir`` (resumable); returns the report dict."""
    # the stage functions, imported here: `vlm3 demo --help` stays fast (no torch)
    from vlm3.data.build import build
    from vlm3.evaluate.pipeline import run_eval
    from vlm3.evaluate.report import build_report
    from vlm3.evaluate.headline import headline_table
    from vlm3.train.trainer import run_training
    from vlm3.world.generate import generate_world

    run_dir = run_dir.resolve()
    real = real_data_root()
    plan = plan_demo(cfg, run_dir, real)
    save(cfg, run_dir / "demo.yaml")
    if real is None:
        click.echo("note: real sample data not found (set VLM3_REAL_DATA); evaluating on synthetic scenes only")
    stages = Stages(run_dir)
    workers = max(1, min(cfg.world.workers, os.cpu_count() or 1))
    stages.run("world", generate_world, plan.world_dir, cfg.world.scenes, seed, plan.world, workers=workers)
    stages.run("data", build, plan.data)
    stages.run("train", run_training, plan.train)
    model_dir = _final_model_dir(Path(plan.train.train.output_dir))
    eval_dir = run_dir / "eval"
    stages.run("eval", run_eval, plan.eval, eval_dir, model=str(model_dir), log=click.echo)
    stages.run("report", build_report, [eval_dir], run_dir / "report.html")
    report = json.loads((eval_dir / "report.json").read_text())
    report["timing_s"] = {**stages.timing(), **{f"eval.{k}": v for k, v in report.get("timing_s", {}).items()}}
    report["demo"] = {"config": to_dict(cfg), "model_dir": str(model_dir), "real_data": str(real) if real else None,
                      "number_decoding": plan.eval.numbers}
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    click.echo("\n" + headline_table(report))
    total = sum(stages.timing().values())
    click.echo(f"\ntotal {total / 60:.1f} min; wrote {run_dir / 'report.html'} and {run_dir / 'report.json'}")
    return report


def load_demo_config(preset: str, overrides: Sequence[str] = ()) -> DemoConfig:
    """A demo preset (``vlm3/configs/demo/<name>.yaml``: quick, full) or a YAML file, with overrides."""
    return load(DemoConfig, preset, overrides, kind="demo")


@click.command("demo", cls=Command)
@click.argument("overrides", nargs=-1)
@click.option("--preset", default="quick", show_default=True,
              help=f"demo preset ({', '.join(shipped_names('demo'))}; or a YAML file): quick 15-30 min on 2 CPU "
                   "cores (incl. ~2 min of set-up); full: 4,000 steps on 400 scenes (hours on a CPU)")
@click.option("--out", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"),
              show_default=True, help="run folder (re-running resumes every stage)")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="world seed (>= 0)")
@click.option("--help-config", is_flag=True, help="List every demo config key with its default and meaning, then exit.")
def demo(overrides: tuple[str, ...], preset: str, run_dir: Path, seed: int, help_config: bool) -> None:
    """Generate the synthetic world, build the four-task mixture, train the tiny Qwen3-VL on
    the CPU, evaluate it against baselines on held-out scenes (and the real samples in
    ../shared when present), and write RUN/report.html and RUN/report.json.

    OVERRIDES: dotted demo config keys, e.g. `world.scenes=20 "train.overrides=[train.max_steps=50]"`.
    """
    from vlm3.config import help_text

    if help_config:
        click.echo(help_text(DemoConfig))
        return
    from vlm3.io.scenes import SceneFormatError

    try:
        cfg = load_demo_config(preset, overrides)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.BadParameter(f"cannot create the folder {str(run_dir)[:120]}: {exc.strerror or exc}",
                                     param_hint="--out") from None
        run_demo(cfg, run_dir, seed)
    except ConfigError as exc:
        raise click.ClickException(f"config error: {exc}") from None
    except SceneFormatError as exc:  # e.g. an existing world of another seed under --out
        raise click.ClickException(str(exc)) from None
