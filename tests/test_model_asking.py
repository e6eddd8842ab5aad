"""A trained model knows how it must be asked: `vlm3 train` writes vlm3.json (focal per task,
image cap, text format, number decoding, name) learnt from the data set's manifest, and the
file reads back; release defaults restate the task code's."""

from __future__ import annotations

import json

import pytest

from _train_helpers import write_micro_preset
from data_helpers import write_rgbd_folder
from vlm3.standardize.release import RELEASE_MAX_PIXELS
from vlm3.tasks import RELEASE_TASK_DEFAULTS
from vlm3.tasks.asking import (ASKING_FILE, TASK_NAMES, AskingError, asking_from_dict, learn_asking, read_asking,
                               release_asking, with_overrides, write_asking)

RELEASE_FOCAL_PX = {t: focal for t, (focal, _) in RELEASE_TASK_DEFAULTS.items()}


def test_release_defaults_restate_the_task_code():
    from vlm3.tasks import TASKS
    from vlm3.tasks.common import RELEASE_MAX_PIXELS as TASK_CAP, TaskConfig

    assert set(TASK_NAMES) == set(TASKS)
    assert RELEASE_MAX_PIXELS == TASK_CAP == TaskConfig().for_task("depth").max_pixels
    assert RELEASE_FOCAL_PX["depth"] == TaskConfig().for_task("depth").focal_px == 1000.0
    # pose: 750 px and a budget that keeps the release's pose frame (2830 x 1884) whole up to the grid
    pose = TaskConfig().for_task("pose")
    assert RELEASE_FOCAL_PX["pose"] == pose.focal_px == 750.0 and pose.max_pixels >= 2816 * 1856
    a = release_asking()
    assert (a.task("pose").focal_px, a.task("pose").max_pixels) == (pose.focal_px, pose.max_pixels)
    assert not a.trained and a.numbers == "greedy" and a.task("pose").format_version == "vlm3-release-v1"


def _build(tmp_path, text_format="compact"):
    from vlm3.data.build import build
    from vlm3.data.config import config_from_dict

    rgbd = write_rgbd_folder(tmp_path / "rgbd", n=3, width=160, height=120, fx=150.0)
    cfg = {"seed": 0, "output_dir": str(tmp_path / "data"), "shard_size": 8,
           "tasks": {"depth": {"focal_px": 120, "max_pixels": 128 * 96, "questions_per_sample": 2,
                               "text_format": text_format, "samples": {"train": 4, "val": 0, "test": 0}}},
           "sources": [{"name": "folder", "adapter": "rgbd_folder", "path": str(rgbd), "weights": {"depth": 1},
                        "split": "train"}]}
    build(config_from_dict(cfg), progress=False)
    return tmp_path / "data"


def test_learnt_from_the_manifest_and_read_back(tmp_path):
    root = _build(tmp_path)
    a = learn_asking(root, base_model="micro", steps=7)
    d = a.task("depth")
    assert (d.focal_px, d.max_pixels, d.text_format) == (120.0, 128 * 96, "compact")
    assert a.learnt_from == "manifest" and a.name == "vlm3-micro" and a.steps == 7
    # tasks the set lacks keep the release settings; every trained task compact: median numbers
    assert a.task("pose").focal_px == 750.0 and a.numbers == "median"
    write_asking(tmp_path / "m", a)
    assert read_asking(tmp_path / "m") == a
    # a checkpoint-N folder of the run reads its parent's file
    (tmp_path / "m" / "checkpoint-3").mkdir()
    assert read_asking(tmp_path / "m" / "checkpoint-3") == a
    assert read_asking(tmp_path) is None
    o = with_overrides(a, "depth", focal_px=500.0)
    assert (o.focal_px, o.max_pixels, o.text_format) == (500.0, 128 * 96, "compact")


def test_learnt_from_samples_without_a_manifest(tmp_path):
    samples = [{"task": t, "format_version": "vlm3-compact-v3",
                "pixmaps": [{"src": {}, "dst": {"fx": 200.0, "fy": 200.0, "width": 256, "height": 192}}]}
               for t in TASK_NAMES]
    a = learn_asking(tmp_path / "one.jsonl", samples, base_model="tiny")
    assert a.learnt_from == "samples" and a.numbers == "median"  # every task compact: fixed-width numbers
    assert a.task("object").focal_px == 200.0 and a.task("object").max_pixels == 256 * 192


def test_broken_files_are_one_line_errors(tmp_path):
    (tmp_path / ASKING_FILE).write_text("{not json")
    with pytest.raises(AskingError, match="not valid JSON"):
        read_asking(tmp_path)
    for bad, match in (({"tasks": {"depth": {"focal_px": "two hundred", "max_pixels": 4096}}}, "focal_px"),
                       ({"tasks": {"depth": {"focal_px": 0, "max_pixels": 4096}}}, "positive"),
                       ({"tasks": {"depth": {"focal_px": 200, "max_pixels": 10}}}, "at least 1024"),
                       ({"tasks": {"depht": {}}}, "unknown task 'depht'"),
                       ({"numbers": "mean"}, "numbers 'mean'")):
        with pytest.raises(AskingError, match=match):
            asking_from_dict(bad)


def test_training_writes_how_the_model_must_be_asked(tmp_path):
    """Fails on the old trainer: it wrote no vlm3.json, so predict used release prompts on a compact model."""
    from vlm3.train.config import load_config
    from vlm3.train.trainer import run_training

    root = _build(tmp_path)
    out = tmp_path / "train"
    cfg = load_config(None, [f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024",
                             f"data.train_path={root}", f"train.output_dir={out}", "train.max_steps=1",
                             "train.per_device_batch_size=2", "train.global_batch_size=2", "train.report_to=[]",
                             "train.disable_tqdm=true", "train.save_steps=10"])
    run_training(cfg)
    saved = json.loads((out / ASKING_FILE).read_text())
    assert saved["tasks"]["depth"] == {"focal_px": 120.0, "max_pixels": 128 * 96, "text_format": "compact",
                                       "format_version": "vlm3-compact-v3"}
    assert saved["steps"] == 1 and saved["name"] == "vlm3-micro" and saved["learnt_from"] == "manifest"
    # a training output without the file (trained before it existed) is learnt again from its config.yaml
    (out / ASKING_FILE).unlink()
    again = read_asking(out)
    assert again is not None and again.learnt_from == "config.yaml" and again.task("depth").focal_px == 120.0
