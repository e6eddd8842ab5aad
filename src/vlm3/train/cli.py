"""``vlm3 train CONFIG [key=value ...]``: supervised fine-tuning from a YAML recipe.

CONFIG is a YAML file or a shipped recipe name (``tiny_cpu``, ``qwen3_vl_4b_depth``,
``qwen3_vl_4b_object``, ``qwen3_vl_4b_correspondence``, ``qwen3_vl_4b_pose``). Multi-GPU:

    accelerate launch --config_file configs/accelerate/fsdp2.yaml \\
        -m vlm3.cli train qwen3_vl_4b_depth data.train_path=/data/vlm3/depth
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Sequence

import click

from vlm3.config import ConfigError, help_text, to_yaml
from vlm3.errors import Command
from vlm3.train.config import RunConfig, load_config, recipe_names
from vlm3.train.preflight import check_run_paths


def interrupted_message(cfg: RunConfig, config: str, overrides: Sequence[str]) -> str:
    """What an interrupted run kept (its newest complete checkpoint) and the command that resumes it."""
    from vlm3.train.checkpoints import last_complete_checkpoint

    kept = last_complete_checkpoint(cfg.train.output_dir, say=lambda _line: None)
    args = [o for o in overrides if not o.startswith("train.resume=")]
    if cfg.train.resume != "auto":
        args.append("train.resume=auto")
    command = "vlm3 train " + shlex.join([config, *args])
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        command += f" (launched on {world} processes: relaunch the same way, with these arguments)"
    if kept is None:
        return (f"interrupted: no checkpoint was saved yet in {cfg.train.output_dir} (one every "
                f"train.save_steps={cfg.train.save_steps} steps); start again with: {command}")
    return f"interrupted: kept {kept} (the last checkpoint); resume with: {command}"


@click.command(name="train", cls=Command, context_settings={"ignore_unknown_options": False})
@click.argument("config", required=False)
@click.argument("overrides", nargs=-1)
@click.option("--help-config", is_flag=True, help="List every config key with its default and meaning, then exit.")
@click.option("--print-config", is_flag=True, help="Print the resolved config (after overrides) and exit.")
@click.option("--plan", is_flag=True, help="Print the memory each GPU needs (world sizes 1, 8, 32; 80/141 GiB cards), "
              "from the model on the meta device; trains nothing.")
def train(config: str | None, overrides: tuple[str, ...], help_config: bool, print_config: bool, plan: bool) -> None:
    """Fine-tune Qwen3-VL on vlm3 shards with plain SFT (loss on answers only).

    CONFIG: a YAML recipe or a shipped recipe name. OVERRIDES: dotted keys with YAML
    values, e.g. `train.learning_rate=5e-5 data.train_path=runs/demo/data model.lora.enabled=true`.
    Resumes from the newest checkpoint in train.output_dir unless train.resume=never.
    Writes checkpoints, config.yaml, logs.jsonl and TensorBoard logs to train.output_dir.
    """
    if help_config:
        click.echo(help_text(RunConfig))
        return
    if config is None:
        raise click.UsageError(f"give a CONFIG (a YAML file or one of: {', '.join(recipe_names())})")
    try:
        cfg = load_config(config, overrides)
        if not (print_config or plan):  # the plan reads no data and writes nothing
            check_run_paths(cfg)  # before torch, the tokenizer and the model load
    except ConfigError as exc:
        raise click.ClickException(f"config error: {exc}") from None
    if print_config:
        click.echo(to_yaml(cfg))
        return
    from vlm3.model.factory import ModelLoadError

    if plan:
        from vlm3.train.memory_plan import build_plan, format_plan

        try:
            click.echo(format_plan(build_plan(cfg, config)))
        except ModelLoadError as exc:
            raise click.ClickException(str(exc)) from None
        return
    from vlm3.io.images import ImageReadError
    from vlm3.train.dataset import DatasetFormatError
    from vlm3.train.trainer import TransformersVersionError, run_training

    try:
        metrics = run_training(cfg)
    except (ConfigError, ModelLoadError, DatasetFormatError, FileNotFoundError, ImageReadError,
            TransformersVersionError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        if int(os.environ.get("RANK", "0")) == 0:
            click.echo(interrupted_message(cfg, config, overrides), err=True)
        raise SystemExit(130) from None
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float, str, type(None)))}, indent=1))
