"""The VLM3 text protocol: the table of text formats, grids (codecs), the `Parsed` result.

Modules: `codecs` (pixel <-> 2000/1000 grids, fixed-width numbers), `parsing` (`Parsed`,
the parser skeleton `parse_match` and the shared scanners). Multi-turn chat samples are packed per task
(``vlm3.tasks.packing``, it validates the task name). The per-task prompts,
answer renderers and parsers live with each task (``vlm3.tasks.<task>.text`` for the
release format, ``vlm3.tasks.<task>.compact`` for the demo's compact format; pick one
with ``vlm3.tasks.common.text_format_for(task, format_version)``).

The text formats are the rows of `TEXT_FORMAT_TABLE` (adding a format is one row, plus its
module in each task package): a config name (data config ``text_format``, ``vlm3 predict
--text-format``), the ``format_version`` that every stored sample and prediction record
carries, and the format's module inside each task package. A change to any written string
is a new version, never a silent edit:

* "release" (`FORMAT_VERSION`, "vlm3-release-v1", module ``text``; the default everywhere):
  the public VLM3 release's prompts and answers (docs/protocol.md, golden-tested).
* "compact" (`COMPACT_FORMAT_VERSION`, "vlm3-compact-v3", module ``compact``): the project's
  short prompts and bare fixed-width answers, written only for the CPU demo's compute
  budget; the 4B recipes never use it.

Each format's parsers read that format's answers only.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlm3.protocol.parsing import Parsed


@dataclass(frozen=True)
class TextFormat:
    """One text format.

    name: the config name (data config ``text_format``, ``--text-format``, ``vlm3.json``).
    format_version: what every sample and prediction written in it carries.
    module: its module inside each task package (``vlm3.tasks.<task>.<module>``).
    """

    name: str
    format_version: str
    module: str


#: Every text format, the default first.
TEXT_FORMAT_TABLE = (
    TextFormat("release", "vlm3-release-v1", "text"),  # facebookresearch/VLM3 public samples
    TextFormat("compact", "vlm3-compact-v3", "compact"),  # the CPU demo's; not from the release
)
_BY_NAME = {f.name: f for f in TEXT_FORMAT_TABLE}
_BY_VERSION = {f.format_version: f for f in TEXT_FORMAT_TABLE}
#: Text format names, the default first.
TEXT_FORMATS = tuple(_BY_NAME)
#: Config name -> format version.
FORMAT_VERSIONS = {f.name: f.format_version for f in TEXT_FORMAT_TABLE}


def text_format_named(name: str) -> TextFormat:
    """The text format of a config name ("release", "compact"); ValueError naming the choices."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown text format {name!r}; choose one of {TEXT_FORMATS}") from None


def text_format_of_version(format_version: str | None) -> TextFormat:
    """The text format of a ``format_version`` (None or "": the default, the release);
    ValueError naming the known versions."""
    try:
        return _BY_VERSION[format_version or TEXT_FORMAT_TABLE[0].format_version]
    except (KeyError, TypeError):
        raise ValueError(f"unknown format_version {format_version!r}; known: {sorted(_BY_VERSION)}") from None


def format_version_of(text_format: str) -> str:
    """The ``format_version`` of a text format name ("release" or "compact"); ValueError
    naming the choices otherwise."""
    return text_format_named(text_format).format_version


#: The release-compatible text format (facebookresearch/VLM3 public samples); the default.
FORMAT_VERSION = format_version_of("release")
#: The CPU demo's short format (short prompts, bare fixed-width answers); not from the release.
COMPACT_FORMAT_VERSION = format_version_of("compact")

__all__ = ["COMPACT_FORMAT_VERSION", "FORMAT_VERSION", "FORMAT_VERSIONS", "TEXT_FORMATS", "TEXT_FORMAT_TABLE",
           "Parsed", "TextFormat", "format_version_of", "text_format_named", "text_format_of_version"]
