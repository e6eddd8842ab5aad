"""Stage-2 scoring: prediction records -> per-task metrics, by asking each task's unit.

A prediction record (one line of ``RUN_DIR/predictions/*.jsonl``, ``vlm3.evaluate.stages``)
holds the raw answers, the question ids, the text ``format_version`` and the sample's
labels. Its task unit (``vlm3.tasks.get_task``) rebuilds the question inputs from the
labels, parses the answers, names the ground truth of each item and scores the items
under the parse-failure policy (``vlm3.tasks.failure_policy``: rate metrics count a
failure as wrong; error metrics are means over parsed items; ``parse_rate`` always
reported). Nothing here knows a task.

The metric keys per task are the report.json contract (``Task.metrics``, docs/evaluation.md);
every task dict also has ``parse_rate``, ``n_items`` and ``n_failed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vlm3.protocol.parsing import Parsed
from vlm3.tasks import get_task


def parse_record(task: str, texts: Sequence[str], question_ids: Sequence[str] | None,
                 labels: Mapping[str, Any], format_version: str | None = None) -> list[Parsed]:
    """Per-item parse results of one prediction record (pose: one item for the pair)."""
    unit = get_task(task)
    return unit.parse(texts, unit.inputs_from_labels(labels, question_ids, format_version))


def parse_prediction(record: Mapping[str, Any]) -> list[Parsed]:
    """`parse_record` of a stored prediction record (``task``, ``raw``, ``question_ids``,
    ``labels``, ``format_version``)."""
    return parse_record(record["task"], record["raw"], record.get("question_ids"), record["labels"],
                        record.get("format_version"))


def truths_of(record: Mapping[str, Any], n_items: int) -> list[Any]:
    """The ground truth of the first ``n_items`` items of a prediction record."""
    return get_task(record["task"]).truths(record["labels"], n_items)


def parsed_to_json(task: str, p: Parsed) -> dict[str, Any]:
    """A JSON-able view of a Parsed (the task unit converts its value, e.g. pose matrices)."""
    return {"ok": bool(p.ok), "value": get_task(task).value_to_json(p.value), "reason": p.reason}


def score_task(task: str, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics for one task from prediction records (``raw``, ``question_ids``, ``labels``,
    optional ``format_version``); ValueError when answers and labels disagree in number."""
    unit = get_task(task)
    parsed: list[Parsed] = []
    gts: list[Any] = []
    for r in records:
        ps = parse_record(task, r["raw"], r.get("question_ids"), r["labels"], r.get("format_version"))
        parsed += ps
        gts += unit.truths(r["labels"], len(ps))
    if len(gts) != len(parsed):
        raise ValueError(f"{task}: {len(parsed)} answers but {len(gts)} labels; predictions and labels disagree")
    s = unit.score(parsed, gts)
    s["n_items"] = s.pop("n_total")
    return s
