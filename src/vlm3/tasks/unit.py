"""The task unit: what one task (depth, correspondence, pose, object) owns, in one object.

A task unit is the single place that knows a task (karpathy/nanochat ``tasks/common.py``
in spirit): its name and image count, its metric keys (the report.json contract; the
first is the headline), building a sample from a record (its ``build.py``), the question
inputs a predictor may see (``inputs_from_labels``: query points, question kinds, the
standardised cameras; never the answers), parsing raw answers, the ground truth of each
answer, scoring parsed answers into metrics (pure functions of ``vlm3.metrics`` under the
parse-failure policy of ``vlm3.tasks.failure_policy``), the oracle's answers from the
ground truth and the trivial baseline's statistics and answers, and how a user asks it about
their own images (``predict_*``: the verb, the inputs as data, the questions and the result type
that ``vlm3 predict <verb>`` and ``Model.<verb>()`` are generated from; ``vlm3.tasks.predict``).

Evaluation, the baselines and the data engine ask the unit (``vlm3.tasks.get_task``)
instead of branching on task names.

Two small value types travel with it:

* ``QuestionInputs`` -- what was asked besides the question text; a ``Request``
  (``vlm3.predictors.base``) carries the same three fields. Built from labels by the unit.
* ``GroundTruth`` -- the labels and reference answers of one sample. The evaluation
  harness keeps it next to the request and hands it only to predictors that declare
  ``needs_ground_truth = True`` (the oracle), so a model predictor can never read it.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from vlm3.protocol.parsing import Parsed
from vlm3.standardize.release import RELEASE_MAX_PIXELS
from vlm3.tasks.predict import PredictInput, Prepared, Questions


class AskedQuestions(Protocol):
    """What a parser and a baseline may know about the questions (a Request or QuestionInputs).

    question_ids: per-question ids (pose: which of the four questions), or None.
    queries: one dict per question with its inputs (depth: query pixel; correspondence:
        query pixel in image 1; object: question kind and predicate); empty when the
        questions need none besides their ids (pose).
    cameras: the standardised camera of each image as the model sees it (``Camera.to_dict``:
        fx, fy, cx, cy, width, height in pixels), or empty when unknown.
    format_version: the text format the questions are written in (None: the release);
        answers are parsed, and baseline answers rendered, in that format.
    """

    question_ids: list[str] | None
    queries: list[dict[str, Any]]
    cameras: list[dict[str, Any]]
    format_version: str | None


@dataclass(frozen=True)
class QuestionInputs:
    """The question inputs of one sample, built from its labels by ``Task.inputs_from_labels``."""

    question_ids: list[str] | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    format_version: str | None = None


@dataclass(frozen=True)
class GroundTruth:
    """The answers of one sample: read by scoring and the oracle, never sent to a model.

    labels: the sample's labels as the data engine writes them (standardised pixels, metres).
    answers: the sample's reference answer texts (one per question), when it has them.
    """

    labels: dict[str, Any]
    answers: list[str] | None = None


class Task(ABC):
    """Base of the four task units; subclasses fill in the class attributes and methods.

    Class attributes:
        name: the task name ("depth", ...), the key in samples, shards and report.json.
        n_images: images per sample (1 or 2).
        text: the task's text module (``vlm3.tasks.<name>.text``).
        metrics: report.json metric keys; ``metrics[0]`` is the headline number.
        table_metrics: extra keys shown in table.md (not part of the report.json contract).
        higher_is_better: direction of every key in ``metrics`` and ``table_metrics``.
        summary_columns: (key, column title, format) of the one-screen headline table.
        metric_meaning: metric key -> one line on what it measures (report glossary, column tips).
        units: metric key -> unit shown in report column titles ("px", "%", "°"; "" = none).
        record_kinds: the record kinds (``vlm3.io.records``) the task reads; a benchmark's records of
            other kinds belong to another task (a multi-task source yields views and pairs).
        focal_px: how the task is asked by default: the target focal (px) of focal normalisation
            (the release's 1000 px; pose 750), None for a task asked before it (calibration).
            ``TaskConfig``, a model's ``vlm3.json`` and the eval read it here (the one home).
        max_pixels: the default image budget of one view (px area; the release's 1,310,720).
        in_release: the published VLM3 checkpoints were trained on it (release defaults apply).
    """

    name: str = ""
    n_images: int = 1
    text: ModuleType
    metrics: tuple[str, ...] = ()
    table_metrics: tuple[str, ...] = ()
    higher_is_better: Mapping[str, bool] = {}
    summary_columns: tuple[tuple[str, str, str], ...] = ()
    metric_meaning: Mapping[str, str] = {}
    units: Mapping[str, str] = {}
    record_kinds: tuple[str, ...] = ("view",)
    focal_px: float | None = 1000.0
    max_pixels: int = RELEASE_MAX_PIXELS
    in_release: bool = True

    # ------------------------------------------------------------------ data
    @abstractmethod
    def build(self, record: Any, ctx: Any, rng: np.random.Generator) -> Any:
        """One sample draft (``SampleDraft``) from a record; RecordError for unusable input."""

    @abstractmethod
    def usable(self, record: Any, min_covisibility: float = 0.0) -> bool:
        """Can ``record`` feed this task (record kind, available ground truth, covisibility)?"""

    # ------------------------------------------------------------------ questions
    def inputs_from_labels(self, labels: Mapping[str, Any], question_ids: Sequence[str] | None = None,
                           format_version: str | None = None) -> QuestionInputs:
        """The question inputs of a sample (no answers); ``question_ids`` (when given) win
        over the labels' own."""
        ids = question_ids or self.question_ids_from_labels(labels)
        return QuestionInputs(list(ids) if ids else None, self.queries_from_labels(labels),
                              self.cameras_from_labels(labels), format_version)

    def question_ids_from_labels(self, labels: Mapping[str, Any]) -> list[str] | None:
        """Per-question ids stored in the labels (pose), else None."""
        return None

    def queries_from_labels(self, labels: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Per-question inputs without truth (see ``AskedQuestions.queries``)."""
        return []

    def cameras_from_labels(self, labels: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The standardised cameras of the sample's images (labels ``camera`` or ``cameras``)."""
        if "cameras" in labels:
            return [dict(c) for c in labels["cameras"]]
        return [dict(labels["camera"])] if "camera" in labels else []

    # ------------------------------------------------------------------ scoring
    @abstractmethod
    def parse(self, texts: Sequence[str], asked: AskedQuestions) -> list[Parsed]:
        """Per-item parse results of the raw answers (pose: one item for the four answers)."""

    @abstractmethod
    def truths(self, labels: Mapping[str, Any], n_items: int) -> list[Any]:
        """The ground truth of the first ``n_items`` scored items of a sample."""

    @abstractmethod
    def score(self, parsed: Sequence[Parsed], truths: Sequence[Any]) -> dict[str, Any]:
        """Metrics of parsed items against their truths (``score_counting_failures`` keys)."""

    def value_to_json(self, value: Any) -> Any:
        """A JSON-able view of one parsed value (arrays and tuples become lists)."""
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, tuple):
            return list(value)
        return value

    # ------------------------------------------------------------------ asking a model (vlm3 predict)
    #: the verb of ``vlm3 predict <verb>`` and ``Model.<verb>()``, both generated from the registry
    #: (``vlm3.infer``); None: the task is not asked about a user's images
    predict_verb: str | None = None
    #: the command's help (its first sentence is the short help); also the method's docstring
    predict_help: str = ""
    #: the task's ``predict.py`` (``tasks/<task>/predict.py``): its ``INPUTS`` (optional) are
    #: ``predict_inputs``; its ``check(inputs)`` (optional), ``questions(views, inputs, format_version)``
    #: and ``result(views, asked, answers, format_version)`` the three methods below; None: not asked
    predict_module: ModuleType | None = None
    #: the policy for an image given without intrinsics (``vlm3.standardize.calibration``): "none"
    #: refuses (metric answers need them), "fov60" a stated guess
    predict_calibration: str = "none"
    #: IMAGE may be a folder: one result (and one output subfolder) per image
    predict_folder: bool = False
    #: the final line of ``vlm3 predict`` counts the parsed answers (False: one item that says
    #: itself whether it parsed, a free-text answer)
    predict_counted: bool = True

    @property
    def predict_inputs(self) -> tuple[PredictInput, ...]:
        """The inputs besides the images and their intrinsics, as data (``vlm3.tasks.predict.
        PredictInput``): the predict module's ``INPUTS`` (none without them)."""
        return getattr(self.predict_module, "INPUTS", ())

    def predict_check(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``inputs`` (``predict_inputs`` names -> values as given: text from the CLI, numbers from
        Python) checked and normalised before any image is read; InputError (one line)."""
        check = getattr(self.predict_module, "check", None)
        return dict(inputs) if check is None else check(inputs)

    def prepare_image(self, image: np.ndarray, max_pixels: int) -> np.ndarray:
        """The (H, W, 3) uint8 image the model is shown, for a task asked on the image as given
        (``focal_px`` None: the data engine's preprocessing of this task); ``max_pixels``: the image
        budget (px area). Other tasks' images are standardised by ``vlm3.infer`` (focal, crop)."""
        raise NotImplementedError(f"task {self.name!r} is focal-normalised: vlm3.infer.prepare_image")

    def predict_questions(self, views: Sequence[Prepared], inputs: Mapping[str, Any],
                          format_version: str | None) -> Questions:
        """The questions about the prepared images ``views`` (``n_images``) in the text format
        ``format_version``; InputError (one line) for inputs the images cannot take (a point
        outside the image, a grid finer than the model's image), before any weights load."""
        return self._predict_function("questions")(views, inputs, format_version)

    def predict_result(self, views: Sequence[Prepared], asked: Questions, answers: Sequence[str],
                       format_version: str | None) -> Any:
        """The task's result type (``tasks/<task>/result.py``; the protocol in ``vlm3.tasks.predict``)
        from the answers to ``asked``, in pixels of the images given."""
        return self._predict_function("result")(views, asked, answers, format_version)

    def _predict_function(self, name: str) -> Any:
        function = getattr(self.predict_module, name, None)
        if function is None:
            raise NotImplementedError(f"task {self.name!r} is not asked about a user's images")
        return function

    # ------------------------------------------------------------------ pictures
    def _figure(self, name: str) -> Any:
        """Function ``name`` of the unit's ``figure`` module (``vlm3.tasks.<task>.figure``, imported
        when a picture is drawn: it brings matplotlib), or None when the task draws none."""
        try:
            module = importlib.import_module(f"{type(self).__module__}.figure")
        except ModuleNotFoundError as err:
            if err.name != f"{type(self).__module__}.figure":
                raise
            return None
        return getattr(module, name, None)

    def report_figures(self, records: Mapping[str, Sequence[dict]], focus: str | None,
                       reference: Sequence[str] = ()) -> list[Any]:
        """The task's figures in the HTML report (``vlm3.tasks.figures.Figure``: title, PNG data
        URI or None, small): its figure module's ``report_figures(unit, records, focus, reference)``.
        ``records``: predictor label -> its prediction records of this task, in report order;
        ``focus``: the label of the predictor the single-sample figures show (None: none);
        ``reference``: labels of predictors that answer from the truth (the oracle)."""
        draw = self._figure("report_figures")
        return [] if draw is None else draw(self, records, focus, reference)

    def inspect_marks(self, messages: list[dict[str, Any]], format_version: str | None,
                      sizes: Sequence[tuple[int, int]]) -> dict[str, list]:
        """What a sample's TEXT says, in pixels of its stored images, for ``vlm3 data inspect``
        (its figure module's ``inspect_marks``): any of ``depth`` [(x, y, answer or None)],
        ``matches`` [((x0, y0), (x1, y1))], ``boxes`` [(x1, y1, x2, y2)] and ``caption`` [lines].
        ``sizes``: (width, height) per image."""
        mark = self._figure("inspect_marks")
        return {} if mark is None else mark(self, messages, format_version, sizes)

    def label_values(self, labels: Mapping[str, Any]) -> tuple[str, list[float]] | None:
        """(name with unit, values) of the sample's labels whose range ``vlm3 data inspect`` reports."""
        return None

    # ------------------------------------------------------------------ baselines
    @abstractmethod
    def oracle_answers(self, asked: AskedQuestions, n_questions: int, truth: GroundTruth) -> list[str]:
        """The ground truth rendered through the text protocol, one answer per question."""

    def trivial_defaults(self) -> dict[str, Any]:
        """The trivial baseline's statistics before fitting (JSON-able)."""
        return {}

    def trivial_fit(self, labels: Sequence[Mapping[str, Any]], stats: Mapping[str, Any]) -> dict[str, Any]:
        """Statistics of training labels; keys without training data keep their value in ``stats``."""
        return dict(stats)

    @abstractmethod
    def trivial_answers(self, asked: AskedQuestions, n_questions: int, stats: Mapping[str, Any]) -> list[str]:
        """Answers that ignore the images, from the fitted statistics."""


__all__ = ["AskedQuestions", "GroundTruth", "QuestionInputs", "Task"]
