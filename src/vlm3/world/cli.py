"""``vlm3 world ...``: generate the procedural 3D world on disk and look at it (contact sheets)."""

from __future__ import annotations

from pathlib import Path

import click

from vlm3.config import ConfigError, help_text, load
from vlm3.errors import Group
from vlm3.io.paths import OutputPathError, check_out_dir, check_out_file
from vlm3.io.scenes import SceneFormatError, load_index, load_scene
from vlm3.world.config import WorldConfig


@click.group(name="world", cls=Group)
def world() -> None:
    """Procedural 3D world: rooms and streets rendered with exact depth, poses, correspondences
    and object boxes, written in the vlm3 scene format (docs/scene_format.md)."""


@world.command()
@click.argument("overrides", nargs=-1)
@click.option("--scenes", "n_scenes", type=click.IntRange(min=1), default=None, help="Number of scenes (required).")
@click.option("--views", "n_views", type=click.IntRange(min=1), default=None,
              help="Views per scene: short for views_per_scene=N (default: the config's, 6 for default, 4 for demo).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="World seed (>= 0); scene k is a pure function of (seed, k).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (required; re-running with the same settings resumes and keeps complete scenes).")
@click.option("--preset", "config", default="default", show_default=True,
              help="World config: a shipped name (default: focal 250-1500 px, long side 320-960 px; demo: focal "
                   "200-500 px, 320x240..480x360) or a YAML file.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--help-config", is_flag=True, help="List every world config key with its default and meaning, then exit.")
def generate(overrides: tuple[str, ...], n_scenes: int | None, n_views: int | None, seed: int, out_dir: Path | None,
             config: str, workers: int, help_config: bool) -> None:
    """Render N scenes with V views each into OUT (images, float32 z-depth, instance ids, scene.json).

    OVERRIDES: dotted world config keys with YAML values, e.g. `focal_px=[300,600] p_near_view=0.3`.
    Writes index.json and config.yaml (the resolved world config) into OUT.
    """
    if help_config:
        click.echo(help_text(WorldConfig))
        return
    if n_scenes is None or out_dir is None:
        raise click.UsageError("give --scenes N and --out DIR")
    try:
        check_out_dir(out_dir)
    except OutputPathError as err:
        raise click.UsageError(str(err)) from None
    from vlm3.world.generate import generate_world

    views = [f"views_per_scene={n_views}"] if n_views is not None else []
    try:
        cfg = load(WorldConfig, config, [*overrides, *views], kind="world")
    except ConfigError as exc:
        raise click.ClickException(f"config error: {exc}") from None
    try:
        index = generate_world(out_dir, n_scenes, seed, cfg, workers=workers)
    except (SceneFormatError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {index}")


@world.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scene", "scene_id", default=None, help="Scene id (default: the first scene in index.json).")
@click.option("--out", "out_png", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG to write.")
@click.option("--views", "max_views", type=click.IntRange(min=1), default=4, show_default=True, help="Views to show.")
def show(directory: Path, scene_id: str | None, out_png: Path, max_views: int) -> None:
    """Write a contact sheet of one scene of DIRECTORY: images with labelled boxes, depth, and
    a few occlusion-checked correspondences between two views."""
    try:
        check_out_file(out_png, (".png",))
    except OutputPathError as err:
        raise click.UsageError(str(err)) from None
    from vlm3.world.show import contact_sheet

    try:
        index = load_index(directory)
        entries = {e["scene_id"]: e for e in index["scenes"]}
        if not entries:
            raise click.ClickException(f"{directory} lists no scenes yet")
        sid = scene_id or sorted(entries)[0]
        if sid not in entries:
            raise click.ClickException(f"no scene {sid!r} in {directory}; known: {', '.join(sorted(entries)[:10])} ...")
        rec = load_scene(directory / entries[sid]["path"])
    except (SceneFormatError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {contact_sheet(rec, out_png, max_views=max_views)}")
