"""Pose task: the released four questions about two standardised views, packed in one sample.

Both views are focal-normalised (release: 750 px) and grid-cropped; cropping and scaling
change intrinsics only, so the relative pose is the record's ``T_cam1_from_cam0`` (image 0
is camera 0, the reference; the text describes camera 1 relative to it). The distance
question is asked only for metric sources. Questions and answers come from the task's
text format (``vlm3.tasks.common.text_format_for``: release, or the demo's compact). The questions are packed in a random (seeded) order
per sample: inference asks each question on its own, so a model must learn to read the
question, not the turn index (with a fixed order a small model answered the euler question,
asked first, in the rotation-angle format).

Labels: ``{"T_cam1_from_cam0": 4x4 (maps camera-0 points into camera 1), "R_cam0_from_cam1":
3x3 (camera 1's axes in camera 0), "t_cam0_from_cam1_m": (3,) (camera 1's centre in camera
0, metres), "metric", "covisibility", "question_ids", "cameras": [std camera dicts]}``.
"""

from __future__ import annotations

import numpy as np

from vlm3.io.records import PairRecord, RecordError
from vlm3.tasks.common import BuildContext, SampleDraft, draft_format_version, standardize_for, text_format_for
from vlm3.geometry.transforms import invert_T


def build(record: PairRecord, ctx: BuildContext, rng: np.random.Generator) -> SampleDraft:
    """One pose sample from a pair (RecordError if unusable: unreadable image, zero motion...)."""
    if not isinstance(record, PairRecord):
        raise RecordError(record.record_id, "pose task needs a pair record")
    if record.covisibility is not None and record.covisibility < ctx.task.min_covisibility:
        raise RecordError(record.record_id, f"covisibility {record.covisibility:.2f} below "
                                            f"{ctx.task.min_covisibility}")
    views = [standardize_for("pose", v, ctx) for v in (record.view0, record.view1)]
    T = np.asarray(record.T_cam1_from_cam0, dtype=np.float64)
    fmt = text_format_for("pose", draft_format_version(ctx))
    try:
        answers = fmt.render_answers_from_T_cam1_from_cam0(T, metric=record.metric)
    except ValueError as err:
        raise RecordError(record.record_id, str(err)) from None
    ids = [q for q in fmt.QUESTION_IDS if q in answers]
    ids = [ids[i] for i in rng.permutation(len(ids))]
    qa = [(fmt.QUESTIONS[q], answers[q]) for q in ids]
    T_inv = invert_T(T)
    labels = {
        "T_cam1_from_cam0": T.tolist(),
        "R_cam0_from_cam1": T_inv[:3, :3].tolist(),
        "t_cam0_from_cam1_m": T_inv[:3, 3].tolist(),
        "metric": record.metric, "covisibility": record.covisibility,
        "question_ids": ids,
        "cameras": [v.std.camera.to_dict() for v in views],
        "camera_from": [v.camera_from for v in views],
        "record_id": record.record_id, "scene_id": record.scene_id,
    }
    return SampleDraft([v.std.image for v in views], qa, labels,
                       [v.std.pixmap.to_dict() for v in views], draft_format_version(ctx))
