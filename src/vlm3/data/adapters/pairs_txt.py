"""Adapter: image pairs with ground-truth relative pose in the SuperGlue/ScanNet text format.

``source.path`` is the text file; one pair per line, 38 whitespace-separated fields::

    name0 name1 rot0 rot1 K0(9, row-major) K1(9, row-major) T_0to1(16, row-major 4x4)

``T_0to1`` maps camera-0 points into camera 1 (OpenCV frames, metres), i.e. it is
``T_cam1_from_cam0``. K refers to each image's full resolution. ``rot0``/``rot1`` are
EXIF-style rotations; pairs with a non-zero rotation are skipped (not supported).

Options: ``image_dir`` (folder of the images, relative to the text file; default ".");
``scene_regex`` (regex whose first group, searched in name0, is the scene id; default:
the folder of name0, or the pair itself when names have no folder); ``metric`` (default
true: translation in metres). Checks: field count, numbers, valid K, orthonormal R.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from vlm3.data.adapters import camera_from_K, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.io.records import PairRecord, Record, RecordError, Skipped, ViewRecord
from vlm3.geometry.camera import GeometryError
from vlm3.geometry.transforms import check_T


def _scene_of(name0: str, name1: str, scene_regex: str | None) -> str:
    if scene_regex:
        m = re.search(scene_regex, name0)
        if m:
            return m.group(1) if m.groups() else m.group(0)
    parent = str(Path(name0).parent)
    return parent if parent not in ("", ".") else f"{Path(name0).stem}+{Path(name1).stem}"


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """Yield one PairRecord per valid line (Skipped with the reason otherwise)."""
    path = Path(source.path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        yield Skipped(source.name, str(path), "pair list not found")
        return
    except UnicodeDecodeError as err:
        yield Skipped(source.name, str(path), f"pair list is not text ({err})")
        return
    image_dir = resolve_path(path.parent, str(source.options.get("image_dir", ".")))
    scene_regex = source.options.get("scene_regex")
    metric = bool(source.options.get("metric", True))
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{lineno}"
        fields = line.split()
        if len(fields) != 38:
            yield Skipped(source.name, where, f"expected 38 fields, got {len(fields)}")
            continue
        name0, name1 = fields[0], fields[1]
        rid = f"{source.name}/{Path(name0).stem}+{Path(name1).stem}"
        try:
            nums = np.array([float(v) for v in fields[2:]], dtype=np.float64)
        except ValueError:
            yield Skipped(source.name, where, "non-numeric rotation, K or T field", rid)
            continue
        if nums[0] != 0 or nums[1] != 0:
            yield Skipped(source.name, where, f"EXIF rotation {int(nums[0])}/{int(nums[1])} "
                                              "is not supported", rid)
            continue
        try:
            p0, p1 = resolve_path(image_dir, name0), resolve_path(image_dir, name1)
            cam0 = camera_from_K(f"{where} K0", nums[2:11], *image_size(p0))
            cam1 = camera_from_K(f"{where} K1", nums[11:20], *image_size(p1))
            try:
                T = check_T(nums[20:36].reshape(4, 4), name="T_0to1")
            except GeometryError as err:
                raise RecordError(where, str(err)) from None
        except RecordError as err:
            yield Skipped(source.name, err.path, err.problem, rid)
            continue
        scene = _scene_of(name0, name1, scene_regex)
        v0 = ViewRecord(f"{source.name}/{Path(name0).stem}", source.name, scene, str(p0), cam0,
                        metric=metric)
        v1 = ViewRecord(f"{source.name}/{Path(name1).stem}", source.name, scene, str(p1), cam1,
                        metric=metric)
        yield PairRecord(rid, source.name, scene, v0, v1, T, metric)
