"""``vlm3 data ...``: build a mixed multi-task SFT set from a YAML config, inspect one."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from vlm3.config import ConfigError, help_text
from vlm3.data.config import DataConfig, load_config
from vlm3.data.index_cli import index_cmd
from vlm3.errors import Group
from vlm3.io.paths import OutputPathError, check_out_dir, check_out_file


@click.group("data", cls=Group)
def data() -> None:
    """Turn sources (synthetic world, RGB-D folders, pair lists, object Q&A) into chat shards."""


def _exit(err: Exception) -> NoReturn:
    """One line (``config error: ...`` for a config, else ``error: ...``) and exit status 2."""
    click.echo(f"{'config error' if isinstance(err, ConfigError) else 'error'}: {err}", err=True)
    sys.exit(2)


@data.command("build")
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@click.argument("overrides", nargs=-1)
@click.option("--out", "out_dir", default=None, help="Dataset folder (default: output_dir of the config).")
@click.option("--strict", is_flag=True, help="Stop at the first bad input with a one-line message "
              "naming the file and the problem (default: skip it and count it in the manifest).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run shards in this process, or on Ray Data (needs: pip install 'vlm3[ray]'). "
                   "Both write the same bytes.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Set a ${NAME} used in the config (overrides the environment). Repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--help-config", is_flag=True, help="List every config key with its default and meaning, then exit.")
def build_cmd(config: str | None, overrides: tuple[str, ...], out_dir: str | None, strict: bool, engine: str,
              variables: tuple[str, ...], quiet: bool, help_config: bool) -> None:
    """Build (or resume) the dataset described by CONFIG (a YAML file or a shipped name in
    vlm3/configs/data/, e.g. demo; see docs/data.md). OVERRIDES: dotted keys with YAML values,
    e.g. `seed=1 tasks.depth.samples.train=500`.

    Finished shards are kept (checked against their done-marker checksum), so re-running
    after an interruption completes the set with the same bytes. Writes images/,
    shards/<split>/<task>-<source>-NNNNN.jsonl, manifest.json and config.yaml (resolved).
    """
    if help_config:
        click.echo(help_text(DataConfig))
        return
    if config is None:
        raise click.UsageError("give a CONFIG (a YAML file or a shipped name, e.g. demo)")
    try:
        kv = dict(v.split("=", 1) for v in variables)
    except ValueError:
        raise click.UsageError("--var takes NAME=VALUE") from None
    try:  # the config and the output folder are checked before the data engine (torch) is imported
        cfg = load_config(config, kv, overrides)
        cfg.check_buildable()
        check_out_dir(out_dir or cfg.output_dir, "--out" if out_dir else "output_dir")
    except (ConfigError, OutputPathError) as err:
        _exit(err)
    from vlm3.data.build import BuildError, build

    try:
        manifest = build(cfg, out_dir, engine=engine, strict=strict, progress=not quiet)
    except (ConfigError, BuildError) as err:
        _exit(err)
    n_skip = len(manifest["skipped"]["adapters"]) + len(manifest["skipped"]["build"])
    click.echo(f"{manifest['total_samples']} samples, {manifest['images']} images, "
               f"{len(manifest['shards'])} shards, {n_skip} skipped -> "
               f"{out_dir or cfg.output_dir}/manifest.json")
    for split, tasks in sorted(manifest["counts"].items()):
        for task, sources in sorted(tasks.items()):
            click.echo(f"  {split:5s} {task:14s} " + ", ".join(f"{s}={n}" for s, n in sources.items()))
    if manifest["skipped"]["by_reason"]:
        click.echo("skipped by reason (distinct bad inputs):")
        for reason, n in manifest["skipped"]["by_reason"].items():
            click.echo(f"  {n:5d}  {reason}")
    for s in manifest.get("shortfall", []):
        click.echo(f"shortfall: {s['split']} {s['task']}: {s['written']} of {s['requested']} samples "
                   f"({s['reason']})", err=True)


@data.command("inspect")
@click.argument("shards", type=click.Path(exists=True))
@click.option("--out", "out_png", default=None, type=click.Path(dir_okay=False),
              help="Write a PNG of a few samples with the text's points, matches and boxes drawn.")
@click.option("--per-task", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Samples per task on the PNG.")
@click.option("--scale", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Pixel zoom of the drawing.")
def inspect_cmd(shards: str, out_png: str | None, per_task: int, scale: int) -> None:
    """Print statistics of SHARDS (a dataset folder, a shards folder or one .jsonl file).
    A set without samples is an error (there is nothing to inspect)."""
    if out_png:
        try:
            check_out_file(out_png, (".png",))
        except OutputPathError as err:
            raise click.UsageError(str(err)) from None
    from vlm3.data.inspect import draw_samples, pick_samples, read_shard_samples, resolve_shards, stats
    from vlm3.io.images import ImageReadError

    try:
        root, files = resolve_shards(shards)
        samples = read_shard_samples(files)
    except (FileNotFoundError, ValueError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    if not samples:
        click.echo(f"error: {shards} holds no samples ({len(files)} shard file(s), all empty); "
                   f"build the set with `vlm3 data build`", err=True)
        sys.exit(1)
    click.echo(json.dumps(stats(samples), indent=1))
    if out_png:
        try:
            path = draw_samples(pick_samples(samples, per_task), root, out_png, scale)
        except ImageReadError as err:
            click.echo(f"error: cannot draw the samples: {err}", err=True)
            sys.exit(1)
        click.echo(f"wrote {path}")


from vlm3.data.pair_lists import pair_list_cmd  # noqa: E402  (`vlm3 data pair-list`)

data.add_command(pair_list_cmd)

data.add_command(index_cmd)

__all__ = ["data"]
