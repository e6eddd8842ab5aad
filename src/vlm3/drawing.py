"""The one drawing module: the pieces every picture of vlm3 is made of.

Used by the world's contact sheet (``vlm3.world.show``), ``vlm3 data inspect``
(``vlm3.data.inspect``), the pictures of ``vlm3 predict`` (``vlm3.infer.viz``) and the report's
figures (``vlm3.evaluate.report_figures``):

* `side_by_side` -- images left to right on one canvas (numpy) and the x offset of each;
* `match_colours` -- one distinct colour per match (hsv wheel);
* `draw_matches` -- a line and two dots per match on a side-by-side canvas (matplotlib axes);
* `draw_points` -- points on an image, coloured by a value (depth) or one colour, misses as red x;
* `draw_boxes` -- labelled rectangles (pixel boxes [x1, y1, x2, y2]);
* `frustum_segments` / `frustum_top_down` -- a camera frustum in 3D (line segments) or seen from
  above (x right, z forward polygon), OpenCV camera frame;
* `depth_colour_map` -- the colour map of depth pictures (turbo, invalid pixels black);
* `save_png` / `png_data_uri` -- a matplotlib figure to a file or an inline data URI (closed after).

Pixel convention as everywhere (x = column, y = row, the centre of pixel (i, j) at (i, j)).
Matplotlib runs on the Agg backend; it is imported when a function needs it.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def side_by_side(images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """(canvas (max H, sum W, 3) uint8 with the (H, W, 3) images left to right, top-aligned,
    the x offset of each image in the canvas)."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    offsets = [int(v) for v in np.cumsum([0] + [im.shape[1] for im in images[:-1]])]
    canvas = np.zeros((max(im.shape[0] for im in images), sum(im.shape[1] for im in images), 3), np.uint8)
    for im, x in zip(images, offsets):
        canvas[: im.shape[0], x: x + im.shape[1]] = im
    return canvas, offsets


def match_colours(n: int) -> np.ndarray:
    """(n, 4) RGBA colours in [0, 1], evenly spaced on the hsv wheel (one per match)."""
    return pyplot().cm.hsv(np.linspace(0, 1, max(n, 1), endpoint=False))[:n]


def draw_matches(ax: Any, xy0_px: np.ndarray, xy1_px: np.ndarray, x_offset: float,
                 gt_xy1_px: np.ndarray | None = None, lw: float = 1.0, ms: float = 3.0) -> None:
    """On ``ax`` showing a `side_by_side` canvas: a line from each point of image 0 (N, 2) to its
    match in image 1 (N, 2; rows with NaN skipped) and a dot at both ends, one colour per match;
    ``gt_xy1_px`` (N, 2): the true matches as white crosses."""
    colours = match_colours(len(xy0_px))
    for i, (a, b) in enumerate(zip(np.asarray(xy0_px, float), np.asarray(xy1_px, float))):
        if np.all(np.isfinite(b)) and np.all(np.isfinite(a)):
            ax.plot([a[0], b[0] + x_offset], [a[1], b[1]], "-o", color=colours[i], lw=lw, ms=ms)
        if gt_xy1_px is not None and np.all(np.isfinite(gt_xy1_px[i])):
            ax.plot(gt_xy1_px[i][0] + x_offset, gt_xy1_px[i][1], "x", color="white", ms=2 * ms, mew=2)


def draw_points(ax: Any, xy_px: np.ndarray, values: np.ndarray | None = None, cmap: str = "turbo",
                vmin: float | None = None, vmax: float | None = None, size: float = 40.0) -> Any:
    """Points (N, 2) on ``ax``; coloured by ``values`` (N,) through ``cmap`` when given (NaN values:
    red crosses), else white dots. Returns the scatter of the coloured points (for a colour bar)."""
    xy = np.asarray(xy_px, float).reshape(-1, 2)
    if values is None:
        return ax.scatter(xy[:, 0], xy[:, 1], s=size, c="white", edgecolors="black", linewidths=0.3)
    v = np.asarray(values, float).reshape(-1)
    ok = np.isfinite(v)
    sc = ax.scatter(xy[ok, 0], xy[ok, 1], c=v[ok], cmap=cmap, vmin=vmin, vmax=vmax, s=size, edgecolors="white")
    ax.scatter(xy[~ok, 0], xy[~ok, 1], marker="x", c="red", s=size)
    return sc


def draw_boxes(ax: Any, boxes_xyxy_px: Sequence[Sequence[float]], colours: Sequence[Any] | Any = "lime",
               labels: Sequence[str] = (), lw: float = 2.0, label_colour: str = "white") -> None:
    """Rectangles [x1, y1, x2, y2] (pixels of the shown image) on ``ax``, the i-th labelled
    ``labels[i]`` at its top-left corner; ``colours`` one colour or one per box."""
    from matplotlib.patches import Rectangle

    for i, box in enumerate(boxes_xyxy_px):
        x1, y1, x2, y2 = (float(v) for v in box)
        c = colours[i % len(colours)] if isinstance(colours, (list, tuple)) else colours
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=c, lw=lw))
        if i < len(labels) and labels[i]:
            ax.text(x1, y1, labels[i], color=label_colour, fontsize=8, va="bottom",
                    bbox={"fc": c, "ec": "none", "pad": 1, "alpha": 0.8})


#: the frustum's corners in its camera frame (OpenCV: x right, y down, z forward), apex first
_FRUSTUM = np.array([[0, 0, 0], [-1, -0.75, 1.5], [1, -0.75, 1.5], [1, 0.75, 1.5], [-1, 0.75, 1.5]], float)
_FRUSTUM_EDGES = ((0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 3), (3, 4), (4, 1))


def frustum_segments(T_world_from_cam: np.ndarray, scale: float) -> list[np.ndarray]:
    """The 8 edges of a camera frustum ((2, 3) arrays, world frame) for a camera placed by
    ``T_world_from_cam`` (4x4, camera points -> world), ``scale`` metres from apex to image corner."""
    p = _FRUSTUM * scale @ T_world_from_cam[:3, :3].T + T_world_from_cam[:3, 3]
    return [p[[i, j]] for i, j in _FRUSTUM_EDGES]


def frustum_top_down(R_world_from_cam: np.ndarray, t_world_from_cam: np.ndarray, hfov_deg: float,
                     size: float) -> np.ndarray:
    """(3, 2) top-down (x, z) polygon -- apex, left and right image edge at depth ``size`` -- of a
    camera with horizontal field of view ``hfov_deg`` placed by (R, t) in the world (OpenCV frame)."""
    half = np.tan(np.radians(hfov_deg) / 2)
    corners = np.array([[0, 0, 0], [-half * size, 0, size], [half * size, 0, size]], float)
    return (corners @ np.asarray(R_world_from_cam, float).T + np.asarray(t_world_from_cam, float))[:, [0, 2]]


def depth_colour_map() -> Any:
    """The colour map of depth pictures: turbo, masked (invalid) pixels black."""
    return pyplot().get_cmap("turbo").with_extremes(bad="black")


def save_png(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (folders made) and close it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    pyplot().close(fig)
    return path


def png_data_uri(fig: Any, dpi: int = 90) -> str:
    """``fig`` as a ``data:image/png;base64,...`` URI (tight bounding box); the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


__all__ = ["depth_colour_map", "draw_boxes", "draw_matches", "draw_points", "frustum_segments", "frustum_top_down",
           "match_colours", "png_data_uri", "pyplot", "save_png", "side_by_side"]
