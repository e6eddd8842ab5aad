"""The questions a user asks a model: depth at pixels, matches between two images, the
relative pose of two cameras, a free question about one image, and any task asked about one
image alone (``predict_image_task``: the task unit's ``predict_verb``, e.g. ``calibrate``).

Each function prepares the images like the data engine (``vlm3.infer.inputs.prepare_image``),
writes the questions in the text format the model was trained on (``text_format``: "release",
the VLM3 prompts, or "compact", vlm3-compact-v3 of the CPU demo), asks the ``Predictor``
once, parses the answers and maps coordinates back to the ORIGINAL image pixels. Settings
(``focal_px`` in px, ``max_pixels`` in px area) default to each task unit's (the release's);
``vlm3.load``'s ``Model`` fills them from the model's ``vlm3.json``.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from vlm3.infer.inputs import (IntrinsicsLike, as_pixels, check_max_pixels, grid_over_model_image, parse_box,
                               parse_grid, prepare_image, read_image, to_model_px)
from vlm3.infer.results import AskResult, DepthResult, MatchResult, PoseResult
from vlm3.io.images import ImageLike
from vlm3.errors import InputError
from vlm3.predictors.base import Predictor, Request
from vlm3.protocol import TEXT_FORMATS, format_version_of
from vlm3.tasks import get_task


def _text_format(task: str, text_format: str) -> Any:
    """The task's text-format module (prompts and parser) for a format name; InputError if unknown."""
    from vlm3.tasks.common import text_format_for

    if text_format not in TEXT_FORMATS:
        raise InputError(f"unknown text format {text_format!r}: use one of {', '.join(TEXT_FORMATS)} "
                         f"(the format the model was trained on)")
    return text_format_for(task, format_version_of(text_format))


def predict_depth(predictor: Predictor, image: ImageLike, xy_px: np.ndarray | None = None,
                  intrinsics: IntrinsicsLike = None, focal_px: float = get_task("depth").focal_px,
                  max_pixels: int = get_task("depth").max_pixels, calibration: str = "none", text_format: str = "release",
                  grid: tuple[int, int] | str | None = None, preprocessing: str = "project") -> DepthResult:
    """Metric depth (ray length, metres) at original-image pixels ``xy_px`` (N, 2), or on a
    ``grid`` (W, H) laid over the image the model sees (result rows row-major, ``grid_shape`` (H, W)).
    Give exactly one of the two. ``calibration`` "none" (the default) refuses an image without
    intrinsics: metric depth needs them.

    ``text_format``: "release" (VLM3 prompts) or "compact" (vlm3-compact-v3, the CPU demo's)."""
    from vlm3.protocol import codecs

    fmt = _text_format("depth", text_format)
    if (xy_px is None) == (grid is None):
        raise InputError("give exactly one of points 'x,y;x,y;...' or a grid WxH")
    gw_gh = parse_grid(grid) if grid is not None else None
    prep = prepare_image(image, intrinsics, focal_px, max_pixels, calibration, preprocessing=preprocessing)
    if gw_gh is not None:
        xy = grid_over_model_image(prep, *gw_gh)
        dst = prep.pixmap.to_dst(xy)
    else:
        xy = as_pixels(xy_px, "point")
        dst = to_model_px(prep, xy, "point")
    norm = codecs.encode_xy_norm2000(dst, prep.camera.width, prep.camera.height)
    qs = [fmt.prompt((int(a), int(b))) for a, b in norm]
    queries = [{"xy_px": p.tolist(), "xy_norm2000": n.tolist()} for p, n in zip(dst, norm)]
    texts = predictor.predict([Request("depth", "depth", [prep.image], qs, queries=queries,
                                       cameras=[prep.camera.to_dict()],
                                       format_version=format_version_of(text_format))])[0].texts
    parsed = [fmt.parse_answer(t) for t in texts]
    d = np.array([p.value if p.ok else np.nan for p in parsed], dtype=np.float64)
    cam = prep.original_camera
    rays = np.c_[(xy[:, 0] - cam.cx) / cam.fx, (xy[:, 1] - cam.cy) / cam.fy, np.ones(len(xy))]
    xyz = rays / np.linalg.norm(rays, axis=1, keepdims=True) * d[:, None]
    shape = (gw_gh[1], gw_gh[0]) if gw_gh is not None else None
    return DepthResult(xy, d, xyz, texts, [p.ok for p in parsed], prep, shape)


