"""``vlm3 report RUN_DIR...``: one self-contained HTML page people read, and its JSON beside it.

For each run directory (stage 1 + 2 of ``vlm3.evaluate.stages``), top to bottom:

1. one sentence on what ran: the model's name (``vlm3.json`` of the model folder that
   run.json's ``model_path`` names, else the predictor name), its base model, training steps
   and wall time (the folder's ``logs.jsonl``), when it finished, and how long evaluation took;
2. the headline table of the main benchmark (run.json's ``primary_benchmark``; then the
   others): the model's row first, then the baselines, each task's headline metrics with
   units and direction, the best non-oracle value in bold; one line per metric on its meaning;
3. figures: each task's own (``Task.report_figures``: depth, matches, pose frustums with the
   images and the pose-error CDF, an object question with its boxes, calibration's predicted vs
   true field of view), then the parse rates (``vlm3.evaluate.report_figures``);
4. every metric per task, the timing of each stage, skipped benchmarks.

The page is the jinja template ``templates/report.html.j2`` (autoescaped) filled with the
facts computed here. No external resources: images are inline PNG data URIs, styles inline,
no scripts.
``<out stem>_numbers.json`` holds the same numbers (summary, report.json layout, run facts).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from vlm3.evaluate import report_figures as figs
from vlm3.evaluate.coverage import count_text, marks, reasons_text, table_notes
from vlm3.evaluate.stages import PRED_DIR, read_jsonl, report_json, score_run
from vlm3.tasks import TASKS, get_task

#: one line per metric key: what it measures (docs/metrics.md); each task's from its unit
METRIC_MEANING = {**{k: v for t in TASKS for k, v in get_task(t).metric_meaning.items()},
                  "parse_rate": "parse rate: share of answers the protocol parser could read (unparsed answers "
                                "count as wrong in every rate)"}
#: units shown in column titles (each task's from its unit)
UNITS = {k: v for t in TASKS for k, v in get_task(t).units.items()}
BASELINE_NOTES = {"oracle": "answers from the ground truth (protocol round trip, upper bound)",
                  "trivial": "training-set statistics, ignores the images",
                  "sift": "classical SIFT + RANSAC"}


def fmt_seconds(s: float | None) -> str:
    """A duration for people: ``0.4 s``, ``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if s is None:
        return "–"
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def fmt_value(key: str, v: Any) -> str:
    """A metric value with sensible precision (rates 3 decimals, % and ° 1, px 2)."""
    if v is None:
        return "–"
    if not isinstance(v, (int, float)):
        return str(v)  # the page template escapes it
    if key == "parse_rate":
        return f"{100 * v:.1f}%"
    if key.startswith("n_"):
        return f"{int(v):,}"
    unit = UNITS.get(key)
    if unit in ("%", "°"):
        return f"{v:.1f}"
    if unit == "px":
        return f"{v:.2f}"
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"


def _when(path: Path) -> str | None:
    return (dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            if path.exists() else None)


def model_facts(meta: dict[str, Any], key: str | None) -> dict[str, Any]:
    """What is known of the evaluated model: name, base model, steps, training seconds, finish time, folder."""
    facts: dict[str, Any] = {"key": key, "name": key, "base_model": None, "steps": None, "train_s": None,
                             "trained_at": None, "path": meta.get("model_path")}
    d = Path(facts["path"]) if facts["path"] else None
    if d is None or not d.is_dir():
        return facts
    try:
        asking = json.loads((d / "vlm3.json").read_text(encoding="utf-8"))
        facts.update(name=asking.get("name") or key, base_model=asking.get("base_model"), steps=asking.get("steps"))
    except (OSError, ValueError, AttributeError):
        pass
    logs = read_jsonl(d / "logs.jsonl")
    runtimes = [r for r in logs if "train_runtime" in r]
    if runtimes:
        facts["train_s"] = float(runtimes[-1]["train_runtime"])
        facts["steps"] = facts["steps"] or runtimes[-1].get("step")
    facts["trained_at"] = _when(d / "model.safetensors")
    return facts


def demo_stages(run_dir: Path) -> dict[str, float]:
    """Seconds per stage of ``vlm3 demo`` (``stages.json`` in the folder above the eval run), or {}."""
    try:
        state = json.loads((run_dir.parent / "stages.json").read_text())
        return {k: float(v["seconds"]) for k, v in state.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _lead(facts: dict[str, Any], summary: dict[str, Any], meta: dict[str, Any], when: str | None,
          n_items: dict[str, int]) -> dict[str, Any]:
    """The facts of the one sentence on what ran (the template writes the sentence)."""
    eval_s = sum(v for k, v in summary.get("timing_s", {}).items() if isinstance(v, (int, float)))
    trained = []
    if facts["key"]:
        if facts["base_model"]:
            trained.append(f"from {facts['base_model']}")
        if facts["steps"]:
            trained.append(f"{int(facts['steps']):,} training steps")
        if facts["train_s"] is not None:
            trained.append(f"in {fmt_seconds(facts['train_s'])}")
        if facts["trained_at"]:
            trained.append(f"finished {facts['trained_at']}")
    stages = meta.get("demo_stages_s") or {}
    demo = (f"The whole demo took {fmt_seconds(sum(stages.values()))} ("
            + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in stages.items()) + ").") if stages else ""
    return {"model": str(facts["name"]) if facts["key"] else None, "trained": trained,
            "benches": [f"{b} ({n:,} scored items)" for b, n in n_items.items()], "when": when,
            "eval_s": fmt_seconds(eval_s), "demo": demo}


