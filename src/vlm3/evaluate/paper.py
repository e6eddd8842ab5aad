"""The paper's tables (``vlm3 eval --config paper``): this run's rows beside the published ones.

Tables (VLM3, arXiv 2605.30561, Tables 1-4): depth delta1 on DepthLM's 8 eval sets;
SpatialRGPT-Bench qualitative accuracy and quantitative success (with AbsRel) per category;
correspondence EPE (ETH3D, DTU, TA-WB); pose AUC@30 (ETH3D, ScanNet++), this run's cells as
``auc30 / auc30_signed``. Each of this run's cells carries its counts, items scored / items
given, and the marks of ``vlm3.evaluate.coverage`` (incomplete; guessed camera) with the
counted reasons under its table. Each column is one
benchmark of the eval config, found by its name (``configs/eval/paper.yaml``); a benchmark
the run skipped shows "–" and its one-line reason under the table.

The published rows are reference numbers quoted with their citation, never computed here:
``PUBLISHED`` holds them as printed (``CITATION`` says where they were read: a transcription
of the paper's tables, cross-checked against two other summaries; check the PDF before
quoting them). Object categories follow SpatialRGPT's evaluation script
(``scripts/srgpt/eval/evaluate_spatial_with_gpt4.py``): each qualitative column pools the
``*_predicate`` and ``*_choice`` questions of its two words; quantitative success counts a
direction within one clock hour and enters the overall success, AbsRel covers the five
length kinds (direction reports its mean error in degrees instead).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from vlm3.evaluate.coverage import GUESS_MARK, INCOMPLETE_MARK, cell_text, table_notes
from vlm3.metrics import objects as obj_m
from vlm3.tasks import get_task

CITATION = ("VLM3: Vision Language Models Are Native 3D Learners, arXiv 2605.30561, Tables 1-4 "
            "(numbers as transcribed in ../shared/PAPER_NOTES.md section 2.8; verify against the PDF before quoting)")

DEPTH_COLUMNS = (("Argo2", "depth_argoverse2"), ("DDAD", "depth_ddad"), ("NuSc", "depth_nuscenes"),
                 ("ETH3D", "depth_eth3d"), ("SN++", "depth_scannetpp"), ("sunRGBD", "depth_sunrgbd"),
                 ("iBims1", "depth_ibims1"), ("NYUv2", "depth_nyuv2"))
CORR_COLUMNS = (("ETH3D", "corr_eth3d"), ("DTU", "corr_dtu"), ("TA-WB", "corr_tawb"))
POSE_COLUMNS = (("ETH3D", "pose_eth3d"), ("ScanNet++", "pose_scannetpp"))
OBJECT_BENCHMARK = "spatialrgpt_bench"
QUAL_GROUPS = (("Below/Above", ("below", "above")), ("Left/Right", ("left", "right")), ("Big/Small", ("big", "small")),
               ("Tall/Short", ("tall", "short")), ("Wide/Thin", ("wide", "thin")), ("Behind/Front", ("behind", "front")))
QUANT_GROUPS = (("Direct", "direct_distance"), ("Horiz.", "horizontal_distance"), ("Vert.", "vertical_distance"),
                ("Width", "width"), ("Height", "height"), ("Direction", "direction"))

#: the published rows, as printed (strings keep the paper's precision)
PUBLISHED: dict[str, dict[str, list[str]]] = {
    "depth": {
        "Qwen3-VL-4B": [".004", ".073", ".070", ".071", ".147", ".176", ".080", ".158", ".101"],
        "Qwen3-VL-32B": [".017", ".099", ".029", ".167", ".373", ".463", ".122", ".393", ".208"],
        "Qwen2.5-VL-72B": [".119", ".140", ".186", ".220", ".272", ".276", ".212", ".324", ".219"],
        "Gemini-2.5-Pro": [".280", ".252", ".365", ".328", ".380", ".270", ".466", ".394", ".342"],
        "GPT-5": [".218", ".302", ".382", ".313", ".428", ".471", ".307", ".540", ".370"],
        "SpaceLLaVA-13B": [".100", ".067", ".083", ".090", ".269", ".233", ".208", ".178", ".154"],
        "SpatialRGPT-8B": [".055", ".046", ".100", ".220", ".346", ".369", ".240", ".265", ".205"],
        "Seed1.5-VL": [".040", ".074", ".028", ".309", ".593", ".689", ".627", ".841", ".400"],
        "DepthLM-3B": [".808", ".724", ".870", ".745", ".838", ".850", ".890", ".868", ".824"],
        "DepthLM-7B": [".833", ".747", ".865", ".718", ".850", ".859", ".920", ".915", ".838"],
        "VLM3-4B": [".896", ".818", ".970", ".810", ".976", ".867", ".960", ".935", ".904"],
    },
    "object_qualitative": {
        "Qwen3-VL-4B": ["63.33", "85.71", "85.85", "70.54", "83.65", "60.91", "75.00"],
        "SpatialRGPT-8B": ["99.17", "99.04", "79.24", "89.28", "83.65", "87.27", "89.80"],
        "VLM3-4B": ["97.84", "99.37", "90.78", "90.82", "92.86", "75.54", "91.35"],
    },
    "object_quantitative": {
        "SpatialRGPT-8B": ["35.1/.35", "59.0/.27", "53.8/.27", "51.9/.31", "54.9/.63", "95.3/17.1°", "58.33/.37"],
        "VLM3-4B": ["34.09/.37", "53.38/.29", "58.41/.27", "44.11/.39", "65.64/.41", "95.42/10.5°", "58.51/.35"],
    },
    "correspondence": {
        "Qwen3-VL-4B": ["179.80", "89.64", "190.40", "153.28"], "Qwen3-VL-32B": ["196.53", "88.76", "195.53", "160.27"],
        "DKM": ["30.83", "30.15", "61.80", "41.30"], "RoMa": ["10.01", "11.84", "43.79", "21.88"],
        "UFM": ["3.83", "7.28", "12.56", "7.89"], "VLM3-4B": ["15.18", "10.71", "20.21", "15.37"],
    },
    "pose": {
        "Qwen3-VL-4B": ["10.0", "0.7", "5.4"], "Qwen3-VL-32B": ["11.7", "3.9", "7.8"], "DUSt3R": ["27.3", "33.9", "30.6"],
        "MapAnything": ["77.4", "84.1", "80.8"], "VGGT": ["80.8", "95.1", "88.0"], "DA3-Giant": ["91.2", "98.1", "94.7"],
        "VLM3-4B": ["93.3", "94.7", "94.0"],
    },
}


def _avg(vals: Sequence[float | None]) -> float | None:
    have = [v for v in vals if v is not None]
    return sum(have) / len(have) if len(have) == len(vals) and have else None


def _fmt(v: float | None, fmt: str) -> str:
    return "–" if v is None else fmt.format(v)


def _per_question(records: Sequence[Mapping[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(question dict, one-question prediction record) for every object question of a run."""
    out = []
    for r in records:
        questions = r["labels"].get("questions", [])
        for i, (text, q) in enumerate(zip(r["raw"], questions)):
            labels = dict(r["labels"], questions=[q])
            out.append((q, {**r, "raw": [text], "labels": labels}))
    return out


