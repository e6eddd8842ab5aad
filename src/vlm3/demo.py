"""``vlm3 demo``: world -> data -> train -> eval -> report on the CPU, with honest numbers.

Every stage is resumable on its own (complete world scenes are kept, finished shards are
kept, training resumes from its newest checkpoint, predictions are cached), so running
the demo again after an interruption continues where it stopped. The demo standardises
to a small canonical focal length and image size (see ``configs/data/demo.yaml``) so the
tiny random-init Qwen3-VL learns on two CPU cores; the code path is the 4B model's.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import click
import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
TASKS = ("depth", "correspondence", "pose", "object")


@dataclass(frozen=True)
class DemoPreset:
    """Sizes of one demo run (the budget is 30 minutes on 2 CPU cores for ``quick``)."""

    name: str
    #: synthetic scenes (80/10/10 train/val/test by scene) and views per scene
    scenes: int
    views: int
    #: training samples per task (val/test sizes are fixed below)
    train_samples: dict[str, int]
    #: test samples per task (held-out scenes)
    test_samples: int
    #: optimiser steps of batch 8
    train_steps: int
    #: model preset (vlm3/configs/model): "micro" measured fastest per label on 2 CPU cores
    model: str = "micro"
    learning_rate: float = 1e-3
    #: mixed-task batches: length grouping makes batches of one task, and the tiny model then
    #: swings between tasks (measured: loss oscillating 2 <-> 4 and a collapse to "1");
    #: softmax over the answer tokens only (vlm3.train.answer_vocab): 2.5 -> 1.3 s per step;
    #: the embedding trained through the rows the data uses (vlm3.train.embedding_rows): the
    #: same updates, 0.75 -> 0.61 s per step.
    #: Not data.isolate_questions: on 557 held-out samples from 60 new scenes the 840-step
    #: mixture of an earlier demo scored the same with and without it (docs/training.md)
    extra_train_overrides: tuple[str, ...] = ("data.group_by_length=false", "train.answer_vocab=answers",
                                              "train.embedding_grad=used_rows")


PRESETS = {
    # 2,100 steps of ~0.6 s: 4-point depth, 5-point correspondence and 3-question object
    # samples (configs/data/demo.yaml) are short enough for twice the 840 steps of 10-point
    # samples in about the same 20 minutes, and training the embedding through its used rows
    # (train.embedding_grad=used_rows) makes a step 1.24x faster: 2,100 steps in the time of
    # 1,700 dense-gradient ones (docs/training.md, "The demo's budget")
    "quick": DemoPreset("quick", scenes=100, views=4,
                        train_samples={"depth": 1400, "correspondence": 500, "pose": 400, "object": 1000},
                        test_samples=40, train_steps=2100),
    "full": DemoPreset("full", scenes=400, views=6,
                       train_samples={"depth": 8000, "correspondence": 4000, "pose": 3000, "object": 6600},
                       test_samples=100, train_steps=4000),
}


def _real_root() -> Path | None:
    """Real sample data: $VLM3_REAL_DATA, else ../shared/data/real next to this checkout."""
    env = os.environ.get("VLM3_REAL_DATA")
    root = Path(env) if env else Path.cwd().parent / "shared" / "data" / "real"
    return root.resolve() if root.is_dir() else None


def data_config(preset: DemoPreset, world_dir: Path, out_dir: Path, real: Path | None) -> dict[str, Any]:
    """The demo data config: the shipped demo.yaml with this preset's sample counts and paths.

    Real NYU/KITTI frames are evaluation-only (split: test): the demo model never trains on
    them. ScanNet pairs are split by scene (train / val / test).
    """
    raw = yaml.safe_load((CONFIG_DIR / "data" / "demo.yaml").read_text())
    raw["output_dir"] = str(out_dir)
    for task in TASKS:
        raw["tasks"][task]["samples"] = {"train": preset.train_samples[task], "val": 8,
                                         "test": preset.test_samples}
    sources = []
    for s in raw["sources"]:
        if s["name"] == "world":
            s["path"] = str(world_dir)
        elif real is None:
            continue
        else:
            s["path"] = s["path"].replace("${VLM3_REAL_DATA:-../shared/data/real}", str(real))
            if s["name"] in ("nyu", "kitti"):
                s["split"] = "test"
        sources.append(s)
    raw["sources"] = sources
    return raw


def eval_config(data_dir: Path, real: Path | None) -> dict[str, Any]:
    """Benchmarks: held-out synthetic scenes, and the real samples (standardised) when present."""
    benches: list[dict[str, Any]] = [
        {"name": "synthetic_test", "kind": "shards", "root": str(data_dir), "split": "test",
         "sources": ["world"], "tasks": list(TASKS)}]
    if real is not None:
        benches.append({"name": "real_test", "kind": "shards", "root": str(data_dir), "split": "test",
                        "sources": ["nyu", "kitti", "scannet"], "tasks": ["depth", "pose"], "optional": True})
    # numbers: median (vlm3.predictors.number_decoding): greedy digit modes turn a tiny model's wide
    # distributions into zeros ("+0.00, +0.00, +0.00" is no direction) and stray modes
    return {"max_new_tokens": 48, "numbers": "median",
            "trivial_fit": {"root": str(data_dir), "split": "train"}, "benchmarks": benches}


class Stages:
    """Times each stage and keeps the times in RUN/stages.json.

    A resumed stage adds its time to what earlier runs spent on it, so ``seconds`` is the
    total work of the stage; ``runs`` counts how many times it was entered.
    """

    def __init__(self, run_dir: Path):
        self.path = run_dir / "stages.json"
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def run(self, name: str, fn, *args, **kwargs):
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


def _world(preset: DemoPreset, world_dir: Path, seed: int) -> None:
    from vlm3.world.config import preset as world_preset
    from vlm3.world.generate import generate_world

    cfg = replace(world_preset("demo"), views_per_scene=preset.views)
    generate_world(world_dir, preset.scenes, seed, cfg, workers=max(1, min(2, os.cpu_count() or 1)))


def _data(raw: dict[str, Any], run_dir: Path) -> dict:
    from vlm3.data.build import build
    from vlm3.data.config import config_from_dict

    (run_dir / "data_config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return build(config_from_dict(raw))


def train_overrides(preset: DemoPreset, data_dir: Path, train_dir: Path) -> list[str]:
    """The demo's overrides of the shipped ``tiny_cpu`` recipe."""
    return [f"model.name_or_path={preset.model}", f"data.train_path={data_dir}", f"train.output_dir={train_dir}",
            f"train.max_steps={preset.train_steps}", f"train.learning_rate={preset.learning_rate}",
            "train.save_steps=100", *preset.extra_train_overrides]


