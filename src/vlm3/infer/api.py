"""The Python API: ``vlm3.load(path)`` -> a ``Model`` that knows how it must be asked.

``load`` checks a model folder (weights intact, tokenizer present; ``vlm3.infer.loading``),
silences transformers' loading bars and deprecation warnings, reads the settings the model
was trained with (its ``vlm3.json``, ``vlm3.tasks.asking``) and wraps the task functions of
``vlm3.infer.queries`` in a ``Model``: ``model.depth``, ``.match``, ``.pose``, ``.ask``, and one
method per task asked about an image alone, generated from the task registry (its unit's
``predict_verb``: ``model.calibrate``).
Results are in the pixels of the images given (``vlm3.infer.results``); bad input raises
``InputError`` (one line, ``vlm3.infer.inputs``).

The names of those modules are re-exported here, so ``from vlm3.infer.api import
predict_depth, prepare_image, read_image, ...`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vlm3.infer.inputs import (MAX_QUERIES, MAX_RESAMPLED_PIXELS, MIN_IMAGE_PX, GivenImage, IntrinsicsLike, Prepared,
                               as_pixels, check_focal_px, check_max_pixels, exif_orientation, given_image,
                               grid_over_model_image, grid_points_px, parse_box, parse_grid, parse_intrinsics,
                               path_exists, prepare_image, read_image, to_model_px)
from vlm3.infer.loading import (VLLM_PREFIX, check_model_files, check_model_spec, default_asking, is_preset,
                                model_asking, model_path, quiet_transformers, saved_asking)
from vlm3.infer.queries import ask, predict_depth, predict_image_task, predict_match, predict_pose
from vlm3.infer.results import AskResult, DepthResult, MatchResult, PoseResult
from vlm3.io.images import ImageLike
from vlm3.errors import InputError
from vlm3.predictors.base import Predictor, check_decoding
from vlm3.tasks import image_task_verbs

__all__ = ["MAX_QUERIES", "MAX_RESAMPLED_PIXELS", "MIN_IMAGE_PX", "AskResult", "DepthResult", "InputError",
           "GivenImage", "IntrinsicsLike", "MatchResult", "Model", "asked_settings", "default_asking", "given_image",
           "model_asking", "PoseResult", "Prepared", "as_pixels", "ask", "check_focal_px",
           "check_max_pixels", "check_model_files", "check_model_spec", "exif_orientation", "grid_over_model_image",
           "grid_points_px", "image_task_verbs", "is_preset", "load", "model_calibrator", "model_path", "parse_box", "parse_grid", "parse_intrinsics",
           "path_exists", "predict_depth", "predict_image_task", "predict_match", "predict_pose", "prepare_image",
           "quiet_transformers", "read_image", "register_model_calibration", "saved_asking", "to_model_px",
           "VLLM_PREFIX"]


@dataclass
class Model:
    """A loaded model with the settings it must be asked with (``vlm3.tasks.asking.Asking``).

    Every method takes images as paths, PIL images or (H, W, 3) uint8 RGB arrays, intrinsics K as
    ``"fx,fy,cx,cy"``, 4 numbers or a 3x3 matrix in pixels of that image (None: the guess policy
    ``calibration``, "none" refusing, where the task needs a real K), and returns results in the
    pixels of the images given. ``focal_px`` (px), ``max_pixels`` (px area) and ``text_format``
    override the saved settings of that task; None keeps them.
    """

    predictor: Predictor
    asking: Any
    random_weights: bool = False

    @property
    def name(self) -> str:
        """The model's name (from its ``vlm3.json``; "<preset> (random weights)" for a preset)."""
        return self.asking.name

    def settings(self, task: str, focal_px: float | None = None, max_pixels: int | None = None,
                 text_format: str | None = None) -> dict[str, Any]:
        """``focal_px`` / ``max_pixels`` / ``text_format`` a ``task`` is asked with (the saved ones,
        overridden where given) and the model's ``preprocessing`` of a view."""
        return asked_settings(self.asking, task, focal_px, max_pixels, text_format)

    def depth(self, image: ImageLike, K: IntrinsicsLike = None, points: Any = None,
              grid: tuple[int, int] | str | None = None, calibration: str = "none", focal_px: float | None = None,
              max_pixels: int | None = None, text_format: str | None = None) -> DepthResult:
        """Metric depth (m, ray length) at ``points`` (N, 2) pixels or on ``grid`` (W, H) laid over
        what the model sees; exactly one of the two."""
        return predict_depth(self.predictor, image, points, K, calibration=calibration, grid=grid,
                             **self.settings("depth", focal_px, max_pixels, text_format))

    def match(self, image1: ImageLike, image2: ImageLike, points: Any, K1: IntrinsicsLike = None,
              K2: IntrinsicsLike = None, calibration: str = "fov60", focal_px: float | None = None,
              max_pixels: int | None = None, text_format: str | None = None) -> MatchResult:
        """Pixels of image 2 matching ``points`` (N, 2) pixels of image 1; a missing K is the stated
        ``calibration`` guess (60 deg field of view by default), said in ``notes``."""
        return predict_match(self.predictor, image1, image2, points, K1, K2, calibration=calibration,
                             **self.settings("correspondence", focal_px, max_pixels, text_format))

    def pose(self, image1: ImageLike, image2: ImageLike, K1: IntrinsicsLike = None, K2: IntrinsicsLike = None,
             calibration: str = "none", focal_px: float | None = None, max_pixels: int | None = None,
             text_format: str | None = None) -> PoseResult:
        """Camera of image 2 relative to the camera of image 1, in image 1's camera frame (camera 0,
        OpenCV; ``PoseResult``: ``R_cam0_from_cam1``, ``t_unit_cam0``, ``distance_m``)."""
        return predict_pose(self.predictor, image1, image2, K1, K2, calibration=calibration,
                            **self.settings("pose", focal_px, max_pixels, text_format))

    def ask(self, image: ImageLike, question: str, K: IntrinsicsLike = None, boxes: Any = (),
            calibration: str = "fov60", focal_px: float | None = None, max_pixels: int | None = None,
            text_format: str | None = None) -> AskResult:
        """A free question; ``boxes`` ([x1, y1, x2, y2] pixels of ``image``) fill its ``[A]``,
        ``[B]``, ...; boxes in the answer come back in pixels of ``image``."""
        return ask(self.predictor, image, question, K, calibration=calibration, boxes_px=boxes,
                   **self.settings("object", focal_px, max_pixels, text_format))