def _order(results: dict[str, Any], model: str | None) -> list[str]:
    rank = {"oracle": 9}
    return sorted(results, key=lambda n: (n != model, rank.get(n, 1), n))


def headline(results: dict[str, dict[str, Any]], model: str | None, label: dict[str, str]) -> dict[str, Any]:
    """The headline table of one benchmark: predictors x (task's summary metrics + parse rate)."""
    names = [n for n in _order(results, model) if results[n]]
    cols = [(t, key) for t in TASKS if any(t in results[n] for n in names) for key, _, _ in get_task(t).summary_columns]
    names = [n for n in names if n == model or any(t in results[n] for t, _ in cols)]
    tasks = [t for t in TASKS if any(t == c[0] for c in cols)]
    best: dict[tuple[str, str], float] = {}
    for t, key in cols:
        vals = [results[n][t][key] for n in names if n != "oracle" and results[n].get(t, {}).get(key) is not None]
        if vals:
            best[(t, key)] = (max if get_task(t).higher_is_better[key] else min)(vals)
    columns = []
    for t, key in cols:
        title = next(ti for k, ti, _ in get_task(t).summary_columns if k == key)
        title = title.split(" ", 1)[-1]  # a summary title's first word names the task (the group header's)
        unit = UNITS.get(key)
        if unit and unit not in title:
            title += f" ({unit})"
        columns.append({"title": title, "meaning": METRIC_MEANING.get(key, key),
                        "arrow": "↑" if get_task(t).higher_is_better[key] else "↓"})
    rows = []
    for n in names:
        cells = []
        for t, key in cols:
            v = results[n].get(t, {}).get(key)
            cov = results[n].get(t, {}).get("coverage")
            cells.append({"value": fmt_value(key, v),
                          "best": v is not None and n != "oracle" and best.get((t, key)) == v and len(names) > 1,
                          "counts": "" if cov is None or v is None else f"{count_text(cov)}{marks(cov)}",
                          "why": "" if cov is None else reasons_text(cov)})
        rates = [m.get("parse_rate") for m in results[n].values() if m.get("parse_rate") is not None]
        rows.append({"name": label.get(n, n), "note": "this model" if n == model else BASELINE_NOTES.get(n, "baseline"),
                     "is_model": n == model, "cells": cells,
                     "parse": fmt_value("parse_rate", min(rates)) if rates else "–"})
    return {"groups": [(t, sum(1 for c in cols if c[0] == t)) for t in tasks], "columns": columns, "rows": rows}


def task_table(results: dict[str, dict[str, Any]], task: str, model: str | None, label: dict[str, str]
               ) -> dict[str, Any] | None:
    """Every report.json metric of one task, one row per predictor (None: no predictor has it)."""
    names = [n for n in _order(results, model) if task in results[n]]
    if not names:
        return None
    unit = get_task(task)
    keys = list(unit.metrics) + list(unit.table_metrics) + ["parse_rate", "n_items"]
    columns = [{"key": k, "meaning": METRIC_MEANING.get(k, k),
                "arrow": " ↑" if unit.higher_is_better.get(k) else " ↓" if k in unit.higher_is_better else ""}
               for k in keys]

    def coverage(cov: dict[str, Any] | None) -> dict[str, str] | None:
        return None if cov is None else {"counts": f"{count_text(cov)}{marks(cov)}", "reasons": reasons_text(cov)}

    rows = [{"name": label.get(n, n), "cells": [fmt_value(k, results[n][task].get(k)) for k in keys],
             "coverage": coverage(results[n][task].get("coverage"))} for n in names]
    return {"task": task, "columns": columns, "rows": rows}


STYLE = ("body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1300px;color:#222;line-height:1.4}"
         "h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}"
         "p.lead{font-size:1.1em}table{border-collapse:collapse;margin:8px 0 16px}"
         "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}th.left{text-align:left}p.warn{background:#fff4e0;border-left:4px solid #f0a020;padding:6px 10px}"
         "td:first-child{text-align:left}table.headline td{font-size:1.05em;font-variant-numeric:tabular-nums}"
         "table.headline small{color:#666;font-weight:normal}tr.model td{background:#eef5ff}"
         "ul.glossary{color:#444;font-size:.92em;margin-top:0}figure{margin:14px 0}"
         "figcaption{color:#555;font-size:.92em}img{max-width:100%;border:1px solid #eee}"
         ".grid{display:flex;flex-wrap:wrap;gap:18px}.grid figure{flex:1 1 560px}")


