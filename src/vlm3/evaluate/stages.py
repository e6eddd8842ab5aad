"""The two cached evaluation stages: predict (stage 1), then score on the CPU (stage 2).

A benchmark is a list of ``Case``: the ``Request`` a predictor sees (questions and their
inputs, no answers) and the sample's ``GroundTruth``, which stays here. Only a predictor
that declares ``needs_ground_truth = True`` (the oracle) is handed the truths, as a second
argument of ``predict``; a model predictor can never read them.

Stage 1 (``predict_benchmark``) asks a predictor every question of a benchmark and
appends one JSON line per request to ``RUN_DIR/predictions/<benchmark>__<predictor>.jsonl``:
ids, task, questions, raw answers, parsed values and parse status, labels, image paths,
predictor name and fingerprint, protocol format version and the config hash. It is
resumable: records already there with the same fingerprint and config hash are reused;
records from another model or config are dropped (the file is rewritten without them).

Stage 2 (``score_run``) re-parses the raw text, scores every (benchmark, predictor, task)
with ``vlm3.evaluate.scoring`` plus each cell's ``coverage`` (``vlm3.evaluate.coverage``: items
scored of those given, counted reasons, camera sources) and writes ``summary.json`` (everything), ``report.json``
(the stable per-task layout of docs/evaluation.md) and ``table.md`` (paper-style tables:
one row per predictor, one column per benchmark, the average and the parse rate); with
``paper_tables: true`` in the run's config also ``paper.md``, the paper's own tables with
the run's rows beside the published ones (``vlm3.evaluate.paper``).

``vlm3.evaluate.pipeline.run_eval`` runs both stages for every benchmark of an eval config.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from vlm3.evaluate.coverage import cell_coverage, cell_text, table_notes
from vlm3.evaluate.scoring import parsed_to_json, score_task
from vlm3.predictors.base import Prediction, Predictor, Request
from vlm3.protocol import FORMAT_VERSION
from vlm3.tasks import TASKS, get_task
from vlm3.tasks.unit import GroundTruth

PRED_DIR = "predictions"


@dataclass(frozen=True)
class Case:
    """One benchmark item: the request a predictor sees and the ground truth kept here."""

    request: Request
    truth: GroundTruth


def config_hash(config: Any) -> str:
    """sha1 (16 hex) of the canonical JSON of a config."""
    return hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def predictions_path(run_dir: Path, benchmark: str, predictor_name: str) -> Path:
    return Path(run_dir) / PRED_DIR / f"{benchmark}__{predictor_name}.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL file; a truncated last line (interrupted write) is ignored."""
    out = []
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _image_refs(req: Request) -> list[str]:
    return [str(p) if not hasattr(p, "shape") else f"<array {p.shape[1]}x{p.shape[0]}>" for p in req.images]


def _answer(predictor: Predictor, cases: Sequence[Case]) -> list[Prediction]:
    """The predictor's answers; the truths go only to a predictor that declares it needs them."""
    requests = [c.request for c in cases]
    if getattr(predictor, "needs_ground_truth", False):
        return predictor.predict(requests, [c.truth for c in cases])  # type: ignore[call-arg]
    return predictor.predict(requests)


