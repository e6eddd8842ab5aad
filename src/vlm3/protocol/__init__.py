"""The VLM3 text protocol: format versions, grids (codecs), the `Parsed` result.

Modules: `codecs` (pixel <-> 2000/1000 grids, fixed-width numbers), `parsing` (`Parsed`
and the shared scanners). Multi-turn chat samples are packed per task
(``vlm3.tasks.packing``, it validates the task name). The per-task prompts,
answer renderers and parsers live with each task (``vlm3.tasks.<task>.text`` for the
release format, ``vlm3.tasks.<task>.compact`` for the demo's compact format; pick one
with ``vlm3.tasks.common.text_format_for(task, format_version)``).

Two text formats, each named by a ``format_version`` that every stored sample and
prediction record carries; a change to any written string is a new version, never a
silent edit:

* `FORMAT_VERSION` ("vlm3-release-v1", config name "release", the default everywhere):
  the public VLM3 release's prompts and answers (docs/protocol.md, golden-tested).
* `COMPACT_FORMAT_VERSION` ("vlm3-compact-v3", config name "compact"): the project's
  short prompts and bare fixed-width answers, written only for the CPU demo's compute
  budget; the 4B recipes never use it.

Each format's parsers read that format's answers only.
"""

from vlm3.protocol.parsing import Parsed

#: The release-compatible text format (facebookresearch/VLM3 public samples); the default.
FORMAT_VERSION = "vlm3-release-v1"
#: The CPU demo's short format (short prompts, bare fixed-width answers); not from the release.
COMPACT_FORMAT_VERSION = "vlm3-compact-v3"
#: Config name (data config ``text_format``, ``vlm3 predict --text-format``) -> format version.
FORMAT_VERSIONS = {"release": FORMAT_VERSION, "compact": COMPACT_FORMAT_VERSION}
#: Text format names, the default first.
TEXT_FORMATS = tuple(FORMAT_VERSIONS)


def format_version_of(text_format: str) -> str:
    """The ``format_version`` of a text format name ("release" or "compact"); ValueError
    naming the choices otherwise."""
    try:
        return FORMAT_VERSIONS[text_format]
    except (KeyError, TypeError):
        raise ValueError(f"unknown text format {text_format!r}; choose one of {TEXT_FORMATS}") from None


__all__ = ["FORMAT_VERSION", "COMPACT_FORMAT_VERSION", "FORMAT_VERSIONS", "TEXT_FORMATS", "Parsed",
           "format_version_of"]
