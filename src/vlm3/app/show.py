"""What the page writes about a call, as Markdown: answer tables, the summary line (parsed
count, camera used, notes, time) and the collapsed details (the questions sent, the raw
answers, the settings the task was asked with).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

#: questions / raw answers listed in the details before "... (N in all)"
SHOWN = 8


def cell(text: str) -> str:
    """A raw answer inside a Markdown table cell: one line, pipes escaped, at most 60 characters."""
    t = " ".join(str(text).split()).replace("|", "\\|")
    return f"`{t[:60]}`" if t else "(empty)"


def answer(text: str) -> str:
    """An object answer in full, for the page (Markdown-escaped, one paragraph)."""
    t = " ".join(str(text).split()).replace("*", "\\*").replace("_", "\\_")
    return f"**answer**: {t}" if t else "**answer**: (empty)"


def _num(v: float, digits: int = 3) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def depth_table(xy_px: np.ndarray, depth_m: np.ndarray, raw: Sequence[str]) -> str:
    """One row per queried pixel: x, y (px), depth (m, ray length) and the raw answer."""
    rows = ["| # | x (px) | y (px) | depth (m) | raw answer |", "|---|---|---|---|---|"]
    rows += [f"| {i + 1} | {p[0]:.1f} | {p[1]:.1f} | {_num(d)} | {cell(r)} |"
             for i, (p, d, r) in enumerate(zip(xy_px[:SHOWN * 2], depth_m, raw))]
    if len(xy_px) > SHOWN * 2:
        rows.append(f"| … | | | | {len(xy_px)} points in all (downloads below) |")
    return "\n".join(rows)


def match_table(xy0_px: np.ndarray, xy1_px: np.ndarray, raw: Sequence[str]) -> str:
    """One row per query: the pixel in image 1, the predicted pixel in image 2, the raw answer."""
    rows = ["| # | image 1 (x, y px) | image 2 (x, y px) | raw answer |", "|---|---|---|---|"]
    for i, (a, b, r) in enumerate(zip(xy0_px[:SHOWN * 2], xy1_px, raw)):
        rows.append(f"| {i + 1} | {a[0]:.1f}, {a[1]:.1f} | {_num(b[0], 1)}, {_num(b[1], 1)} | {cell(r)} |")
    if len(xy0_px) > SHOWN * 2:
        rows.append(f"| … | | | {len(xy0_px)} queries in all |")
    return "\n".join(rows)


def pose_text(res: Any) -> str:
    """The four answers of a pose call (question id -> raw text), then R, t, distance and the
    yaw / pitch / roll it parses to (camera 1 = image 2 in camera 0 = image 1, OpenCV)."""
    lines = ["| question | answer |", "|---|---|"]
    lines += [f"| {qid} | {cell(text)} |" for qid, text in res.raw.items()] + [""]
    if res.R_cam0_from_cam1 is not None:
        R = np.asarray(res.R_cam0_from_cam1)
        lines += ["", "**R_cam0_from_cam1** (columns: camera 2's axes in camera 1)", "```",
                  *("  ".join(f"{v:+.4f}" for v in row) for row in R), "```"]
    if res.t_unit_cam0 is not None:
        lines.append(f"**t_unit_cam0** (direction of camera 2's centre in camera 1): "
                     f"{', '.join(f'{v:+.3f}' for v in res.t_unit_cam0)}")
    lines.append(f"\n**distance**: {_num(res.distance_m)} m")
    if res.yaw_pitch_roll_deg is not None:
        lines.append("\n**yaw, pitch, roll**: " + ", ".join(f"{v:.1f}°" for v in res.yaw_pitch_roll_deg))
    if not res.ok:
        lines.append(f"\n**not a complete pose**: {res.reason}")
    return "\n".join(lines)


def calibration_text(res: Any, known: Sequence[float] | None = None) -> str:
    """A calibration answer (``CalibrationResult``): the horizontal field of view, the focal length
    fx = fy it means in pixels of the image given, the intrinsics as ``fx,fy,cx,cy`` (square pixels,
    centred principal point: paste them into another tab); beside ``known`` (fx, fy, cx, cy) when
    given, the field of view they mean and the difference."""
    from vlm3.metrics.calibration import hfov_deg_from_focal_px

    if not res.ok:
        return f"**no field of view**: the answer did not parse ({res.reason}): {cell(res.raw)}"
    fx, fy, cx, cy = res.intrinsics_fx_fy_cx_cy()
    lines = [f"**horizontal field of view**: {res.hfov_deg:.1f}°",
             f"\n**focal length**: fx = fy = {fx:.1f} px (pixels of the {res.width}x{res.height} image given)",
             f"\n**intrinsics** (square pixels, centred principal point): `{fx:.1f},{fy:.1f},{cx:.1f},{cy:.1f}`"]
    if known is not None:
        true = hfov_deg_from_focal_px(float(known[0]), res.width)
        lines.append(f"\n**given intrinsics**: fx {known[0]:.1f} px, a {true:.1f}° field of view "
                     f"(answer {res.hfov_deg - true:+.1f}°)")
    if res.model_size:
        lines.append(f"\nthe model saw the image as given, downsized to {res.model_size[0]}x{res.model_size[1]} px")
    return "\n".join(lines)


def summary(parsed: int | None, total: int | None, cameras: Sequence[dict], notes: Sequence[str],
            seconds: float) -> str:
    """One visible line: answers parsed, where each camera came from, the notes, the time (s)."""
    parts = []
    if total is not None:
        parts.append(f"{parsed}/{total} answers parsed")
    parts += [f"camera {i + 1}: {c.get('from')} (fx {c.get('fx')}, model image {c.get('model_image')})"
              if len(cameras) > 1 else f"camera: {c.get('from')} (fx {c.get('fx')}, model image {c.get('model_image')})"
              for i, c in enumerate(cameras)]
    parts += list(dict.fromkeys(notes))
    parts.append(f"{seconds:.2f} s")
    return " · ".join(parts)


def details(questions: Sequence[str], answers: Sequence[str], settings: dict[str, Any], seconds: float) -> str:
    """The collapsed details: the questions exactly as sent, the raw answers, the time, and
    the settings of this task (from the model's vlm3.json)."""
    n = len(questions)
    qs = "\n".join(f"[{i + 1}] {q}" for i, q in enumerate(questions[:SHOWN]))
    ans = "\n".join(f"[{i + 1}] {a!r}" for i, a in enumerate(list(answers)[:SHOWN]))
    more = f"\n… ({n} in all)" if n > SHOWN else ""
    return (f"**questions sent** ({n})\n```text\n{qs}{more}\n```\n"
            f"**raw answers**\n```text\n{ans}{more}\n```\n"
            f"**time**: {seconds:.2f} s\n\n"
            f"**settings** (this task, from the model's vlm3.json)\n```json\n{json.dumps(settings, indent=1)}\n```")
