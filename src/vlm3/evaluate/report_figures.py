"""The report's own figures (``vlm3.evaluate.report``), each a PNG data URI; every task's figures
are its unit's (``Task.report_figures``, ``vlm3.tasks.<task>.figure``), drawn from cached
prediction records (``RUN_DIR/predictions/*.jsonl``) with ``vlm3.drawing``.

Here: parse-rate bars per task and predictor. Legends sit outside the plotted data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlm3.drawing import png_data_uri, pyplot
from vlm3.tasks import TASKS



def fig_parse_rates(results: dict[str, dict[str, Any]], order: list[str]) -> str:
    """Grouped bars: parse rate (%) per task per predictor, legend to the right of the axes."""
    fig, ax = pyplot().subplots(figsize=(8, 3.2))
    w = 0.8 / max(len(order), 1)
    for i, n in enumerate(order):
        vals = [100 * (results[n].get(t, {}).get("parse_rate") or 0) for t in TASKS]
        ax.bar(np.arange(len(TASKS)) + i * w, vals, w, label=n)
    ax.set_xticks(np.arange(len(TASKS)) + 0.4 - w / 2, TASKS)
    ax.set_ylabel("parse rate (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("share of answers that parse, per task", fontsize=10)
    return png_data_uri(fig)

