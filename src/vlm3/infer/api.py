"""The Python API: ``vlm3.load(path)`` -> a ``Model`` that knows how it must be asked.

``load`` checks a model folder (weights intact, tokenizer present; ``vlm3.infer.loading``),
silences transformers' loading bars and deprecation warnings, reads the settings the model
was trained with (its ``vlm3.json``, ``vlm3.tasks.asking``) and returns a ``Model`` with one
method per task, generated from the task registry (its unit's ``predict_verb`` and
``predict_inputs``): ``model.depth``, ``.match``, ``.pose``, ``.ask``, ``.calibrate``, each
``vlm3.infer.queries.ask_task`` with the model's settings. Results are the task units' result
types, in the pixels of the images given; bad input raises ``InputError`` (one line).

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
                               parse_points, path_exists, prepare_image, read_image, to_model_px)
from vlm3.infer.loading import (VLLM_PREFIX, check_model_files, check_model_spec, default_asking, is_preset,
                                model_asking, model_path, quiet_transformers, saved_asking)
from vlm3.infer.queries import (Asked, answer, ask, ask_task, image_names, intrinsics_names, predict_depth,
                                predict_image_task, predict_match, predict_pose, prepare_task)
from vlm3.infer.results import AskResult, CalibrationResult, DepthResult, MatchResult, PoseResult
from vlm3.io.images import ImageLike
from vlm3.errors import InputError
from vlm3.predictors.base import Predictor, check_decoding
from vlm3.tasks import get_task, image_task_verbs, predict_verbs

__all__ = ["answer", "as_pixels", "ask", "ask_task", "Asked", "asked_settings", "AskResult", "CalibrationResult",
           "check_focal_px", "check_max_pixels", "check_model_files", "check_model_spec", "default_asking",
           "DepthResult", "exif_orientation", "given_image", "GivenImage", "grid_over_model_image", "grid_points_px",
           "image_task_verbs", "ImageLike", "InputError", "IntrinsicsLike", "is_preset", "load", "MatchResult",
           "MAX_QUERIES", "MAX_RESAMPLED_PIXELS", "MIN_IMAGE_PX", "Model", "model_asking", "model_calibrator",
           "model_path", "parse_box", "parse_grid", "parse_intrinsics", "parse_points", "path_exists", "PoseResult",
           "predict_depth", "predict_image_task", "predict_match", "predict_pose", "predict_verbs", "prepare_image",
           "prepare_task", "Prepared", "quiet_transformers", "read_image", "register_model_calibration",
           "saved_asking", "to_model_px", "VLLM_PREFIX"]


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


def asked_settings(asking: Any, task: str, focal_px: float | None = None, max_pixels: int | None = None,
                   text_format: str | None = None) -> dict[str, Any]:
    """The settings a ``task`` is asked with under ``asking`` (``vlm3.tasks.asking.Asking``):
    ``focal_px``, ``max_pixels``, ``text_format`` (the given non-None values override the saved
    ones) and ``preprocessing`` (the model's)."""
    from vlm3.tasks.asking import with_overrides

    a = with_overrides(asking, task, focal_px, max_pixels, text_format)
    return {"focal_px": a.focal_px, "max_pixels": a.max_pixels, "text_format": a.text_format,
            "preprocessing": asking.preprocessing}


def _task_method(task: str) -> Any:
    """``Model.<verb>(...)`` of a task (its unit's ``predict_verb``), generated from what the unit
    declares: its images, then its required inputs, the intrinsics of each image, its other inputs,
    then ``calibration`` (the unit's default policy), ``focal_px``, ``max_pixels``, ``text_format``
    (None: the saved settings). A task asked on the image as given (calibration) takes no
    intrinsics, ``calibration`` or ``focal_px``."""
    from inspect import Parameter, Signature

    unit = get_task(task)
    pos = Parameter.POSITIONAL_OR_KEYWORD
    focused = unit.focal_px is not None
    images, ks = image_names(unit), intrinsics_names(unit)
    params = [Parameter("self", pos)] + [Parameter(n, pos) for n in images]
    params += [Parameter(i.name, pos) for i in unit.predict_inputs if i.required]
    params += [Parameter(k, pos, default=None) for k in ks]
    params += [Parameter(i.name, pos, default=i.default) for i in unit.predict_inputs if not i.required]
    if focused:
        params += [Parameter("calibration", pos, default=unit.predict_calibration),
                   Parameter("focal_px", pos, default=None)]
    params += [Parameter("max_pixels", pos, default=None), Parameter("text_format", pos, default=None)]
    signature = Signature(params)

    def method(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        self: Model = a["self"]
        s = self.settings(task, a.get("focal_px"), a["max_pixels"], a["text_format"])
        return ask_task(self.predictor, task, [a[n] for n in images], {i.name: a[i.name] for i in unit.predict_inputs},
                        [a[k] for k in ks], a.get("calibration"), **s)

    method.__signature__ = signature  # type: ignore[attr-defined]
    method.__name__ = method.__qualname__ = str(unit.predict_verb)
    inputs = "; ".join(f"``{i.name}``: {i.help}" for i in unit.predict_inputs)
    method.__doc__ = (f"{unit.predict_help}\n\nThe {task} task" + (f" ({inputs})" if inputs else "") +
                      ", asked with the saved settings (the keyword arguments override them); returns its result "
                      "type (``to_json()``, ``lines()``), in pixels of the images given.")
    return method


for _verb, _task in predict_verbs().items():  # Model.depth, .match, .pose, .ask, .calibrate: from the registry
    setattr(Model, _verb, _task_method(_task))


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
