"""Transformers backend with the tiny random Qwen3-VL: prefix reuse gives exactly the
answers of one full generate per question; the depth command writes its PNG/PLY/JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vlm3.predictors.base import Request


@pytest.fixture(scope="module")
def tiny():
    from vlm3.predictors.hf import HFPredictor

    return HFPredictor.from_pretrained("tiny", batch_size=2, max_new_tokens=3)


def test_prefix_reuse_matches_full_generate(tiny):
    from vlm3.tasks.depth import text as depth_text
    from vlm3.tasks.pose import text as pose_text
    img = Image.fromarray((np.random.default_rng(0).random((64, 96, 3)) * 255).astype(np.uint8))
    # different digit counts -> different suffix lengths -> several decode groups and chunks
    qs = [depth_text.prompt(p) for p in [(5, 7), (1999, 1500), (42, 1000)]]
    assert tiny.answer_with_prefix_reuse([img], qs) == tiny.answer_one_by_one([img], qs)
    two = [img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    pq = [pose_text.QUESTIONS["rotation_angle"], pose_text.QUESTIONS["translation_distance"]]
    assert tiny.answer_with_prefix_reuse(two, pq) == tiny.answer_one_by_one(two, pq)
    preds = tiny.predict([Request("a", "depth", [img], qs[:2]), Request("b", "depth", [img], [qs[2]])])
    assert [p.id for p in preds] == ["a", "b"] and [len(p.texts) for p in preds] == [2, 1]
    # the default decoding (template-drafted, checked: vlm3.predictors.dense) answers as generate does
    assert tiny.decoding == "exact"
    assert preds[0].texts + preds[1].texts == tiny.answer_one_by_one([img], qs)


@pytest.mark.slow
def test_depth_command_writes_outputs(tmp_path, monkeypatch, tiny):
    from vlm3.infer import cli

    from vlm3.infer.api import Model
    from vlm3.tasks.asking import release_asking

    model = Model(tiny, release_asking("tiny"))  # the CLI's loader, without loading twice
    monkeypatch.setattr(cli, "_load", lambda model_spec, numbers, device, decoding: model)
    p = tmp_path / "img.png"
    Image.fromarray((np.random.default_rng(1).random((96, 128, 3)) * 255).astype(np.uint8)).save(p)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli.predict, ["depth", str(p), "--intrinsics", "100,100,64,48", "--grid", "2x2",
                                         "--focal-px", "100", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = json.loads((out / "depth.json").read_text())["points"]
    assert len(rows) == 4 and all("raw" in x for x in rows)
    assert (out / "depth.png").stat().st_size > 1000
    assert (out / "points.ply").read_text().startswith("ply\n")
