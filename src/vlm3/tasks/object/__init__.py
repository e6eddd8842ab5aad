"""The object task unit: SpatialRGPT-style questions about boxed regions of one image.

Data: ``build.py`` (questions generated from 3D boxes, or passed through from a source).
Text: ``text.py`` (release templates) and the compact format. Scoring: one item per
question, parsed by its kind: qualitative yes/no -> ``qual_acc``; lengths in metres
(0.75 g <= p <= 1.25 g) and clock directions (within 1 hour) together -> ``quant_success``,
as SpatialRGPT-Bench counts them; ``quant_abs_rel`` over lengths (``ObjectTask.score``
names where the rules differ from the reference). Baselines: the oracle answers the sample's reference answers; the
trivial baseline answers the majority training truth (qualitative), the most frequent
training hour (direction) or the median training value of the quantity. Asked a user's free
question about boxed regions (``vlm3 predict ask``, ``Model.ask``): ``predict.py`` and
``result.py`` (``AskResult``, ask.json / ask.png).
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
from vlm3.tasks.object import predict as obj_predict
from vlm3.tasks.object import text as obj_text
from vlm3.tasks.object.choice import is_choice, parse_region_choice
from vlm3.tasks.object.questions import QUALITATIVE_PREDICATES, QUANTITATIVE_KINDS, SINGLE_REGION_KINDS
from vlm3.tasks.unit import AskedQuestions, GroundTruth, Task


#: Predicates whose generated truth follows a different rule than SpatialRGPT's (see
#: ``ObjectTask.score``): left out of ``qual_acc_reference_rules``.
RULE_DIFFERS_FROM_REFERENCE = ("behind", "front", "wide", "thin")


def _is_direction(q: Mapping[str, Any]) -> bool:
    return q.get("kind") == "quantitative" and q.get("predicate") == "direction"


class ObjectTask(Task):
    """Questions about regions (labels ``questions``: kind, predicate, regions, truth | value)."""

    name = "object"
    n_images = 1
    text = obj_text
    metrics = ("qual_acc", "quant_success")
    table_metrics = ("qual_acc_reference_rules", "quant_length_success", "direction_success")
    higher_is_better = {"qual_acc": True, "quant_success": True, "qual_acc_reference_rules": True,
                        "quant_length_success": True, "direction_success": True}
    summary_columns = (("qual_acc", "object qual acc", "{:.3f}"), ("quant_success", "object quant succ", "{:.3f}"))
    metric_meaning = {
        "qual_acc": "object qualitative accuracy: share of yes/no (left of, behind, taller ...) questions right",
        "quant_success": "object quantitative success: share of distances/sizes within 25% of the truth "
                         "(and clock directions within 1 hour)"}
    record_kinds = ("view", "object_qa")

    # ------------------------------------------------------------------ vlm3 predict ask (predict.py, result.py)
    predict_verb = "ask"
    predict_help = ("Ask a free question about IMAGE. Regions are boxes in IMAGE's pixels: write [A], [B], ... in "
                    "QUESTION and give one --box x1,y1,x2,y2 each; regions in the answer come back in IMAGE's "
                    "pixels. Writes ask.json and ask.png (question boxes green, answer boxes red).")
    predict_module = obj_predict
    predict_calibration = "fov60"  # regions need a focal for the normalisation, not a true one
    predict_counted = False  # a free answer

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
            if kind == "qualitative" and is_choice(q.get("predicate")):  # answered by region, not yes/no
                out.append(parse_region_choice(t, q.get("boxes") or []))
            elif kind == "qualitative":
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
        """SpatialRGPT-Bench's rules (``scripts/srgpt/eval/evaluate_spatial_with_gpt4.py``),
        failures counted as wrong in every success rate (the reference scores an unmatched
        answer 0 and keeps it in the denominator):

        * ``qual_acc``: yes/no accuracy over all qualitative questions;
          ``qual_acc_reference_rules``: over the predicates whose truth follows the
          reference's rule (all but behind/front and wide/thin, see below);
        * ``quant_success``: SpatialRGPT's overall quantitative accuracy: lengths with
          0.75 g <= p <= 1.25 g and clock directions within 1 hour, together;
          ``quant_length_success`` and ``direction_success`` apart;
        * ``quant_abs_rel``: mean |p - g| / g of parsed lengths; ``direction_err_deg``: mean
          circular clock error of parsed directions.

        Differences from the reference, named: generated "behind"/"front" truths compare the
        distance of the box centres to the camera (the reference: the nearest point's depth)
        and "wide"/"thin" the 3D box width (the reference: the width in the frame); they are
        in ``qual_acc`` but not in ``qual_acc_reference_rules``. Lengths whose truth is below
        ``MIN_RELATIVE_GT_M`` (written ``0.00``) are left out of the length metrics and
        counted in ``n_quantitative_zero_truth_skipped``."""
        questions = truths
        qual = [i for i, q in enumerate(questions) if q.get("kind") == "qualitative"]
        qual_ref = [i for i in qual if questions[i].get("predicate") not in RULE_DIFFERS_FROM_REFERENCE]
        metric = [i for i, q in enumerate(questions) if q.get("kind") == "quantitative" and not _is_direction(q)]
        lengths = [i for i in metric if questions[i]["value"] >= obj_m.MIN_RELATIVE_GT_M]
        dirs = [i for i, q in enumerate(questions) if _is_direction(q)]

        def sub(idx: Sequence[int], key: str, rate=None, error=None) -> dict[str, Any]:
            if not idx:
                return {}
            return score_counting_failures([parsed[i] for i in idx], [questions[i][key] for i in idx], rate, error)

        s = score_counting_failures(parsed, questions)
        sq = sub(qual, "truth", {"qual_acc": obj_m.qualitative_accuracy})
        sr = sub(qual_ref, "truth", {"acc": obj_m.qualitative_accuracy})
        sl = sub(lengths, "value", {"success": obj_m.quantitative_success_rate}, {"abs_rel": obj_m.abs_rel})
        sd = sub(dirs, "value", {"success": obj_m.clock_success_rate},
                 {"err": lambda p, g: float(np.mean(obj_m.clock_error_deg(p, g)))})
        n_l, n_d = len(lengths), len(dirs)
        s["qual_acc"] = sq.get("qual_acc")
        s["qual_acc_reference_rules"] = sr.get("acc")
        s["quant_length_success"], s["quant_abs_rel"] = sl.get("success"), sl.get("abs_rel")
        s["direction_success"], s["direction_err_deg"] = sd.get("success"), sd.get("err")
        s["quant_success"] = ((n_l * (s["quant_length_success"] or 0.0) + n_d * (s["direction_success"] or 0.0))
                              / (n_l + n_d)) if n_l + n_d else None
        s["n_qualitative"], s["n_quantitative"] = len(qual), n_l + n_d
        s["n_quantitative_length"], s["n_direction"] = n_l, n_d
        s["n_quantitative_zero_truth_skipped"] = len(metric) - n_l
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
