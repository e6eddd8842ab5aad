"""vlm3: make a standard vision-language model (Qwen3-VL) a native 3D learner.

The package turns images and 3D ground truth into text (``vlm3.protocol``), builds mixed
multi-task SFT sets (``vlm3.data``), trains with plain supervised fine-tuning
(``vlm3.train``), queries models (``vlm3.infer``) and scores them with the paper's metrics
(``vlm3.evaluate``, ``vlm3.metrics``). See docs/modules.md for the map.

The Python API in three lines (``vlm3.infer.api``; nothing heavy is imported until ``load``)::

    import vlm3
    model = vlm3.load("runs/demo/train")          # knows its focal, image cap, text format
    model.depth("photo.jpg", "518.9,519.5,325.6,253.7", grid=(8, 6)).depth_m
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def load(model: str | Path, numbers: str | None = None, device: str | None = None, quiet: bool = True,
         decoding: str = "exact") -> Any:
    """A model (training output, checkpoint directory, cached hub id, ``vllm:DIR`` or a
    random-weight preset such as ``"tiny"``) with ``.depth``, ``.match``, ``.pose`` and ``.ask``;
    see ``vlm3.infer.api.load`` and ``vlm3.infer.api.Model``."""
    from vlm3.infer.api import load as _load

    return _load(model, numbers=numbers, device=device, quiet=quiet, decoding=decoding)


__all__ = ["__version__", "load"]
