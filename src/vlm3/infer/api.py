"""User-facing functions: ask a model about your own images, get values in your pixels.

``predict_depth``, ``predict_match``, ``predict_pose`` and ``ask`` prepare images exactly
like the data engine does (focal normalisation to ``focal_px``, crop to the 32-px grid and
pixel budget), write the questions through the protocol, ask the predictor, parse the
answers and map coordinates back to the ORIGINAL image pixels through the standardisation
record (``PixelMap``). Raw text and parse status are kept in every result.

Missing intrinsics follow the data engine's calibration policy (``vlm3.standardize.calibration``):
``"none"`` refuses with a message saying how to fix it, ``"fov60"`` etc. is a stated guess,
``"anycalib"`` uses AnyCalib when installed. Bad input raises ``InputError`` (one line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from vlm3.geometry.camera import Camera
from vlm3.io.images import ImageLike, ImageReadError, read_rgb
from vlm3.predictors.base import InputError, Predictor, Request
from vlm3.protocol import TEXT_FORMATS, format_version_of
from vlm3.tasks.common import RELEASE_MAX_PIXELS


@dataclass
class Prepared:
    """An image as the model sees it plus the record mapping its pixels to the original."""

    image: np.ndarray
    camera: Camera
    pixmap: Any
    original_camera: Camera
    camera_from: str


@dataclass
class DepthResult:
    """xy_px: (N, 2) original pixels; depth_m: (N,) ray length (NaN where unparsed); xyz_m: (N, 3)
    camera-frame points (OpenCV, original camera); raw/ok per point."""

    xy_px: np.ndarray
    depth_m: np.ndarray
    xyz_m: np.ndarray
    raw: list[str]
    ok: list[bool]
    prepared: Prepared


@dataclass
class MatchResult:
    """xy0_px (N, 2) in image 1 -> xy1_px (N, 2) in image 2 (original pixels, NaN where unparsed)."""

    xy0_px: np.ndarray
    xy1_px: np.ndarray
    raw: list[str]
    ok: list[bool]


@dataclass
class PoseResult:
    """Camera 1 (the second image) relative to camera 0 (the first), in camera 0's OpenCV
    frame: ``R_cam0_from_cam1`` (columns = camera 1's axes in camera 0) and ``t_unit_cam0``
    (unit direction of camera 1's centre in camera-0 coordinates)."""

    ok: bool
    R_cam0_from_cam1: np.ndarray | None
    t_unit_cam0: np.ndarray | None
    distance_m: float | None
    yaw_pitch_roll_deg: tuple[float, float, float] | None
    raw: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason,
                "R_cam0_from_cam1": None if self.R_cam0_from_cam1 is None else self.R_cam0_from_cam1.tolist(),
                "t_unit_cam0": None if self.t_unit_cam0 is None else self.t_unit_cam0.tolist(),
                "distance_m": self.distance_m, "yaw_pitch_roll_deg": self.yaw_pitch_roll_deg, "raw": self.raw}


def parse_intrinsics(text: str | Sequence[float] | None) -> tuple[float, float, float, float] | None:
    """``"fx,fy,cx,cy"`` (pixels) -> 4 floats; InputError for the wrong count or non-numbers."""
    if text is None:
        return None
    parts = [p for p in text.replace(" ", "").split(",") if p] if isinstance(text, str) else list(text)
    if len(parts) != 4:
        raise InputError(f"intrinsics need exactly 4 numbers fx,fy,cx,cy (pixels), got {len(parts)}: {text!r}")
    try:
        vals = tuple(float(v) for v in parts)
    except ValueError:
        raise InputError(f"intrinsics must be numbers fx,fy,cx,cy, got {text!r}") from None
    if vals[0] <= 0 or vals[1] <= 0:
        raise InputError(f"focal lengths fx, fy must be positive, got {vals[0]}, {vals[1]}")
    return vals  # type: ignore[return-value]


def read_image(image: ImageLike) -> np.ndarray:
    """A user's image (path, array or PIL image) as (H, W, 3) uint8 RGB; InputError if unusable."""
    try:
        return read_rgb(image)
    except ImageReadError as err:
        if err.missing:
            raise InputError(f"image not found: {err.path} (check the path)") from None
        raise InputError(f"cannot read image {err.path}: {err.problem}") from None


def prepare_image(image: ImageLike, intrinsics: Sequence[float] | str | None, focal_px: float,
                  max_pixels: int, calibration: str = "none", grid: int = 32) -> Prepared:
    """Standardise one image like the data engine (focal normalisation + grid crop)."""
    from vlm3.standardize.calibration import camera_for
    from vlm3.io.records import RecordError
    from vlm3.geometry.crop import crop_to_grid
    from vlm3.geometry.focal import normalize_focal

    arr = read_image(image)
    h, w = arr.shape[:2]
    k = parse_intrinsics(intrinsics)
    cam = Camera.from_fx_fy_cx_cy(*k, w, h) if k is not None else None
    try:
        cam, source = camera_for(str(image) if not hasattr(image, "shape") else "<array>", arr, cam, calibration)
    except (RecordError, ValueError) as err:
        raise InputError(f"no intrinsics: pass --intrinsics fx,fy,cx,cy ({err})") from None
    std = crop_to_grid(normalize_focal(arr, cam, focal_px), max_pixels, grid)
    return Prepared(std.image, std.camera, std.pixmap, cam, source)


def _to_model_px(prep: Prepared, xy_px: np.ndarray, what: str) -> np.ndarray:
    xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
    cam0 = prep.original_camera
    bad = ~cam0.contains(xy)
    if bad.any():
        raise InputError(f"{what} {xy[bad][0].tolist()} is outside the {cam0.width}x{cam0.height} image")
    dst = prep.pixmap.to_dst(xy)
    cut = ~prep.camera.contains(dst)
    if cut.any():
        raise InputError(f"{what} {xy[cut][0].tolist()} falls outside the part of the image the model sees "
                         f"(cropped to the pixel budget); raise --max-pixels or pick points nearer the centre")
    return dst


def grid_points_px(width: int, height: int, grid_w: int, grid_h: int) -> np.ndarray:
    """(grid_w * grid_h, 2) cell-centre pixels of a regular grid, row-major."""
    if grid_w < 1 or grid_h < 1:
        raise InputError(f"grid must be at least 1x1, got {grid_w}x{grid_h}")
    xs = (np.arange(grid_w) + 0.5) * width / grid_w - 0.5
    ys = (np.arange(grid_h) + 0.5) * height / grid_h - 0.5
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def _text_format(task: str, text_format: str) -> Any:
    """The task's text-format module (prompts and parser) for a format name."""
    from vlm3.tasks.common import text_format_for
    if text_format not in TEXT_FORMATS:
        raise InputError(f"unknown text format {text_format!r}: use one of {', '.join(TEXT_FORMATS)} "
                         f"(the format the model was trained on)")
    return text_format_for(task, format_version_of(text_format))


def predict_depth(predictor: Predictor, image: ImageLike, xy_px: np.ndarray, intrinsics=None,
                  focal_px: float = 1000.0, max_pixels: int = RELEASE_MAX_PIXELS, calibration: str = "none",
                  text_format: str = "release") -> DepthResult:
    """Metric depth (ray length, metres) at original-image pixels ``xy_px`` (N, 2).

    ``text_format``: "release" (VLM3 prompts) or "compact" (vlm3-compact-v3, the CPU demo's)."""
    from vlm3.protocol import codecs
    fmt = _text_format("depth", text_format)
    prep = prepare_image(image, intrinsics, focal_px, max_pixels, calibration)
    xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
    dst = _to_model_px(prep, xy, "point")
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
    return DepthResult(xy, d, xyz, texts, [p.ok for p in parsed], prep)


def predict_match(predictor: Predictor, image1: ImageLike, image2: ImageLike, xy1_px: np.ndarray,
                  intrinsics1=None, intrinsics2=None, focal_px: float = 1000.0, max_pixels: int = RELEASE_MAX_PIXELS,
                  calibration: str = "fov60", text_format: str = "release") -> MatchResult:
    """Pixels of image 2 matching ``xy1_px`` (N, 2) of image 1 (original pixels both)."""
    from vlm3.protocol import codecs
    fmt = _text_format("correspondence", text_format)
    p1 = prepare_image(image1, intrinsics1, focal_px, max_pixels, calibration)
    p2 = prepare_image(image2, intrinsics2, focal_px, max_pixels, calibration)
    xy = np.asarray(xy1_px, dtype=np.float64).reshape(-1, 2)
    dst = _to_model_px(p1, xy, "point")
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
    return MatchResult(xy, out, texts, ok)


def predict_pose(predictor: Predictor, image1: ImageLike, image2: ImageLike, intrinsics1=None, intrinsics2=None,
                 focal_px: float = 750.0, max_pixels: int = RELEASE_MAX_PIXELS, calibration: str = "none",
                 text_format: str = "release") -> PoseResult:
    """Relative pose of camera 1 (image2) w.r.t. camera 0 (image1) from the four pose questions."""
    fmt = _text_format("pose", text_format)
    p1 = prepare_image(image1, intrinsics1, focal_px, max_pixels, calibration)
    p2 = prepare_image(image2, intrinsics2, focal_px, max_pixels, calibration)
    ids = list(fmt.QUESTION_IDS)
    texts = predictor.predict([Request("pose", "pose", [p1.image, p2.image], [fmt.QUESTIONS[i] for i in ids],
                                       question_ids=ids, cameras=[p1.camera.to_dict(), p2.camera.to_dict()],
                                       format_version=format_version_of(text_format))])[0].texts
    raw = dict(zip(ids, texts))
    p = fmt.parse_answers(raw)
    v = p.value if isinstance(p.value, fmt.PoseText) else fmt.PoseText()
    return PoseResult(p.ok, v.R_cam0_from_cam1, v.t_unit_cam0, v.distance_m, v.yaw_pitch_roll_deg, raw, p.reason)


def ask(predictor: Predictor, image: ImageLike, question: str, intrinsics=None, focal_px: float = 1000.0,
        max_pixels: int = RELEASE_MAX_PIXELS, calibration: str = "fov60") -> str:
    """Free question about one image; boxes in the question are [0, 1000] coordinates of the image
    the model sees (write them with ``vlm3.tasks.object.text.region_text``). Returns the raw answer."""
    if not question.strip():
        raise InputError("the question is empty")
    prep = prepare_image(image, intrinsics, focal_px, max_pixels, calibration)
    return predictor.predict([Request("ask", "object", [prep.image], [question])])[0].texts[0]
