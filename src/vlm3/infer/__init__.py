"""Inference: one predictor interface (``predictor``), the transformers backend with image-prefix
reuse (``hf``), an optional vLLM backend (``vllm_backend``), user functions (``api``), pictures
and point clouds (``viz``) and the ``vlm3 predict`` commands (``cli``)."""
