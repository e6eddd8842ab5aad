"""Benchmarks declared in YAML, turned into ``Request`` lists.

An eval config (``vlm3/configs/eval/*.yaml``) lists benchmarks; each names a ``kind``:

* ``shards`` -- chat samples built by the data engine (``vlm3 data``): ``root`` (dataset
  root with ``shards/<split>/...``), ``split`` (default ``test``), ``tasks`` (default all),
  ``sources`` (default all: keep only samples of these data sources), ``max_samples_per_task``. This is how held-out synthetic scenes and any real dataset
  (converted with the data engine, i.e. focal-normalised) are evaluated.
* ``pairs_txt`` -- image pairs with ground-truth pose in the SuperGlue/ScanNet text
  format (``pairs``: the text file; ``image_dir``: folder of images, default next to it;
  ``resize_max_side``: optional resize as SuperGlue's evaluation does). Builds pose
  requests straight from the original images (no focal normalisation): meant for the
  classical baseline and the oracle; evaluate a model on real pairs via ``shards``.

Paths may use ``${VAR}`` or ``${VAR:-default}``; relative paths are relative to the
current directory. ``optional: true`` turns a missing root into a counted skip with a
reason instead of an error (e.g. ../shared samples on a fresh clone).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from vlm3.predictors.base import InputError, Request

KINDS = ("shards", "pairs_txt")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_path(text: str) -> Path:
    """``${VAR}`` / ``${VAR:-default}`` expanded, then ``~``; InputError for an unset VAR without default."""
    def sub(m: re.Match) -> str:
        val = os.environ.get(m.group(1))
        if val is None:
            if m.group(2) is None:
                raise InputError(f"environment variable {m.group(1)} is not set (needed by path {text!r})")
            return m.group(2)
        return val

    return Path(_VAR.sub(sub, str(text))).expanduser()


@dataclass
class Benchmark:
    """One benchmark entry of an eval config (see module doc for the keys)."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    optional: bool = False

    def root_path(self) -> Path:
        key = "root" if self.kind == "shards" else "pairs"
        if key not in self.options:
            raise InputError(f"benchmark {self.name!r} ({self.kind}) needs a {key!r} entry")
        return expand_path(self.options[key])

    def available(self) -> tuple[bool, str]:
        """(usable, reason when not)."""
        try:
            p = self.root_path()
        except InputError as err:
            return False, str(err)
        return (True, "") if p.exists() else (False, f"{p} not found")

    def requests(self) -> list[Request]:
        """All requests of this benchmark (InputError when its data is missing)."""
        ok, why = self.available()
        if not ok:
            raise InputError(f"benchmark {self.name!r}: {why}")
        if self.kind == "shards":
            return _shard_requests(self)
        return _pairs_txt_requests(self)


def load_eval_config(path: str | Path) -> tuple[dict[str, Any], list[Benchmark]]:
    """(raw config dict, benchmarks) from an eval YAML; InputError on malformed entries."""
    p = Path(path)
    if not p.is_file():
        builtin = Path(__file__).resolve().parents[1] / "configs" / "eval" / f"{path}.yaml"
        if not builtin.is_file():
            raise InputError(f"eval config not found: {path} (a YAML file, or a name in vlm3/configs/eval/)")
        p = builtin
    try:
        cfg = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as err:
        raise InputError(f"{p}: not valid YAML ({str(err).splitlines()[0]})") from None
    out = []
    for i, b in enumerate(cfg.get("benchmarks") or []):
        if not isinstance(b, dict) or "name" not in b or b.get("kind") not in KINDS:
            raise InputError(f"{p}: benchmarks[{i}] needs a name and a kind in {KINDS}")
        opts = {k: v for k, v in b.items() if k not in ("name", "kind", "optional")}
        out.append(Benchmark(str(b["name"]), str(b["kind"]), opts, bool(b.get("optional", False))))
    if not out:
        raise InputError(f"{p}: no benchmarks listed")
    return cfg, out


