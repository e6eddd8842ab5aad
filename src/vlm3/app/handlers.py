"""One function per action on the page, each calling the Python API (``vlm3.infer.api``).

Every handler takes the ``Session`` and the page's raw inputs (file paths of uploads, text
fields), returns plain values (file paths, Markdown) and starts its tuple with a one-line
message: empty when all went well, else what to fix (``guarded``). Nothing raises to Gradio,
so neither the page nor the log shows a traceback for a user's mistake; an unexpected error
is one line too (logged as one line). Long work (grids) runs in chunks and reports progress
through ``progress(fraction, desc)`` (Gradio's ``gr.Progress`` or any callable).

Coordinates are pixels of the uploaded images (x = column, y = row); depth is metres along
the ray (distance to the camera centre); the pose is camera 2 in camera 1's OpenCV frame.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from vlm3.app import show
from vlm3.app.inputs import (intrinsics_or_none, need_grid, need_image, need_two_images,
                             parse_boxes, parse_points)
from vlm3.app.session import Session
from vlm3.infer import api, outputs, viz
from vlm3.io.images import ImageReadError

log = logging.getLogger("vlm3.app")
#: questions per model call when a grid is split for progress
CHUNK_QUERIES = 128
Progress = Callable[..., Any]


def _no_progress(*_: Any, **__: Any) -> None:
    return None


def one_line(err: BaseException) -> str:
    """The first line of an error's message (its type when it has none)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def guarded(n_outputs: int) -> Callable:
    """Decorate a handler returning ``n_outputs`` values: it then returns ("", *values), or
    (message, None, ...) on bad input (``InputError``, an unreadable image) and on any other
    error (one line, also logged as one line)."""
    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> tuple:
            try:
                return ("", *fn(*args, **kwargs))
            except (api.InputError, ImageReadError) as err:
                return (f"⚠ {one_line(err)}", *([None] * n_outputs))
            except Exception as err:  # noqa: BLE001 - the page shows one line, never a traceback
                log.error("%s failed: %s: %s", fn.__name__, type(err).__name__, one_line(err))
                return (f"⚠ unexpected error: {type(err).__name__}: {one_line(err)}", *([None] * n_outputs))
        return run
    return deco


