"""Contact sheet of one scene: images with labelled 2D boxes, colour-mapped depth, and a few
correspondences drawn between two views (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlm3.drawing import depth_colour_map, draw_boxes, draw_matches, save_png, side_by_side
from vlm3.io.scenes import SceneRecord
from vlm3.world.pairs import dense_correspondences


def _pick_pair(scene: SceneRecord) -> tuple[int, int] | None:
    """The ordered pair whose covisibility is closest to 0.6 (informative, not identical)."""
    if not scene.pairs:
        return None
    best = min(scene.pairs, key=lambda p: abs(p.covisibility - 0.6))
    return (best.i, best.j) if best.covisibility > 0 else None


def contact_sheet(scene: SceneRecord, out_png: str | Path, max_views: int = 4, n_matches: int = 30,
                  max_boxes: int = 12, seed: int = 0, dpi: int = 90) -> Path:
    """Write a PNG contact sheet of ``scene`` (loaded with arrays) to ``out_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    views = scene.views[:max_views]
    if not views or views[0].image is None:
        raise ValueError(f"scene {scene.scene_id} has no loaded views to show")
    n = len(views)
    pair = _pick_pair(scene)
    fig = plt.figure(figsize=(4.2 * n, 7.2 + (3.6 if pair else 0.0)), dpi=dpi)
    rows = 3 if pair else 2
    gs = fig.add_gridspec(rows, n, height_ratios=[1, 1, 1.1][:rows])
    cmap = plt.get_cmap("tab10")
    for c, v in enumerate(views):
        ax = fig.add_subplot(gs[0, c])
        ax.imshow(v.image)
        cam = v.camera
        ax.set_title(f"view {v.index}: {cam.width}x{cam.height} f={cam.fx:.0f}px", fontsize=9)
        shown = sorted(v.objects, key=lambda o: -o.n_visible_px)[:max_boxes]
        edges = [[x1 - 0.5, y1 - 0.5, x2 + 0.5, y2 + 0.5] for x1, y1, x2, y2 in (vo.box_xyxy_px for vo in shown)]
        draw_boxes(ax, edges, [cmap(k % 10) for k in range(len(shown))],
                   [f"{scene.object(vo.instance_id).colour} {scene.object(vo.instance_id).category}" for vo in shown],
                   lw=1.2)
        ax.axis("off")
        ax = fig.add_subplot(gs[1, c])
        d = np.ma.masked_equal(v.depth_z_m, 0.0)
        vmax = float(np.percentile(v.depth_z_m[v.depth_z_m > 0], 98)) if np.any(v.depth_z_m > 0) else 1.0
        im = ax.imshow(d, cmap=depth_colour_map(), vmin=0.0, vmax=vmax)
        fig.colorbar(im, ax=ax, fraction=0.035, pad=0.02).set_label("z-depth (m)", fontsize=7)
        ax.set_title("depth (black: sky / invalid)", fontsize=8)
        ax.axis("off")
    if pair:
        i, j = pair
        vi, vj = scene.views[i], scene.views[j]
        canvas, (_, off) = side_by_side([vi.image, vj.image])
        ax = fig.add_subplot(gs[2, :])
        ax.imshow(canvas)
        xy1, xy2 = dense_correspondences(scene, i, j, stride=4)
        if len(xy1):
            pick = np.random.default_rng(seed).choice(len(xy1), size=min(n_matches, len(xy1)), replace=False)
            draw_matches(ax, xy1[pick], xy2[pick], off, lw=0.8, ms=2.5)
        ax.set_title(f"correspondences view {i} -> view {j} (covisibility {scene.covisibility(i, j):.2f}, "
                     f"occlusion-checked)", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{scene.scene_id} ({scene.kind}, split {scene.split}): {len(scene.objects)} objects, "
                 f"{len(scene.views)} views", fontsize=11)
    fig.tight_layout()
    return save_png(fig, out_png)
