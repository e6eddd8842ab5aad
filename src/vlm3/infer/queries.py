"""Asking a task about a user's images, for every task of the registry alike.

``prepare_task`` reads each image once (``vlm3.infer.inputs.given_image``), standardises it
through the data engine's function (``prepare_image``; a task asked on the image as given, such
as calibration, through its unit's ``prepare_image``) and lets the task unit write its questions
(``Task.predict_questions``): every input is checked before a model is involved. ``answer``
sends them to a ``Predictor`` once and lets the unit read the answers into its result type
(``Task.predict_result``: original-image pixels). ``ask_task`` is both. The settings (``focal_px``
in px, ``max_pixels`` in px area, ``text_format``: "release", the VLM3 prompts, or "compact",
vlm3-compact-v3 of the CPU demo, and ``preprocessing``) default to each task unit's (the
release's); ``vlm3.load``'s ``Model`` fills them from the model's ``vlm3.json``.

``predict_depth``, ``predict_match``, ``predict_pose``, ``ask`` and ``predict_image_task`` are the
earlier per-task functions, kept as one-line calls of ``ask_task``; a new task needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from vlm3.errors import InputError
from vlm3.infer.inputs import GivenImage, IntrinsicsLike, Prepared, check_max_pixels, given_image, prepare_image
from vlm3.io.images import ImageLike
from vlm3.predictors.base import Predictor, Request
from vlm3.protocol import TEXT_FORMATS, format_version_of
from vlm3.tasks import get_task, image_task_verbs
from vlm3.tasks.correspondence.result import MatchResult
from vlm3.tasks.depth.result import DepthResult
from vlm3.tasks.object.result import AskResult
from vlm3.tasks.pose.result import PoseResult
from vlm3.tasks.predict import Questions
from vlm3.tasks.unit import Task


def predict_unit(task: str) -> Task:
    """The unit of ``task`` when it can be asked about a user's images (InputError otherwise)."""
    try:
        unit = get_task(task)
    except ValueError as err:
        raise InputError(str(err)) from None
    if unit.predict_verb is None:
        raise InputError(f"task {task!r} is not asked about a user's images")
    return unit


def image_names(unit: Task) -> list[str]:
    """The image parameters of ``Model.<verb>`` ("image", or "image1", "image2", ...); the command's
    arguments are the same in capitals."""
    return ["image"] if unit.n_images == 1 else [f"image{i + 1}" for i in range(unit.n_images)]


def intrinsics_names(unit: Task) -> list[str]:
    """The intrinsics parameters of ``Model.<verb>`` ("K", or "K1", "K2"; none for a task asked on the
    image as given); the command's options are ``--intrinsics`` / ``--intrinsics1`` ..."""
    if unit.focal_px is None:
        return []
    return ["K"] if unit.n_images == 1 else [f"K{i + 1}" for i in range(unit.n_images)]


def _format_version(text_format: str) -> str:
    if text_format not in TEXT_FORMATS:
        raise InputError(f"unknown text format {text_format!r}: use one of {', '.join(TEXT_FORMATS)} "
                         f"(the format the model was trained on)")
    return format_version_of(text_format)


@dataclass
class Asked:
    """A task's questions about a user's images, checked and ready for a predictor: the ``unit``,
    the prepared images (``views``), its ``questions``, their ``format_version`` and the images as
    given (``images``: (H, W, 3) uint8 each, for the output files)."""

    unit: Task
    views: list[Prepared]
    questions: Questions
    format_version: str
    images: list[np.ndarray]

    def request(self) -> Request:
        """The one ``Request`` that asks the questions (id: the task's verb)."""
        u, q = self.unit, self.questions
        return Request(str(u.predict_verb), u.name, [v.image for v in self.views], q.texts,
                       question_ids=q.question_ids, queries=q.queries,
                       cameras=[v.camera.to_dict() for v in self.views if v.camera is not None],
                       format_version=self.format_version)


def prepare_task(task: str, images: Sequence[ImageLike | GivenImage], inputs: Mapping[str, Any] | None = None,
                 intrinsics: Sequence[IntrinsicsLike] = (), calibration: str | None = None,
                 focal_px: float | None = None, max_pixels: int | None = None, text_format: str = "release",
                 preprocessing: str = "project") -> Asked:
    """``task``'s questions about ``images`` (paths, arrays, PIL images or ``GivenImage``; each read
    once), standardised with the settings (None: the unit's own) and checked with the task's
    ``inputs`` (its ``predict_inputs``); ``intrinsics``: one per image (None: the ``calibration``
    policy, default the unit's ``predict_calibration``). InputError (one line) for any bad input."""
    unit = predict_unit(task)
    fv = _format_version(text_format)
    checked = unit.predict_check(dict(inputs or {}))
    if len(images) != unit.n_images:
        raise InputError(f"the {task} task asks about {unit.n_images} image(s), got {len(images)}")
    given = [given_image(im) for im in images]
    ks = list(intrinsics) + [None] * (len(given) - len(intrinsics))
    if unit.focal_px is None:  # asked on the image as given (calibration): the unit's own preprocessing
        cap = check_max_pixels(unit.max_pixels if max_pixels is None else max_pixels)
        views = [Prepared(unit.prepare_image(g.pixels, cap), None, None, None, "not needed", [], g.label,
                          (g.pixels.shape[1], g.pixels.shape[0])) for g in given]
    else:
        views = [prepare_image(g, k, unit.focal_px if focal_px is None else focal_px,
                               unit.max_pixels if max_pixels is None else max_pixels,
                               calibration or unit.predict_calibration, preprocessing=preprocessing)
                 for g, k in zip(given, ks)]
    return Asked(unit, views, unit.predict_questions(views, checked, fv), fv, [g.pixels for g in given])


