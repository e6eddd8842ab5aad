"""The parse-failure policy: scoring parsed answers with every failure counted.

This is not a metric (the pure metrics live in ``vlm3.metrics``): it decides how answers
that did not parse enter a task's numbers, and every task unit scores through it.

Policy (docs/metrics.md): every failure is counted (`n_total`, `n_parsed`, `parse_rate`,
reasons tallied). RATE metrics (delta1, accuracy, PCK, success rate, AUC: means of a
per-item 0/1 outcome) score failures as WRONG: the value over parsed items is multiplied
by n_parsed / n_total. ERROR metrics (AbsRel, RMSE, EPE, ...) are means over the parsed
items only (a failure has no error value), reported with `n_scored`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vlm3.protocol.parsing import Parsed

MetricFn = Callable[[list, list], Any]


def score_counting_failures(parsed: Sequence[Parsed], gt: Sequence[Any],
                            rate_metrics: Mapping[str, MetricFn] | None = None,
                            error_metrics: Mapping[str, MetricFn] | None = None) -> dict[str, Any]:
    """Score parsed predictions against ground truth with the failure policy above.

    parsed: one `Parsed` per item (its `.value` is the prediction when `.ok`); gt: one
    ground truth per item. Metric callables receive (pred_values, gt_values) of the parsed
    items. A rate metric must return a fraction (mean of a 0/1 outcome) or a dict of them
    (e.g. PCK per threshold, AUC per threshold). Values are None when nothing parsed.
    """
    if len(parsed) != len(gt):
        raise ValueError(f"parsed and gt lengths differ: {len(parsed)} vs {len(gt)}")
    n_total = len(parsed)
    ok_idx = [i for i, p in enumerate(parsed) if p.ok]
    reasons = Counter(p.reason or "unknown" for p in parsed if not p.ok)
    n_parsed = len(ok_idx)
    preds = [parsed[i].value for i in ok_idx]
    gts = [gt[i] for i in ok_idx]
    frac = n_parsed / n_total if n_total else 0.0
    out: dict[str, Any] = {"n_total": n_total, "n_parsed": n_parsed, "n_failed": n_total - n_parsed,
                           "parse_rate": frac if n_total else None,
                           "failure_reasons": dict(reasons.most_common()),
                           "n_scored": n_parsed}
    for name, fn in (rate_metrics or {}).items():
        if n_parsed == 0:
            out[name] = 0.0 if n_total else None
            continue
        value = fn(preds, gts)
        out[name] = {k: float(v) * frac for k, v in value.items()} if isinstance(value, dict) else float(value) * frac
    for name, fn in (error_metrics or {}).items():
        out[name] = fn(preds, gts) if n_parsed else None
    return out
