"""``vlm3 data index PATH``: build the memory-mapped shard index of a set that lacks one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vlm3.errors import Command

SPLIT_CHOICES = ("train", "val", "test", "all")


@click.command("index", cls=Command)
@click.argument("path", type=click.Path(exists=True))
@click.option("--split", "splits", multiple=True, type=click.Choice(SPLIT_CHOICES),
              help="Split(s) to index (repeatable; `all` = every sample unfiltered). Default: every "
                   "split folder of a dataset root, else train, val and test.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_cmd(path: str, splits: tuple[str, ...], quiet: bool) -> None:
    """Count token lengths once and write PATH's index (a dataset root, a folder of JSONL
    shards or one .jsonl file), so that `vlm3 train` maps it instead of loading every sample.

    `vlm3 data build` writes the index itself; this is for sets built before it did, or
    edited since (an index whose shards changed is not used). Splits without shards are
    skipped (said); no sample to index at all, or none in a split named with --split, is
    an error.
    """
    from vlm3.io.shard_index import DatasetFormatError, find_shards

    root = Path(path)
    explicit = bool(splits)
    if not splits:
        shards = root / "shards"
        found = sorted(p.name for p in shards.iterdir() if p.is_dir()) if shards.is_dir() else []
        splits = tuple(found) or ("train", "val", "test")
    try:  # before the tokenizer loads: a folder without shards (or only empty ones) costs no time
        files, _ = find_shards(root, None)
    except DatasetFormatError as err:
        click.echo(f"error: {err}; nothing to index (give a set written by `vlm3 data build`)", err=True)
        sys.exit(1)
    if all(f.stat().st_size < 4096 and not f.read_bytes().strip() for f in files):  # blank files only
        click.echo(f"error: the {len(files)} shard file(s) under {root} are empty; nothing to index", err=True)
        sys.exit(1)
    _index(root, splits, explicit, quiet)


def _index(root: Path, splits: tuple[str, ...], explicit: bool, quiet: bool) -> None:
    """Index each split of ``root``; exit 1 when no split had a sample (or an asked one had none)."""
    from vlm3.data.shard_index import build_index
    from vlm3.io.images import ImageReadError
    from vlm3.io.shard_index import DatasetFormatError, ShardIndex

    indexed = 0
    for split in splits:
        try:
            out = build_index(root, None if split == "all" else split, progress=not quiet)
        except DatasetFormatError as err:
            if "no .jsonl shards" in str(err) or "no samples" in str(err):
                if explicit:
                    click.echo(f"error: {split}: {err}", err=True)
                    sys.exit(1)
                click.echo(f"  {split}: no shards, skipped")
                continue
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        except ImageReadError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        n = len(ShardIndex(out, out.parent.parent))
        if n == 0 and explicit:
            click.echo(f"error: {split}: 0 samples in the shards of {root}", err=True)
            sys.exit(1)
        indexed += n
        click.echo(f"  {split}: {n} samples -> {out}")
    if indexed == 0:
        click.echo(f"error: no samples to index in {root} (splits {', '.join(splits)}: the shards are empty or "
                   f"hold other splits; --split all indexes every sample)", err=True)
        sys.exit(1)


__all__ = ["index_cmd"]