def _chunks(n: int, size: int) -> list[np.ndarray]:
    return np.array_split(np.arange(n), max(1, -(-n // size))) if n else []


def _chunked(s: Session, n: int, ask: Callable[[Any, np.ndarray], Any], what: str,
             progress: Progress) -> tuple[list[Any], list[str], float]:
    """Ask ``n`` points in chunks of ``CHUNK_QUERIES`` (``ask(model, indices)``; progress per chunk):
    (the chunks' results, every question sent, the seconds)."""
    parts, questions, seconds = [], [], 0.0
    chunks = _chunks(n, CHUNK_QUERIES)
    for i, idx in enumerate(chunks):
        progress(i / len(chunks), desc=f"{what}: {idx[0]}/{n} points asked")
        call = s.call(lambda m, idx=idx: ask(m, idx))
        parts.append(call.result)
        questions += call.questions
        seconds += call.seconds
    return parts, questions, seconds


def _model_grid(s: Session, task: str, path: Any, K: str | None, calibration: str, gw: int, gh: int) -> np.ndarray:
    """(gw * gh, 2) pixels of the uploaded image: a grid laid over the part the model sees when
    asked ``task`` (its focal and pixel budget), row-major."""
    st = s.model.settings(task)
    prep = api.prepare_image(path, K, st["focal_px"], st["max_pixels"], calibration,
                             preprocessing=st["preprocessing"])
    return api.grid_over_model_image(prep, gw, gh)


# ------------------------------------------------------------------ depth
def _depth_call(s: Session, path: Any, K: str | None, calibration: str, xy: np.ndarray,
                progress: Progress) -> tuple[Any, list[str], float]:
    """model.depth on ``xy`` (N, 2) pixels in chunks (progress per chunk): the merged result,
    every question sent, the seconds."""
    parts, questions, seconds = _chunked(
        s, len(xy), lambda m, idx: m.depth(path, K, points=xy[idx], calibration=calibration), "depth", progress)
    first = parts[0]
    res = replace(first, xy_px=np.concatenate([p.xy_px for p in parts]),
                  depth_m=np.concatenate([p.depth_m for p in parts]), xyz_m=np.concatenate([p.xyz_m for p in parts]),
                  raw=[r for p in parts for r in p.raw], ok=[o for p in parts for o in p.ok])
    return res, questions, seconds


@guarded(4)
def depth_points(s: Session, image: str | None, points: str | None, K: str | None, calibration: str,
                 progress: Progress = _no_progress) -> tuple[str, str, str, str]:
    """Depth at the clicked / typed points -> (picture path, table, summary line, details)."""
    path, xy, K = need_image(image), parse_points(points), intrinsics_or_none(K)
    given = api.given_image(path)  # read once: every chunk and the picture reuse it
    res, questions, seconds = _depth_call(s, given, K, calibration, xy, progress)
    out = s.out_dir("depth-points")
    pic = viz.depth_png(out / "depth.png", given.pixels, res.xy_px, res.depth_m)
    line = show.summary(sum(res.ok), len(res.ok), [res.prepared.camera_json()], res.prepared.notes, seconds)
    return str(pic), show.depth_table(res.xy_px, res.depth_m, res.raw), \
        line, show.details(questions, res.raw, s.settings("depth"), seconds)


@guarded(6)
def depth_grid(s: Session, image: str | None, grid: str | None, K: str | None, calibration: str,
               progress: Progress = _no_progress) -> tuple[str, str, list[str], str, str, str]:
    """A dense grid laid over what the model sees -> (coloured map picture, point cloud .ply,
    downloads [.npy, 16-bit PNG, .ply, .json], table, summary line, details)."""
    path, (gw, gh), K = need_image(image), need_grid(grid), intrinsics_or_none(K)
    given = api.given_image(path)  # read once: the grid, every chunk and the outputs reuse it
    xy = _model_grid(s, "depth", given, K, calibration, gw, gh)
    res, questions, seconds = _depth_call(s, given, K, calibration, xy, progress)
    res = replace(res, grid_shape=(gh, gw))
    progress(1.0, desc="writing the depth map and point cloud")
    out = s.out_dir("depth-grid")
    names = outputs.write_depth(out, given.pixels, res, {"model": s.model.name, "grid": f"{gw}x{gh}",
                                                                 "settings": s.settings("depth")})
    files = [str(out / n) for n in names if n != "depth.png"]
    line = show.summary(sum(res.ok), len(res.ok), [res.prepared.camera_json()], res.prepared.notes, seconds)
    return str(out / "depth.png"), str(out / "points.ply"), files, show.depth_table(res.xy_px, res.depth_m, res.raw), \
        line, show.details(questions, res.raw, s.settings("depth"), seconds)


# ------------------------------------------------------------------ correspondence
def _match(s: Session, paths: tuple[str, str], xy: np.ndarray, K1: str | None, K2: str | None, calibration: str,
           progress: Progress) -> tuple[str, str, str, str]:
    paths = tuple(api.given_image(p) for p in paths)  # read once: every chunk and the picture reuse them
    parts, questions, seconds = _chunked(
        s, len(xy), lambda m, idx: m.match(paths[0], paths[1], xy[idx], K1, K2, calibration=calibration), "matches",
        progress)
    res = replace(parts[0], xy0_px=np.concatenate([p.xy0_px for p in parts]),
                  xy1_px=np.concatenate([p.xy1_px for p in parts]), raw=[r for p in parts for r in p.raw],
                  ok=[o for p in parts for o in p.ok])
    out = s.out_dir("match")
    pic = viz.match_png(out / "matches.png", paths[0].pixels, paths[1].pixels, res.xy0_px, res.xy1_px)
    line = show.summary(sum(res.ok), len(res.ok), res.cameras, res.notes, seconds)
    return str(pic), show.match_table(res.xy0_px, res.xy1_px, res.raw), \
        line, show.details(questions, res.raw, s.settings("correspondence"), seconds)


@guarded(4)
def match_points(s: Session, image1: str | None, image2: str | None, points: str | None, K1: str | None,
                 K2: str | None, calibration: str, progress: Progress = _no_progress) -> tuple[str, str, str, str]:
    """Points clicked in image 1 -> (picture with lines to image 2, table, summary line, details)."""
    paths = need_two_images(image1, image2)
    return _match(s, paths, parse_points(points), intrinsics_or_none(K1), intrinsics_or_none(K2), calibration,
                  progress)


@guarded(4)
def match_grid(s: Session, image1: str | None, image2: str | None, grid: str | None, K1: str | None,
               K2: str | None, calibration: str, progress: Progress = _no_progress) -> tuple[str, str, str, str]:
    """A regular grid of points over the part of image 1 the model sees -> as ``match_points``."""
    paths, (gw, gh) = need_two_images(image1, image2), need_grid(grid)
    K1, K2 = intrinsics_or_none(K1), intrinsics_or_none(K2)
    paths = (api.given_image(paths[0]), api.given_image(paths[1]))
    xy = _model_grid(s, "correspondence", paths[0], K1, calibration, gw, gh)
    return _match(s, paths, xy, K1, K2, calibration, progress)


# ------------------------------------------------------------------ pose
@guarded(4)
def pose(s: Session, image1: str | None, image2: str | None, K1: str | None, K2: str | None,
         calibration: str) -> tuple[str | None, str, str, str]:
    """The relative pose -> (frustum drawing or None when the answers give no rotation, the four
    answers with R / t / distance, summary line, details)."""
    paths = need_two_images(image1, image2)
    call = s.call(lambda m: m.pose(paths[0], paths[1], intrinsics_or_none(K1), intrinsics_or_none(K2),
                                   calibration=calibration))
    res = call.result
    T = res.T_cam0_from_cam1()
    pic = None if T is None else str(viz.frustum_png(s.out_dir("pose") / "frustums.png", T))
    line = show.summary(None, None, res.cameras, res.notes, call.seconds)
    return pic, show.pose_text(res), line, show.details(call.questions, list(res.raw.values()),
                                                                  s.settings("pose"), call.seconds)


# ------------------------------------------------------------------ object
def question_templates(s: Session) -> dict[str, str]:
    """SpatialRGPT-style questions in the model's object text format, with ``[A]`` / ``[B]``
    where the boxes go: label -> question (the task's own templates, template 0)."""
    from vlm3.protocol import format_version_of
    from vlm3.tasks.common import text_format_for
    from vlm3.tasks.object.questions import QUALITATIVE_PREDICATES, QUANTITATIVE_KINDS, SINGLE_REGION_KINDS

    fmt = text_format_for("object", format_version_of(s.model.settings("object")["text_format"]))
    a, b = [11, 22, 33, 44], [55, 66, 77, 88]
    ra, rb = fmt.region_text(a), fmt.region_text(b)

    def placeholders(q: str) -> str:
        return q.replace(ra, "[A]").replace(rb, "[B]")

    out = {}
    for p in QUALITATIVE_PREDICATES:
        q = placeholders(fmt.render_qualitative(p, a, b, True)[0])
        out[f"{p}: {q}"] = q
    for kind in QUANTITATIVE_KINDS:
        value = 3 if kind == "direction" else 1.0
        q, _ = fmt.render_quantitative(kind, a, None if kind in SINGLE_REGION_KINDS else b, value)
        out[f"{kind}: {placeholders(q)}"] = placeholders(q)
    return out


@guarded(4)
def ask(s: Session, image: str | None, question: str | None, boxes: str | None, K: str | None,
        calibration: str) -> tuple[str, str, str, str]:
    """A question about boxed regions -> (picture with the question's boxes (green) and the
    answer's (red), the answer, summary line, details)."""
    path, box_list = need_image(image), parse_boxes(boxes)
    given = api.given_image(path)
    call = s.call(lambda m: m.ask(given, question or "", intrinsics_or_none(K), boxes=box_list,
                                  calibration=calibration))
    res = call.result
    out = s.out_dir("object")
    pic = viz.boxes_png(out / "boxes.png", given.pixels, res.boxes_px, res.answer_boxes_px)
    line = show.summary(None, None, [res.prepared.camera_json()], res.prepared.notes, call.seconds)
    return str(pic), show.answer(res.answer), line, show.details(call.questions, [res.answer], s.settings("object"),
                                                          call.seconds)


# ------------------------------------------------------------------ calibration
@guarded(3)
def calibrate(s: Session, image: str | None, K_known: str | None = None) -> tuple[str, str, str]:
    """The field of view of an image (``Model.calibrate``: the image as given, downsized to the
    budget) -> (the field of view and the focal length fx = fy in pixels of the image, with the
    intrinsics to paste into another tab; against ``K_known`` when given; summary line, details)."""
    path = need_image(image)
    known = api.parse_intrinsics(intrinsics_or_none(K_known))
    call = s.call(lambda m: m.calibrate(path))
    res = call.result
    line = show.summary(int(res.ok), 1, [], res.notes, call.seconds)
    return show.calibration_text(res, known), line, show.details(call.questions, [res.raw], s.settings("calibration"),
                                                                 call.seconds)
