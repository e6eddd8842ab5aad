"""vlm3: make a standard vision-language model (Qwen3-VL) a native 3D learner.

The package turns images and 3D ground truth into text (``vlm3.protocol``), builds mixed
multi-task SFT sets (``vlm3.data``), trains with plain supervised fine-tuning
(``vlm3.train``), queries models (``vlm3.infer``) and scores them with the paper's metrics
(``vlm3.evaluate``, ``vlm3.metrics``). See docs/modules.md for the map.
"""

__version__ = "0.1.0"
