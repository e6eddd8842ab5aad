"""`vlm3 data inspect`: the text's coordinates drawn for every text format (issue #21 item 7),
and one-line errors for input that is not a shard (item 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from data_helpers import small_world
from vlm3.data.cli import data
from vlm3.data.inspect import read_shard_samples, resolve_shards, text_points


def _build(tmp_path: Path, text_format: str) -> Path:
    world = small_world(tmp_path)
    task = (f"{{text_format: {text_format}, focal_px: 200, max_pixels: 49152, questions_per_sample: 3, "
            f"samples: {{train: 2, val: 0, test: 0}}}}")
    out = tmp_path / text_format
    (tmp_path / f"{text_format}.yaml").write_text(f"""\
output_dir: {out}
tasks: {{depth: {task}, correspondence: {task}, object: {task}}}
sources:
  - {{name: w, adapter: scene_format, path: {world}, split: train,
      weights: {{depth: 1, correspondence: 1, object: 1}}}}
""")
    res = CliRunner().invoke(data, ["build", str(tmp_path / f"{text_format}.yaml"), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("text_format", ["release", "compact"])
def test_text_points_read_every_format(tmp_path, text_format):
    root, files = resolve_shards(_build(tmp_path, text_format))
    tasks_seen = set()
    for s in read_shard_samples(files):
        sizes = [Image.open(root / p).size for p in s["images"]]
        pts = text_points(s, sizes)
        if s["task"] == "depth":
            got = np.array([p[:2] for p in pts["depth"]])
            want = np.array([p["xy_px"] for p in s["labels"]["points"]], float)
            assert got.shape == want.shape == (3, 2)
            assert np.abs(got - want).max() <= 1.0  # the 2000-grid rounds to half a pixel
            assert all(p[2] is not None for p in pts["depth"])  # the answers parse too
        elif s["task"] == "correspondence":
            got = np.array([p[0] for p in pts["matches"]])
            want = np.array([m["query_xy_px"] for m in s["labels"]["matches"]], float)
            assert got.shape == want.shape == (3, 2) and np.abs(got - want).max() <= 1.0
        elif s["task"] == "object":
            assert len(pts["boxes"]) >= 2
        tasks_seen.add(s["task"])
    assert tasks_seen == {"depth", "correspondence", "object"}


def test_inspect_draws_compact_data(tmp_path):
    out = _build(tmp_path, "compact")
    res = CliRunner().invoke(data, ["inspect", str(out), "--out", str(tmp_path / "x.png")])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "x.png").size[1] > 100


@pytest.mark.parametrize("content, args, message", [
    ('{"a": 1}\n', [], "a sample must be an object with `messages`"),
    ('{"messages": []}\n', [], "sample 1 is not a vlm3 shard sample (no id, task, split)"),
    ("garbage\n", [], "not valid JSON"),
    ("", ["--per-task", "0"], "--per-task"),
])
def test_inspect_bad_input_is_one_line(tmp_path, content, args, message):
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    res = CliRunner().invoke(data, ["inspect", str(path), *args])
    assert res.exit_code == 2 and "Traceback" not in res.output and message in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
