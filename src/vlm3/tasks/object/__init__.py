"""The object task unit: SpatialRGPT-style questions about boxed regions of one image.

Data: ``build.py`` (questions generated from 3D boxes, or passed through from a source).
Text: ``text.py`` (release templates) and the compact format. Scoring: one item per
question, parsed by its kind: qualitative yes/no -> ``qual_acc``; metric quantities (a
length in metres) -> ``quant_success`` (relative error <= 25 %) and ``quant_abs_rel``
(truths under ``MIN_RELATIVE_GT_M`` are left out and counted); clock directions only count
towards ``parse_rate``. Baselines: the oracle answers the sample's reference answers; the
trivial baseline answers the majority training truth (qualitative), the most frequent
training hour (direction) or the median training value of the quantity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.io.records import ObjectQARecord, Record, ViewRecord
from vlm3.metrics import objects as obj_m
from vlm3.protocol.parsing import Parsed
from vlm3.tasks.common import BuildContext, SampleDraft, text_format_for
from vlm3.tasks.failure_policy import score_counting_failures
from vlm3.tasks.object import build as obj_build
from vlm3.tasks.object import text as obj_text
from vlm3.tasks.object.questions import QUALITATIVE_PREDICATES, QUANTITATIVE_KINDS, SINGLE_REGION_KINDS
from vlm3.tasks.unit import AskedQuestions, GroundTruth, Task


def _is_direction(q: Mapping[str, Any]) -> bool:
    return q.get("kind") == "quantitative" and q.get("predicate") == "direction"


class ObjectTask(Task):
    """Questions about regions (labels ``questions``: kind, predicate, regions, truth | value)."""

    name = "object"
    n_images = 1
    text = obj_text
    metrics = ("qual_acc", "quant_success")
    higher_is_better = {"qual_acc": True, "quant_success": True}
    summary_columns = (("qual_acc", "object qual acc", "{:.3f}"), ("quant_success", "object quant succ", "{:.3f}"))

    def build(self, record: Record, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
        return obj_build.build(record, ctx, rng)

    def usable(self, record: Record, min_covisibility: float = 0.0) -> bool:
        return isinstance(record, ObjectQARecord) or (
            isinstance(record, ViewRecord) and len([o for o in record.objects if o.center_cam_m]) >= 2)

    def queries_from_labels(self, labels: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Per question: its ``kind`` (qualitative | quantitative), ``predicate`` and the
        1000-grid ``boxes`` of its regions (written in the question text)."""
        regions = labels.get("regions", [])
        return [{"kind": q.get("kind"), "predicate": q.get("predicate"),
                 "boxes": [regions[i]["box_norm1000"] for i in q.get("regions", []) if i < len(regions)]}
                for q in labels.get("questions", [])]

    def parse(self, texts: Sequence[str], asked: AskedQuestions) -> list[Parsed]:
        """Each answer with the parser of its question's kind (a kind without one fails)."""
        fmt = text_format_for(self.name, asked.format_version)
        out = []
        for t, q in zip(texts, asked.queries or [{}] * len(texts)):
            kind = q.get("kind")
            if kind == "qualitative":
                out.append(fmt.parse_qualitative(t))
            elif _is_direction(q):
                out.append(fmt.parse_clock(t))
            elif kind == "quantitative":
                out.append(fmt.parse_quantitative_m(t))
            else:
                out.append(Parsed.failure(f"object question kind {kind!r} has no scorer"))
        return out

    def truths(self, labels: Mapping[str, Any], n_items: int) -> list[dict[str, Any]]:
        """The question dicts themselves (the truth is ``truth`` or ``value`` by kind)."""
        return list(labels.get("questions", []))[:n_items]

    def score(self, parsed: Sequence[Parsed], truths: Sequence[Any]) -> dict[str, Any]:
        questions = truths
        qual = [i for i, q in enumerate(questions) if q.get("kind") == "qualitative"]
        metric = [i for i, q in enumerate(questions) if q.get("kind") == "quantitative" and not _is_direction(q)]
        quant = [i for i in metric if questions[i]["value"] >= obj_m.MIN_RELATIVE_GT_M]
        s = score_counting_failures(parsed, questions)
        sq = score_counting_failures([parsed[i] for i in qual], [questions[i]["truth"] for i in qual],
                                     {"qual_acc": obj_m.qualitative_accuracy}) if qual else {}
        sn = score_counting_failures([parsed[i] for i in quant], [questions[i]["value"] for i in quant],
                                     {"quant_success": obj_m.quantitative_success_rate},
                                     {"quant_abs_rel": obj_m.abs_rel}) if quant else {}
        s["qual_acc"] = sq.get("qual_acc")
        s["quant_success"] = sn.get("quant_success")
        s["quant_abs_rel"] = sn.get("quant_abs_rel")
        s["n_qualitative"], s["n_quantitative"] = len(qual), len(quant)
        s["n_quantitative_zero_truth_skipped"] = len(metric) - len(quant)
        return s

    def oracle_answers(self, asked: AskedQuestions, n_questions: int, truth: GroundTruth) -> list[str]:
        """The sample's reference answers (rendered from the same labels by the data engine)."""
        if not truth.answers:
            raise ValueError("the object oracle needs the sample's reference answers")
        return list(truth.answers)

    def trivial_defaults(self) -> dict[str, Any]:
        return {"qual_majority": True, "quant_median_m": {}, "direction_mode_hour": 12}

    def trivial_fit(self, labels: Sequence[Mapping[str, Any]], stats: Mapping[str, Any]) -> dict[str, Any]:
        """Majority qualitative truth, most frequent clock hour, median value per quantity."""
        truths, hours = [], []
        quant: dict[str, list[float]] = defaultdict(list)
        for lab in labels:
            for q in lab.get("questions", []):
                if q.get("kind") == "qualitative":
                    truths.append(bool(q["truth"]))
                elif _is_direction(q):
                    hours.append(int(q["value"]))
                elif q.get("kind") == "quantitative":
                    quant[q["predicate"]].append(float(q["value"]))
        out = {**stats, "quant_median_m": {**stats["quant_median_m"],
                                           **{k: float(np.median(v)) for k, v in quant.items()}}}
        if truths:
            out["qual_majority"] = bool(np.mean(truths) >= 0.5)
        if hours:
            out["direction_mode_hour"] = int(np.bincount(hours).argmax())
        return out

    def trivial_answers(self, asked: AskedQuestions, n_questions: int, stats: Mapping[str, Any]) -> list[str]:
        """Answers in the asked format's wording (release: sentences, template 0); a question
        the format has no template for (a passed-through source question) gets ``Yes.`` /
        ``No.`` or the value in a short release-style sentence."""
        fmt = text_format_for(self.name, asked.format_version)
        out = []
        for q in asked.queries[:n_questions]:
            kind, pred = q.get("kind"), q.get("predicate")
            box_a, box_b = (list(q.get("boxes") or []) + [None, None])[:2]
            if pred == "direction":
                value: Any = stats["direction_mode_hour"]
            else:
                value = stats["quant_median_m"].get(pred, 1.0)
            if kind == "qualitative" and pred in QUALITATIVE_PREDICATES and box_b is not None:
                out.append(fmt.render_qualitative(pred, box_a, box_b, stats["qual_majority"])[1])
            elif kind == "qualitative":
                out.append("Yes." if stats["qual_majority"] else "No.")
            elif pred in QUANTITATIVE_KINDS and box_a is not None and (box_b is not None or pred in SINGLE_REGION_KINDS):
                out.append(fmt.render_quantitative(pred, box_a, box_b, value)[1])
            elif pred == "direction":
                out.append(f"It is at {value} o'clock.")
            else:
                out.append(f"It is {obj_text.format_length(value)}.")
        return out


TASK = ObjectTask()

__all__ = ["TASK", "ObjectTask"]
