"""``vlm3 report RUN_DIR...``: one self-contained HTML page (tables + base64 figures) and JSON.

For each run directory (stage 1 + 2 of ``vlm3.evaluate.stages``): the per-task metric
tables of every predictor, parse rates, and figures drawn from the cached predictions --
predicted vs ground-truth depth (scatter and point maps over the image, with the error
map), match lines (prediction vs ground truth), the pose-error CDF and parse-rate bars.
No external resources: images are inline PNG data URIs, styles inline, no scripts.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vlm3.evaluate.scoring import parse_prediction, truths_of  # noqa: E402
from vlm3.evaluate.stages import PRED_DIR, read_jsonl, report_json, score_run  # noqa: E402
from vlm3.io.images import ImageReadError, read_rgb  # noqa: E402
from vlm3.tasks import TASKS, get_task  # noqa: E402


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _load_image(ref: str) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of an image a record names, or None when the file is gone."""
    try:
        return read_rgb(ref)
    except ImageReadError as err:
        if err.missing:
            return None
        raise


def _records(run_dir: Path) -> dict[tuple[str, str], list[dict]]:
    out = {}
    for p in sorted((run_dir / PRED_DIR).glob("*__*.jsonl")):
        bench, _, name = p.stem.partition("__")
        out[(bench, name)] = read_jsonl(p)
    return out


def fig_depth(recs: list[dict], title: str) -> str | None:
    """Scatter of predicted vs GT depth, and one image's GT / predicted / error point maps."""
    gt, pr = [], []
    for r in recs:
        parsed = parse_prediction(r)
        for p, d in zip(parsed, truths_of(r, len(parsed))):
            if p.ok:
                gt.append(d)
                pr.append(p.value)
    if not recs:
        return None
    r0 = recs[0]
    img = _load_image(r0["images"][0]) if r0.get("images") else None
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    if gt:
        lim = [0, max(max(gt), max(pr)) * 1.05]
        axes[0].scatter(gt, pr, s=4, alpha=0.5)
        axes[0].plot(lim, lim, "k--", lw=0.8)
        axes[0].set_xlim(lim)
        axes[0].set_ylim(lim)
    axes[0].set_xlabel("ground truth depth (m)")
    axes[0].set_ylabel("predicted depth (m)")
    axes[0].set_title(f"{title}: all parsed points")
    parsed = parse_prediction(r0)
    xy = np.array([q["xy_px"] for q in get_task("depth").queries_from_labels(r0["labels"])], float)[: len(parsed)]
    g = np.array(truths_of(r0, len(parsed)), float)
    d = np.array([p.value if p.ok else np.nan for p in parsed], float)
    vmax = float(np.nanmax(np.r_[g, d])) if len(g) else 1.0
    err = np.abs(d - g) / g
    for ax, vals, name, cmap, vm in ((axes[1], g, "ground truth (m)", "turbo", vmax),
                                     (axes[2], d, "predicted (m)", "turbo", vmax),
                                     (axes[3], err, "abs. rel. error", "magma", 0.5)):
        if img is not None:
            ax.imshow(img)
        ok = np.isfinite(vals)
        sc = ax.scatter(xy[ok, 0], xy[ok, 1], c=vals[ok], cmap=cmap, vmin=0, vmax=vm, s=40, edgecolors="white")
        ax.scatter(xy[~ok, 0], xy[~ok, 1], marker="x", c="red", s=40)
        fig.colorbar(sc, ax=ax, fraction=0.046)
        ax.set_title(f"{name}, sample {r0['id'][:16]}", fontsize=9)
        ax.axis("off")
    return _png(fig)


def fig_matches(recs: list[dict], title: str) -> str | None:
    """Prediction (coloured line) vs ground truth (white x) on one correspondence sample."""
    if not recs or not recs[0].get("images"):
        return None
    r = recs[0]
    ims = [_load_image(x) for x in r["images"][:2]]
    if any(im is None for im in ims):
        return None
    a, b = ims
    canvas = np.zeros((max(a.shape[0], b.shape[0]), a.shape[1] + b.shape[1], 3), np.uint8)
    canvas[: a.shape[0], : a.shape[1]] = a
    canvas[: b.shape[0], a.shape[1]:] = b
    fig, ax = plt.subplots(figsize=(10, 10 * canvas.shape[0] / canvas.shape[1] + 0.4))
    ax.imshow(canvas)
    parsed = parse_prediction(r)
    queries = get_task("correspondence").queries_from_labels(r["labels"])
    colors = plt.cm.hsv(np.linspace(0, 1, max(len(parsed), 1), endpoint=False))
    for i, (p, m, t) in enumerate(zip(parsed, queries, truths_of(r, len(parsed)))):
        q = m["query_xy_px"]
        ax.plot(t[0] + a.shape[1], t[1], "x", color="white", ms=7, mew=2)
        if p.ok:
            ax.plot([q[0], p.value[0] + a.shape[1]], [q[1], p.value[1]], "-o", color=colors[i], lw=1, ms=3)
    ax.set_title(f"{title}: predicted matches (lines) and ground truth (x)")
    ax.axis("off")
    return _png(fig)


