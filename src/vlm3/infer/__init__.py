"""Inference: asking a model about your own images, and the ``vlm3 predict`` commands.

``api`` (``vlm3.load`` -> ``Model`` with .depth / .match / .pose / .ask; re-exports the rest),
``inputs`` (checks of user input and images prepared like the data engine), ``queries`` (the
four task functions), ``results`` (their result types), ``loading`` (model-folder checks before
any weights load), ``outputs`` (.npy / 16-bit PNG / .ply / JSON files), ``viz`` (pictures) and
``cli`` (``vlm3 predict``). The predictor backends live in ``vlm3.predictors``."""
