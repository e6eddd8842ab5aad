"""The depth task's pictures (``vlm3.drawing``): the report figure (predicted vs true depth over all
points, and one image's ground-truth / predicted / error point maps) and ``vlm3 predict depth``'s
depth.png (``depth_png``: the image beside the answered depth)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlm3.drawing import depth_colour_map, draw_points, png_data_uri, pyplot, save_png
from vlm3.protocol import codecs
from vlm3.tasks.figures import Figure, focus_figure, load_image, parse_record, parsed_with_truths, question_turns


def fig_depth(unit: Any, recs: Sequence[dict], title: str) -> str | None:
    """Scatter of predicted vs GT depth (m), and one image's GT / predicted / error point maps."""
    if not recs:
        return None
    gt, pr = parsed_with_truths(unit, recs)
    r0 = recs[0]
    img = load_image(r0["images"][0]) if r0.get("images") else None
    fig, axes = pyplot().subplots(1, 4, figsize=(16, 3.6))
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
    parsed = parse_record(unit, r0)
    xy = np.array([q["xy_px"] for q in unit.queries_from_labels(r0["labels"])], float)[: len(parsed)]
    g = np.array(unit.truths(r0["labels"], len(parsed)), float)
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
    return png_data_uri(fig)


# ------------------------------------------------------------------ vlm3 predict depth
def _dense_from_points(xy_px: np.ndarray, depth_m: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) nearest-query depth map (Voronoi fill) from sparse query points."""
    from scipy.spatial import cKDTree

    ys, xs = np.mgrid[0:height, 0:width]
    _, idx = cKDTree(xy_px).query(np.c_[xs.ravel(), ys.ravel()])
    return depth_m[idx].reshape(height, width)


def depth_png(path: str | Path, image: np.ndarray, xy_px: np.ndarray, depth_m: np.ndarray,
              title: str = "predicted depth (m)") -> Path:
    """Image beside a colour-mapped depth map of the queried points (nearest-point fill),
    with the points drawn on both. image: (H, W, 3) uint8; xy_px: (N, 2); depth_m: (N,), NaN = unparsed."""
    path = Path(path)
    h, w = image.shape[:2]
    ok = np.isfinite(depth_m)
    fig, axes = pyplot().subplots(1, 2, figsize=(10, 4.2 * h / w + 0.6), dpi=100)
    axes[0].imshow(image)
    axes[0].scatter(xy_px[:, 0], xy_px[:, 1], s=6, c=np.where(ok, "white", "red"), edgecolors="black",
                    linewidths=0.3)
    axes[0].set_title("input with queried points")
    if ok.any():
        dense = _dense_from_points(xy_px[ok], depth_m[ok], w, h)
        im = axes[1].imshow(dense, cmap=depth_colour_map())
        axes[1].scatter(xy_px[ok, 0], xy_px[ok, 1], s=4, c="black")
        fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04)
    axes[1].set_title(title)
    for a in axes:
        a.axis("off")
    fig.tight_layout()
    return save_png(fig, path)


def report_figures(unit: Any, records: Mapping[str, Sequence[dict]], focus: str | None,
                   reference: Sequence[str] = ()) -> list[Figure]:
    """The depth figure of the focus predictor's records (see ``Task.report_figures``)."""
    return focus_figure("depth — {focus}: predicted vs true depth, and one image's points", fig_depth, unit, records,
                        focus)


def inspect_marks(unit: Any, messages: list[dict[str, Any]], format_version: str | None,
                  sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
    """Each question's point (its 2000-grid cell decoded) with the answered metres (None: unparsed)."""
    out = []
    for m, val in question_turns(unit, messages, format_version, "PROMPT_TEMPLATE"):
        if m:
            x, y = codecs.decode_xy_norm2000((int(m[1]), int(m[2])), *sizes[0])
            out.append((float(x), float(y), val.value if val.ok else None))
    return {"depth": out}
