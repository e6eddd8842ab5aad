"""The figures of the HTML report (``vlm3.evaluate.report``), each a PNG data URI.

Drawn from cached prediction records (``RUN_DIR/predictions/*.jsonl``): predicted vs
ground-truth depth (scatter and point maps over the image, with the error map), match
lines, the pose-error CDF, pose frustums seen from above with the two images as
thumbnails, an object question with its boxes drawn on the image, and parse-rate bars.
Legends sit outside the plotted data. A figure whose inputs are missing returns None.
"""

from __future__ import annotations

import re
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vlm3.drawing import (draw_boxes, draw_matches, draw_points, frustum_top_down, png_data_uri,  # noqa: E402
                          side_by_side)
from vlm3.evaluate.scoring import parse_prediction, truths_of  # noqa: E402
from vlm3.io.images import ImageReadError, read_rgb  # noqa: E402
from vlm3.tasks import TASKS, get_task  # noqa: E402

_BOX = re.compile(r"\((\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)")


png_uri = png_data_uri  # the report's figures as inline PNG data URIs (vlm3.drawing)


def load_image(ref: str) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of an image a record names, or None when the file is gone."""
    try:
        return read_rgb(ref)
    except ImageReadError as err:
        if err.missing:
            return None
        raise


def fig_depth(recs: list[dict], title: str) -> str | None:
    """Scatter of predicted vs GT depth (m), and one image's GT / predicted / error point maps."""
    if not recs:
        return None
    gt, pr = [], []
    for r in recs:
        parsed = parse_prediction(r)
        for p, d in zip(parsed, truths_of(r, len(parsed))):
            if p.ok:
                gt.append(d)
                pr.append(p.value)
    r0 = recs[0]
    img = load_image(r0["images"][0]) if r0.get("images") else None
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    if gt:
        lim = [0, max(max(gt), max(pr)) * 1.05]
        axes[0].scatter(gt, pr, s=6, alpha=0.5)
        axes[0].plot(lim, lim, "k--", lw=0.8)
        axes[0].set_xlim(lim)
        axes[0].set_ylim(lim)
    else:
        axes[0].text(0.5, 0.5, "no parsed answers", ha="center", va="center", transform=axes[0].transAxes)
    axes[0].set_xlabel("ground-truth depth (m)")
    axes[0].set_ylabel("predicted depth (m)")
    axes[0].set_title(f"{title}: all parsed points", fontsize=10)
    parsed = parse_prediction(r0)
    xy = np.array([q["xy_px"] for q in get_task("depth").queries_from_labels(r0["labels"])], float)[: len(parsed)]
    g = np.array(truths_of(r0, len(parsed)), float)
    d = np.array([p.value if p.ok else np.nan for p in parsed], float)
    vmax = float(np.nanmax(np.r_[g, d])) if len(g) else 1.0
    err = np.abs(d - g) / g
    for ax, vals, name, cmap, vm in ((axes[1], g, "ground truth (m)", "turbo", vmax),
                                     (axes[2], d, "predicted (m)", "turbo", vmax),
                                     (axes[3], err, "AbsRel error", "magma", 0.5)):
        if img is not None:
            ax.imshow(img)
        sc = draw_points(ax, xy, vals, cmap, 0, vm)
        fig.colorbar(sc, ax=ax, fraction=0.046)
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    return png_uri(fig)


