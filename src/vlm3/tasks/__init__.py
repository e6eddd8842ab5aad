"""The task registry: every task vlm3 trains and evaluates, one unit per task.

A task unit (``vlm3.tasks.unit.Task``; one package per task: ``vlm3.tasks.<name>``) owns
the task's data building, how it is asked (focal, image budget), text formats and answer
templates, question inputs, parsing, scoring, metric meanings and units, baseline answers,
its pictures (report figures, ``data inspect`` marks) and how a user asks it about their own
images: its ``vlm3 predict`` verb, inputs, questions and result type. Evaluation, the baselines, the data engine,
the report, ``data inspect`` and ``vlm3 predict`` look a task up here instead of branching on
its name. Adding a task = adding its package and one line in ``_UNITS`` (docs/modules.md).

`TASKS` (the task names, in report order) is defined here and nowhere else.
"""

from __future__ import annotations

from vlm3.tasks.calibration import TASK as _calibration
from vlm3.tasks.correspondence import TASK as _correspondence
from vlm3.tasks.depth import TASK as _depth
from vlm3.tasks.object import TASK as _object
from vlm3.tasks.pose import TASK as _pose
from vlm3.tasks.unit import Task

_UNITS: dict[str, Task] = {t.name: t for t in (
    _depth,
    _correspondence,
    _pose,
    _object,
    _calibration,
)}

#: Task names in report order (report.json, tables, figures).
TASKS: tuple[str, ...] = tuple(_UNITS)
#: task -> (focal px, image budget px) of the tasks the published checkpoints know: their units'
#: defaults (``Task.focal_px``, ``Task.max_pixels``), the release's preprocessing.
RELEASE_TASK_DEFAULTS: dict[str, tuple[float, int]] = {
    t: (float(u.focal_px), int(u.max_pixels)) for t, u in _UNITS.items() if u.in_release and u.focal_px is not None}


def get_task(name: str) -> Task:
    """The unit of task ``name``; ValueError (one line, naming the tasks) for an unknown name."""
    try:
        return _UNITS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


def predict_verbs() -> dict[str, str]:
    """verb -> task of every task a user can ask about their images (``vlm3 predict <verb>``,
    ``Model.<verb>``), in registry order."""
    return {u.predict_verb: t for t, u in _UNITS.items() if u.predict_verb}


def image_task_verbs() -> dict[str, str]:
    """verb -> task of every task asked about one image alone (``vlm3 predict <verb>``, ``Model.<verb>``)."""
    return {u.predict_verb: t for t, u in _UNITS.items()
            if u.predict_verb and u.n_images == 1 and not u.predict_inputs}


__all__ = ["RELEASE_TASK_DEFAULTS", "TASKS", "Task", "get_task", "image_task_verbs", "predict_verbs"]
