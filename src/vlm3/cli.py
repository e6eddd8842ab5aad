"""The ``vlm3`` command: one click group whose subcommands live next to the code they run.

Subcommands are imported lazily, so ``vlm3 --help`` is fast and one broken optional
dependency (e.g. vLLM) does not take the other commands down.
"""

from __future__ import annotations

import importlib

import click

from vlm3.errors import Group

# name -> (module, attribute, one-line help shown in `vlm3 --help`)
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "world": ("vlm3.world.cli", "world", "Generate and look at the procedural 3D world (embedded default data)."),
    "data": ("vlm3.data.cli", "data", "Build and inspect mixed multi-task SFT sets from 3D sources."),
    "train": ("vlm3.train.cli", "train", "Supervised fine-tuning of Qwen3-VL on vlm3 shards."),
    "predict": ("vlm3.infer.cli", "predict", "Ask a model for depth, matches, pose, object answers or the field "
                                             "of view."),
    "eval": ("vlm3.evaluate.cli", "eval_cmd", "Evaluate models and baselines on declared benchmarks."),
    "report": ("vlm3.evaluate.cli", "report", "Write an HTML + JSON report from evaluation runs."),
    "demo": ("vlm3.demo", "demo", "Run world -> data -> train -> eval -> report on the CPU."),
    "app": ("vlm3.app.cli", "app", "Serve an interactive page for the five tasks (needs vlm3[app])."),
}


class LazyGroup(Group):
    """A click group that imports a subcommand only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _SUBCOMMANDS:
            return None
        module, attr, _ = _SUBCOMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as exc:  # an optional extra or an unfinished part
            msg = f"`vlm3 {name}` is unavailable: {exc}"

            @click.command(name=name, help=msg)
            def _unavailable() -> None:
                raise click.ClickException(msg)
            return _unavailable

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _model_calibrator(model_dir: str):
    """The ``calibration: model:DIR`` policy: a vlm3 model asked for the field of view
    (``vlm3.infer.api.model_calibrator``, imported when a config names the policy)."""
    from vlm3.infer.api import model_calibrator

    return model_calibrator(model_dir)


@click.group(cls=LazyGroup)
@click.version_option(package_name="vlm3")
def main() -> None:
    """vlm3 -- teach a standard VLM (Qwen3-VL) metric depth, correspondence, camera pose,
    object-level 3D and camera calibration with nothing but text supervision (the VLM3 recipe)."""
    # any command may standardise a view (data, eval, demo, predict, app) and so meet
    # ``calibration: model:DIR``; the data engine sits below the models, so the command wires them
    from vlm3.standardize.calibration import register_policy

    register_policy("model", _model_calibrator)


if __name__ == "__main__":
    main()
