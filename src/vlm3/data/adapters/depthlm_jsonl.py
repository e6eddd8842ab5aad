"""Adapter: DepthLM's curated jsonl (facebookresearch/DepthLM_Official ``utils/curate_*.py``).

``source.path`` is the jsonl; one line per image::

    {"image": "rgb/a.png", "intrinsics": [fx, fy, cx, cy, W, H],
     "pixel_coords": [[x, y], ...], "depth": [metres, ...]}

Pixel coordinates are integers with the origin at the top-left pixel and x = column, i.e.
pixel centres at integers (vlm3's convention). The curation already resized images and
intrinsics (Argoverse2 / Waymo to fx 1000, ETH3D to a height of 1280, ScanNet++ to a
width of 1280); ``W, H`` must equal the image's size. Each line yields one ``ViewRecord``
with ``depth_points`` per ``points_per_sample`` points (default 10, as dense sources pack
10 questions per sample), in the file's order: the depth task asks about exactly these
points (``vlm3.tasks.depth.given_points``), nothing is re-sampled. All records of one image
share its scene id, so they land in one split.

Label kind per DepthLM dataset (``options.dataset``; default: guessed from the file name):
``z`` for ``nuscenes`` and ``ddad`` (lidar z in DLM's scripts), ``ray`` for the others
(``sqrt(X^2 + Y^2 + Z^2)``; DLM's ScanNet++ script writes ``sqrt(xn^2 + yn^2 + z^2)``,
neither ray nor z: kept as DLM's value, marked ``ray``). ``options.depth_kind`` overrides.

Split: DepthLM's ScanNet++ rule for ``dataset: scannetpp`` -- the first
``int(0.98 * N)`` lines are train, the rest test (DLM then shuffles the test lines with
``random.seed(42)``: order only) -- as ``split_hint`` (use ``split: source`` in the data
config), or ``options.split: train|test`` keeps only that split's lines (the rule applied
here; an eval benchmark uses ``split: test``); the other eval files are whole test sets.

Options: ``image_dir`` (relative to the jsonl's folder, default "."), ``dataset``,
``depth_kind``, ``points_per_sample`` (1..100, default 10), ``metric`` (default true),
``split`` (scannetpp: keep only train or test lines).
Checks (a counted ``Skipped`` with the reason): malformed JSON line, intrinsics that are
not 6 finite numbers or do not match the image size, missing or unreadable image,
coordinates and depths of different lengths, points outside the image, depths that are
not finite and positive.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator

from vlm3.data.adapters import camera_from_intrinsics, image_size, resolve_path
from vlm3.data.config import SourceConfig
from vlm3.io.records import DepthPoints, Record, RecordError, Skipped, ViewRecord

#: DepthLM datasets whose labels are z-depth (lidar z); every other one is a ray length
Z_DATASETS = ("nuscenes", "ddad")
#: the names this adapter knows (the 8 columns of the paper's Table 1, plus DLM's training sets)
DATASETS = ("argoverse2", "ddad", "nuscenes", "eth3d", "scannetpp", "sunrgbd", "ibims1", "nyuv2",
            "waymo", "matterport3d", "taskonomy", "other")
SCANNETPP_TRAIN_FRACTION = 0.98


def guess_dataset(path: Path) -> str:
    """The DepthLM dataset a file belongs to, from its name (DLM itself tests ``"scannet" in path``)."""
    name = path.name.lower().replace("-", "").replace("_", "")
    for key, names in (("scannetpp", ("scannet",)), ("nuscenes", ("nuscenes",)), ("ddad", ("ddad",)),
                       ("argoverse2", ("argoverse", "argo")), ("eth3d", ("eth3d",)),
                       ("sunrgbd", ("sunrgbd",)), ("ibims1", ("ibims",)), ("nyuv2", ("nyu",)),
                       ("waymo", ("waymo",)), ("matterport3d", ("matterport",))):
        if any(n in name for n in names):
            return key
    return "other"


def label_kind(dataset: str) -> str:
    """"z" for nuScenes and DDAD, "ray" otherwise (see the module doc)."""
    return "z" if dataset in Z_DATASETS else "ray"


def scannetpp_split(index: int, n_lines: int) -> str:
    """DepthLM's ScanNet++ rule: line ``index`` of ``n_lines`` is test iff it is in the last 2 %."""
    return "train" if index < int(n_lines * SCANNETPP_TRAIN_FRACTION) else "test"


def _numbers(where: str, what: str, values: Any, n: int | None = None) -> list[float]:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise RecordError(where, f"{what} must be numbers, got {values!r}"[:200]) from None
    if (n is not None and len(out) != n) or not all(math.isfinite(v) for v in out):
        raise RecordError(where, f"{what} must be {n or 'some'} finite numbers, got {values!r}"[:200])
    return out


