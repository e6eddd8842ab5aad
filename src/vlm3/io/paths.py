"""Checks of the paths a command will write, made before any work starts.

A user's output path can be unusable in ways the file system only reports after minutes
of work, as a traceback: an existing file where a folder belongs (``--out notes.txt``), a
file somewhere above the path (``--out notes.txt/run``), a name longer than the file system
allows, or a file name whose extension picks a format the writer does not have
(``--out sheet.txt`` for a PNG). ``check_out_dir`` and ``check_out_file`` raise
``OutputPathError`` with one line saying what to change; the CLIs turn it into their
usage error. Nothing is created here. ``real_data_root`` finds the real sample frames the
demo and the app read (``$VLM3_REAL_DATA`` or the dev workspace's ``../shared/data/real``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from vlm3.errors import Vlm3Error

#: the longest name of one path component most file systems accept (bytes)
MAX_NAME_BYTES = 255


def real_data_root() -> Path | None:
    """Real sample data: ``$VLM3_REAL_DATA``, else ``../shared/data/real`` beside the working
    directory; None when absent."""
    env = os.environ.get("VLM3_REAL_DATA")
    root = Path(env) if env else Path.cwd().parent / "shared" / "data" / "real"
    return root.resolve() if root.is_dir() else None


class OutputPathError(Vlm3Error, ValueError):
    """An output path that cannot be written; ``str(err)`` is one line saying what to change."""

    usage = True  # a --out / output_dir the user named


def _is_file(p: Path) -> bool:
    try:
        return p.exists() and not p.is_dir()
    except (OSError, ValueError):
        return False


def _check_common(path: Path, what: str) -> None:
    long = next((part for part in path.parts if len(part.encode()) > MAX_NAME_BYTES), None)
    if long is not None:
        raise OutputPathError(f"{what} {str(path)[:80]}...: a name in it is {len(long.encode())} bytes, longer "
                              f"than the {MAX_NAME_BYTES} the file system allows")
    if "\x00" in str(path):
        raise OutputPathError(f"{what} {str(path)[:80]!r} contains a NUL byte")
    for parent in path.parents:
        if _is_file(parent):
            raise OutputPathError(f"{what} {path}: {parent} is a file, so nothing can be written inside it; "
                                  f"give a path whose folders are folders")


def check_out_dir(path: str | Path, what: str = "--out") -> Path:
    """``path`` as a Path when it can be (or already is) a folder to write into.

    OutputPathError when it is an existing file, lies under a file, or has a name longer
    than the file system allows. ``what`` names the option or config key in the message.
    """
    p = Path(path)
    _check_common(p, what)
    if _is_file(p):
        raise OutputPathError(f"{what} {p} is an existing file; it names a folder (give a new or existing folder)")
    return p


def check_out_file(path: str | Path, suffixes: Sequence[str], what: str = "--out") -> Path:
    """``path`` as a Path when a file of one of ``suffixes`` (e.g. ``(".png",)``, compared
    without case) can be written there: not an existing folder, not under a file, an
    allowed extension. OutputPathError otherwise, naming the allowed extensions."""
    p = Path(path)
    _check_common(p, what)
    try:
        is_dir = p.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if is_dir:
        raise OutputPathError(f"{what} {p} is an existing folder; it names a {suffixes[0]} file "
                              f"(e.g. {p / ('out' + suffixes[0])})")
    if p.suffix.lower() not in {s.lower() for s in suffixes}:
        raise OutputPathError(f"{what} {p}: the extension {p.suffix or '(none)'!r} is not supported; "
                              f"give a {' or '.join(suffixes)} file name (e.g. {p.with_suffix(suffixes[0]).name})")
    return p


__all__ = ["MAX_NAME_BYTES", "OutputPathError", "check_out_dir", "check_out_file"]
