"""``vlm3 report RUN_DIR...``: one self-contained HTML page people read, and its JSON beside it.

For each run directory (stage 1 + 2 of ``vlm3.evaluate.stages``), top to bottom:

1. one sentence on what ran: the model's name (``vlm3.json`` of the model folder that
   run.json's ``model_path`` names, else the predictor name), its base model, training steps
   and wall time (the folder's ``logs.jsonl``), when it finished, and how long evaluation took;
2. the headline table of the main benchmark (run.json's ``primary_benchmark``; then the
   others): the model's row first, then the baselines, each task's headline metrics with
   units and direction, the best non-oracle value in bold; one line per metric on its meaning;
3. figures (``vlm3.evaluate.report_figures``): depth, matches, pose frustums with the images,
   an object question with its boxes, the pose-error CDF, parse rates;
4. every metric per task, the timing of each stage, skipped benchmarks.

No external resources: images are inline PNG data URIs, styles inline, no scripts.
``<out stem>_numbers.json`` holds the same numbers (summary, report.json layout, run facts).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

from vlm3.evaluate import report_figures as figs
from vlm3.evaluate.coverage import count_text, marks, reasons_text, table_notes
from vlm3.evaluate.stages import PRED_DIR, read_jsonl, report_json, score_run
from vlm3.tasks import TASKS, get_task

pose_errors_deg = figs.pose_errors_deg  # per-pair pose errors (deg), also used by the SIFT checks

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
        return html.escape(str(v))
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


def _sentence(facts: dict[str, Any], summary: dict[str, Any], meta: dict[str, Any], when: str | None,
              n_items: dict[str, int]) -> str:
    benches = ", ".join(f"{html.escape(b)} ({n:,} scored items)" for b, n in n_items.items())
    eval_s = sum(v for k, v in summary.get("timing_s", {}).items() if isinstance(v, (int, float)))
    if facts["key"]:
        trained = []
        if facts["base_model"]:
            trained.append(f"from {html.escape(str(facts['base_model']))}")
        if facts["steps"]:
            trained.append(f"{int(facts['steps']):,} training steps")
        if facts["train_s"] is not None:
            trained.append(f"in {fmt_seconds(facts['train_s'])}")
        if facts["trained_at"]:
            trained.append(f"finished {facts['trained_at']}")
        who = f"<b class='model'>{html.escape(str(facts['name']))}</b>"
        who += f" ({', '.join(trained)})" if trained else " (no training record found next to the model)"
    else:
        who = "Baselines only (no model)"
    stages = meta.get("demo_stages_s") or {}
    demo = (f" The whole demo took {fmt_seconds(sum(stages.values()))} ("
            + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in stages.items()) + ").") if stages else ""
    return (f"<p class='lead'>{who} was evaluated on {benches}"
            f"{' on ' + when if when else ''}; evaluation took {fmt_seconds(eval_s)}.{demo}</p>")


def _order(results: dict[str, Any], model: str | None) -> list[str]:
    rank = {"oracle": 9}
    return sorted(results, key=lambda n: (n != model, rank.get(n, 1), n))


def headline_html(results: dict[str, dict[str, Any]], model: str | None, label: dict[str, str]) -> str:
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
    head1 = "".join(f"<th colspan='{sum(1 for c in cols if c[0] == t)}'>{t}</th>" for t in tasks)
    head2 = ""
    for t, key in cols:
        title = next(ti for k, ti, _ in get_task(t).summary_columns if k == key)
        title = title.split(" ", 1)[-1]  # a summary title's first word names the task (the group header's)
        unit = UNITS.get(key)
        if unit and unit not in title:
            title += f" ({unit})"
        arrow = "↑" if get_task(t).higher_is_better[key] else "↓"
        head2 += f"<th title='{html.escape(METRIC_MEANING.get(key, key))}'>{html.escape(title)} {arrow}</th>"
    rows = []
    for n in names:
        cells = []
        for t, key in cols:
            v = results[n].get(t, {}).get(key)
            b = v is not None and n != "oracle" and best.get((t, key)) == v and len(names) > 1
            cov = results[n].get(t, {}).get("coverage")
            why = "" if cov is None else html.escape(reasons_text(cov), quote=True)
            counts = "" if cov is None or v is None else (
                f"<br><small{f' title={chr(34)}{why}{chr(34)}' if why else ''}>{count_text(cov)}{marks(cov)}</small>")
            cells.append(f"<td>{'<b>' if b else ''}{fmt_value(key, v)}{'</b>' if b else ''}{counts}</td>")
        rates = [m.get("parse_rate") for m in results[n].values() if m.get("parse_rate") is not None]
        cells.append(f"<td>{fmt_value('parse_rate', min(rates)) if rates else '–'}</td>")
        note = "this model" if n == model else BASELINE_NOTES.get(n, "baseline")
        cls = " class='model'" if n == model else ""
        rows.append(f"<tr{cls}><td><b>{html.escape(label.get(n, n))}</b><br><small>{html.escape(note)}</small></td>"
                    f"{''.join(cells)}</tr>")
    return (f"<table class='headline'><thead><tr><th rowspan='2' class='left'>predictor</th>{head1}"
            f"<th rowspan='2'>lowest parse rate</th></tr><tr>{head2}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def glossary_html(keys: list[str]) -> str:
    """One line per metric on what it means."""
    items = "".join(f"<li>{html.escape(METRIC_MEANING[k])}</li>" for k in keys if k in METRIC_MEANING)
    return f"<ul class='glossary'>{items}</ul>"


def task_table(results: dict[str, dict[str, Any]], task: str, model: str | None, label: dict[str, str]) -> str:
    """Every report.json metric of one task, one row per predictor."""
    names = [n for n in _order(results, model) if task in results[n]]
    if not names:
        return ""
    unit = get_task(task)
    keys = list(unit.metrics) + list(unit.table_metrics) + ["parse_rate", "n_items"]
    head = "".join(f"<th title='{html.escape(METRIC_MEANING.get(k, k))}'>{html.escape(k)}"
                   f"{' ↑' if unit.higher_is_better.get(k) else ' ↓' if k in unit.higher_is_better else ''}</th>"
                   for k in keys) + "<th title='items scored / items the benchmark gives; why the others were not; " \
                                    "where the cameras came from'>coverage</th>"

    def coverage(cov: dict[str, Any] | None) -> str:
        if cov is None:
            return "<td>–</td>"
        return f"<td>{count_text(cov)}{marks(cov)}<br><small>{html.escape(reasons_text(cov))}</small></td>"

    rows = "".join(f"<tr><td>{html.escape(label.get(n, n))}</td>"
                   + "".join(f"<td>{fmt_value(k, results[n][task].get(k))}</td>" for k in keys)
                   + coverage(results[n][task].get("coverage")) + "</tr>"
                   for n in names)
    return f"<table><tr><th>predictor</th>{head}</tr>{rows}</table>"


STYLE = ("body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1300px;color:#222;line-height:1.4}"
         "h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}"
         "p.lead{font-size:1.1em}table{border-collapse:collapse;margin:8px 0 16px}"
         "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}th.left{text-align:left}p.warn{background:#fff4e0;border-left:4px solid #f0a020;padding:6px 10px}"
         "td:first-child{text-align:left}table.headline td{font-size:1.05em;font-variant-numeric:tabular-nums}"
         "table.headline small{color:#666;font-weight:normal}tr.model td{background:#eef5ff}"
         "ul.glossary{color:#444;font-size:.92em;margin-top:0}figure{margin:14px 0}"
         "figcaption{color:#555;font-size:.92em}img{max-width:100%;border:1px solid #eee}"
         ".grid{display:flex;flex-wrap:wrap;gap:18px}.grid figure{flex:1 1 560px}")


def _records(run_dir: Path) -> dict[tuple[str, str], list[dict]]:
    out = {}
    for p in sorted((run_dir / PRED_DIR).glob("*__*.jsonl")):
        bench, _, name = p.stem.partition("__")
        out[(bench, name)] = read_jsonl(p)
    return out


def _figure(title: str, uri: str | None) -> str:
    return (f"<figure><img alt='{html.escape(title)}' src='{uri}'><figcaption>{html.escape(title)}</figcaption>"
            f"</figure>") if uri else ""


def _figures(bench: str, results: dict[str, Any], recs: dict[tuple[str, str], list[dict]], model: str | None,
             label: dict[str, str]) -> str:
    order = _order(results, model)
    of = {n: rs for (b, n), rs in recs.items() if b == bench}
    focus = model if model in of else next((n for n in order if n != "oracle" and n in of), None)
    task_recs = {t: [r for r in of.get(focus, []) if r["task"] == t] for t in TASKS} if focus else {}
    who = label.get(focus, focus or "")
    parts = []
    if focus:
        parts.append(_figure(f"depth — {who}: predicted vs true depth, and one image's points",
                             figs.fig_depth(task_recs["depth"], who)))
        parts.append(_figure(f"correspondence — {who}", figs.fig_matches(task_recs["correspondence"], who)))
        pose = {label.get(n, n): [r for r in of[n] if r["task"] == "pose"] for n in order if n in of and n != "oracle"}
        pose = {n: rs for n, rs in pose.items() if rs}
        if pose:
            first = label.get(focus, focus)
            pose = {first: pose.pop(first), **pose} if first in pose else pose
        parts.append(_figure("pose — the two views and the cameras seen from above (truth solid, predictions dashed)",
                             figs.fig_pose_frustums(pose)))
        parts.append(_figure(f"object — one question with its regions drawn, and {who}'s answer",
                             figs.fig_object_question(task_recs["object"], who)))
    errors = {label.get(n, n): figs.pose_errors_deg(rs) for n in order for rs in
              [[r for r in of.get(n, []) if r["task"] == "pose"]] if rs}
    small = [_figure("pose-error CDF", figs.fig_pose_cdf(errors)),
             _figure("parse rates", figs.fig_parse_rates({label.get(n, n): results[n] for n in order},
                                                          [label.get(n, n) for n in order]))]
    return "".join(parts) + f"<div class='grid'>{''.join(small)}</div>"


def _run_section(rd: Path, numbers: dict[str, Any]) -> str:
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
    out = [f"<h2>{html.escape(str(facts['name'] or 'baselines'))} — run {html.escape(rd.name)}</h2>",
           _sentence(facts, summary, meta, _when(summary_path), n_items)]
    recs = _records(rd)
    for i, bench in enumerate(benches):
        results = summary["benchmarks"][bench]
        out.append(f"<h3>{'Main benchmark: ' if i == 0 else 'Benchmark: '}{html.escape(bench)}</h3>")
        out.append(headline_html(results, model, label))
        incomplete = table_notes({f"{t} / {label.get(n, n)}": m.get("coverage") for n in _order(results, model)
                                  for t, m in results[n].items()})
        if incomplete:
            out.append("<p class='warn'>Cells not scored on every item the benchmark gives, or on a guessed "
                       "camera:<br>" + "<br>".join(html.escape(x) for x in incomplete) + "</p>")
        low = {t: m.get("parse_rate") for t, m in results.get(model, {}).items() if (m.get("parse_rate") or 0) < 0.5}
        if low:
            rates = ", ".join(f"{t} {fmt_value('parse_rate', v)}" for t, v in low.items())
            out.append(f"<p class='warn'>{html.escape(label.get(model, str(model)))}'s answers mostly do not parse "
                       f"({html.escape(rates)}): its numbers there count unparsed answers as wrong. Check that it is "
                       f"asked as it was trained (text format, focal length and image size in its vlm3.json).</p>")
        if i == 0:
            keys = [k for t in TASKS if any(t in results[n] for n in results) for k, _, _ in get_task(t).summary_columns]
            out.append(glossary_html(keys + ["parse_rate"]))
        out.append(_figures(bench, results, recs, model, label))
    out.append("<h3>All metrics</h3>")
    for bench in benches:
        for task in TASKS:
            t = task_table(summary["benchmarks"][bench], task, model, label)
            if t:
                out.append(f"<h4>{html.escape(bench)} — {task}</h4>{t}")
    timing = summary.get("timing_s", {})
    if timing:
        rows = "".join(f"<tr><td>{html.escape(k.replace(':', ' · '))}</td><td>{fmt_seconds(v)}</td></tr>"
                       for k, v in timing.items() if isinstance(v, (int, float)))
        out.append(f"<h3>Timing</h3><table><tr><th>stage</th><th>wall time</th></tr>{rows}</table>")
    skipped = meta.get("skipped_benchmarks") or []
    if skipped:
        out.append("<h3>Skipped</h3><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in skipped) + "</ul>")
    return "".join(out)


def build_report(run_dirs: list[str | Path], out_html: str | Path) -> dict[str, Any]:
    """Write the HTML page (and ``<out stem>_numbers.json`` with the same numbers); returns the JSON dict."""
    out_html = Path(out_html)
    numbers: dict[str, Any] = {}
    sections = [_run_section(Path(rd), numbers) for rd in run_dirs]
    names = ", ".join(dict.fromkeys(str(v["model"]["name"] or "baselines") for v in numbers.values()))
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>vlm3 evaluation: "
            f"{html.escape(names)}</title><style>{STYLE}</style></head><body>"
            f"<h1>vlm3 evaluation: {html.escape(names)}</h1>{''.join(sections)}</body></html>")
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(page, encoding="utf-8")
    out_html.with_name(out_html.stem + "_numbers.json").write_text(json.dumps(numbers, indent=2, default=float) + "\n")
    return numbers
