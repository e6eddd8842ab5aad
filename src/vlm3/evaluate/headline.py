"""The one-screen headline table of a report.json: each task's headline metrics, model vs baselines.

Used by ``vlm3 demo`` (printed at the end) and for the README table. Rows are the model
and every baseline; columns are the summary columns of each task unit
(``Task.summary_columns``, with the metric's direction), then the lowest parse rate. Each cell
carries its counts, scored/given, and the marks of `vlm3.evaluate.coverage` (an incomplete
cell, a guessed camera), explained under the table.
(The full tables, every metric per benchmark, are table.md from ``vlm3.evaluate.stages``.)
"""

from __future__ import annotations

from typing import Any

from vlm3.evaluate.coverage import cell_text, table_notes
from vlm3.tasks import TASKS, get_task


def headline_columns() -> list[tuple[str, str, str, str]]:
    """(task, metric key in report.json, column title with its arrow, format), in task order."""
    out = []
    for task in TASKS:
        unit = get_task(task)
        for key, title, fmt in unit.summary_columns:
            out.append((task, key, f"{title} {'↑' if unit.higher_is_better[key] else '↓'}", fmt))
    return out


def _cell(value: Any, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def predictor_metrics(report: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """{predictor: {task: metrics}} with the model first, from a report.json dict."""
    model = report.get("model") or "model"
    out: dict[str, dict[str, dict[str, Any]]] = {model: {}}
    for task in TASKS:
        entry = report.get(task) or {}
        out[model][task] = {k: v for k, v in entry.items() if k != "baselines"}
        for name, vals in (entry.get("baselines") or {}).items():
            out.setdefault(name, {})[task] = vals
    return out


def headline_table(report: dict[str, Any]) -> str:
    """A markdown table: one row per predictor, the headline metrics and the lowest parse rate."""
    rows = predictor_metrics(report)
    columns = headline_columns()
    head = ["predictor"] + [title for _, _, title, _ in columns] + ["min parse rate"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    covs = {}
    for name, per_task in rows.items():
        cells = [name]
        for task, key, _, fmt in columns:
            cov = per_task.get(task, {}).get("coverage")
            covs[f"{task} / {name}"] = cov
            cells.append(cell_text(_cell(per_task.get(task, {}).get(key), fmt), cov))
        rates = [m.get("parse_rate") for m in per_task.values() if m.get("parse_rate") is not None]
        cells.append(f"{100 * min(rates):.1f}%" if rates else "–")
        lines.append("| " + " | ".join(cells) + " |")
    notes = table_notes(covs)
    lines += [""] + notes if notes else []  # a blank line: a line right under a table would be read as a row
    bench = report.get("benchmark")
    if bench:
        lines.append(f"\n(benchmark: {bench}; cells: value (scored/given))")
    return "\n".join(lines)