def predict_match(predictor: Predictor, image1: ImageLike, image2: ImageLike, xy1_px: np.ndarray,
                  intrinsics1: IntrinsicsLike = None, intrinsics2: IntrinsicsLike = None,
                  focal_px: float = get_task("correspondence").focal_px,
                  max_pixels: int = get_task("correspondence").max_pixels, calibration: str = "fov60",
                  text_format: str = "release", preprocessing: str = "project") -> MatchResult:
    """Pixels of image 2 matching ``xy1_px`` (N, 2) of image 1 (original pixels both). An image
    without intrinsics gets the ``calibration`` guess (default a 60 deg field of view), said in
    ``notes`` and recorded in ``cameras[i]["from"]``: the focal normalisation needs a focal."""
    from vlm3.protocol import codecs

    fmt = _text_format("correspondence", text_format)
    p1 = prepare_image(image1, intrinsics1, focal_px, max_pixels, calibration, preprocessing=preprocessing)
    p2 = prepare_image(image2, intrinsics2, focal_px, max_pixels, calibration, preprocessing=preprocessing)
    xy = as_pixels(xy1_px, "point")
    dst = to_model_px(p1, xy, "point")
    norm = codecs.encode_xy_norm1000(dst, p1.camera.width, p1.camera.height)
    qs = [fmt.prompt((int(a), int(b))) for a, b in norm]
    queries = [{"query_xy_px": p.tolist(), "query_xy_norm1000": n.tolist()} for p, n in zip(dst, norm)]
    texts = predictor.predict([Request("match", "correspondence", [p1.image, p2.image], qs, queries=queries,
                                       cameras=[p1.camera.to_dict(), p2.camera.to_dict()],
                                       format_version=format_version_of(text_format))])[0].texts
    out = np.full_like(xy, np.nan)
    ok = []
    for i, t in enumerate(texts):
        p = fmt.parse_answer(t)
        ok.append(p.ok)
        if p.ok:
            std_px = codecs.decode_xy_norm1000(np.asarray(p.value, float), p2.camera.width, p2.camera.height)
            out[i] = p2.pixmap.to_src(np.asarray(std_px).reshape(1, 2))[0]
    return MatchResult(xy, out, texts, ok, [p1.camera_json(), p2.camera_json()], p1.notes + p2.notes)


def predict_pose(predictor: Predictor, image1: ImageLike, image2: ImageLike, intrinsics1: IntrinsicsLike = None,
                 intrinsics2: IntrinsicsLike = None, focal_px: float = get_task("pose").focal_px,
                 max_pixels: int = get_task("pose").max_pixels,
                 calibration: str = "none", text_format: str = "release", preprocessing: str = "project"
                 ) -> PoseResult:
    """Relative pose of camera 1 (image2) w.r.t. camera 0 (image1) in camera 0's OpenCV frame,
    from the format's pose questions (rotation, direction, distance; ``PoseResult``). The release
    pose focal is 750 px; ``calibration`` "none" refuses an image without intrinsics."""
    fmt = _text_format("pose", text_format)
    p1 = prepare_image(image1, intrinsics1, focal_px, max_pixels, calibration, preprocessing=preprocessing)
    p2 = prepare_image(image2, intrinsics2, focal_px, max_pixels, calibration, preprocessing=preprocessing)
    ids = list(fmt.QUESTION_IDS)
    texts = predictor.predict([Request("pose", "pose", [p1.image, p2.image], [fmt.QUESTIONS[i] for i in ids],
                                       question_ids=ids, cameras=[p1.camera.to_dict(), p2.camera.to_dict()],
                                       format_version=format_version_of(text_format))])[0].texts
    raw = dict(zip(ids, texts))
    p = fmt.parse_answers(raw)
    v = p.value if isinstance(p.value, fmt.PoseText) else fmt.PoseText()
    return PoseResult(p.ok, v.R_cam0_from_cam1, v.t_unit_cam0, v.distance_m, v.yaw_pitch_roll_deg, raw, p.reason,
                      [p1.camera_json(), p2.camera_json()], p1.notes + p2.notes)


