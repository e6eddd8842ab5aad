"""The VLM3 text protocol: prompts, answer renderers and never-raising answer parsers.

Modules: `codecs` (pixel <-> 2000/1000 grids), `parsing` (`Parsed` result), `depth`,
`correspondence`, `pose`, `objects`, `packing` (multi-turn chat samples). Every sample
written with these formats carries ``format_version`` = `FORMAT_VERSION`; a change to any
released string is a new version, never a silent edit. Text formats: docs/protocol.md.
"""

from vlm3.protocol.parsing import Parsed

#: The release-compatible text format (facebookresearch/VLM3 public samples).
FORMAT_VERSION = "vlm3-release-v1"

__all__ = ["FORMAT_VERSION", "Parsed"]
