"""The one predictor interface every model and baseline is evaluated through.

A ``Request`` is one sample: its images (as the model sees them, i.e. standardised), the
questions asked about them (protocol text, each asked independently after the images)
and their inputs (query points, question kinds, cameras), never the ground truth.
A ``Prediction`` keeps the raw answer text per question; parsing and scoring happen later
(``vlm3.evaluate``), so every predictor is scored on the same footing.

This module holds the interface only; the predictors themselves (transformers and vLLM
backends, oracle, trivial and SIFT baselines) are registered by name in ``vlm3.predictors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from vlm3.errors import InputError
from vlm3.io.images import ImageLike


#: How a model's answers are decoded (``--decoding``; `vlm3.predictors.dense`): ``exact`` greedy
#: answers with the answer template as a checked draft (the default), ``template`` the template
#: forced (fastest; greedy answers only where the model writes it), ``generate`` plain
#: transformers ``generate`` (the reference path).
DECODINGS = ("exact", "template", "generate")


def check_decoding(decoding: str) -> str:
    """``decoding`` when it names one of `DECODINGS`, else InputError (one line)."""
    if decoding not in DECODINGS:
        raise InputError(f"unknown decoding {decoding!r}; choose one of {', '.join(DECODINGS)}")
    return decoding


@dataclass
class Request:
    """One sample to answer: what was asked, never the answers.

    The question inputs (``question_ids``, ``queries``, ``cameras``) are built from a
    sample's labels by its task unit (``vlm3.tasks.get_task(task).inputs_from_labels``);
    ground truth stays with the evaluation harness, which hands it only to predictors
    that declare ``needs_ground_truth`` (the oracle).

    Attributes:
        id: sample id (unique within a benchmark).
        task: a name in ``vlm3.tasks.TASKS``.
        images: images in model order (paths, (H, W, 3) uint8 arrays or PIL images).
        questions: user-turn texts; each is answered independently after the images.
        question_ids: optional per-question ids (e.g. pose question ids), same length.
        queries: per-question inputs, same length as ``questions`` or empty (depth: query
            pixel ``xy_px``/``xy_norm2000``; correspondence: ``query_xy_px``/
            ``query_xy_norm1000`` in image 1; object: ``kind`` and ``predicate``).
        cameras: the standardised camera of each image (``Camera.to_dict``: fx, fy, cx,
            cy, width, height in pixels of the image as given), or empty when unknown.
        format_version: the text format of the questions (None: the release format).
        meta: anything else carried through (pixmaps, source); never ground truth.
    """

    id: str
    task: str
    images: list[ImageLike]
    questions: list[str]
    question_ids: list[str] | None = None
    queries: list[dict[str, Any]] = field(default_factory=list)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    format_version: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    """Raw answers for one Request: ``texts[i]`` answers ``questions[i]``; seconds = wall time share."""

    id: str
    texts: list[str]
    seconds: float = 0.0


@runtime_checkable
class Predictor(Protocol):
    """Anything with a ``name`` and ``predict(requests) -> predictions`` (same order, same ids)."""

    name: str

    def predict(self, requests: Sequence[Request]) -> list[Prediction]: ...

    def fingerprint(self) -> str:
        """A string that changes whenever answers could change (weights, settings)."""
        ...
