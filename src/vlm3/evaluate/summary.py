"""The one-screen summary of a report.json: headline metrics per task, model vs baselines.

Used by ``vlm3 demo`` (printed at the end) and for the README table. Rows are the model
and every baseline; columns are the headline metrics of each task, with the parse rate.
"""

from __future__ import annotations

from typing import Any

#: (task, metric key in report.json, column title, format)
HEADLINE = (
    ("depth", "delta1", "depth δ1 ↑", "{:.3f}"),
    ("depth", "abs_rel", "depth AbsRel ↓", "{:.3f}"),
    ("correspondence", "epe_px", "corr EPE px ↓", "{:.2f}"),
    ("correspondence", "pck_5px", "corr PCK@5px ↑", "{:.3f}"),
    ("pose", "auc30", "pose AUC@30 ↑", "{:.1f}"),
    ("pose", "rot_err_deg_median", "pose rot err° ↓", "{:.1f}"),
    ("object", "qual_acc", "object qual acc ↑", "{:.3f}"),
    ("object", "quant_success", "object quant succ ↑", "{:.3f}"),
)
TASKS = ("depth", "correspondence", "pose", "object")


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


def headline_rows(report: dict[str, Any]) -> str:
    """A markdown table: one row per predictor, the headline metrics and the lowest parse rate."""
    rows = predictor_metrics(report)
    head = ["predictor"] + [title for _, _, title, _ in HEADLINE] + ["min parse rate"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, per_task in rows.items():
        cells = [name]
        for task, key, _, fmt in HEADLINE:
            cells.append(_cell(per_task.get(task, {}).get(key), fmt))
        rates = [m.get("parse_rate") for m in per_task.values() if m.get("parse_rate") is not None]
        cells.append(f"{100 * min(rates):.1f}%" if rates else "–")
        lines.append("| " + " | ".join(cells) + " |")
    bench = report.get("benchmark")
    if bench:
        lines.append(f"\n(benchmark: {bench})")
    return "\n".join(lines)
