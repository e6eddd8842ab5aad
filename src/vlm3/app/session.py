"""The model behind the page: loaded once, asked by one event at a time, every call recorded.

A ``Session`` holds the ``vlm3.infer.api.Model`` (``vlm3.load``), a folder for the files the
page shows or offers for download, and a ``Recorder`` between the model and its predictor
that keeps the requests of the last call: the question texts the model was actually sent,
shown on the page beside its raw answers. ``Session.call`` runs one API call under a lock
and returns its result with what was asked and how long it took (seconds, wall clock).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable

from vlm3.infer.api import Model


class Recorder:
    """A predictor proxy that remembers the ``Request`` objects of the calls since ``clear``
    and passes everything else on to the real predictor."""

    def __init__(self, inner: Any) -> None:
        self.__dict__["inner"] = inner
        self.__dict__["requests"] = []

    def predict(self, requests: list) -> list:
        self.requests.extend(requests)
        return self.inner.predict(requests)

    def clear(self) -> None:
        self.requests.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)


@dataclass
class Call:
    """One API call made for the page: its ``result``, the questions sent (text, in order),
    and ``seconds`` of wall-clock time."""

    result: Any
    questions: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Session:
    """The loaded model (``model``), its directory (``model_dir``, None for presets) and the
    folder ``work_dir`` where results are written (one sub-folder per call)."""

    def __init__(self, model: Model, model_dir: Path | None, work_dir: Path) -> None:
        self.model = model
        self.model_dir = model_dir
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._recorder = Recorder(model.predictor)
        model.predictor = self._recorder
        self._lock = threading.Lock()
        self._count = 0

    def call(self, fn: Callable[[Model], Any]) -> Call:
        """Run ``fn(model)`` alone (one event at a time), recording the questions it sent."""
        with self._lock:
            self._recorder.clear()
            t0 = time.perf_counter()
            result = fn(self.model)
            seconds = time.perf_counter() - t0
            questions = [q for r in self._recorder.requests for q in r.questions]
        return Call(result, questions, seconds)

    def out_dir(self, what: str) -> Path:
        """A fresh folder under ``work_dir`` for one call's files (``<n>-<what>``)."""
        with self._lock:
            self._count += 1
            n = self._count
        d = self.work_dir / f"{n:04d}-{what}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def settings(self, task: str) -> dict[str, Any]:
        """What ``task`` is asked with: the model's name, number decoding and the task's settings
        (focal px, pixel budget, text format) from its ``vlm3.json`` (release settings without one)."""
        return {"model": self.model.name, "numbers": self.model.asking.numbers, **self.model.settings(task)}

    def saved_settings_text(self) -> str:
        """The model's ``vlm3.json`` as saved (pretty JSON), or the settings in use when it has none."""
        if self.model_dir is not None and (self.model_dir / "vlm3.json").is_file():
            try:
                return json.dumps(json.loads((self.model_dir / "vlm3.json").read_text()), indent=1)
            except (OSError, ValueError):
                pass
        a = self.model.asking
        return json.dumps(asdict(a) if is_dataclass(a) else {"name": str(a)}, indent=1, default=str)
