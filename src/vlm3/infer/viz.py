"""Pictures of predictions: depth beside the image, matches between two images, camera
frustums, the boxes of an object question (the data files, .npy / 16-bit PNG / .ply, are
``vlm3.infer.outputs``).

Pixel convention as everywhere (x = column, y = row, pixel centres at integers). All
functions write the file and return its path; matplotlib runs on the Agg backend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vlm3.drawing import (depth_colour_map, draw_boxes, draw_matches, frustum_segments, save_png,  # noqa: E402
                          side_by_side)


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
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2 * h / w + 0.6), dpi=100)
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


def match_png(path: str | Path, image0: np.ndarray, image1: np.ndarray, xy0_px: np.ndarray,
              xy1_px: np.ndarray, gt_xy1_px: np.ndarray | None = None) -> Path:
    """Side-by-side images with a line per match (NaN rows skipped); GT targets as crosses."""
    canvas, (_, off) = side_by_side([image0, image1])
    fig = plt.figure(figsize=(10, 10 * canvas.shape[0] / canvas.shape[1] + 0.3), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(canvas)
    draw_matches(ax, xy0_px, xy1_px, off, gt_xy1_px)
    ax.axis("off")
    return save_png(fig, path)


def frustum_png(path: str | Path, T_cam0_from_cam1: np.ndarray, T_cam0_from_cam1_gt: np.ndarray | None = None) -> Path:
    """3D plot of camera 0 (the first image, at the origin) and camera 1 placed by
    ``T_cam0_from_cam1`` (camera-1 points -> camera 0), in camera 0's OpenCV frame; optional
    ground truth dashed."""
    path = Path(path)
    fig = plt.figure(figsize=(5, 5), dpi=100)
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


def boxes_png(path: str | Path, image: np.ndarray, boxes_px: list, answer_boxes_px: list, title: str = "") -> Path:
    """The image with the question's boxes (green, labelled A, B, ...) and the answer's boxes (red).
    Boxes are [x1, y1, x2, y2] in pixels of ``image`` (H, W, 3) uint8."""
    h, w = image.shape[:2]
    fig = plt.figure(figsize=(8, 8 * h / w + 0.6), dpi=100)
    ax = fig.add_axes([0, 0, 1, 0.94 if title else 1])
    ax.imshow(image)
    draw_boxes(ax, boxes_px, "lime", list("ABCD"), label_colour="black")
    draw_boxes(ax, answer_boxes_px, "red")
    ax.axis("off")
    if title:
        fig.suptitle(title[:120], fontsize=9)
    return save_png(fig, path)
