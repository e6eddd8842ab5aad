"""The pose task's pictures (``vlm3.drawing``): the report figures (the two views and the cameras
seen from above, truth solid, each predictor's camera 1 dashed; the pose-error CDF of every
predictor) and ``vlm3 predict pose``'s frustums.png (``frustum_png``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.drawing import frustum_segments, frustum_top_down, png_data_uri, pyplot, save_png
from vlm3.metrics.calibration import hfov_deg_from_focal_px
from vlm3.tasks.figures import Figure, load_image, parse_record


def pose_errors_deg(unit: Any, recs: Sequence[dict]) -> np.ndarray:
    """Per-pair pose error max(rot, trans) in degrees of pose records; ``inf`` where unparsed."""
    parsed = [parse_record(unit, r)[0] for r in recs]
    return unit.pair_errors_deg(parsed, [unit.truths(r["labels"], 1)[0] for r in recs])


def fig_pose_cdf(errors: dict[str, np.ndarray]) -> str | None:
    """Cumulative fraction of pairs with pose error <= x degrees (x up to 30), per predictor."""
    if not errors:
        return None
    fig, ax = pyplot().subplots(figsize=(7, 3.6))
    xs = np.linspace(0, 30, 301)
    for name, e in errors.items():
        ax.plot(xs, [(e <= x).mean() for x in xs], label=f"{name} (n={len(e)})")
    ax.set_xlabel("pose error max(rotation, translation direction) (°)")
    ax.set_ylabel("fraction of pairs")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("pose-error CDF (area under it up to 30° = AUC@30)", fontsize=10)
    return png_data_uri(fig)


def _pred_pose(parsed) -> tuple[np.ndarray, np.ndarray] | None:
    """(R, t direction) of a parsed pose answer, or None when rotation or direction is missing."""
    v = parsed.value
    if v is None or getattr(v, "R_cam0_from_cam1", None) is None or getattr(v, "t_unit_cam0", None) is None:
        return None
    t = np.asarray(v.t_unit_cam0, float)
    return np.asarray(v.R_cam0_from_cam1, float), t / (np.linalg.norm(t) or 1.0)


def fig_pose_frustums(unit: Any, by_predictor: Mapping[str, Sequence[dict]], n_pairs: int = 2) -> str | None:
    """For up to ``n_pairs`` pairs: the two images as thumbnails and a top-down drawing (x right,
    z forward, camera 0 at the origin) of camera 0, the true camera 1 and each predictor's camera 1.

    Predicted translations are directions: they are drawn at the true distance (metres).
    """
    first = next(iter(by_predictor.values()), [])
    pairs = [r for r in first if len(r.get("images") or []) >= 2][:n_pairs]
    if not pairs:
        return None
    fig, axes = pyplot().subplots(len(pairs), 3, figsize=(14, 4.2 * len(pairs)), squeeze=False,
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
        fov = hfov_deg_from_focal_px(c0["fx"], c0["width"]) if c0.get("fx") and c0.get("width") else 60.0
        size = 0.35 * dist
        ax = row[2]
        polys = [("camera 0", np.eye(3), np.zeros(3), "k", "-"), ("camera 1, truth", R_gt, t_gt, "green", "-")]
        for i, (name, recs) in enumerate(by_predictor.items()):
            match = next((x for x in recs if x["id"] == r["id"]), None)
            pose = _pred_pose(parse_record(unit, match)[0]) if match else None
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
    return png_data_uri(fig)


# ------------------------------------------------------------------ vlm3 predict pose
def frustum_png(path: str | Path, T_cam0_from_cam1: np.ndarray, T_cam0_from_cam1_gt: np.ndarray | None = None) -> Path:
    """3D plot of camera 0 (the first image, at the origin) and camera 1 placed by
    ``T_cam0_from_cam1`` (camera-1 points -> camera 0), in camera 0's OpenCV frame; optional
    ground truth dashed."""
    path = Path(path)
    fig = pyplot().figure(figsize=(5, 5), dpi=100)
    ax = fig.add_subplot(projection="3d")
    scale = max(0.15, 0.3 * float(np.linalg.norm(T_cam0_from_cam1[:3, 3])))
    for T, color, style, label in ((np.eye(4), "black", "-", "camera 0 (image 1)"),
                                   (T_cam0_from_cam1, "tab:blue", "-", "camera 1 (image 2, predicted)"),
                                   (T_cam0_from_cam1_gt, "tab:green", "--", "camera 1 (image 2, ground truth)")):
        if T is None:
            continue
        for k, seg in enumerate(frustum_segments(np.asarray(T, float), scale)):
            ax.plot(seg[:, 0], seg[:, 2], -seg[:, 1], style, color=color, label=label if k == 0 else None)
    ax.set_xlabel("x right (m)")
    ax.set_ylabel("z forward (m)")
    ax.set_zlabel("up (m)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def report_figures(unit: Any, records: Mapping[str, Sequence[dict]], focus: str | None,
                   reference: Sequence[str] = ()) -> list[Figure]:
    """Frustums of the predictors that do not answer from the truth (``reference``), the focus
    first, and the pose-error CDF of every predictor (see ``Task.report_figures``)."""
    figures = []
    if focus is not None:
        drawn = {n: rs for n, rs in records.items() if n not in reference and rs}
        if focus in drawn:
            drawn = {focus: drawn.pop(focus), **drawn}
        figures.append(Figure("pose — the two views and the cameras seen from above (truth solid, predictions "
                              "dashed)", fig_pose_frustums(unit, drawn)))
    errors = {n: pose_errors_deg(unit, rs) for n, rs in records.items() if rs}
    figures.append(Figure("pose-error CDF", fig_pose_cdf(errors), small=True))
    return figures


def inspect_marks(unit: Any, messages: list[dict[str, Any]], format_version: str | None,
                  sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
    """The answers as caption lines (a pose is not drawn on the pixels)."""
    return {"caption": [m["content"][:110] for m in messages[1::2]]}