def _line_records(source: SourceConfig, entry: Any, where: str, rid: str, image_dir: Path, kind: str,
                  per_sample: int, split: str | None, metric: bool) -> list[ViewRecord]:
    if not isinstance(entry, dict):
        raise RecordError(where, "line is not a JSON object")
    for key in ("image", "intrinsics", "pixel_coords", "depth"):
        if key not in entry:
            raise RecordError(where, f"missing key {key!r} (need image, intrinsics, pixel_coords, depth)")
    intr = _numbers(where, "intrinsics [fx, fy, cx, cy, W, H]", entry["intrinsics"], 6)
    img = resolve_path(image_dir, str(entry["image"]).lstrip("/"))
    w, h = image_size(img)
    if (round(intr[4]), round(intr[5])) != (w, h):
        raise RecordError(where, f"intrinsics are for a {round(intr[4])}x{round(intr[5])} image but "
                                 f"{img.name} is {w}x{h}")
    fx, fy = intr[0] or intr[1], intr[1] or intr[0]  # DLM: a zero focal is replaced by the other
    cam = camera_from_intrinsics(where, (fx, fy, intr[2], intr[3]), w, h)
    coords = entry["pixel_coords"]
    depth = _numbers(where, "depth", entry["depth"])
    if not isinstance(coords, list) or len(coords) != len(depth) or not coords:
        raise RecordError(where, f"pixel_coords and depth must be non-empty lists of one length, got "
                                 f"{len(coords) if isinstance(coords, list) else type(coords).__name__} "
                                 f"and {len(depth)}")
    xy = [tuple(_numbers(where, "a pixel coordinate [x, y]", c, 2)) for c in coords]
    bad = [p for p in xy if not (0 <= p[0] <= w - 1 and 0 <= p[1] <= h - 1)]
    if bad:
        raise RecordError(where, f"{len(bad)} pixel coordinate(s) outside the {w}x{h} image, e.g. {bad[0]}")
    if any(d <= 0 for d in depth):
        raise RecordError(where, "depths must be positive metres")
    scene = str(entry["image"])
    out = []
    for k in range(0, len(xy), per_sample):
        pts = DepthPoints(tuple(xy[k:k + per_sample]), tuple(depth[k:k + per_sample]), kind)
        out.append(ViewRecord(f"{rid}:{k // per_sample}", source.name, scene, str(img), cam, metric=metric,
                              split_hint=split, depth_points=pts))
    return out


def iter_records(source: SourceConfig) -> Iterator[Record | Skipped]:
    """One ViewRecord per ``points_per_sample`` points of every line (Skipped with the reason otherwise)."""
    path = Path(source.path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        yield Skipped(source.name, str(path), "DepthLM jsonl not found")
        return
    except (UnicodeDecodeError, IsADirectoryError) as err:
        yield Skipped(source.name, str(path), f"unreadable jsonl ({err})")
        return
    opts = source.options
    dataset = str(opts.get("dataset") or guess_dataset(path))
    if dataset not in DATASETS:
        yield Skipped(source.name, str(path), f"unknown DepthLM dataset {dataset!r}; use one of {', '.join(DATASETS)}")
        return
    kind = str(opts.get("depth_kind") or label_kind(dataset))
    per_sample = opts.get("points_per_sample", 10)
    if isinstance(per_sample, bool) or not isinstance(per_sample, int) or not 1 <= per_sample <= 100:
        yield Skipped(source.name, str(path), f"options.points_per_sample must be an integer in 1..100, "
                                              f"got {per_sample!r}")
        return
    if kind not in ("z", "ray"):
        yield Skipped(source.name, str(path), f"options.depth_kind must be z or ray, got {kind!r}")
        return
    image_dir = resolve_path(path.parent, str(opts.get("image_dir", ".")))
    metric = bool(opts.get("metric", True))
    want = opts.get("split")
    if want is not None and (dataset != "scannetpp" or want not in ("train", "test")):
        yield Skipped(source.name, str(path), f"options.split {want!r}: only DepthLM's ScanNet++ file has a "
                                              f"split rule (train or test)")
        return
    rows = [(i, line) for i, line in enumerate(lines) if line.strip()]
    for n, (i, line) in enumerate(rows):
        where = f"{path}:{i + 1}"
        rid = f"{source.name}/{i}"
        split = scannetpp_split(n, len(rows)) if dataset == "scannetpp" else None
        if want is not None and split != want:
            continue
        try:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                raise RecordError(where, f"malformed JSON line ({err})") from None
            yield from _line_records(source, entry, where, rid, image_dir, kind, per_sample, split, metric)
        except RecordError as err:
            yield Skipped(source.name, err.path, err.problem, rid)


__all__ = ["iter_records", "guess_dataset", "label_kind", "scannetpp_split", "Z_DATASETS", "DATASETS"]
