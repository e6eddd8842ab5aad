"""Benchmarks declared in an eval config (vlm3.evaluate.config), turned into ``Case`` lists
(a request + its ground truth).

Kinds: ``shards`` (chat samples built by the data engine: held-out synthetic scenes and any
real dataset converted with it, i.e. focal-normalised), ``records`` (a benchmark with its
own queries: a data adapter's records -- DepthLM jsonl points, a fixed pose pair list, ... --
built by the task's builder at training's focal, 1000 px (pose 750), the whole image kept
(padded to the grid; the release's resize for a published checkpoint), keeping the
benchmark's points and pairs: nothing is re-sampled or cut away) and ``pairs_txt`` (image
pairs with ground-truth pose in the SuperGlue/ScanNet text format: pose cases straight from
the original images resized to ``resize_max_side``, NOT standardised like training, so
only the baselines run on it: ``MODEL_REFUSAL`` says why; evaluate a model on the same
pairs with ``kind: records, adapter: pairs_txt``). The keys of each kind:
vlm3.evaluate.config.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from vlm3.io.images import ImageReadError, read_rgb
from vlm3.evaluate.own_queries import record_samples
from vlm3.evaluate.stages import Case
from vlm3.errors import InputError
from vlm3.predictors.base import Request
from vlm3.tasks import TASKS, get_task
from vlm3.tasks.packing import qa_pairs_of
from vlm3.tasks.unit import GroundTruth

KINDS = ("shards", "records", "pairs_txt")
#: why a pairs_txt benchmark runs no model (vlm3.evaluate.pipeline prints it once)
MODEL_REFUSAL = ("keeps the original images resized to a {side}-px long side (f ~ {f:.0f} px), not the training "
                 "standardisation (focal 750 px): a model is not run on it; use kind: records, adapter: pairs_txt")


@dataclass
class Benchmark:
    """One benchmark of an eval config: its name, kind, the set keys of its kind (``options``)."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    optional: bool = False
    #: inputs the last ``cases()`` refused (records kind): source, record_id, path, reason
    skipped: list[dict[str, str]] = field(default_factory=list)

    def root_path(self) -> Path:
        key = {"shards": "root", "records": "path"}.get(self.kind, "pairs")
        if key not in self.options:
            raise InputError(f"benchmark {self.name!r} ({self.kind}) needs a {key!r} entry")
        return Path(self.options[key]).expanduser()

    def available(self) -> tuple[bool, str]:
        """(usable, reason when not)."""
        try:
            p = self.root_path()
        except InputError as err:
            return False, str(err)
        return (True, "") if p.exists() else (False, f"{p} not found")

    def model_refusal(self, cases: Sequence[Case] = ()) -> str | None:
        """Why a model must not be run on this benchmark (None: it may)."""
        if self.kind != "pairs_txt":
            return None
        side = self.options.get("resize_max_side")
        fx = [c.request.cameras[0]["fx"] for c in cases if c.request.cameras][:1]
        return MODEL_REFUSAL.format(side=side or "original", f=fx[0] if fx else float("nan"))

    def cases(self, cache_dir: str | Path | None = None) -> list[Case]:
        """All cases (request + ground truth) of this benchmark (InputError when its data is
        missing). ``records`` writes its standardised images under ``cache_dir`` (``vlm3 eval``:
        RUN_DIR/bench_cache/<name>; default: a new temporary folder)."""
        ok, why = self.available()
        if not ok:
            raise InputError(f"benchmark {self.name!r}: {why}")
        if self.kind == "shards":
            return _shard_cases(self)
        if self.kind == "records":
            root = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix=f"vlm3_{self.name}_"))
            samples, self.skipped = record_samples(self.name, self.options, self.root_path(), root)
            return [case_from_sample(s, root) for s in samples]
        return _pairs_txt_cases(self)


def case_from_labels(task: str, sample_id: str, images: list[Any], questions: list[str], labels: dict[str, Any],
                     answers: list[str] | None = None, format_version: str | None = None,
                     meta: dict[str, Any] | None = None) -> Case:
    """A Case whose request carries the question inputs the task unit builds from ``labels``
    (never the labels themselves); the labels and reference ``answers`` are its ground truth."""
    inputs = get_task(task).inputs_from_labels(labels, format_version=format_version)
    request = Request(id=sample_id, task=task, images=images, questions=questions, question_ids=inputs.question_ids,
                      queries=inputs.queries, cameras=inputs.cameras, format_version=format_version,
                      meta=dict(meta or {}))
    return Case(request, GroundTruth(labels, answers))


def case_from_sample(sample: dict[str, Any], root: Path) -> Case:
    """A Case from a data-engine chat sample (questions = its user turns, reference answers
    = its assistant turns)."""
    qa = qa_pairs_of(sample)
    return case_from_labels(str(sample["task"]), str(sample["id"]), [root / p for p in sample.get("images", [])],
                            [q for q, _ in qa], sample.get("labels", {}), [a for _, a in qa],
                            sample.get("format_version"),
                            {"pixmaps": sample.get("pixmaps"), "source": sample.get("source")})


def _shard_cases(b: Benchmark) -> list[Case]:
    from vlm3.data.shards import read_samples, shard_paths

    root = b.root_path()
    split = str(b.options.get("split", "test"))
    tasks = list(b.options.get("tasks") or TASKS)
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
        out += [case_from_sample(s, root) for s in samples]
    return out


def _pairs_txt_cases(b: Benchmark) -> list[Case]:
    """Pose cases from a SuperGlue/ScanNet pair list, read by the data engine's adapter."""
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
            try:
                arr = read_rgb(view.image_path)
            except ImageReadError as err:
                raise InputError(str(err)) from None
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
        out.append(case_from_labels("pose", "|".join(names), images, [pose_text.QUESTIONS[i] for i in ids], labels,
                                    meta={"source": b.name}))
    return out