def _direction(items: Sequence[Mapping[str, Any]]) -> tuple[float | None, float | None, int, int]:
    """(success within one clock hour, failures counted as misses; mean error deg over parsed; n; n parsed)."""
    unit = get_task("object")
    parsed = [unit.parse(r["raw"], unit.inputs_from_labels(r["labels"], None, r.get("format_version")))[0] for r in items]
    if not items:
        return None, None, 0, 0
    ok = [(p.value, r["labels"]["questions"][0]["value"]) for p, r in zip(parsed, items) if p.ok]
    if not ok:
        return 0.0, None, len(items), 0
    err = obj_m.clock_error_deg([p for p, _ in ok], [g for _, g in ok])
    return float((err <= 30.0).sum()) / len(items), float(err.mean()), len(items), len(ok)


def object_by_category(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """SpatialRGPT-Bench columns from one predictor's object prediction records: per column
    ``acc`` (qualitative, %) or ``success`` (%) and ``abs_rel`` / ``err_deg``, with ``n`` (questions
    given) and ``n_scored`` (questions with a parsed answer)."""
    from vlm3.evaluate.scoring import score_task

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    word_to_col = {w: col for col, words in QUAL_GROUPS for w in words}
    kind_to_col = {k: col for col, k in QUANT_GROUPS}
    for q, rec in _per_question(records):
        pred = str(q.get("predicate") or "")
        if q.get("kind") == "qualitative":
            col = word_to_col.get(pred.split("_")[0])
        else:
            col = kind_to_col.get(pred)
        if col:
            groups[col].append(rec)
    out: dict[str, dict[str, Any]] = {}
    qual_all = [r for col, _ in QUAL_GROUPS for r in groups[col]]
    for col, _ in QUAL_GROUPS + (("overall_qualitative", ()),):
        items = qual_all if col == "overall_qualitative" else groups[col]
        s = score_task("object", items) if items else {}
        out[col] = {"acc": None if s.get("qual_acc") is None else 100 * s["qual_acc"], "n": len(items),
                    "n_scored": len(items) - int(s.get("n_failed") or 0)}
    n_total, n_success, n_parsed, rel = 0, 0.0, 0, []
    for col, kind in QUANT_GROUPS:
        items = groups[col]
        if kind == "direction":
            succ, err, n, n_ok = _direction(items)
            out[col] = {"success": None if succ is None else 100 * succ, "err_deg": err, "n": n, "n_scored": n_ok}
        else:
            s = score_task("object", items) if items else {}
            succ, n = s.get("quant_success"), s.get("n_quantitative", 0)
            n_ok = n - int(s.get("n_failed") or 0)
            out[col] = {"success": None if succ is None else 100 * succ, "abs_rel": s.get("quant_abs_rel"), "n": n,
                        "n_scored": n_ok}
            if s.get("quant_abs_rel") is not None:
                rel.append((s["quant_abs_rel"], s.get("n_scored", n)))
        if succ is not None:
            n_total += n
            n_parsed += n_ok
            n_success += succ * n
    out["overall_quantitative"] = {"success": 100 * n_success / n_total if n_total else None,
                                   "abs_rel": sum(a * n for a, n in rel) / sum(n for _, n in rel) if rel else None,
                                   "n": n_total, "n_scored": n_parsed}
    return out


def _table(title: str, columns: Sequence[str], published: Mapping[str, Sequence[str]],
           ours: Mapping[str, Sequence[str]], notes: Sequence[str]) -> list[str]:
    lines = [f"## {title}", "", "| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {name} [paper] | " + " | ".join(vals) + " |" for name, vals in published.items()]
    lines += [f"| **{name}** (this run) | " + " | ".join(vals) + " |" for name, vals in ours.items()]
    return lines + [""] + [f"- {n}" for n in notes] + ([""] if notes else [])


def paper_tables(summary: Mapping[str, Any], object_records: Mapping[str, Sequence[Mapping[str, Any]]],
                 skipped: Sequence[str] = (), images: Mapping[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """(paper.md text, the run's numbers per table) from a scored run's summary, the object
    prediction records of the SpatialRGPT benchmark per predictor, and run.json's skips and
    ``images`` (benchmark -> what its images got, listed under the introduction)."""
    res = summary["benchmarks"]
    names = sorted({n for b in res.values() for n in b}, key=lambda n: (n != summary.get("model"), n))
    why = {s.split(":", 1)[0]: s.split(":", 1)[1].strip() for s in skipped}

    def notes(benches: Sequence[str]) -> list[str]:
        return [f"{b}: not run ({why.get(b, 'not in this run')})" for b in benches if b not in res]

    numbers: dict[str, Any] = {}
    out = [f"# The paper's tables: {summary.get('model') or 'baselines'}", "",
           f"Rows marked [paper] are published reference numbers: {CITATION}.", "",
           f"This run's cells are `value (items scored/items the benchmark gives)`; {INCOMPLETE_MARK} marks a cell "
           f"not scored on every item (the counted reasons are under its table), {GUESS_MARK} a cell scored on "
           f"a guessed camera (no intrinsics, no AnyCalib: a stated field-of-view guess).", ""]
    if images:
        out += ["Images per benchmark (docs/evaluation.md says why):", ""]
        out += [f"- {b}: {what}" for b, what in images.items()] + [""]
    for key, title, cols, task, metric, second, fmt in (
            ("depth", "Depth δ1 ↑ (Table 1)", DEPTH_COLUMNS, "depth", "delta1", None, "{:.3f}"),
            ("correspondence", "Correspondence EPE ↓ (px of the standardised image 2; the paper rescales to UFM's "
                               "pixel range)", CORR_COLUMNS, "correspondence", "epe_px", None, "{:.2f}"),
            ("pose", "Pose AUC@30 ↑ (%): this run's cells are auc30 / auc30_signed (the paper's auc30 is "
                     "sign-blind, as VGGT's; the signed one counts a negated translation as wrong)",
             POSE_COLUMNS, "pose", "auc30", "auc30_signed", "{:.1f}")):
        ours, nums, covs = {}, {}, {}
        for n in names:
            cells = [res.get(b, {}).get(n, {}).get(task, {}) for _, b in cols]
            vals = [c.get(metric) for c in cells]
            if all(v is None for v in vals):
                continue
            nums[n] = dict(zip([c for c, _ in cols] + ["avg"], vals + [_avg(vals)]))
            text = [_fmt(v, fmt) for v in vals + [_avg(vals)]]
            if second:
                seconds = [c.get(second) for c in cells]
                nums[n].update({f"{c}_{second}": v for (c, _), v in zip(cols, seconds + [_avg(seconds)])})
                text = [t if t == "–" else f"{t} / {_fmt(v, fmt)}" for t, v in zip(text, seconds + [_avg(seconds)])]
            for (col, _), c in zip(cols, cells):
                covs[f"{col} / {n}"] = c.get("coverage")
            nums[n]["coverage"] = {col: c.get("coverage") for (col, _), c in zip(cols, cells)}
            ours[n] = [cell_text(t, c.get("coverage")) for t, c in zip(text, cells)] + [text[-1]]
        numbers[key] = nums
        out += _table(title, [c for c, _ in cols] + ["avg"], PUBLISHED[key], ours,
                      table_notes(covs) + notes([b for _, b in cols]))
    qual_cols = [c for c, _ in QUAL_GROUPS]
    quant_cols = [c for c, _ in QUANT_GROUPS]
    ours_ql, ours_qn, nums = {}, {}, {}
    obj_covs = {}
    for n, recs in object_records.items():
        cat = object_by_category(recs)
        nums[n] = cat
        bench_cov = res.get(OBJECT_BENCHMARK, {}).get(n, {}).get("object", {}).get("coverage")
        obj_covs[f"{OBJECT_BENCHMARK} / {n}"] = bench_cov

        def cell(text: str, c: str) -> str:  # a category's counts; the benchmark's skips and camera marks
            cov = None if bench_cov is None else {**bench_cov, "given": cat[c]["n"], "scored": cat[c]["n_scored"]}
            return cell_text(text, cov)

        ours_ql[n] = [cell(_fmt(cat[c]["acc"], "{:.2f}"), c) for c in qual_cols + ["overall_qualitative"]]
        ours_qn[n] = [cell(_fmt(cat[c]["success"], "{:.2f}") + "/" + (
            _fmt(cat[c].get("err_deg"), "{:.1f}°") if c == "Direction" else _fmt(cat[c].get("abs_rel"), "{:.2f}")), c)
            for c in quant_cols + ["overall_quantitative"]]
    numbers["object"] = nums
    obj_notes = table_notes(obj_covs) + notes([OBJECT_BENCHMARK])
    out += _table("SpatialRGPT-Bench qualitative accuracy ↑ (%)", qual_cols + ["overall"],
                  PUBLISHED["object_qualitative"], ours_ql, obj_notes)
    out += _table("SpatialRGPT-Bench quantitative success ↑ (%) / AbsRel ↓ (direction: mean error)",
                  quant_cols + ["overall"], PUBLISHED["object_quantitative"], ours_qn, obj_notes)
    return "\n".join(out), numbers


__all__ = ["CITATION", "PUBLISHED", "DEPTH_COLUMNS", "CORR_COLUMNS", "POSE_COLUMNS", "OBJECT_BENCHMARK",
           "object_by_category", "paper_tables"]