def _train(preset: DemoPreset, data_dir: Path, train_dir: Path) -> dict:
    from vlm3.train.config import load_config
    from vlm3.train.trainer import run_training

    return run_training(load_config("tiny_cpu", train_overrides(preset, data_dir, train_dir)))


def _final_model_dir(train_dir: Path) -> Path:
    """run_training saves the final model (and processor) into its output folder."""
    if not (train_dir / "config.json").is_file():
        raise click.ClickException(f"no trained model found in {train_dir}")
    return train_dir


def _evaluate(cfg: dict[str, Any], run_dir: Path, model_dir: Path) -> dict:
    from vlm3.evaluate.run import run_eval

    path = run_dir / "eval_config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return run_eval(path, run_dir / "eval", model=str(model_dir), model_name="vlm3-tiny",
                    log=click.echo)


@click.command("demo")
@click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default="quick", show_default=True,
              help="quick: ~27 min on 2 CPU cores (incl. ~2 min of set-up); full: 4,000 steps on 400 scenes (hours on a CPU)")
@click.option("--out", "run_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"),
              show_default=True, help="run folder (re-running resumes every stage)")
@click.option("--seed", default=0, show_default=True, help="world seed")
def demo(preset_name: str, run_dir: Path, seed: int) -> None:
    """Generate the synthetic world, build the four-task mixture, train the tiny Qwen3-VL on
    the CPU, evaluate it against baselines on held-out scenes (and the real samples in
    ../shared when present), and write RUN/report.html and RUN/report.json."""
    preset = PRESETS[preset_name]
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "demo_preset.json").write_text(json.dumps(asdict(preset), indent=2))
    real = _real_root()
    if real is None:
        click.echo("note: real sample data not found (set VLM3_REAL_DATA); evaluating on synthetic scenes only")
    stages = Stages(run_dir)
    world_dir, data_dir, train_dir = run_dir / "world", run_dir / "data", run_dir / "train"
    stages.run("world", _world, preset, world_dir, seed)
    stages.run("data", _data, data_config(preset, world_dir, data_dir, real), run_dir)
    stages.run("train", _train, preset, data_dir, train_dir)
    model_dir = _final_model_dir(train_dir)
    eval_cfg = eval_config(data_dir, real)
    stages.run("eval", _evaluate, eval_cfg, run_dir, model_dir)
    from vlm3.evaluate.report import build_report
    from vlm3.evaluate.summary import headline_rows

    stages.run("report", build_report, [run_dir / "eval"], run_dir / "report.html")
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    report["timing_s"] = {**stages.timing(), **{f"eval.{k}": v for k, v in report.get("timing_s", {}).items()}}
    report["demo"] = {"preset": asdict(preset), "model_dir": str(model_dir), "real_data": str(real) if real else None,
                      "number_decoding": eval_cfg["numbers"]}
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    click.echo("\n" + headline_rows(report))
    total = sum(stages.timing().values())
    click.echo(f"\ntotal {total / 60:.1f} min; wrote {run_dir / 'report.html'} and {run_dir / 'report.json'}")