def _template() -> Any:
    """The page template (``templates/report.html.j2``, package data), HTML-escaping every value."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("vlm3.evaluate", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    return env.get_template("report.html.j2")


def _records(run_dir: Path) -> dict[tuple[str, str], list[dict]]:
    out = {}
    for p in sorted((run_dir / PRED_DIR).glob("*__*.jsonl")):
        bench, _, name = p.stem.partition("__")
        out[(bench, name)] = read_jsonl(p)
    return out


def _figures(bench: str, results: dict[str, Any], recs: dict[tuple[str, str], list[dict]], model: str | None,
             label: dict[str, str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(the large figures, the small ones in a grid) of one benchmark: {"title", "uri"} each; every
    task's figures are its unit's (``Task.report_figures``), then the parse rates."""
    order = _order(results, model)
    of = {n: rs for (b, n), rs in recs.items() if b == bench}
    focus = model if model in of else next((n for n in order if n != "oracle" and n in of), None)
    large, small = [], []
    for t in TASKS:
        records = {label.get(n, n): [r for r in of[n] if r["task"] == t] for n in order if n in of}
        for f in get_task(t).report_figures(records, None if focus is None else label.get(focus, focus),
                                            (label.get("oracle", "oracle"),)):
            (small if f.small else large).append((f.title, f.uri))
    small.append(("parse rates", figs.fig_parse_rates({label.get(n, n): results[n] for n in order},
                                                      [label.get(n, n) for n in order])))
    keep = lambda figures: [{"title": title, "uri": uri} for title, uri in figures if uri]  # noqa: E731
    return keep(large), keep(small)


def _run_section(rd: Path, numbers: dict[str, Any]) -> dict[str, Any]:
    """What the template shows of one run directory (and its numbers added to ``numbers``)."""
    summary_path = rd / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else score_run(rd)
    meta_path = rd / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    meta["demo_stages_s"] = demo_stages(rd)
    model = summary.get("model")
    facts = model_facts(meta, model)
    label = {model: str(facts["name"])} if model else {}
    benches = sorted(summary["benchmarks"], key=lambda b: (b != meta.get("primary_benchmark"), b))
    n_items = {b: sum(m.get("n_items") or 0 for m in (summary["benchmarks"][b].get(model)
                                                      or next(iter(summary["benchmarks"][b].values()))).values())
               for b in benches}
    numbers[str(rd)] = {"summary": summary, "report": report_json(summary, meta.get("primary_benchmark")),
                        "model": facts, "evaluated_at": _when(summary_path)}
    recs = _records(rd)
    sections = []
    for i, bench in enumerate(benches):
        results = summary["benchmarks"][bench]
        low = {t: m.get("parse_rate") for t, m in results.get(model, {}).items() if (m.get("parse_rate") or 0) < 0.5}
        glossary = []
        if i == 0:
            keys = [k for t in TASKS if any(t in results[n] for n in results) for k, _, _ in get_task(t).summary_columns]
            glossary = [METRIC_MEANING[k] for k in keys + ["parse_rate"] if k in METRIC_MEANING]
        figures, small = _figures(bench, results, recs, model, label)
        sections.append({
            "name": bench, "headline": headline(results, model, label), "glossary": glossary,
            "incomplete": table_notes({f"{t} / {label.get(n, n)}": m.get("coverage") for n in _order(results, model)
                                       for t, m in results[n].items()}),
            "low_parse": None if not low else {
                "model": label.get(model, str(model)),
                "rates": ", ".join(f"{t} {fmt_value('parse_rate', v)}" for t, v in low.items())},
            "figures": figures, "small_figures": small})
    tables = [dict(tab, bench=bench) for bench in benches for task in TASKS
              for tab in [task_table(summary["benchmarks"][bench], task, model, label)] if tab]
    timing = [(k.replace(":", " · "), fmt_seconds(v)) for k, v in summary.get("timing_s", {}).items()
              if isinstance(v, (int, float))]
    return {"title": str(facts["name"] or "baselines"), "folder": rd.name,
            "lead": _lead(facts, summary, meta, _when(summary_path), n_items), "benchmarks": sections,
            "tables": tables, "timing": timing, "skipped": meta.get("skipped_benchmarks") or []}


def build_report(run_dirs: list[str | Path], out_html: str | Path) -> dict[str, Any]:
    """Write the HTML page (and ``<out stem>_numbers.json`` with the same numbers); returns the JSON dict."""
    out_html = Path(out_html)
    numbers: dict[str, Any] = {}
    runs = [_run_section(Path(rd), numbers) for rd in run_dirs]
    names = ", ".join(dict.fromkeys(str(v["model"]["name"] or "baselines") for v in numbers.values()))
    page = _template().render(names=names, style=STYLE, runs=runs)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(page, encoding="utf-8")
    out_html.with_name(out_html.stem + "_numbers.json").write_text(json.dumps(numbers, indent=2, default=float) + "\n")
    return numbers
