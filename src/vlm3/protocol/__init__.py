"""The VLM3 text protocol: prompts, answer renderers and never-raising answer parsers.

Modules: `codecs` (pixel <-> 2000/1000 grids), `parsing` (`Parsed` result), `depth`,
`correspondence`, `pose`, `objects`, `packing` (multi-turn chat samples). Every sample
written with these formats carries ``format_version`` = `FORMAT_VERSION`; a change to any
released string is a new version, never a silent edit. Text formats: docs/protocol.md.

A second, project-defined format, `COMPACT_FORMAT_VERSION` ("vlm3-compact-v3"), writes
the same quantities with short prompts and bare answers (``compact_*`` renderers in each
task module) for compute-limited training; the release parsers read both formats.
"""

from vlm3.protocol.parsing import Parsed

#: The release-compatible text format (facebookresearch/VLM3 public samples).
FORMAT_VERSION = "vlm3-release-v1"
#: The project's short format (short prompts, bare answers); not from the release.
COMPACT_FORMAT_VERSION = "vlm3-compact-v3"
#: Text format names (data config ``text_format``) in the order they were introduced.
TEXT_FORMATS = ("release", "compact")


def format_version_of(text_format: str) -> str:
    """The ``format_version`` string of a text format name ("release" or "compact")."""
    if text_format == "release":
        return FORMAT_VERSION
    if text_format == "compact":
        return COMPACT_FORMAT_VERSION
    raise ValueError(f"unknown text format {text_format!r}; choose one of {TEXT_FORMATS}")


__all__ = ["FORMAT_VERSION", "COMPACT_FORMAT_VERSION", "TEXT_FORMATS", "Parsed", "format_version_of"]