def answer(predictor: Predictor, asked: Asked) -> Any:
    """Ask the predictor once and read its answers into the task's result type."""
    texts = predictor.predict([asked.request()])[0].texts
    return asked.unit.predict_result(asked.views, asked.questions, texts, asked.format_version)


def ask_task(predictor: Predictor, task: str, images: Sequence[ImageLike | GivenImage],
             inputs: Mapping[str, Any] | None = None, intrinsics: Sequence[IntrinsicsLike] = (),
             calibration: str | None = None, focal_px: float | None = None, max_pixels: int | None = None,
             text_format: str = "release", preprocessing: str = "project") -> Any:
    """``prepare_task`` then ``answer``: the task's result type, in pixels of the images given."""
    return answer(predictor, prepare_task(task, images, inputs, intrinsics, calibration, focal_px, max_pixels,
                                          text_format, preprocessing))


# ------------------------------------------------------------------ the earlier per-task functions
def predict_depth(predictor: Predictor, image: ImageLike | GivenImage, xy_px: np.ndarray | None = None,
                  intrinsics: IntrinsicsLike = None, focal_px: float = get_task("depth").focal_px,
                  max_pixels: int = get_task("depth").max_pixels, calibration: str = "none",
                  text_format: str = "release", grid: tuple[int, int] | str | None = None,
                  preprocessing: str = "project") -> DepthResult:
    """Metric depth (ray length, metres) at original-image pixels ``xy_px`` (N, 2), or on a ``grid``
    (W, H) laid over the image the model sees; exactly one of the two (``ask_task``, task depth)."""
    return ask_task(predictor, "depth", [image], {"points": xy_px, "grid": grid}, [intrinsics], calibration,
                    focal_px, max_pixels, text_format, preprocessing)


def predict_match(predictor: Predictor, image1: ImageLike | GivenImage, image2: ImageLike | GivenImage,
                  xy1_px: np.ndarray, intrinsics1: IntrinsicsLike = None, intrinsics2: IntrinsicsLike = None,
                  focal_px: float = get_task("correspondence").focal_px,
                  max_pixels: int = get_task("correspondence").max_pixels, calibration: str = "fov60",
                  text_format: str = "release", preprocessing: str = "project") -> MatchResult:
    """Pixels of image 2 matching ``xy1_px`` (N, 2) of image 1 (``ask_task``, task correspondence)."""
    return ask_task(predictor, "correspondence", [image1, image2], {"points": xy1_px}, [intrinsics1, intrinsics2],
                    calibration, focal_px, max_pixels, text_format, preprocessing)


def predict_pose(predictor: Predictor, image1: ImageLike | GivenImage, image2: ImageLike | GivenImage,
                 intrinsics1: IntrinsicsLike = None, intrinsics2: IntrinsicsLike = None,
                 focal_px: float = get_task("pose").focal_px, max_pixels: int = get_task("pose").max_pixels,
                 calibration: str = "none", text_format: str = "release", preprocessing: str = "project"
                 ) -> PoseResult:
    """Relative pose of camera 1 (image2) w.r.t. camera 0 (image1) in camera 0's OpenCV frame
    (``ask_task``, task pose)."""
    return ask_task(predictor, "pose", [image1, image2], {}, [intrinsics1, intrinsics2], calibration, focal_px,
                    max_pixels, text_format, preprocessing)


def ask(predictor: Predictor, image: ImageLike | GivenImage, question: str, intrinsics: IntrinsicsLike = None,
        focal_px: float = get_task("object").focal_px, max_pixels: int = get_task("object").max_pixels,
        calibration: str = "fov60", text_format: str = "release", boxes_px: Sequence[Sequence[float] | str] = (),
        preprocessing: str = "project") -> AskResult:
    """A free question about one image, ``boxes_px`` ([x1, y1, x2, y2] original pixels) in its
    ``[A]``, ``[B]``, ... (``ask_task``, task object)."""
    return ask_task(predictor, "object", [image], {"question": question, "boxes": boxes_px}, [intrinsics],
                    calibration, focal_px, max_pixels, text_format, preprocessing)


def predict_image_task(predictor: Predictor, task: str, image: ImageLike | GivenImage, max_pixels: int,
                       text_format: str = "release") -> Any:
    """A task that needs nothing but one image (calibration's ``calibrate``), its image as its data
    engine prepares it (``ask_task``); InputError for a task that needs more."""
    predict_unit(task)  # InputError: an unknown task, or one not asked about a user's images
    if task not in image_task_verbs().values():
        raise InputError(f"task {task!r} is not asked about an image alone")
    return ask_task(predictor, task, [image], {}, max_pixels=max_pixels, text_format=text_format)


__all__ = ["Asked", "answer", "ask", "ask_task", "image_names", "intrinsics_names", "predict_depth",
           "predict_image_task", "predict_match", "predict_pose", "predict_unit", "prepare_task"]
