"""User-facing functions: ask a model about your own images, get values in your pixels.

``predict_depth``, ``predict_match``, ``predict_pose`` and ``ask`` prepare images exactly
like the data engine does (focal normalisation to ``focal_px``, crop to the 32-px grid and
pixel budget), write the questions through the protocol, ask the predictor, parse the
answers and map coordinates back to the ORIGINAL image pixels through the standardisation
record (``PixelMap``). Raw text and parse status are kept in every result. A depth grid
(``grid=(W, H)``) is laid over the image the model sees and mapped back, so any grid up to
the model image's size fits.

Missing intrinsics follow the data engine's calibration policy (``vlm3.standardize.calibration``):
``"none"`` refuses with a message saying how to fix it, ``"fov60"`` etc. is a stated guess
(said in ``Prepared.notes`` and recorded as ``camera_from``), ``"anycalib"`` uses AnyCalib
when installed. An EXIF orientation tag is noted, not applied (the stored pixels are used, and
intrinsics are those of the stored pixels). Bad input raises ``InputError`` (one line).

``load(path)`` (``vlm3.load``) checks a model folder (weights intact, tokenizer present), silences
transformers' loading bars and deprecation warnings, and wraps these functions in a ``Model``
that knows how it must be asked (its ``vlm3.json``, ``vlm3.model.asking``): ``model.depth``,
``.match``, ``.pose``, ``.ask``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm3.geometry.camera import Camera, GeometryError
from vlm3.io.images import ImageLike, ImageReadError, read_rgb
from vlm3.predictors.base import InputError, Predictor, Request
from vlm3.protocol import TEXT_FORMATS, format_version_of
from vlm3.tasks.common import RELEASE_MAX_PIXELS

#: the most questions one call asks (a 64 x 64 depth grid)
MAX_QUERIES = 4096
#: the largest focal-normalised image (px area) before the crop: beyond it the intrinsics are wrong
MAX_RESAMPLED_PIXELS = 100_000_000
#: the smallest image a model can see: one 32 x 32 visual token
MIN_IMAGE_PX = 32


@dataclass
class Prepared:
    """An image as the model sees it plus the record mapping its pixels to the original.

    ``camera_from``: "given", "fallback:fov60", "calibrated:anycalib"; ``notes``: one-line
    remarks for the user (guessed intrinsics, EXIF orientation)."""

    image: np.ndarray
    camera: Camera
    pixmap: Any
    original_camera: Camera
    camera_from: str
    notes: list[str] = field(default_factory=list)

    def camera_json(self) -> dict[str, Any]:
        """The camera the answers assume (original image pixels) and where it came from."""
        c = self.original_camera
        return {"from": self.camera_from, "fx": round(c.fx, 3), "fy": round(c.fy, 3), "cx": round(c.cx, 3),
                "cy": round(c.cy, 3), "width": c.width, "height": c.height,
                "model_image": [self.camera.width, self.camera.height], "model_focal_px": round(self.camera.fx, 3)}


@dataclass
class DepthResult:
    """xy_px: (N, 2) original pixels; depth_m: (N,) ray length (NaN where unparsed); xyz_m: (N, 3)
    camera-frame points (OpenCV, original camera); raw/ok per point; grid_shape (H, W) for a grid."""

    xy_px: np.ndarray
    depth_m: np.ndarray
    xyz_m: np.ndarray
    raw: list[str]
    ok: list[bool]
    prepared: Prepared
    grid_shape: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        rows = [{"xy_px": _r(p, 2), "depth_m": None if not np.isfinite(d) else round(float(d), 3), "ok": o, "raw": r}
                for p, d, o, r in zip(self.xy_px, self.depth_m, self.ok, self.raw)]
        return {"camera": self.prepared.camera_json(), "notes": self.prepared.notes, "grid_shape": self.grid_shape,
                "parsed": int(sum(self.ok)), "points": rows}


@dataclass
class MatchResult:
    """xy0_px (N, 2) in image 1 -> xy1_px (N, 2) in image 2 (original pixels, NaN where unparsed)."""

    xy0_px: np.ndarray
    xy1_px: np.ndarray
    raw: list[str]
    ok: list[bool]
    cameras: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        rows = [{"xy1_px": _r(a, 2), "xy2_px": _r(b, 2) if o else None, "ok": o, "raw": r}
                for a, b, o, r in zip(self.xy0_px, self.xy1_px, self.ok, self.raw)]
        return {"cameras": self.cameras, "notes": self.notes, "parsed": int(sum(self.ok)), "matches": rows}


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
    cameras: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason,
                "R_cam0_from_cam1": None if self.R_cam0_from_cam1 is None else _r(self.R_cam0_from_cam1, 5),
                "t_unit_cam0": None if self.t_unit_cam0 is None else _r(self.t_unit_cam0, 4),
                "distance_m": None if self.distance_m is None else round(float(self.distance_m), 3),
                "yaw_pitch_roll_deg": None if self.yaw_pitch_roll_deg is None else _r(self.yaw_pitch_roll_deg, 2),
                "raw": self.raw, "cameras": self.cameras, "notes": self.notes}


@dataclass
class AskResult:
    """A free question: what was typed, what the model was sent, its answer, and the boxes of
    the question and of the answer in ORIGINAL image pixels ([x1, y1, x2, y2])."""

    question: str
    sent: str
    answer: str
    boxes_px: list[list[float]]
    answer_boxes_px: list[list[float]]
    prepared: Prepared

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "sent": self.sent, "answer": self.answer,
                "boxes_px": [_r(b, 1) for b in self.boxes_px], "answer_boxes_px": [_r(b, 1) for b in self.answer_boxes_px],
                "camera": self.prepared.camera_json(), "notes": self.prepared.notes}


def _r(values: Any, digits: int) -> list:
    """Nested lists of floats rounded to ``digits`` (JSON output: no 16-digit floats)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


