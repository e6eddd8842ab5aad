"""Hand-built evaluation cases (request + ground truth) in the data engine's label format,
shared by the eval tests; the requests carry the question inputs the task units build."""

from __future__ import annotations

import numpy as np

from vlm3.evaluate.benchmarks import case_from_labels
from vlm3.evaluate.stages import Case
from vlm3.protocol import codecs
from vlm3.tasks.correspondence import text as corr_text
from vlm3.tasks.depth import text as depth_text
from vlm3.tasks.object import text as obj_text
from vlm3.tasks.pose import text as pose_text
W, H = 320, 224


def _cam(w=W, h=H):
    return {"fx": 200.0, "fy": 200.0, "cx": w / 2, "cy": h / 2, "width": w, "height": h}


def depth_case(i: int, rng) -> Case:
    xy = np.c_[rng.integers(0, W, 8), rng.integers(0, H, 8)]
    d = rng.uniform(0.5, 20.0, 8)
    n = codecs.encode_xy_norm2000(xy, W, H)
    pts = [{"xy_px": p.tolist(), "xy_norm2000": q.tolist(), "depth_m": float(v)} for p, q, v in zip(xy, n, d)]
    return case_from_labels("depth", f"d{i}", [np.zeros((H, W, 3), np.uint8)],
                            [depth_text.prompt(tuple(q)) for q in n], {"points": pts, "camera": _cam()})


def corr_case(i: int, rng) -> Case:
    q = np.c_[rng.integers(0, W, 6), rng.integers(0, H, 6)]
    t = q + rng.uniform(-30, 30, q.shape)
    t = np.clip(t, 0, [W - 1, H - 1])
    qn = codecs.encode_xy_norm1000(q, W, H)
    tn = codecs.encode_xy_norm1000(t, W, H)
    m = [{"query_xy_px": a.tolist(), "query_xy_norm1000": b.tolist(), "target_xy_px": c.tolist(),
          "target_xy_norm1000": e.tolist()} for a, b, c, e in zip(q, qn, t, tn)]
    return case_from_labels("correspondence", f"c{i}", [np.zeros((H, W, 3), np.uint8)] * 2,
                            [corr_text.prompt(tuple(x)) for x in qn], {"matches": m, "cameras": [_cam(), _cam()]})


def pose_case(i: int, rng) -> Case:
    import cv2

    axis = rng.normal(size=3)
    R = cv2.Rodrigues(axis / np.linalg.norm(axis) * np.radians(rng.uniform(5, 60)))[0]
    t = rng.normal(size=3)
    ids = list(pose_text.QUESTION_IDS)
    labels = {"R_cam0_from_cam1": R.tolist(), "t_cam0_from_cam1_m": t.tolist(), "question_ids": ids,
              "cameras": [_cam(), _cam()]}
    return case_from_labels("pose", f"p{i}", [np.zeros((H, W, 3), np.uint8)] * 2,
                            [pose_text.QUESTIONS[k] for k in ids], labels)


def object_case(i: int) -> Case:
    ba, bb = [10, 20, 300, 400], [500, 500, 900, 990]
    q1, a1 = obj_text.render_qualitative("left", ba, bb, truth=bool(i % 2))
    q2, a2 = obj_text.render_quantitative("direct_distance", ba, bb, 2.5 + i)
    qs = [{"kind": "qualitative", "predicate": "left", "truth": bool(i % 2)},
          {"kind": "quantitative", "predicate": "direct_distance", "value": 2.5 + i}]
    return case_from_labels("object", f"o{i}", [np.zeros((H, W, 3), np.uint8)], [q1, q2], {"questions": qs},
                            answers=[a1, a2])