def predict_benchmark(predictor: Predictor, benchmark: str, cases: Sequence[Case], run_dir: str | Path,
                      config: Any = None, batch_size: int = 4, progress: bool = True) -> dict[str, Any]:
    """Stage 1 for one (predictor, benchmark); returns counts and seconds.

    Cases of tasks the predictor does not support (``predictor.tasks``) are skipped.
    """
    path = predictions_path(Path(run_dir), benchmark, predictor.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fp, ch = predictor.fingerprint(), config_hash(config)
    old = read_jsonl(path)
    keep = [r for r in old if r.get("fingerprint") == fp and r.get("config_hash") == ch]
    if len(keep) != len(old) or (path.is_file() and path.read_bytes()[-1:] not in (b"", b"\n")):
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
        tmp.replace(path)
    done = {r["id"] for r in keep}
    tasks = set(getattr(predictor, "tasks", TASKS))
    todo = [c for c in cases if c.request.task in tasks and c.request.id not in done]
    skipped = sum(1 for c in cases if c.request.task not in tasks)
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), desc=f"predict {predictor.name} on {benchmark}", disable=not progress, unit="sample")
    with path.open("a", encoding="utf-8") as f:
        for i in range(0, len(todo), batch_size):
            chunk = todo[i:i + batch_size]
            for case, pred in zip(chunk, _answer(predictor, chunk)):
                f.write(json.dumps(_record(case, pred.texts, pred.seconds, predictor.name, fp, ch)) + "\n")
            f.flush()
            bar.update(len(chunk))
    bar.close()
    return {"reused": len(done), "predicted": len(todo), "skipped_unsupported_task": skipped,
            "seconds": time.perf_counter() - t0}


def _record(case: Case, texts: list[str], seconds: float, name: str, fp: str, ch: str) -> dict[str, Any]:
    """One prediction record (the parsed view is for reading; stage 2 parses ``raw`` again)."""
    req = case.request
    try:
        parsed = [parsed_to_json(req.task, p) for p in get_task(req.task).parse(texts, req)]
    except (KeyError, ValueError, TypeError, IndexError) as err:
        parsed = [{"ok": False, "value": None, "reason": f"cannot parse against the question inputs: {err}"}]
    return {"id": req.id, "task": req.task, "predictor": name, "fingerprint": fp, "config_hash": ch,
            "format_version": req.format_version or FORMAT_VERSION,
            "images": _image_refs(req), "questions": req.questions, "question_ids": req.question_ids,
            "raw": texts, "parsed": parsed, "parse_ok": [p["ok"] for p in parsed], "seconds": seconds,
            "labels": case.truth.labels, "pixmaps": req.meta.get("pixmaps")}


