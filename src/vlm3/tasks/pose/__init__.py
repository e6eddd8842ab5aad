"""The pose task unit: the four released questions about the relative pose of two views.

Data: ``build.py`` (both views standardised; labels ``R_cam0_from_cam1`` and
``t_cam0_from_cam1_m``: camera 1 relative to camera 0, in camera 0's OpenCV frame).
Text: ``text.py`` (release) and the compact format. Scoring: ONE item per pair, the four
answers parsed jointly; errors are the geodesic rotation error and the translation
direction angle, in degrees: ``auc30`` (binned AUC@30 of max(rot, trans) with the
sign-ambiguous translation angle, VGGT/DA3, percent, failures count as wrong),
``auc{5,10,20}_trapezoid`` (SuperGlue variant, percent), ``auc30_signed`` and
``trans_err_signed_deg_median`` (the plain angle: VLM3's text states the sign, so
"right" for "left" is 180 deg wrong), ``rot_err_deg_median`` and ``trans_err_deg_median``
over parsed pairs. Each metric is scored from the answers it needs (``NEEDED_ANSWERS``).
Baselines: the oracle renders the label transform; the trivial baseline answers the
identity rotation and the mean training translation. Asked about a user's two images
(``vlm3 predict pose``, ``Model.pose``): ``predict.py`` and ``result.py`` (``PoseResult``,
pose.json / frustums.png).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vlm3.io.records import PairRecord, Record
from vlm3.metrics import pose as pose_m
from vlm3.protocol.parsing import Parsed
from vlm3.tasks.common import BuildContext, SampleDraft, text_format_for
from vlm3.tasks.failure_policy import score_counting_failures
from vlm3.tasks.pose import build as pose_build
from vlm3.tasks.pose import predict as pose_predict
from vlm3.tasks.pose import text as pose_text
from vlm3.tasks.pose.quantities import MIN_TRANSLATION_M, R_t_from_T_cam1_from_cam0
from vlm3.tasks.unit import AskedQuestions, GroundTruth, Task

#: (R_cam0_from_cam1 (3, 3), t_cam0_from_cam1_m (3,)) as stored in the labels.
PoseTruth = tuple[Any, Any]

#: Which answers each pose metric needs (docs/metrics.md): the AUCs need R and the direction
#: of t; rotation_angle and translation_distance enter no metric, so their failure voids none.
NEEDED_ANSWERS: dict[str, tuple[str, ...]] = {
    "auc": ("euler_natural", "translation_direction"),
    "rotation": ("euler_natural",),
    "translation": ("translation_direction",),
}


def needed_answers(p: Parsed, needs: Sequence[str]) -> Parsed:
    """``p`` reduced to the answers a metric needs: success when those parsed (even if another
    answer of the pair did not), else a failure naming them. A failure without a partial
    `PoseText` (answers not a dict) or with unknown question ids stays a failure."""
    if p.ok:
        return p
    pose = p.value
    if not isinstance(pose, pose_text.PoseText) or "unknown" in pose.failed:
        return p
    bad = [f"{q}: {pose.failed[q]}" for q in needs if q in pose.failed]
    if bad:
        return Parsed.failure("; ".join(bad), value=pose)
    return Parsed.success(pose)


def _has_direction(t) -> bool:
    return float(np.linalg.norm(np.asarray(t, dtype=np.float64))) >= MIN_TRANSLATION_M


def _errors_deg(pred: Sequence[Any], gt: Sequence[PoseTruth], sign_ambiguous: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """(rotation error, translation-direction angle) in degrees per parsed pair;
    ``sign_ambiguous`` as in `metrics.pose.translation_angle_deg` (True: VGGT/DA3)."""
    rot = np.array([pose_m.rotation_error_deg(p.R_cam0_from_cam1, np.asarray(g[0])) for p, g in zip(pred, gt)])
    tr = np.array([pose_m.translation_angle_deg(p.t_unit_cam0, np.asarray(g[1]), sign_ambiguous=sign_ambiguous)
                   for p, g in zip(pred, gt)])
    return rot, tr


def _auc(pred: list, gt: list) -> dict[str, float]:
    err = pose_m.pose_error_deg(*_errors_deg(pred, gt))
    out = {"auc30": 100.0 * pose_m.pose_auc_binned_deg(err, (30,))[30]}
    trap = pose_m.pose_auc_trapezoid_deg(err, (5, 10, 20))
    out.update({f"auc{t}_trapezoid": 100.0 * v for t, v in trap.items()})
    err_signed = pose_m.pose_error_deg(*_errors_deg(pred, gt, sign_ambiguous=False))
    out["auc30_signed"] = 100.0 * pose_m.pose_auc_binned_deg(err_signed, (30,))[30]
    return out


_AUC_KEYS = ("auc30", "auc5_trapezoid", "auc10_trapezoid", "auc20_trapezoid", "auc30_signed")


def _rotation_median(p: list, g: list) -> float:
    return float(np.median([pose_m.rotation_error_deg(v.R_cam0_from_cam1, np.asarray(t[0])) for v, t in zip(p, g)]))


def _translation_median(sign_ambiguous: bool):
    def fn(p: list, g: list) -> float:
        return float(np.median([pose_m.translation_angle_deg(v.t_unit_cam0, np.asarray(t[1]), sign_ambiguous)
                                for v, t in zip(p, g)]))
    return fn


class PoseTask(Task):
    """Relative pose of two views as four text answers (ids in ``question_ids``)."""

    name = "pose"
    n_images = 2
    text = pose_text
    metrics = ("auc30", "rot_err_deg_median", "trans_err_deg_median", "auc30_signed",
               "trans_err_signed_deg_median")
    table_metrics = ("auc5_trapezoid", "auc10_trapezoid", "auc20_trapezoid")
    higher_is_better = {"auc30": True, "rot_err_deg_median": False, "trans_err_deg_median": False,
                        "auc30_signed": True, "trans_err_signed_deg_median": False,
                        "auc5_trapezoid": True, "auc10_trapezoid": True, "auc20_trapezoid": True}
    summary_columns = (("auc30", "pose AUC@30", "{:.1f}"), ("rot_err_deg_median", "pose rot err°", "{:.1f}"))
    metric_meaning = {
        "auc30": "pose AUC@30: area under the pose-error curve up to 30°, error = max(rotation, "
                 "translation-direction angle), in %",
        "rot_err_deg_median": "pose rotation error: median geodesic angle between predicted and true rotation (°)",
        "trans_err_deg_median": "pose translation error: median angle between predicted and true direction (°, "
                                "sign-ambiguous)",
        "auc30_signed": "pose AUC@30 with the translation's sign counted (%)",
        "trans_err_signed_deg_median": "pose translation error with the sign counted (°)"}
    units = {"auc30": "%", "auc30_signed": "%", "rot_err_deg_median": "°", "trans_err_deg_median": "°",
             "trans_err_signed_deg_median": "°"}
    record_kinds = ("pair",)
    # the release's pose sample: 1752 x 1168 -> 2830 x 1884 at 750 px ("~5k visual tokens" each); a budget
    # of 2,880 x 1,920 = 5,529,600 px (5,400 tokens) keeps that frame whole up to the 32-px grid (2816 x 1856)
    focal_px = 750.0
    max_pixels = 2880 * 1920

    # ------------------------------------------------------------------ vlm3 predict pose (predict.py, result.py)
    predict_verb = "pose"
    predict_help = "Relative pose of IMAGE2's camera w.r.t. IMAGE1's; prints JSON, writes pose.json and frustums.png."
    predict_counted = False  # the four answers are one item: the result says whether they parsed
    predict_module = pose_predict

    def build(self, record: Record, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
        return pose_build.build(record, ctx, rng)

    def usable(self, record: Record, min_covisibility: float = 0.0) -> bool:
        return isinstance(record, PairRecord) and (record.covisibility is None
                                                   or record.covisibility >= min_covisibility)

    def question_ids_from_labels(self, labels: Mapping[str, Any]) -> list[str] | None:
        return list(labels["question_ids"]) if labels.get("question_ids") else None

    def parse(self, texts: Sequence[str], asked: AskedQuestions) -> list[Parsed]:
        """One item: the answers parsed jointly (ids default to the released order)."""
        ids = list(asked.question_ids or pose_text.QUESTION_IDS[: len(texts)])
        return [text_format_for(self.name, asked.format_version).parse_answers(dict(zip(ids, texts)))]

    def truths(self, labels: Mapping[str, Any], n_items: int) -> list[PoseTruth]:
        return [(labels["R_cam0_from_cam1"], labels["t_cam0_from_cam1_m"])][:n_items]

    def score(self, parsed: Sequence[Parsed], truths: Sequence[Any]) -> dict[str, Any]:
        """Every metric from the answers it needs (``NEEDED_ANSWERS``), each under the failure
        policy with its own counts (``n_parsed_<group>``, ``parse_rate_<group>``); pairs whose
        true translation is zero (no direction) are left out of the translation metrics and
        counted in ``n_skipped_zero_translation``. ``parse_rate`` is the share of pairs whose
        answers all parsed. Metrics are None when no pair enters them."""
        if len(parsed) != len(truths):
            raise ValueError(f"parsed and truths lengths differ: {len(parsed)} vs {len(truths)}")
        s = score_counting_failures(parsed, truths)
        moving = [i for i, g in enumerate(truths) if _has_direction(g[1])]
        s["n_skipped_zero_translation"] = len(truths) - len(moving)
        if s["n_skipped_zero_translation"]:
            s["skipped_reasons"] = {"true translation is zero: no direction to compare":
                                    s["n_skipped_zero_translation"]}

        def part(group: str, idx: Sequence[int], rate=None, error=None) -> dict[str, Any]:
            items = [needed_answers(parsed[i], NEEDED_ANSWERS[group]) for i in idx]
            r = score_counting_failures(items, [truths[i] for i in idx], rate, error)
            s[f"n_parsed_{group}"], s[f"parse_rate_{group}"] = r["n_parsed"], r["parse_rate"]
            return r

        a = part("auc", moving, {"auc": _auc})
        auc = a.get("auc")
        for k in _AUC_KEYS:
            s[k] = None if not moving else (auc or {}).get(k, 0.0)
        s["rot_err_deg_median"] = part("rotation", range(len(truths)),
                                       error={"m": _rotation_median})["m"]
        t = part("translation", moving, error={"amb": _translation_median(True),
                                               "signed": _translation_median(False)})
        s["trans_err_deg_median"], s["trans_err_signed_deg_median"] = t["amb"], t["signed"]
        return s

    def pair_errors_deg(self, parsed: Sequence[Parsed], truths: Sequence[PoseTruth]) -> np.ndarray:
        """Per-pair pose error max(rot, trans) in degrees (sign-ambiguous translation, as
        ``auc30``); ``inf`` for a pair without the answers the AUC needs or without a true
        translation direction (CDF plots)."""
        out = []
        for p, g in zip(parsed, truths):
            q = needed_answers(p, NEEDED_ANSWERS["auc"])
            ok = q.ok and _has_direction(g[1])
            out.append(float(pose_m.pose_error_deg(*_errors_deg([q.value], [g]))[0]) if ok else np.inf)
        return np.asarray(out)

    def value_to_json(self, value: Any) -> Any:
        if isinstance(value, pose_text.PoseText):
            return {"R_cam0_from_cam1": None if value.R_cam0_from_cam1 is None
                    else np.asarray(value.R_cam0_from_cam1).tolist(),
                    "t_unit_cam0": None if value.t_unit_cam0 is None else np.asarray(value.t_unit_cam0).tolist(),
                    "distance_m": value.distance_m, "yaw_pitch_roll_deg": value.yaw_pitch_roll_deg}
        return super().value_to_json(value)

    def oracle_answers(self, asked: AskedQuestions, n_questions: int, truth: GroundTruth) -> list[str]:
        lab = truth.labels
        return self.answers(asked, np.asarray(lab["R_cam0_from_cam1"]), np.asarray(lab["t_cam0_from_cam1_m"]))

    def trivial_defaults(self) -> dict[str, Any]:
        return {"mean_t_m": [0.0, 0.0, 0.5]}

    def trivial_fit(self, labels: Sequence[Mapping[str, Any]], stats: Mapping[str, Any]) -> dict[str, Any]:
        """``mean_t_m``: the mean training ``t_cam0_from_cam1_m`` (metres)."""
        ts = [lab["t_cam0_from_cam1_m"] for lab in labels if lab.get("t_cam0_from_cam1_m") is not None]
        if not ts:
            return dict(stats)
        return {**stats, "mean_t_m": np.mean(np.asarray(ts, dtype=np.float64), axis=0).tolist()}

    def trivial_answers(self, asked: AskedQuestions, n_questions: int, stats: Mapping[str, Any]) -> list[str]:
        t = np.asarray(stats["mean_t_m"], dtype=np.float64)
        return self.answers(asked, np.eye(3), t if np.linalg.norm(t) > 1e-9 else np.array([0.0, 0.0, 1.0]))

    def mean_distance_m(self, stats: Mapping[str, Any]) -> float:
        """The trivial statistics' mean camera distance in metres (1.0 when it is zero): the
        scale a scale-free estimate (SIFT) is rendered with."""
        return float(np.linalg.norm(stats["mean_t_m"])) or 1.0

    def answers(self, asked: AskedQuestions, R_cam0_from_cam1: np.ndarray, t_cam0_from_cam1_m: np.ndarray) -> list[str]:
        """The asked questions' answers (``asked.question_ids`` order, default all four) for
        camera 1 relative to camera 0, in camera 0's frame."""
        fmt = text_format_for(self.name, asked.format_version)
        answers = fmt.render_answers(R_cam0_from_cam1, t_cam0_from_cam1_m, metric=True)
        return [answers[i] for i in (asked.question_ids or list(answers))]

    def answers_from_T_cam1_from_cam0(self, asked: AskedQuestions, T_cam1_from_cam0: np.ndarray) -> list[str]:
        """The same from ``T_cam1_from_cam0`` (4x4, maps camera-0 points into camera 1)."""
        return self.answers(asked, *R_t_from_T_cam1_from_cam0(T_cam1_from_cam0))


TASK = PoseTask()

__all__ = ["TASK", "PoseTask"]
