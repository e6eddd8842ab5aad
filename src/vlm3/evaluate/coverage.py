"""Coverage of a scored cell: how many of the items a benchmark gives were scored, why the
others were not, and where each camera came from.

A cell is one (benchmark, predictor, task). Its ``coverage`` (stage 2 writes it into
summary.json beside the metrics; report.json, table.md, paper.md, the HTML report and the
console headline show it) is::

    {"given": items the built inputs hold (points, matches, pairs, questions),
     "scored": items with a parsed answer (what the metric is computed on, the rest
               counted as the failure policy says),
     "lost": {reason: items}            # "outside the standardised image", "parse failure", ...
     "inputs_skipped": {reason: inputs} # whole inputs refused whose item count is unknown
     "inputs_cut": inputs left out by --max-samples,
     "calibration": {source: images},   # "given K", "AnyCalib", "FoV 60° guess"
     "calibration_guessed": bool}

Builders say what they dropped in the sample labels (``items_dropped: {reason: n}``); the
parse failures come from scoring; skipped and cut inputs from the run (run.json). A cell
under 100 % (or with skipped or cut inputs) is *incomplete*: tables mark it with
``INCOMPLETE_MARK`` and list the counted reasons; a cell scored on a guessed camera is
marked ``GUESS_MARK``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

INCOMPLETE_MARK = "†"
GUESS_MARK = "‡"
PARSE_FAILURE = "parse failure"


def calibration_name(camera_from: str) -> str:
    """A short name of a label's ``camera_from`` (vlm3.standardize.calibration): "given K",
    "AnyCalib", or "FoV <deg>° guess" (any fallback is a guess)."""
    if camera_from == "given":
        return "given K"
    if camera_from.startswith("calibrated:anycalib"):
        return "AnyCalib"
    if camera_from.startswith("fallback:fov"):
        return f"FoV {camera_from.removeprefix('fallback:fov').split()[0]}° guess"
    return camera_from


def is_guess(name: str) -> bool:
    """True for a calibration source that is a stated guess (a FoV fallback)."""
    return name.endswith("guess")


def camera_sources(labels: Mapping[str, Any]) -> list[str]:
    """The short calibration name of each image of a sample (labels ``camera_from``: one, or a list)."""
    cf = labels.get("camera_from")
    return [calibration_name(str(c)) for c in (cf if isinstance(cf, list) else [cf] if cf else [])]


def cell_coverage(records: Sequence[Mapping[str, Any]], n_items: int, n_failed: int,
                  skipped_inputs: Sequence[Mapping[str, Any]] = (), inputs_cut: int = 0) -> dict[str, Any]:
    """The coverage of one cell from its prediction records (``labels``: ``items_dropped``,
    ``camera_from``), the scorer's ``n_items`` / ``n_failed`` and the run's skipped and cut inputs."""
    lost: Counter[str] = Counter()
    calib: Counter[str] = Counter()
    for r in records:
        labels = r.get("labels") or {}
        for reason, n in (labels.get("items_dropped") or {}).items():
            lost[str(reason)] += int(n)
        calib.update(camera_sources(labels))
    if n_failed:
        lost[PARSE_FAILURE] += int(n_failed)
    skipped: Counter[str] = Counter()
    for s in skipped_inputs:  # an input whose items are known (given depth points) counts them as lost
        if s.get("items"):
            lost[str(s.get("reason", "unknown"))] += int(s["items"])
        else:
            skipped[str(s.get("reason", "unknown"))] += 1
    given = int(n_items) + sum(n for reason, n in lost.items() if reason != PARSE_FAILURE)
    return {"given": given, "scored": int(n_items) - int(n_failed), "lost": dict(lost.most_common()),
            "inputs_skipped": dict(skipped.most_common()), "inputs_cut": int(inputs_cut),
            "calibration": dict(calib.most_common()), "calibration_guessed": any(is_guess(c) for c in calib)}


def complete(cov: Mapping[str, Any] | None) -> bool:
    """True when every item given was scored and no input was skipped or cut."""
    return cov is None or (cov["scored"] == cov["given"] and not cov.get("inputs_skipped")
                           and not cov.get("inputs_cut"))


def marks(cov: Mapping[str, Any] | None) -> str:
    """``INCOMPLETE_MARK`` for an incomplete cell, ``GUESS_MARK`` for one on a guessed camera."""
    if cov is None:
        return ""
    return ("" if complete(cov) else INCOMPLETE_MARK) + (GUESS_MARK if cov.get("calibration_guessed") else "")


def count_text(cov: Mapping[str, Any] | None) -> str:
    """"scored/given" ("" without coverage)."""
    return "" if cov is None else f"{cov['scored']}/{cov['given']}"


def cell_text(value: str, cov: Mapping[str, Any] | None) -> str:
    """A table cell: the value, its counts and its marks, e.g. ``0.912 (94/100)†``."""
    return value if cov is None or value == "–" else f"{value} ({count_text(cov)}){marks(cov)}"


def reasons_text(cov: Mapping[str, Any]) -> str:
    """The counted reasons of an incomplete cell and its calibration sources, one line."""
    parts = [f"{n} {reason}" for reason, n in cov.get("lost", {}).items()]
    parts += [f"{n} input(s) skipped: {reason}" for reason, n in cov.get("inputs_skipped", {}).items()]
    if cov.get("inputs_cut"):
        parts.append(f"{cov['inputs_cut']} input(s) cut by --max-samples")
    calib = ", ".join(f"{name} x {n}" for name, n in cov.get("calibration", {}).items())
    return "; ".join(parts) + (("; " if parts else "") + f"cameras: {calib}" if calib else "")


def table_notes(cells: Mapping[str, Mapping[str, Any] | None]) -> list[str]:
    """Notes under a table: one line per incomplete or guessed cell (``cells``: cell name -> coverage)."""
    return [f"{marks(c)} {name}: {count_text(c)} scored ({reasons_text(c)})"
            for name, c in cells.items() if c is not None and marks(c)]


__all__ = ["GUESS_MARK", "INCOMPLETE_MARK", "PARSE_FAILURE", "calibration_name", "camera_sources", "cell_coverage", "cell_text",
           "complete", "count_text", "is_guess", "marks", "reasons_text", "table_notes"]