def score_run(run_dir: str | Path, model_name: str | None = None, timing_s: dict[str, float] | None = None,
              primary_benchmark: str | None = None) -> dict[str, Any]:
    """Stage 2: score every predictions file of a run; writes summary.json, report.json, table.md."""
    run_dir = Path(run_dir)
    t0 = time.perf_counter()
    by_key: dict[tuple[str, str], list[dict]] = {}
    for p in sorted((run_dir / PRED_DIR).glob("*__*.jsonl")):
        bench, _, name = p.stem.partition("__")
        by_key[(bench, name)] = read_jsonl(p)
    if not by_key:
        raise FileNotFoundError(f"no predictions under {run_dir / PRED_DIR}: run stage 1 (vlm3 eval) first")
    meta_path = run_dir / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    results: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (bench, name), recs in by_key.items():
        per_task: dict[str, list[dict]] = defaultdict(list)
        for r in recs:
            per_task[r["task"]].append(r)
        results[bench][name] = {}
        for t, rs in per_task.items():
            m = score_task(t, rs)
            m["coverage"] = cell_coverage(rs, m["n_items"], m.get("n_failed") or 0,
                                          (meta.get("skipped_inputs") or {}).get(bench, ()),
                                          int((meta.get("inputs_cut") or {}).get(bench, 0)))
            results[bench][name][t] = m
    model_name = model_name or meta.get("model_name")
    timing = dict(meta.get("timing_s", {}))
    timing.update(timing_s or {})
    timing["score"] = round(time.perf_counter() - t0, 3)
    formats = sorted({r.get("format_version") or FORMAT_VERSION for recs in by_key.values() for r in recs})
    summary = {"model": model_name, "benchmarks": results, "format_versions": formats, "timing_s": timing}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    report = report_json(summary, primary_benchmark or meta.get("primary_benchmark"))
    (run_dir / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (run_dir / "table.md").write_text(markdown_tables(summary))
    if (meta.get("config") or {}).get("paper_tables"):
        from vlm3.evaluate.paper import OBJECT_BENCHMARK, paper_tables

        objects = {name: [r for r in recs if r["task"] == "object"] for (bench, name), recs in by_key.items()
                   if bench == OBJECT_BENCHMARK}
        text, numbers = paper_tables(summary, {n: r for n, r in objects.items() if r},
                                     meta.get("skipped_benchmarks", []), meta.get("images") or {})
        (run_dir / "paper.md").write_text(text)
        summary["paper_tables"] = numbers
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary


def report_json(summary: dict[str, Any], primary_benchmark: str | None = None) -> dict[str, Any]:
    """The stable layout: per task the model's metrics, parse_rate, ``baselines.<name>``, plus timing_s."""
    results = summary["benchmarks"]
    bench = primary_benchmark if primary_benchmark in results else sorted(results)[0]
    model = summary.get("model")
    formats = summary.get("format_versions") or [FORMAT_VERSION]
    out: dict[str, Any] = {"model": model, "benchmark": bench,
                           "format_version": formats[0] if len(formats) == 1 else formats}
    for task in TASKS:
        entry: dict[str, Any] = {}
        for name, per_task in results[bench].items():
            if task not in per_task:
                continue
            m = per_task[task]
            vals = {k: m.get(k) for k in get_task(task).metrics}
            vals.update(parse_rate=m.get("parse_rate"), n_items=m.get("n_items"), coverage=m.get("coverage"))
            if name == model:
                entry.update(vals)
            else:
                entry.setdefault("baselines", {})[name] = vals
        if entry:
            out[task] = entry
    out["timing_s"] = summary.get("timing_s", {})
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def markdown_tables(summary: dict[str, Any]) -> str:
    """One table per task and metric: predictors x benchmarks, average, parse rate; each cell
    with its counts (scored/given) and marks, the reasons of incomplete cells under the task's
    first table (`vlm3.evaluate.coverage`)."""
    results = summary["benchmarks"]
    benches = sorted(results)
    lines = [f"# Evaluation: {summary.get('model') or 'run'}", ""]
    for task in TASKS:
        names = sorted({n for b in benches for n, pt in results[b].items() if task in pt},
                       key=lambda n: (n != summary.get("model"), n))
        if not names:
            continue
        cols = [b for b in benches if any(task in results[b].get(n, {}) for n in names)]
        unit = get_task(task)
        for k, metric in enumerate(unit.metrics + unit.table_metrics):
            arrow = "↑" if unit.higher_is_better[metric] else "↓"
            lines += [f"## {task}: {metric} {arrow}", "",
                      "| predictor | " + " | ".join(cols) + " | avg | parse rate |",
                      "|---" * (len(cols) + 3) + "|"]
            for n in names:
                vals = [results[b].get(n, {}).get(task, {}).get(metric) for b in cols]
                pr = [results[b].get(n, {}).get(task, {}).get("parse_rate") for b in cols]
                have = [v for v in vals if v is not None]
                avg = sum(have) / len(have) if have else None
                prs = [p for p in pr if p is not None]
                prt = f"{100 * sum(prs) / len(prs):.1f}%" if prs else "–"
                covs = [results[b].get(n, {}).get(task, {}).get("coverage") for b in cols]
                lines.append(f"| {n} | " + " | ".join(cell_text(_fmt(v), c) for v, c in zip(vals, covs))
                             + f" | {_fmt(avg)} | {prt} |")
            lines.append("")
            if k == 0:
                notes = table_notes({f"{b} / {n}": results[b].get(n, {}).get(task, {}).get("coverage")
                                     for b in cols for n in names})
                lines += [f"- {x}" for x in notes] + ([""] if notes else [])
    lines += ["Timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in summary.get("timing_s", {}).items()), ""]
    return "\n".join(lines)
