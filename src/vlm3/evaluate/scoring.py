"""Stage-2 scoring: parse raw answers with the protocol and score them with ``vlm3.metrics``.

One function per task turns prediction records (raw text + labels) into per-question
parse results and ground truth, then ``vlm3.metrics.summary.summarize_with_parse_rate``
applies the failure policy (rate metrics count a failure as wrong; error metrics are
means over parsed items; ``parse_rate`` always reported).

Key names are the report.json contract (docs/evaluation.md):

* depth: ``delta1`` (fraction), ``abs_rel``
* correspondence: ``epe_px`` (mean end-point error in pixels of the standardised second
  image, the image the model sees), ``pck_5px`` (fraction within 5 px)
* pose (one item per pair, the four answers parsed jointly): ``auc30`` (binned AUC@30,
  VGGT / DA3 variant, percent), ``auc5_trapezoid`` / ``auc10_trapezoid`` /
  ``auc20_trapezoid`` (SuperGlue variant, percent), ``rot_err_deg_median``,
  ``trans_err_deg_median`` (translation direction, sign-ambiguous like VGGT/DA3)
* object: ``qual_acc`` (qualitative yes/no), ``quant_success`` (relative error <= 25 %),
  ``quant_abs_rel``; clock-direction questions only count towards ``parse_rate``.

Every task dict also has ``parse_rate``, ``n_items`` and ``n_failed``.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from vlm3.metrics import correspondence as corr_m
from vlm3.metrics import depth as depth_m
from vlm3.metrics import objects as obj_m
from vlm3.metrics import pose as pose_m
from vlm3.metrics.summary import summarize_with_parse_rate
from vlm3.protocol import codecs
from vlm3.tasks.correspondence import text as corr_text
from vlm3.tasks.depth import text as depth_text
from vlm3.tasks.object import text as obj_text
from vlm3.tasks.pose import text as pose_text
from vlm3.protocol.parsing import Parsed

TASKS = ("depth", "correspondence", "pose", "object")
#: Metric keys per task (the report.json contract); the first is the headline number.
TASK_METRICS = {
    "depth": ("delta1", "abs_rel"),
    "correspondence": ("epe_px", "pck_5px"),
    "pose": ("auc30", "rot_err_deg_median", "trans_err_deg_median"),
    "object": ("qual_acc", "quant_success"),
}
#: True where larger is better (for tables and the report).
HIGHER_IS_BETTER = {"delta1": True, "abs_rel": False, "epe_px": False, "pck_5px": True, "auc30": True,
                    "rot_err_deg_median": False, "trans_err_deg_median": False, "qual_acc": True,
                    "quant_success": True, "auc5_trapezoid": True, "auc10_trapezoid": True,
                    "auc20_trapezoid": True}


def parse_record(task: str, texts: list[str], question_ids: list[str] | None, labels: dict) -> list[Parsed]:
    """Per-item parse results of one prediction record (pose: one item for the pair)."""
    if task == "depth":
        return [depth_text.parse_answer(t) for t in texts]
    if task == "correspondence":
        w, h = _camera_size(labels["cameras"][1])
        out = []
        for t in texts:
            p = corr_text.parse_answer(t)
            out.append(Parsed.success(codecs.decode_xy_norm1000(np.asarray(p.value, float), w, h).tolist())
                       if p.ok else p)
        return out
    if task == "pose":
        ids = list(question_ids or labels.get("question_ids") or pose_text.QUESTION_IDS[: len(texts)])
        return [pose_text.parse_answers(dict(zip(ids, texts)))]
    if task == "object":
        out = []
        for t, q in zip(texts, labels.get("questions", [{}] * len(texts))):
            kind = q.get("kind")
            if kind == "qualitative":
                out.append(obj_text.parse_qualitative(t))
            elif kind == "quantitative" and q.get("predicate") == "direction":
                out.append(obj_text.parse_clock(t))
            elif kind == "quantitative":
                out.append(obj_text.parse_quantitative_m(t))
            else:
                out.append(Parsed.failure(f"object question kind {kind!r} has no scorer"))
        return out
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def parsed_to_json(p: Parsed) -> dict[str, Any]:
    """A JSON-able view of a Parsed (pose values become matrices/lists)."""
    v = p.value
    if isinstance(v, pose_text.PoseText):
        v = {"R_cam1_from_cam2": None if v.R_cam1_from_cam2 is None else np.asarray(v.R_cam1_from_cam2).tolist(),
             "t_unit_cam1": None if v.t_unit_cam1 is None else np.asarray(v.t_unit_cam1).tolist(),
             "distance_m": v.distance_m, "yaw_pitch_roll_deg": v.yaw_pitch_roll_deg}
    elif isinstance(v, np.ndarray):
        v = v.tolist()
    elif isinstance(v, tuple):
        v = list(v)
    return {"ok": bool(p.ok), "value": v, "reason": p.reason}


def _camera_size(cam: dict) -> tuple[float, float]:
    return float(cam["width"]), float(cam["height"])


def _pck5(pred: list, gt: list) -> float:
    return float(corr_m.pck(np.asarray(pred, float), np.asarray(gt, float), (5.0,))[5.0])


def _pose_errors(pred: list, gt: list) -> tuple[np.ndarray, np.ndarray]:
    rot = np.array([pose_m.rotation_error_deg(p.R_cam1_from_cam2, np.asarray(g[0])) for p, g in zip(pred, gt)])
    tr = np.array([pose_m.translation_angle_deg(p.t_unit_cam1, np.asarray(g[1]), sign_ambiguous=True)
                   for p, g in zip(pred, gt)])
    return rot, tr


def _auc(pred: list, gt: list) -> dict[str, float]:
    err = pose_m.pose_error_deg(*_pose_errors(pred, gt))
    out = {"auc30": 100.0 * pose_m.pose_auc_binned_deg(err, (30,))[30]}
    trap = pose_m.pose_auc_trapezoid_deg(err, (5, 10, 20))
    out.update({f"auc{t}_trapezoid": 100.0 * v for t, v in trap.items()})
    return out


def pose_errors_deg(records: Iterable[dict]) -> np.ndarray:
    """Per-pair pose error max(rot, trans) in degrees; ``inf`` for unparsed pairs (for CDF plots)."""
    out = []
    for r in records:
        p = parse_record("pose", r["raw"], r.get("question_ids"), r["labels"])[0]
        if not p.ok:
            out.append(np.inf)
            continue
        g = (r["labels"]["R_cam0_from_cam1"], r["labels"]["t_cam0_from_cam1_m"])
        rot, tr = _pose_errors([p.value], [g])
        out.append(float(pose_m.pose_error_deg(rot, tr)[0]))
    return np.asarray(out)


def score_task(task: str, records: list[dict]) -> dict[str, Any]:
    """Metrics for one task from prediction records (``raw``, ``question_ids``, ``labels``)."""
    parsed: list[Parsed] = []
    gts: list[Any] = []
    for r in records:
        ps = parse_record(task, r["raw"], r.get("question_ids"), r["labels"])
        parsed += ps
        lab = r["labels"]
        if task == "depth":
            gts += [pt["depth_m"] for pt in lab["points"]][: len(ps)]
        elif task == "correspondence":
            gts += [m["target_xy_px"] for m in lab["matches"]][: len(ps)]
        elif task == "pose":
            gts.append((lab["R_cam0_from_cam1"], lab["t_cam0_from_cam1_m"]))
        else:
            gts += list(lab.get("questions", []))[: len(ps)]
    if len(gts) != len(parsed):
        raise ValueError(f"{task}: {len(parsed)} answers but {len(gts)} labels; predictions and labels disagree")
    if task == "depth":
        s = summarize_with_parse_rate(parsed, gts, {"delta1": depth_m.delta1}, {"abs_rel": depth_m.abs_rel})
    elif task == "correspondence":
        s = summarize_with_parse_rate(parsed, gts, {"pck_5px": _pck5}, {"epe_px": corr_m.mean_epe_px})
    elif task == "pose":
        s = summarize_with_parse_rate(
            parsed, gts, {"auc": _auc},
            {"rot_err_deg_median": lambda p, g: float(np.median(_pose_errors(p, g)[0])),
             "trans_err_deg_median": lambda p, g: float(np.median(_pose_errors(p, g)[1]))})
        s.update(s.pop("auc") or {"auc30": 0.0})
    else:
        s = _score_objects(parsed, gts)
    s["n_items"] = s.pop("n_total")
    return s


def _score_objects(parsed: list[Parsed], questions: list[dict]) -> dict[str, Any]:
    qual = [i for i, q in enumerate(questions) if q.get("kind") == "qualitative"]
    metric = [i for i, q in enumerate(questions)
              if q.get("kind") == "quantitative" and q.get("predicate") != "direction"]
    quant = [i for i in metric if questions[i]["value"] >= obj_m.MIN_RELATIVE_GT_M]
    s = summarize_with_parse_rate(parsed, questions)
    sq = summarize_with_parse_rate([parsed[i] for i in qual], [questions[i]["truth"] for i in qual],
                                   {"qual_acc": obj_m.qualitative_accuracy}) if qual else {}
    sn = summarize_with_parse_rate([parsed[i] for i in quant], [questions[i]["value"] for i in quant],
                                   {"quant_success": obj_m.quantitative_success_rate},
                                   {"quant_abs_rel": obj_m.abs_rel}) if quant else {}
    s["qual_acc"] = sq.get("qual_acc")
    s["quant_success"] = sn.get("quant_success")
    s["quant_abs_rel"] = sn.get("quant_abs_rel")
    s["n_qualitative"], s["n_quantitative"] = len(qual), len(quant)
    s["n_quantitative_zero_truth_skipped"] = len(metric) - len(quant)
    return s