def predict_image_task(predictor: Predictor, task: str, image: ImageLike, max_pixels: int,
                       text_format: str = "release") -> Any:
    """Ask a task that needs nothing but one image (its unit's ``predict_verb``: calibration's
    ``calibrate``): the unit prepares the image as its data engine does (``Task.prepare_image``),
    writes its questions in ``text_format`` and turns the answers into its result type
    (``Task.image_result``: ``to_json()``, ``lines()``). The image is read once."""
    unit = get_task(task)
    if unit.predict_verb is None:
        raise InputError(f"task {task!r} is not asked about an image alone")
    _text_format(task, text_format)  # InputError for an unknown format name
    pixels = read_image(image)
    shown = unit.prepare_image(pixels, check_max_pixels(max_pixels))
    fv = format_version_of(text_format)
    texts = predictor.predict([Request(unit.predict_verb, task, [shown], unit.image_questions(fv),
                                       format_version=fv)])[0].texts
    return unit.image_result(texts, fv, (pixels.shape[1], pixels.shape[0]), (shown.shape[1], shown.shape[0]))


_PLACEHOLDERS = ("[A]", "[B]", "[C]", "[D]")
_ANSWER_REGION = re.compile(r"region\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)


def ask(predictor: Predictor, image: ImageLike, question: str, intrinsics: IntrinsicsLike = None,
        focal_px: float = get_task("object").focal_px,
        max_pixels: int = get_task("object").max_pixels, calibration: str = "fov60", text_format: str = "release",
        boxes_px: Sequence[Sequence[float] | str] = (), preprocessing: str = "project") -> AskResult:
    """Free question about one image. ``boxes_px`` ([x1, y1, x2, y2] in ORIGINAL pixels) replace the
    placeholders ``[A]``, ``[B]``, ... of the question, written as the text format's region (its
    [0, 1000] grid of the image the model sees); regions in the answer come back in original pixels.
    An image without intrinsics gets the ``calibration`` guess (default 60 deg), said in the notes."""
    from vlm3.protocol import codecs

    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty: write it as text, with [A], [B], ... where boxes go")
    fmt = _text_format("object", text_format)
    boxes = [parse_box(b) for b in boxes_px]
    wanted = [p for p in _PLACEHOLDERS if p in question]
    if len(wanted) != len(boxes) or wanted != list(_PLACEHOLDERS[:len(boxes)]):
        raise InputError(f"the question has placeholders {wanted or 'none'} but {len(boxes)} --box given: "
                         f"write [A] (then [B], ...) where each box goes, one --box x1,y1,x2,y2 per placeholder")
    prep = prepare_image(image, intrinsics, focal_px, max_pixels, calibration, preprocessing=preprocessing)
    cam, sent = prep.camera, question
    for name, box in zip(_PLACEHOLDERS, boxes):
        corners = to_model_px(prep, np.array([box[:2], box[2:]]), "box corner")
        norm = codecs.encode_box_norm1000(np.r_[corners[0], corners[1]], cam.width, cam.height)
        sent = sent.replace(name, fmt.region_text(norm.tolist()))
    answer = predictor.predict([Request("ask", "object", [prep.image], [sent], format_version=format_version_of(
        text_format))])[0].texts[0]
    back = []
    for m in _ANSWER_REGION.finditer(answer):
        n = np.array([int(v) for v in m.groups()], dtype=np.float64)
        if n[2] >= n[0] and n[3] >= n[1]:
            px = codecs.decode_box_norm1000(n, cam.width, cam.height)
            c = prep.pixmap.to_src(np.array([px[:2], px[2:]]))
            back.append([*c[0].tolist(), *c[1].tolist()])
    return AskResult(question, sent, answer, boxes, back, prep)