def pose_errors_deg(recs: list[dict]) -> np.ndarray:
    """Per-pair pose error max(rot, trans) in degrees of pose records; ``inf`` where unparsed."""
    parsed = [parse_prediction(r)[0] for r in recs]
    return get_task("pose").pair_errors_deg(parsed, [truths_of(r, 1)[0] for r in recs])


def fig_pose_cdf(errors: dict[str, np.ndarray]) -> str | None:
    """Cumulative fraction of pairs with pose error <= x degrees (x up to 30), per predictor."""
    if not errors:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    xs = np.linspace(0, 30, 301)
    for name, e in errors.items():
        ax.plot(xs, [(e <= x).mean() for x in xs], label=f"{name} (n={len(e)})")
    ax.set_xlabel("pose error max(rot, trans) (deg)")
    ax.set_ylabel("fraction of pairs")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("pose-error CDF (area up to 30 deg = AUC@30)")
    return _png(fig)


def fig_parse_rates(results: dict[str, dict[str, Any]]) -> str:
    """Grouped bars: parse rate per task per predictor."""
    names = sorted(results)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    w = 0.8 / max(len(names), 1)
    for i, n in enumerate(names):
        vals = [100 * (results[n].get(t, {}).get("parse_rate") or 0) for t in TASKS]
        ax.bar(np.arange(len(TASKS)) + i * w, vals, w, label=n)
    ax.set_xticks(np.arange(len(TASKS)) + 0.4 - w / 2, TASKS)
    ax.set_ylabel("parse rate (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, ncol=3)
    return _png(fig)


def _table(results: dict[str, dict[str, Any]], task: str) -> str:
    names = [n for n in sorted(results) if task in results[n]]
    if not names:
        return ""
    unit = get_task(task)
    keys = list(unit.metrics) + ["parse_rate", "n_items"]
    arrows = {k: " ↑" if up else " ↓" for k, up in unit.higher_is_better.items()}
    head = "".join(f"<th>{html.escape(k)}{arrows.get(k, '')}</th>" for k in keys)
    rows = []
    for n in names:
        cells = []
        for k in keys:
            v = results[n][task].get(k)
            cells.append("<td>–</td>" if v is None else f"<td>{v:.4g}</td>" if isinstance(v, float) else f"<td>{v}</td>")
        rows.append(f"<tr><td>{html.escape(n)}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>predictor</th>{head}</tr>{''.join(rows)}</table>"


STYLE = ("body{font-family:sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse;margin:8px 0 16px}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
         "td:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:6px 0}")


def build_report(run_dirs: list[str | Path], out_html: str | Path) -> dict[str, Any]:
    """Write the HTML page (and ``<out stem>_numbers.json`` with the same numbers); returns the JSON dict."""
    out_html = Path(out_html)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>vlm3 evaluation report</title>"
             f"<style>{STYLE}</style></head><body><h1>vlm3 evaluation report</h1>"]
    numbers: dict[str, Any] = {}
    for rd in map(Path, run_dirs):
        summary_path = rd / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else score_run(rd)
        numbers[str(rd)] = {"summary": summary, "report": report_json(summary)}
        recs = _records(rd)
        parts.append(f"<h2>Run {html.escape(rd.name)} — model: {html.escape(str(summary.get('model')))}</h2>")
        timing = ", ".join(f"{k}: {v:.1f} s" for k, v in summary.get("timing_s", {}).items())
        parts.append(f"<p>Timing: {html.escape(timing) or '–'}</p>")
        for bench, results in sorted(summary["benchmarks"].items()):
            parts.append(f"<h3>Benchmark {html.escape(bench)}</h3>")
            for task in TASKS:
                t = _table(results, task)
                if t:
                    parts.append(f"<h4>{task}</h4>{t}")
            figs = [("parse rates", fig_parse_rates(results))]
            errors = {n: pose_errors_deg(rs) for (b, n), rs in recs.items() if b == bench
                      for rs in [[r for r in rs if r["task"] == "pose"]] if rs}
            figs.append(("pose-error CDF", fig_pose_cdf(errors)))
            focus = summary.get("model") if (bench, summary.get("model")) in recs else None
            for (b, n), rs in recs.items():
                if b != bench or (focus and n not in (focus,)):
                    continue
                figs.append((f"depth — {n}", fig_depth([r for r in rs if r["task"] == "depth"], n)))
                figs.append((f"matches — {n}", fig_matches([r for r in rs if r["task"] == "correspondence"], n)))
            for title, uri in figs:
                if uri:
                    parts.append(f"<figure><img alt='{html.escape(title)}' src='{uri}'>"
                                 f"<figcaption>{html.escape(title)}</figcaption></figure>")
    parts.append("</body></html>")
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text("".join(parts), encoding="utf-8")
    out_html.with_name(out_html.stem + "_numbers.json").write_text(json.dumps(numbers, indent=2, default=float) + "\n")
    return numbers