def asked_settings(asking: Any, task: str, focal_px: float | None = None, max_pixels: int | None = None,
                   text_format: str | None = None) -> dict[str, Any]:
    """The settings a ``task`` is asked with under ``asking`` (``vlm3.tasks.asking.Asking``):
    ``focal_px``, ``max_pixels``, ``text_format`` (the given non-None values override the saved
    ones) and ``preprocessing`` (the model's)."""
    from vlm3.tasks.asking import TRAINED_PREPROCESSING, with_overrides

    a = with_overrides(asking, task, focal_px, max_pixels, text_format)
    return {"focal_px": a.focal_px, "max_pixels": a.max_pixels, "text_format": a.text_format,
            "preprocessing": getattr(asking, "preprocessing", TRAINED_PREPROCESSING)}


def _image_task_method(task: str) -> Any:
    """``Model.<verb>(image)`` of a task asked about one image alone (its unit's ``predict_verb``)."""
    from vlm3.tasks import get_task

    unit = get_task(task)

    def method(self: Model, image: ImageLike, max_pixels: int | None = None, text_format: str | None = None) -> Any:
        s = self.settings(task, None, max_pixels, text_format)
        return predict_image_task(self.predictor, task, image, s["max_pixels"], s["text_format"])

    method.__name__ = method.__qualname__ = str(unit.predict_verb)
    method.__doc__ = (f"{unit.predict_help} The {task} task: the image downsized to the saved image budget "
                      f"(``max_pixels`` overrides it), asked in the saved text format; returns its result type "
                      f"(``to_json()``, ``lines()``).")
    return method


for _verb, _task in image_task_verbs().items():  # Model.calibrate, ...: generated from the registry
    setattr(Model, _verb, _image_task_method(_task))


def model_calibrator(model_dir: str) -> Any:
    """The ``calibration: model:DIR`` policy (`vlm3.standardize.calibration`): a calibrator asking the
    vlm3 model in ``model_dir`` for the horizontal field of view of a view without intrinsics.
    ValueError (one line) when the model cannot be loaded or its answer does not parse."""
    from vlm3.standardize.calibration import fov_camera

    model = load(model_dir)

    def calibrate(image: Any) -> Any:
        res = model.calibrate(image)
        if not res.ok:
            raise InputError(f"calibration model {model_dir} gave no field of view ({res.reason}): {res.raw[:80]!r}")
        return fov_camera(image.shape[1], image.shape[0], res.hfov_deg)

    return calibrate


def register_model_calibration() -> None:
    """Provide the ``calibration: model:DIR`` policy to the data engine and evaluation in this process
    (the ``vlm3`` command does it for ``data``, ``eval`` and ``demo``)."""
    from vlm3.standardize.calibration import register_policy

    register_policy("model", model_calibrator)


def load(model: str | Path, numbers: str | None = None, device: str | None = None, quiet: bool = True,
         decoding: str = "exact") -> Model:
    """A model from a training output / checkpoint directory, a cached hub id, ``vllm:DIR`` or a
    random-weight preset name (``Model.random_weights`` then True), with the settings it must be
    asked with (its ``vlm3.json``; release settings when it has none). ``numbers`` ("greedy" or
    "median") overrides the saved number decoding; ``device`` e.g. "cpu", "cuda:0" (None: the
    predictor's choice); ``quiet`` silences transformers' bars and warnings; ``decoding``
    (`vlm3.predictors.base.DECODINGS`): exact (default: greedy answers, the answer template as
    a checked draft, the fastest exact path for dense grids), template (forced: faster, greedy
    only where the model writes the template) or generate. InputError (one line) when it
    cannot be loaded."""
    from vlm3.predictors import make_predictor
    from vlm3.train.small.number_decoding import predictor_kwargs

    spec = str(model)
    if quiet:
        quiet_transformers()
    path, vllm, preset = model_path(spec), spec.startswith(VLLM_PREFIX), is_preset(spec)
    if path_exists(path) and not preset:
        check_model_files(path)
    asking, _ = model_asking(spec)
    numbers = numbers or asking.numbers
    if check_decoding(decoding) == "template" and numbers != "greedy":
        raise InputError(f"decoding 'template' forces greedy numbers; numbers={numbers!r} (the model's vlm3.json "
                         f"or --numbers) needs --decoding exact or generate, or --numbers greedy")
    kwargs: dict[str, Any] = {"decoding": decoding}
    if vllm:
        if numbers != "greedy":
            raise InputError(f"numbers={numbers!r} (the model's vlm3.json or --numbers) needs the transformers "
                             f"backend: drop the vllm: prefix, or pass --numbers greedy")
    else:
        kwargs.update(predictor_kwargs(numbers))
        if device is not None:
            kwargs["device"] = device
    try:
        predictor = make_predictor(spec if vllm else f"model:{spec}", **kwargs)
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