def request_from_sample(sample: dict[str, Any], root: Path) -> Request:
    """A Request from a data-engine chat sample (questions = its user turns)."""
    from vlm3.protocol.packing import qa_pairs_of

    qa = qa_pairs_of(sample)
    labels = sample.get("labels", {})
    return Request(
        id=str(sample["id"]), task=str(sample["task"]),
        images=[root / p for p in sample.get("images", [])],
        questions=[q for q, _ in qa],
        question_ids=list(labels["question_ids"]) if sample["task"] == "pose" and "question_ids" in labels else None,
        labels=labels,
        meta={"reference_answers": [a for _, a in qa], "pixmaps": sample.get("pixmaps"),
              "source": sample.get("source"), "format_version": sample.get("format_version")},
    )


def _shard_requests(b: Benchmark) -> list[Request]:
    from vlm3.data.shards import read_samples, shard_paths

    root = b.root_path()
    split = str(b.options.get("split", "test"))
    tasks = list(b.options.get("tasks") or ("depth", "correspondence", "pose", "object"))
    limit = b.options.get("max_samples_per_task")
    sources = b.options.get("sources")
    out = []
    for task in tasks:
        paths = shard_paths(root, split, task)
        samples = read_samples(paths)
        if sources:
            samples = [s for s in samples if s.get("source") in sources]
        if limit is not None:
            samples = samples[: int(limit)]
        out += [request_from_sample(s, root) for s in samples]
    return out


def _pairs_txt_requests(b: Benchmark) -> list[Request]:
    """Pose requests from a SuperGlue/ScanNet pair list, read by the data engine's adapter."""
    from vlm3.data.adapters.pairs_txt import iter_records
    from vlm3.data.config import SourceConfig
    from vlm3.io.records import Skipped
    from vlm3.geometry.transforms import invert_T
    from vlm3.tasks.pose import text as pose_text
    txt = b.root_path()
    image_dir = txt.parent / str(b.options.get("image_dir", "images"))
    source = SourceConfig(name=b.name, adapter="pairs_txt", path=str(txt),
                          options={"image_dir": str(b.options.get("image_dir", "images"))})
    max_side = b.options.get("resize_max_side")
    ids = list(pose_text.QUESTION_IDS)
    out = []
    for rec in iter_records(source):
        if isinstance(rec, Skipped):
            raise InputError(f"{rec.path}: {rec.reason}")
        images, cams = [], []
        for view in (rec.view0, rec.view1):
            with Image.open(view.image_path) as im:
                arr = np.asarray(im.convert("RGB"))
            cam = view.camera
            w, h = cam.width, cam.height
            if max_side and max(w, h) > int(max_side):
                s = int(max_side) / max(w, h)
                nw, nh = round(w * s), round(h * s)
                arr = np.asarray(Image.fromarray(arr).resize((nw, nh), Image.Resampling.BILINEAR))
                cam = cam.scaled(nw / w, nh / h, nw, nh)
            images.append(arr)
            cams.append(cam)
        T_cam0_from_cam1 = invert_T(rec.T_cam1_from_cam0)
        names = [os.path.relpath(v.image_path, image_dir) for v in (rec.view0, rec.view1)]
        labels = {"T_cam1_from_cam0": rec.T_cam1_from_cam0.tolist(),
                  "R_cam0_from_cam1": T_cam0_from_cam1[:3, :3].tolist(),
                  "t_cam0_from_cam1_m": T_cam0_from_cam1[:3, 3].tolist(), "metric": True, "question_ids": ids,
                  "cameras": [c.to_dict() for c in cams], "image_paths": [v.image_path for v in (rec.view0, rec.view1)]}
        out.append(Request(id="|".join(names), task="pose", images=images,
                           questions=[pose_text.QUESTIONS[i] for i in ids], question_ids=ids, labels=labels,
                           meta={"source": b.name}))
    return out