def fig_matches(recs: list[dict], title: str) -> str | None:
    """Prediction (coloured line) vs ground truth (white x) on one correspondence sample."""
    if not recs or not recs[0].get("images"):
        return None
    r = recs[0]
    ims = [load_image(x) for x in r["images"][:2]]
    if len(ims) < 2 or any(im is None for im in ims):
        return None
    canvas, (_, off) = side_by_side(ims)
    fig, ax = plt.subplots(figsize=(9, 9 * canvas.shape[0] / canvas.shape[1] + 0.5))
    ax.imshow(canvas)
    parsed = parse_prediction(r)
    queries = get_task("correspondence").queries_from_labels(r["labels"])
    n = min(len(parsed), len(queries))
    xy0 = np.array([m["query_xy_px"] for m in queries[:n]], float).reshape(-1, 2)
    xy1 = np.array([p.value if p.ok else (np.nan, np.nan) for p in parsed[:n]], float).reshape(-1, 2)
    gt = np.array(truths_of(r, n), float).reshape(-1, 2)
    draw_matches(ax, xy0, xy1, off, gt, ms=3.5)
    ax.set_title(f"{title}: predicted matches (lines, left → right) and ground truth (white x)", fontsize=10)
    ax.axis("off")
    return png_uri(fig)


def pose_errors_deg(recs: list[dict]) -> np.ndarray:
    """Per-pair pose error max(rot, trans) in degrees of pose records; ``inf`` where unparsed."""
    parsed = [parse_prediction(r)[0] for r in recs]
    return get_task("pose").pair_errors_deg(parsed, [truths_of(r, 1)[0] for r in recs])


def fig_pose_cdf(errors: dict[str, np.ndarray]) -> str | None:
    """Cumulative fraction of pairs with pose error <= x degrees (x up to 30), per predictor."""
    if not errors:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    xs = np.linspace(0, 30, 301)
    for name, e in errors.items():
        ax.plot(xs, [(e <= x).mean() for x in xs], label=f"{name} (n={len(e)})")
    ax.set_xlabel("pose error max(rotation, translation direction) (°)")
    ax.set_ylabel("fraction of pairs")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("pose-error CDF (area under it up to 30° = AUC@30)", fontsize=10)
    return png_uri(fig)


def fig_parse_rates(results: dict[str, dict[str, Any]], order: list[str]) -> str:
    """Grouped bars: parse rate (%) per task per predictor, legend to the right of the axes."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    w = 0.8 / max(len(order), 1)
    for i, n in enumerate(order):
        vals = [100 * (results[n].get(t, {}).get("parse_rate") or 0) for t in TASKS]
        ax.bar(np.arange(len(TASKS)) + i * w, vals, w, label=n)
    ax.set_xticks(np.arange(len(TASKS)) + 0.4 - w / 2, TASKS)
    ax.set_ylabel("parse rate (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("share of answers that parse, per task", fontsize=10)
    return png_uri(fig)


def _pred_pose(parsed) -> tuple[np.ndarray, np.ndarray] | None:
    """(R, t direction) of a parsed pose answer, or None when rotation or direction is missing."""
    v = parsed.value
    if v is None or getattr(v, "R_cam0_from_cam1", None) is None or getattr(v, "t_unit_cam0", None) is None:
        return None
    t = np.asarray(v.t_unit_cam0, float)
    return np.asarray(v.R_cam0_from_cam1, float), t / (np.linalg.norm(t) or 1.0)


def fig_pose_frustums(by_predictor: dict[str, list[dict]], n_pairs: int = 2) -> str | None:
    """For up to ``n_pairs`` pairs: the two images as thumbnails and a top-down drawing (x right,
    z forward, camera 0 at the origin) of camera 0, the true camera 1 and each predictor's camera 1.

    Predicted translations are directions: they are drawn at the true distance (metres).
    """
    first = next(iter(by_predictor.values()), [])
    pairs = [r for r in first if len(r.get("images") or []) >= 2][:n_pairs]
    if not pairs:
        return None
    fig, axes = plt.subplots(len(pairs), 3, figsize=(14, 4.2 * len(pairs)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1.3], "hspace": 0.35})
    colors = ("tab:orange", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:cyan", "tab:olive")  # not green
    for row, r in zip(axes, pairs):
        for k in (0, 1):
            im = load_image(r["images"][k])
            if im is not None:
                row[k].imshow(im)
            row[k].set_title(f"view {k} ({r['id'][:24]})", fontsize=9)
            row[k].axis("off")
        lab = r["labels"]
        R_gt, t_gt = np.asarray(lab["R_cam0_from_cam1"], float), np.asarray(lab["t_cam0_from_cam1_m"], float)
        dist = float(np.linalg.norm(t_gt)) or 1.0
        cams = lab.get("cameras") or [{}]
        c0 = cams[0]
        fov = float(np.degrees(2 * np.arctan(c0.get("width", 2) / (2 * c0.get("fx", 1))))) if c0.get("fx") else 60.0
        size = 0.35 * dist
        ax = row[2]
        polys = [("camera 0", np.eye(3), np.zeros(3), "k", "-"), ("camera 1, truth", R_gt, t_gt, "green", "-")]
        for i, (name, recs) in enumerate(by_predictor.items()):
            match = next((x for x in recs if x["id"] == r["id"]), None)
            pose = _pred_pose(parse_prediction(match)[0]) if match else None
            if pose is not None:
                polys.append((f"camera 1, {name}", pose[0], pose[1] * dist, colors[i % len(colors)], "--"))
        for name, R, t, c, ls in polys:
            p = frustum_top_down(R, t, fov, size)
            ax.fill(p[:, 0], p[:, 1], color=c, alpha=0.12)
            ax.plot(*np.r_[p, p[:1]].T, ls, color=c, lw=1.6, label=name)
            ax.plot(p[0, 0], p[0, 1], "o", color=c, ms=4)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x, right (m)")
        ax.set_ylabel("z, forward (m)")
        ax.grid(alpha=0.3)
        ax.set_title(f"cameras from above, camera-0 frame (baseline {dist:.2f} m)", fontsize=9)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return png_uri(fig)


def _boxes_of(record: dict, i: int) -> list[list[float]]:
    """1000-grid boxes of question ``i``: from the labels' regions, else read off the question text."""
    queries = get_task("object").queries_from_labels(record["labels"])
    if i < len(queries) and queries[i].get("boxes"):
        return [list(b) for b in queries[i]["boxes"]]
    q = (record.get("questions") or [""])[i] if i < len(record.get("questions") or []) else ""
    return [[float(v) for v in m.groups()] for m in _BOX.finditer(q)]


