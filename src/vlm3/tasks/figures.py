"""What the task units' figures share: the `Figure` they return and reading stored records.

Each task unit draws its own figures (``Task.report_figures`` for the HTML report,
``Task.inspect_marks`` for ``vlm3 data inspect``) in its package's ``figure.py``, with the
pieces of ``vlm3.drawing``. A prediction record is one line of ``RUN_DIR/predictions/*.jsonl``
(``task``, ``raw``, ``question_ids``, ``labels``, ``format_version``, ``images``, ``id``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlm3.io.images import ImageReadError, read_rgb
from vlm3.tasks.common import text_format_for


@dataclass(frozen=True)
class Figure:
    """One report figure: caption, PNG data URI (None: nothing to draw), drawn small (in a grid)."""

    title: str
    uri: str | None
    small: bool = False


def load_image(ref: str) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of an image a record names, or None when the file is gone."""
    try:
        return read_rgb(ref)
    except ImageReadError as err:
        if err.missing:
            return None
        raise


def parse_record(unit: Any, record: Mapping[str, Any]) -> list:
    """``unit``'s per-item parse of a prediction record's raw answers."""
    asked = unit.inputs_from_labels(record["labels"], record.get("question_ids"), record.get("format_version"))
    return unit.parse(record["raw"], asked)


def focus_figure(title: str, draw: Callable[[Any, Sequence[dict], str], str | None], unit: Any,
                 records: Mapping[str, Sequence[dict]], focus: str | None) -> list[Figure]:
    """The one figure ``draw(unit, records of the focus predictor, focus)`` titled ``title`` (with
    ``{focus}`` filled in), or none without a focus predictor."""
    if focus is None:
        return []
    return [Figure(title.format(focus=focus), draw(unit, records.get(focus, []), focus))]


def parsed_with_truths(unit: Any, records: Sequence[Mapping[str, Any]]) -> tuple[list, list]:
    """(truths, predicted values) of every parsed item of ``records`` (unparsed items left out)."""
    truths, values = [], []
    for r in records:
        parsed = parse_record(unit, r)
        for p, g in zip(parsed, unit.truths(r["labels"], len(parsed))):
            if p.ok:
                truths.append(g)
                values.append(p.value)
    return truths, values


def question_turns(unit: Any, messages: list[dict[str, Any]], format_version: str | None,
                   template: str) -> Iterator[tuple[re.Match | None, Any]]:
    """Per turn of a sample: the match of the format's question template ``template`` (an
    attribute name of the text module, e.g. ``PROMPT_TEMPLATE``) in the question, and the
    parsed answer -- in the sample's own text format."""
    fmt = text_format_for(unit.name, format_version)
    question = template_regex(getattr(fmt, template))
    for q, a in turns(messages):
        yield question.search(q), fmt.parse_answer(a)


@functools.lru_cache(maxsize=None)
def template_regex(template: str) -> re.Pattern:
    """A regex reading the integers back out of a text template: every ``{}`` or ``{name}``
    placeholder becomes ``(\\d+)``, the rest is matched literally (``vlm3 data inspect`` reads
    what a sample's text says with its own text-format module's templates)."""
    literal = re.split(r"\{[a-z_0-9]*\}", template)
    return re.compile(r"(\d+)".join(re.escape(part) for part in literal))


def turns(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(question, answer) texts of a chat sample's alternating user / assistant messages."""
    return [(messages[k]["content"], messages[k + 1]["content"]) for k in range(0, len(messages) - 1, 2)]


__all__ = ["Figure", "focus_figure", "load_image", "parse_record", "parsed_with_truths", "question_turns", "template_regex", "turns"]
