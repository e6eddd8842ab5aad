"""The one predictor interface every model and baseline is evaluated through.

A ``Request`` is one sample: its images (as the model sees them, i.e. standardised), the
questions asked about them (protocol text, each asked independently after the images)
and optional ``labels`` (ground truth; read only by the oracle and trivial baselines).
A ``Prediction`` keeps the raw answer text per question; parsing and scoring happen later
(``vlm3.evaluate``), so every predictor is scored on the same footing.

``make_predictor(spec)`` builds a predictor from a short spec string:
``model:<preset|checkpoint dir|hub id>`` (transformers backend; ``vllm:<...>`` for vLLM),
``oracle``, ``trivial`` (fitted on training shards by the harness), ``sift``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
from PIL import Image, UnidentifiedImageError

ImageLike = str | Path | np.ndarray | Image.Image


class InputError(ValueError):
    """User input that cannot be used (missing/unreadable image, bad spec); message says what to fix."""


#: how a model predictor decodes numbers (``vlm3.predictors.number_decoding``; eval config ``numbers:``)
NUMBER_DECODING = ("greedy", "median")


@dataclass
class Request:
    """One sample to answer.

    Attributes:
        id: sample id (unique within a benchmark).
        task: "depth" | "correspondence" | "pose" | "object".
        images: images in model order (paths, (H, W, 3) uint8 arrays or PIL images).
        questions: user-turn texts; each is answered independently after the images.
        question_ids: optional per-question ids (e.g. pose question ids), same length.
        labels: ground truth (standardised pixels / metres); only oracle/trivial read it.
        meta: anything else carried through (pixmaps, cameras, source).
    """

    id: str
    task: str
    images: list[ImageLike]
    questions: list[str]
    question_ids: list[str] | None = None
    labels: dict[str, Any] = field(default_factory=dict)
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


def load_image_rgb(image: ImageLike) -> Image.Image:
    """An RGB PIL image from a path, array or PIL image; InputError for missing/unreadable files."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3):
            raise InputError(f"image array must be (H, W) or (H, W, 3), got shape {image.shape}")
        return Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
    path = Path(image)
    if not path.is_file():
        raise InputError(f"image not found: {path} (check the path)")
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"cannot read image {path}: not a readable image file ({err.__class__.__name__})") from None


def load_image_array(image: ImageLike) -> np.ndarray:
    """(H, W, 3) uint8 RGB array of an image (see `load_image_rgb`)."""
    return np.asarray(load_image_rgb(image), dtype=np.uint8)


def file_fingerprint(path: str | Path, max_files: int = 64) -> str:
    """sha1 over names, sizes and mtimes of a file or a directory's files (cheap, no content)."""
    p = Path(path)
    h = hashlib.sha1()
    files = sorted(x for x in p.rglob("*") if x.is_file())[:max_files] if p.is_dir() else [p]
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(p) if p.is_dir() else f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def make_predictor(spec: str, **kwargs: Any) -> Predictor:
    """Build a predictor from ``spec`` (see module doc); kwargs go to its constructor.

    Raises InputError on an unknown spec.
    """
    kind, _, arg = spec.partition(":")
    if kind == "model":
        from vlm3.predictors.hf import HFPredictor

        return HFPredictor.from_pretrained(arg or "tiny", **kwargs)
    if kind == "vllm":
        from vlm3.predictors.vllm import VLLMPredictor

        return VLLMPredictor(arg, **kwargs)
    if kind == "oracle":
        from vlm3.predictors.oracle import OraclePredictor

        return OraclePredictor(**kwargs)
    if kind == "trivial":
        from vlm3.predictors.trivial import TrivialPredictor

        return TrivialPredictor(**kwargs)
    if kind == "sift":
        from vlm3.predictors.sift import SiftPredictor

        return SiftPredictor(**kwargs)
    raise InputError(
        f"unknown predictor {spec!r}: use model:<preset|checkpoint dir>, vllm:<checkpoint dir>, oracle, trivial or sift"
    )
