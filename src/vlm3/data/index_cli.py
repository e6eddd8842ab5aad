"""``vlm3 data index PATH``: build the memory-mapped shard index of a set that lacks one."""

from __future__ import annotations

import sys

import click

SPLIT_CHOICES = ("train", "val", "test", "all")


@click.command("index")
@click.argument("path", type=click.Path(exists=True))
@click.option("--split", "splits", multiple=True, type=click.Choice(SPLIT_CHOICES),
              help="Split(s) to index (repeatable; `all` = every sample unfiltered). Default: every "
                   "split folder of a dataset root, else train, val and test.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_cmd(path: str, splits: tuple[str, ...], quiet: bool) -> None:
    """Count token lengths once and write PATH's index (a dataset root, a folder of JSONL
    shards or one .jsonl file), so that `vlm3 train` maps it instead of loading every sample.

    `vlm3 data build` writes the index itself; this is for sets built before it did, or
    edited since (an index whose shards changed is not used).
    """
    from pathlib import Path

    from vlm3.data.shard_index import build_index
    from vlm3.io.images import ImageReadError
    from vlm3.io.shard_index import DatasetFormatError, ShardIndex

    root = Path(path)
    if not splits:
        shards = root / "shards"
        found = sorted(p.name for p in shards.iterdir() if p.is_dir()) if shards.is_dir() else []
        splits = tuple(found) or ("train", "val", "test")
    for split in splits:
        try:
            out = build_index(root, None if split == "all" else split, progress=not quiet)
        except DatasetFormatError as err:
            if "no .jsonl shards" in str(err) or "no samples" in str(err):
                click.echo(f"  {split}: no shards, skipped")
                continue
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        except ImageReadError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        n = len(ShardIndex(out, out.parent.parent))
        click.echo(f"  {split}: {n} samples -> {out}")


__all__ = ["index_cmd"]
