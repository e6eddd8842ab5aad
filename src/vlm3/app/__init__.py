"""``vlm3 app``: an interactive page (Gradio) for the five tasks, on a loaded model.

Modules: ``session`` (the loaded model, what it was asked, timing, the files it wrote),
``inputs`` (the page's inputs checked: images, clicked points, boxes, grids), ``handlers``
(one function per button or click, each calling the Python API of ``vlm3.infer`` and
returning a one-line message instead of raising), ``examples`` (example inputs generated at
start from the procedural world, plus the real sample frames when present), ``page`` (the
layout: one tab per task) and ``cli`` (the command). Only ``page`` and ``cli`` touch Gradio,
and ``cli`` imports it when the command runs, not when ``vlm3 --help`` does.
"""