def fig_object_question(recs: list[dict], title: str) -> str | None:
    """One object question drawn on its image: region A (red), region B (blue), the question,
    the model's answer and the truth."""
    for r in recs:
        im = load_image(r["images"][0]) if r.get("images") else None
        boxes = _boxes_of(r, 0) if im is not None else []
        if im is None or not boxes:
            continue
        h, w = im.shape[:2]
        fig, ax = plt.subplots(figsize=(7, 7 * h / w + 1.0))
        ax.imshow(im)
        names = [x.get("name") for x in (r["labels"].get("regions") or [])]
        qreg = (r["labels"].get("questions") or [{}])[0].get("regions") or []
        boxes = boxes[:3]
        labels = []
        for k in range(len(boxes)):
            label = "AB"[k] if k < 2 else str(k)
            if k < len(qreg) and qreg[k] < len(names) and names[qreg[k]]:
                label += f": {names[qreg[k]]}"
            labels.append(label)
        px = [[b[0] * w / 1000, b[1] * h / 1000, b[2] * w / 1000, b[3] * h / 1000] for b in boxes]
        draw_boxes(ax, px, ["red", "dodgerblue", "orange"], labels, lw=2.5)
        truth = (r["labels"].get("questions") or [{}])[0]
        want = truth.get("truth", truth.get("value"))
        want = f"{want:.2f} m" if isinstance(want, float) else want
        answer = str((r.get("raw") or ["–"])[0])
        answer = answer if len(answer) <= 40 else answer[:37] + "..." 
        ax.set_title(f"Q: {r['questions'][0]}\n{title}: {answer!r}   truth: {want}", fontsize=9, wrap=True)
        ax.axis("off")
        return png_uri(fig)
    return None