# ------------------------------------------------------------------ checks of user input
def check_focal_px(value: float) -> float:
    """A canonical focal length in px (> 0, finite); InputError otherwise."""
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"--focal-px must be a positive number of pixels (the training focal, e.g. 1000), got {value}")
    return v


def check_max_pixels(value: int, grid: int = 32) -> int:
    """An image cap in px area (at least one grid cell); InputError otherwise."""
    if int(value) < grid * grid:
        raise InputError(f"--max-pixels must be at least {grid * grid} (one {grid}x{grid} visual token), got {value}")
    return int(value)


def parse_intrinsics(text: str | Sequence[float] | np.ndarray | None) -> tuple[float, float, float, float] | None:
    """``"fx,fy,cx,cy"`` (pixels), 4 numbers or a 3x3 K -> 4 floats; InputError for the wrong count,
    non-numbers, non-finite values or non-positive focal lengths."""
    if text is None:
        return None
    if isinstance(text, np.ndarray) and text.shape == (3, 3):
        text = [text[0, 0], text[1, 1], text[0, 2], text[1, 2]]
    elif not isinstance(text, str) and len(text) == 3 and all(hasattr(r, "__len__") for r in text):
        k = np.asarray(text, dtype=np.float64)
        text = [k[0, 0], k[1, 1], k[0, 2], k[1, 2]]
    parts = [p for p in text.replace(" ", "").split(",") if p] if isinstance(text, str) else list(text)
    if len(parts) != 4:
        raise InputError(f"intrinsics need exactly 4 numbers fx,fy,cx,cy (pixels), got {len(parts)}: {text!r}")
    try:
        vals = tuple(float(v) for v in parts)
    except (TypeError, ValueError):
        raise InputError(f"intrinsics must be numbers fx,fy,cx,cy, got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"intrinsics must be finite numbers fx,fy,cx,cy (pixels), got {text!r}")
    if vals[0] <= 0 or vals[1] <= 0:
        raise InputError(f"focal lengths fx, fy must be positive, got {vals[0]}, {vals[1]}")
    return vals  # type: ignore[return-value]


def parse_grid(text: str | Sequence[int]) -> tuple[int, int]:
    """``"WxH"`` (e.g. ``"32x24"``) or (W, H) -> two ints in [1, ...] with W * H <= MAX_QUERIES."""
    try:
        gw, gh = (int(v) for v in (text.lower().split("x") if isinstance(text, str) else text))
    except (TypeError, ValueError):
        raise InputError(f"--grid must look like 32x24 (columns x rows), got {text!r}") from None
    if gw < 1 or gh < 1:
        raise InputError(f"--grid needs at least 1 column and 1 row, got {gw}x{gh}")
    if gw * gh > MAX_QUERIES:
        raise InputError(f"--grid {gw}x{gh} asks {gw * gh:,} questions; at most {MAX_QUERIES:,} per call "
                         f"(e.g. 64x64): use a coarser grid")
    return gw, gh


def path_exists(path: str | Path) -> bool:
    """``Path.exists`` that is False (not OSError) for names the file system refuses (too long, ...)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def read_image(image: ImageLike) -> np.ndarray:
    """A user's image (path, array or PIL image) as (H, W, 3) uint8 RGB; InputError if unusable."""
    try:
        arr = read_rgb(image)
    except OSError as err:  # a name the file system refuses (too long, ...)
        raise InputError(f"cannot read image {str(image)[:80]}: {err.strerror or err}") from None
    except ImageReadError as err:
        if err.missing:
            raise InputError(f"image not found: {err.path} (check the path)") from None
        raise InputError(f"cannot read image {err.path}: {err.problem}") from None
    if min(arr.shape[:2]) < MIN_IMAGE_PX:
        raise InputError(f"image {_label(image)} is {arr.shape[1]}x{arr.shape[0]} px; the model needs at least "
                         f"{MIN_IMAGE_PX}x{MIN_IMAGE_PX} (one visual token)")
    return arr


def _label(image: ImageLike) -> str:
    return str(image) if isinstance(image, (str, Path)) else "<array>"


def exif_orientation(image: ImageLike) -> int:
    """The EXIF orientation tag of an image file (1 = upright, also for arrays and PIL images)."""
    if not isinstance(image, (str, Path)):
        return 1
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(image) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return 1


def prepare_image(image: ImageLike, intrinsics: Sequence[float] | str | None, focal_px: float,
                  max_pixels: int, calibration: str = "none", grid: int = 32) -> Prepared:
    """Standardise one image like the data engine (focal normalisation + grid crop)."""
    from vlm3.standardize.calibration import camera_for
    from vlm3.io.records import RecordError
    from vlm3.geometry.crop import crop_to_grid
    from vlm3.geometry.focal import normalize_focal

    focal_px, max_pixels = check_focal_px(focal_px), check_max_pixels(max_pixels, grid)
    arr = read_image(image)
    h, w = arr.shape[:2]
    k = parse_intrinsics(intrinsics)
    cam = Camera.from_fx_fy_cx_cy(*k, w, h) if k is not None else None
    label = _label(image)
    try:
        cam, source = camera_for(label, arr, cam, calibration)
    except (RecordError, ValueError) as err:
        if calibration == "none":
            raise InputError(f"no intrinsics for {label}: pass --intrinsics fx,fy,cx,cy (pixels of the image), or "
                             f"--calibration fov60 for a stated guess (anycalib: AnyCalib, when installed)") from None
        raise InputError(f"no intrinsics for {label}: pass --intrinsics fx,fy,cx,cy "
                         f"({getattr(err, 'problem', err)})") from None
    notes = []
    if source.startswith("fallback:"):
        deg = re.search(r"fov(\d+(?:\.\d+)?)", source)
        notes.append(f"{label} has no intrinsics: assumed a {deg.group(1) if deg else '?'} deg horizontal field of view "
                     f"(fx = fy = {cam.fx:.1f} px, centred); metric answers scale with this guess, pass "
                     f"--intrinsics fx,fy,cx,cy")
    orient = exif_orientation(image)
    if orient != 1:
        notes.append(f"{label} has EXIF orientation {orient} (shown rotated by viewers): vlm3 uses the stored "
                     f"pixels as they are; give intrinsics and points for the stored (unrotated) image")
    sw, sh = w * focal_px / cam.fx, h * focal_px / cam.fy
    if sw * sh > MAX_RESAMPLED_PIXELS:
        raise InputError(f"fx={cam.fx:g}, fy={cam.fy:g} would resample the {w}x{h} image to {sw:.3g}x{sh:.3g} px "
                         f"to reach the model's focal {focal_px:g} px: intrinsics are in pixels of the image "
                         f"(fx is typically 0.5-2x its width)")
    try:
        std = crop_to_grid(normalize_focal(arr, cam, focal_px), max_pixels, grid)
    except GeometryError:
        raise InputError(f"fx={cam.fx:g}, fy={cam.fy:g} shrink the {w}x{h} image to {sw:.3g}x{sh:.3g} px at the "
                         f"model's focal {focal_px:g} px, smaller than one {grid}-px cell: check --intrinsics "
                         f"(pixels of the image) and --focal-px") from None
    return Prepared(std.image, std.camera, std.pixmap, cam, source, notes)


def _to_model_px(prep: Prepared, xy_px: np.ndarray, what: str) -> np.ndarray:
    xy = np.asarray(xy_px, dtype=np.float64).reshape(-1, 2)
    cam0 = prep.original_camera
    if len(xy) > MAX_QUERIES:
        raise InputError(f"{len(xy):,} {what}s in one call; at most {MAX_QUERIES:,}")
    bad = ~cam0.contains(xy)
    if bad.any():
        raise InputError(f"{what} {xy[bad][0].tolist()} is outside the {cam0.width}x{cam0.height} image")
    dst = prep.pixmap.to_dst(xy)
    cut = ~prep.camera.contains(dst)
    if cut.any():
        raise InputError(f"{what} {xy[cut][0].tolist()} falls outside the part of the image the model sees "
                         f"(the centre {prep.camera.width}x{prep.camera.height} px at focal {prep.camera.fx:.0f} px); "
                         f"pick points nearer the centre, or use --grid (laid over what the model sees)")
    return dst


def grid_points_px(width: int, height: int, grid_w: int, grid_h: int) -> np.ndarray:
    """(grid_w * grid_h, 2) cell-centre pixels of a regular grid over a width x height image, row-major."""
    if grid_w < 1 or grid_h < 1:
        raise InputError(f"grid must be at least 1x1, got {grid_w}x{grid_h}")
    xs = (np.arange(grid_w) + 0.5) * width / grid_w - 0.5
    ys = (np.arange(grid_h) + 0.5) * height / grid_h - 0.5
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def grid_over_model_image(prep: Prepared, grid_w: int, grid_h: int) -> np.ndarray:
    """(grid_w * grid_h, 2) ORIGINAL-image pixels of a grid laid over the image the model sees."""
    cam = prep.camera
    if grid_w > cam.width or grid_h > cam.height:
        raise InputError(f"--grid {grid_w}x{grid_h} is finer than the {cam.width}x{cam.height} px the model sees; "
                         f"use at most {min(grid_w, cam.width)}x{min(grid_h, cam.height)}")
    return prep.pixmap.to_src(grid_points_px(cam.width, cam.height, grid_w, grid_h))


def _text_format(task: str, text_format: str) -> Any:
    """The task's text-format module (prompts and parser) for a format name."""
    from vlm3.tasks.common import text_format_for
    if text_format not in TEXT_FORMATS:
        raise InputError(f"unknown text format {text_format!r}: use one of {', '.join(TEXT_FORMATS)} "
                         f"(the format the model was trained on)")
    return text_format_for(task, format_version_of(text_format))


def predict_depth(predictor: Predictor, image: ImageLike, xy_px: np.ndarray | None = None, intrinsics=None,
                  focal_px: float = 1000.0, max_pixels: int = RELEASE_MAX_PIXELS, calibration: str = "none",
                  text_format: str = "release", grid: tuple[int, int] | str | None = None) -> DepthResult:
    """Metric depth (ray length, metres) at original-image pixels ``xy_px`` (N, 2), or on a
    ``grid`` (W, H) laid over the image the model sees (result rows row-major, ``grid_shape`` (H, W)).

    ``text_format``: "release" (VLM3 prompts) or "compact" (vlm3-compact-v3, the CPU demo's)."""
    from vlm3.protocol import codecs
    fmt = _text_format("depth", text_format)
    if (xy_px is None) == (grid is None):
        raise InputError("give exactly one of points 'x,y;x,y;...' or a grid WxH")
    gw_gh = parse_grid(grid) if grid is not None else None
    prep = prepare_image(image, intrinsics, focal_px, max_pixels, calibration)
    if gw_gh is not None:
        xy = grid_over_model_image(prep, *gw_gh)
        dst = prep.pixmap.to_dst(xy)
    else:
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
    shape = (gw_gh[1], gw_gh[0]) if gw_gh is not None else None
    return DepthResult(xy, d, xyz, texts, [p.ok for p in parsed], prep, shape)


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
    return MatchResult(xy, out, texts, ok, [p1.camera_json(), p2.camera_json()], p1.notes + p2.notes)


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
    return PoseResult(p.ok, v.R_cam0_from_cam1, v.t_unit_cam0, v.distance_m, v.yaw_pitch_roll_deg, raw, p.reason,
                      [p1.camera_json(), p2.camera_json()], p1.notes + p2.notes)


_PLACEHOLDERS = ("[A]", "[B]", "[C]", "[D]")
_ANSWER_REGION = re.compile(r"region\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)


def parse_box(text: str | Sequence[float]) -> list[float]:
    """``"x1,y1,x2,y2"`` (pixels) or 4 numbers -> a box with x1 <= x2, y1 <= y2; InputError otherwise."""
    parts = [p for p in text.replace(" ", "").split(",") if p] if isinstance(text, str) else list(text)
    try:
        box = [float(v) for v in parts]
    except (TypeError, ValueError):
        raise InputError(f"a box is 4 numbers x1,y1,x2,y2 (pixels), got {text!r}") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] < box[0] or box[3] < box[1]:
        raise InputError(f"a box is 4 finite numbers x1,y1,x2,y2 with x1 <= x2 and y1 <= y2, got {text!r}")
    return box


def ask(predictor: Predictor, image: ImageLike, question: str, intrinsics=None, focal_px: float = 1000.0,
        max_pixels: int = RELEASE_MAX_PIXELS, calibration: str = "fov60", text_format: str = "release",
        boxes_px: Sequence[Sequence[float] | str] = ()) -> AskResult:
    """Free question about one image. ``boxes_px`` ([x1, y1, x2, y2] in ORIGINAL pixels) replace the
    placeholders ``[A]``, ``[B]``, ... of the question, written as the text format's region (its
    [0, 1000] grid of the image the model sees); regions in the answer come back in original pixels."""
    from vlm3.protocol import codecs
    if not question.strip():
        raise InputError("the question is empty")
    fmt = _text_format("object", text_format)
    boxes = [parse_box(b) for b in boxes_px]
    wanted = [p for p in _PLACEHOLDERS if p in question]
    if len(wanted) != len(boxes) or wanted != list(_PLACEHOLDERS[:len(boxes)]):
        raise InputError(f"the question has placeholders {wanted or 'none'} but {len(boxes)} --box given: "
                         f"write [A] (then [B], ...) where each box goes, one --box x1,y1,x2,y2 per placeholder")
    prep = prepare_image(image, intrinsics, focal_px, max_pixels, calibration)
    cam, sent = prep.camera, question
    for name, box in zip(_PLACEHOLDERS, boxes):
        corners = _to_model_px(prep, np.array([box[:2], box[2:]]), "box corner")
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


# ------------------------------------------------------------------ loading a model that knows how it is asked
def quiet_transformers() -> None:
    """No weight-loading bars, deprecation warnings or info logs from transformers on every predict."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=r".*(past_key_values|cache_params).*deprecated", category=FutureWarning)


def check_model_files(path: str | Path) -> None:
    """InputError (one line) for a model directory whose files cannot load: no Qwen3-VL
    config.json, a truncated or corrupt ``*.safetensors``, a tokenizer config without its
    ``tokenizer.json``."""
    from vlm3.predictors.hf import check_model_dir

    check_model_dir(str(path))
    p = Path(path)
    for f in sorted(p.glob("*.safetensors")):
        try:
            from safetensors import safe_open
            with safe_open(str(f), framework="pt") as st:
                st.keys()
        except Exception as err:  # noqa: BLE001 - SafetensorError and OSError alike: the file is unusable
            raise InputError(f"{f} is truncated or corrupt ({str(err).splitlines()[0]}): copy it again or "
                             f"re-run the training that wrote it") from None
    if not list(p.glob("*.safetensors")) and not list(p.glob("*.bin")):
        raise InputError(f"{p} has a config.json but no weights (model.safetensors): point --model at a finished "
                         f"training output or a full checkpoint")
    has_tokenizer = any((p / f).is_file() for f in ("tokenizer.json", "vocab.json"))
    if (p / "tokenizer_config.json").is_file() and not has_tokenizer:
        raise InputError(f"{p} has tokenizer_config.json but no tokenizer.json: copy tokenizer.json from the "
                         f"training output or the base model into it")


def check_model_spec(spec: str) -> None:
    """InputError (one line) unless ``spec`` can name a model: an existing model directory
    (checked by ``check_model_files``), ``vllm:DIR``, a preset, or a hub id ``owner/name``."""
    from vlm3.model.factory import preset_names

    path = spec[len("vllm:"):] if spec.startswith("vllm:") else spec
    if is_preset(path) and not spec.startswith("vllm:"):
        return
    if path_exists(path) or spec.startswith("vllm:"):
        check_model_files(path)
        return
    if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", spec):
        return  # a hub id: the factory looks in the local cache and says how to fetch it
    raise InputError(f"--model {spec!r} is neither a model directory (not found), a preset "
                     f"({', '.join(preset_names())}) nor a hub id owner/name")


def is_preset(spec: str) -> bool:
    """True when ``spec`` names a random-weight preset (a name or a preset YAML), not weights."""
    from vlm3.model.factory import preset_names

    return spec in preset_names() or str(spec).endswith((".yaml", ".yml"))


@dataclass
class Model:
    """A loaded model with the settings it must be asked with (``vlm3.model.asking.Asking``).

    Every method takes images as paths, PIL images or (H, W, 3) uint8 arrays, intrinsics K as
    ``"fx,fy,cx,cy"``, 4 numbers or a 3x3 matrix (None: the stated-guess policy ``calibration``
    where the task allows it), and returns results in the pixels of the images given. Keyword
    ``focal_px`` / ``max_pixels`` / ``text_format`` override the saved settings.
    """

    predictor: Predictor
    asking: Any
    random_weights: bool = False

    @property
    def name(self) -> str:
        return self.asking.name

    def _settings(self, task: str, focal_px=None, max_pixels=None, text_format=None) -> dict[str, Any]:
        from vlm3.model.asking import with_overrides

        a = with_overrides(self.asking, task, focal_px, max_pixels, text_format)
        return {"focal_px": a.focal_px, "max_pixels": a.max_pixels, "text_format": a.text_format}

    def depth(self, image: ImageLike, K=None, points=None, grid=None, calibration: str = "none",
              **settings: Any) -> DepthResult:
        """Metric depth (m, ray length) at ``points`` (N, 2) pixels or on ``grid`` (W, H)."""
        return predict_depth(self.predictor, image, points, K, calibration=calibration, grid=grid,
                             **self._settings("depth", **settings))

    def match(self, image1: ImageLike, image2: ImageLike, points, K1=None, K2=None, calibration: str = "fov60",
              **settings: Any) -> MatchResult:
        """Pixels of image 2 matching ``points`` (N, 2) of image 1."""
        return predict_match(self.predictor, image1, image2, points, K1, K2, calibration=calibration,
                             **self._settings("correspondence", **settings))

    def pose(self, image1: ImageLike, image2: ImageLike, K1=None, K2=None, calibration: str = "none",
             **settings: Any) -> PoseResult:
        """Camera of image 2 relative to the camera of image 1 (``PoseResult``)."""
        return predict_pose(self.predictor, image1, image2, K1, K2, calibration=calibration,
                            **self._settings("pose", **settings))

    def ask(self, image: ImageLike, question: str, K=None, boxes=(), calibration: str = "fov60",
            **settings: Any) -> AskResult:
        """A free question; ``boxes`` ([x1, y1, x2, y2] pixels) fill its ``[A]``, ``[B]``, ..."""
        return ask(self.predictor, image, question, K, calibration=calibration, boxes_px=boxes,
                   **self._settings("object", **settings))


def load(model: str | Path = "tiny", numbers: str | None = None, device: str | None = None,
         quiet: bool = True) -> Model:
    """A model from a training output / checkpoint directory, a cached hub id, ``vllm:DIR`` or a
    random-weight preset name, with the settings it must be asked with (its ``vlm3.json``;
    release settings when it has none). ``numbers`` overrides the saved number decoding.
    InputError (one line) when it cannot be loaded."""
    from vlm3.model.asking import AskingError, read_asking, release_asking
    from vlm3.predictors import make_predictor
    from vlm3.train.small.number_decoding import predictor_kwargs

    spec = str(model)
    if quiet:
        quiet_transformers()
    path = spec[len("vllm:"):] if spec.startswith("vllm:") else spec
    preset = is_preset(spec)
    local = path_exists(path) and not preset
    if local:
        check_model_files(path)
    try:
        asking = read_asking(path) if local else None
    except AskingError as err:
        raise InputError(str(err)) from None
    if asking is None:
        name = f"{spec} (random weights)" if preset else Path(path).name or spec
        asking = release_asking(name)
    numbers = numbers or asking.numbers
    kwargs: dict[str, Any] = {}
    if spec.startswith("vllm:"):
        if numbers != "greedy":
            raise InputError(f"numbers={numbers!r} (the model's vlm3.json or --numbers) needs the transformers "
                             f"backend: drop the vllm: prefix, or pass --numbers greedy")
    else:
        kwargs.update(predictor_kwargs(numbers))
        if device is not None:
            kwargs["device"] = device
    try:
        predictor = make_predictor(spec if spec.startswith("vllm:") else f"model:{spec}", **kwargs)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever transformers raises for unusable files: one line
        raise InputError(f"cannot load model {spec}: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
                         ) from None
    if hasattr(predictor, "name"):
        try:
            predictor.name = asking.name
        except AttributeError:
            pass
    return Model(predictor, replace(asking, numbers=numbers), random_weights=preset)
