"""`vlm3 data build` on configs that are wrong or would build nothing: one line and exit 2,
never a traceback or a silent empty set; shortfalls and repeated bad records reported honestly
(issue #21 items 3 and 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_helpers import small_world, write_rgbd_folder
from vlm3.data.cli import data

BASE = """\
output_dir: {out}
shard_size: 8
tasks:
  depth: {{focal_px: 100, max_pixels: 6144, samples: {{train: 3, val: 0, test: 0}}}}
sources:
  - {{name: f, adapter: rgbd_folder, path: {meta}, split: train, weights: {{depth: 1}}}}
"""


@pytest.fixture
def base_config(tmp_path: Path) -> Path:
    meta = write_rgbd_folder(tmp_path / "f", n=3, width=96, height=64, fx=100)
    path = tmp_path / "c.yaml"
    path.write_text(BASE.format(out=tmp_path / "out", meta=meta))
    return path


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(data, ["build", *args, "--quiet"])
    assert "Traceback" not in res.output and not isinstance(res.exception, (TypeError, KeyError, IndexError))
    return res.exit_code, res.output.strip()


@pytest.mark.parametrize("override, message", [
    ('tasks.depth.focal_px="two hundred"', "tasks.depth.focal_px: 'two hundred' is not a float"),
    ("tasks=[depth]", "tasks: a list is not allowed here; give a mapping"),
    ("tasks.depth.samples=[1]", "tasks.depth.samples: a list is not allowed here"),
    ("sources={a: 1}", "sources: a mapping is not allowed here; give a list"),
    ("tasks.depth.samples.train=many", "tasks.depth.samples.train: 'many' is not an integer"),
    ("tasks.depth.samples.train=-5", "tasks.depth.samples.train: -5 is negative"),
    ("shard_size=0", "shard_size: 0 is not an integer >= 1"),
    ("grid=0", "grid: 0 is not an integer >= 1"),
    ("tasks.pose.samples.train=4", "tasks.pose: no source feeds it"),
])
def test_bad_values_are_one_line(base_config, override, message):
    code, out = _run(str(base_config), override)
    assert code == 2 and "\n" not in out and message in out, out


def test_a_list_for_a_mapping_in_the_file_is_one_line(tmp_path):
    (tmp_path / "l.yaml").write_text("tasks: [depth]\n")
    code, out = _run(str(tmp_path / "l.yaml"))
    assert code == 2 and out == ("config error: tasks: a list is not allowed here; give a mapping "
                                 "(key: value), see --help-config (from l.yaml)")


def test_a_numeric_string_is_taken_as_the_number(base_config):
    # `max_pixels: "49152"` is YAML for a string that is a whole number: OmegaConf converts
    # it like a typed field would, and the resolved config.yaml records the integer
    code, out = _run(str(base_config), 'tasks.depth.max_pixels="6144"')
    assert code == 0, out
    saved = (base_config.parent / "out" / "config.yaml").read_text()
    assert "max_pixels: 6144\n" in saved


@pytest.mark.parametrize("text, message", [
    ("", "tasks: none given, so nothing would be built"),
    ("tasks:\n  depth: {samples: {train: 2}}\n", "sources: none given, so nothing would be built"),
])
def test_configs_that_build_nothing_are_refused(tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    code, out = _run(str(tmp_path / "c.yaml"))
    assert code == 2 and "\n" not in out and message in out, out
    assert not (tmp_path / "data").exists()  # refused before writing anything


def test_zero_samples_built_is_an_error_naming_the_reason(base_config, tmp_path):
    meta = json.loads((tmp_path / "f" / "meta.json").read_text())
    del meta["intrinsics_fx_fy_cx_cy"]  # every frame is refused (calibration: none)
    (tmp_path / "f" / "meta.json").write_text(json.dumps(meta))
    code, out = _run(str(base_config))
    assert code == 2 and out.startswith("error: 0 samples built (most common skip: ") and "fov60" in out
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["total_samples"] == 0


def test_shortfall_and_repeated_bad_records_counted_once(tmp_path):
    world = small_world(tmp_path)
    (tmp_path / "c.yaml").write_text(f"""\
output_dir: {tmp_path / 'out'}
tasks:
  correspondence: {{focal_px: 200, max_pixels: 49152, min_covisibility: 0.7,
                   samples: {{train: 30, val: 0, test: 0}}}}
  depth: {{focal_px: 200, max_pixels: 49152, samples: {{train: 2, val: 0, test: 5}}}}
sources:
  - {{name: w, adapter: scene_format, path: {world}, split: train,
      weights: {{correspondence: 1, depth: 1}}}}
""")
    res = CliRunner().invoke(data, ["build", str(tmp_path / "c.yaml"), "--quiet"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    short = {(s["split"], s["task"]): s for s in manifest["shortfall"]}
    # every scene is forced into train: the 5 test depth samples cannot exist, and it is said
    assert short[("test", "depth")]["written"] == 0
    assert "no source has usable depth records in the test split" in res.output
    written = sum(manifest["counts"]["train"]["correspondence"].values())
    # a pair below the covisibility threshold is refused at build time, on every pass that draws it
    assert 0 < written < 30 and short[("train", "correspondence")]["written"] == written
    assert f"train correspondence: {written} of 30 samples" in res.output
    distinct = {(s["record_id"], s["reason"]) for s in manifest["skipped"]["build"]}
    assert len(manifest["skipped"]["build"]) == 30 - written > len(distinct)
    assert sum(manifest["skipped"]["by_reason"].values()) == len(distinct)  # counted once each
    assert all("#" not in reason for reason in manifest["skipped"]["by_reason"])
