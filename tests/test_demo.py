"""The demo's wiring: its presets resolve to the stage configs the public commands read, the
real-frame sources are optional eval-only sources of its data config, the summary table,
and the CLI's honesty (one-line config errors, help for every subcommand)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from data_helpers import small_world
from vlm3.cli import _SUBCOMMANDS, main
from vlm3.config import ConfigError, help_text, load, shipped_names, to_dict
from vlm3.demo import DemoConfig, load_demo_config, plan_demo
from vlm3.evaluate.headline import headline_table
from vlm3.train.config import load_config as load_train_config
from vlm3.world.config import preset

TRAIN_SAMPLES = {"quick": {"depth": 1400, "correspondence": 500, "pose": 400, "object": 1000, "calibration": 300},
                 "full": {"depth": 8000, "correspondence": 4000, "pose": 3000, "object": 6600, "calibration": 1800}}


def test_presets_are_shipped():
    assert shipped_names("demo") == ["full", "quick"]


def test_demo_data_config_keeps_real_frames_out_of_training(tmp_path, real_root):
    plan = plan_demo(load_demo_config("quick"), tmp_path, real_root)
    names = {s.name: s for s in plan.data.sources}
    assert set(names) == {"world", "nyu", "kitti", "scannet"}
    assert names["nyu"].split == "test" and names["kitti"].split == "test"  # evaluation only
    assert names["nyu"].path == str(real_root / "nyu" / "meta.json") and names["nyu"].optional
    assert names["world"].path == str(tmp_path / "world") and plan.data.output_dir == str(tmp_path / "data")
    assert {k: t.samples["train"] for k, t in plan.data.tasks.items()} == TRAIN_SAMPLES["quick"]
    assert {t.text_format for t in plan.data.tasks.values()} == {"compact"}


@pytest.mark.parametrize("name", ["quick", "full"])
def test_presets_resolve_to_todays_world_data_and_training(tmp_path, name):
    """The same world config, sample counts and training run as the demo's earlier Python presets
    (tiny_cpu + the demo's overrides); only the recipe's description differs."""
    plan = plan_demo(load_demo_config(name), tmp_path, None)
    views = {"quick": 4, "full": 6}[name]
    assert plan.world == preset("demo").with_overrides(views_per_scene=views)
    assert {k: dict(t.samples) for k, t in plan.data.tasks.items()} == {
        k: {"train": n, "val": 8, "test": {"quick": 40, "full": 100}[name]} for k, n in TRAIN_SAMPLES[name].items()}
    steps = {"quick": 2100, "full": 4000}[name]
    before = load_train_config("tiny_cpu", [
        "model.name_or_path=micro", f"data.train_path={tmp_path / 'data'}", f"train.output_dir={tmp_path / 'train'}",
        f"train.max_steps={steps}", "train.learning_rate=0.001", "train.save_steps=100",
        "data.group_by_length=false", "train.answer_vocab=answers", "train.embedding_grad=used_rows"])
    got = to_dict(plan.train)
    want = to_dict(before)
    assert got.pop("description") and want.pop("description")
    assert got == want


def test_demo_eval_config(tmp_path):
    plan = plan_demo(load_demo_config("quick"), tmp_path, None)
    assert plan.eval.numbers == "median" and plan.eval.max_new_tokens == 48  # the small model's decoding
    assert plan.eval.trivial_fit.root == str(tmp_path / "data")
    synthetic, real = plan.eval.benchmarks
    assert (synthetic.name, synthetic.sources, synthetic.root) == ("synthetic_test", ["world"], str(tmp_path / "data"))
    assert real.name == "real_test" and real.optional and real.tasks == ["depth", "pose"]
    # the options of the synthetic benchmark are the keys the earlier demo wrote (same cache key)
    assert synthetic.benchmark().options == {"root": str(tmp_path / "data"), "split": "test",
                                             "tasks": ["depth", "correspondence", "pose", "object",
                                                       "calibration"],
                                             "sources": ["world"]}


def test_absent_real_sources_are_left_out_of_the_build(tmp_path, tmp_path_factory):
    """Without real data the optional sources of the demo's data config are skipped: the
    build holds world samples only (the demo tests no dataset names)."""
    from vlm3.data.build import build

    world = small_world(tmp_path_factory.getbasetemp())
    small = [f"tasks.{t}.samples={{train: 2, val: 0, test: 1}}" for t in TRAIN_SAMPLES["quick"]]
    cfg = load(DemoConfig, "quick", [f"data.overrides=[{', '.join(repr(s) for s in small)}]"], kind="demo")
    plan = plan_demo(cfg, tmp_path, None)
    plan.data.sources[0].path = str(world)
    for s in plan.data.sources[1:]:
        s.path = str(tmp_path / "absent" / s.name)
    manifest = build(plan.data, progress=False)
    assert {k: v["status"] for k, v in manifest["sources"].items()} == {
        "world": "ok", "nyu": "missing (optional, left out)", "kitti": "missing (optional, left out)",
        "scannet": "missing (optional, left out)"}
    assert {s["source"] for s in manifest["shards"]} == {"world"}
    assert load(type(plan.data), tmp_path / "data" / "config.yaml") == plan.data


def test_demo_cli_config_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "run"), "world.scenes=many"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert res.output.strip() == "Error: config error: world.scenes: 'many' is not an integer (from the command line)"
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "run"), "train.overrides=[train.lr=1]"])
    assert res.exit_code != 0 and "config error: train.lr: unknown key" in res.output
    assert not (tmp_path / "run" / "stages.json").exists()  # nothing ran
    with pytest.raises(ConfigError, match="not found"):
        load_demo_config("no_such_preset")
    out = CliRunner().invoke(main, ["demo", "--help-config"]).output
    assert out.strip() == help_text(DemoConfig).strip() and "world.scenes = 100" in out


def test_headline_table_lists_model_and_baselines():
    report = {"model": "m", "benchmark": "b",
              "depth": {"delta1": 0.5, "abs_rel": 0.2, "parse_rate": 0.9,
                        "baselines": {"trivial": {"delta1": 0.1, "abs_rel": 0.7, "parse_rate": 1.0}}}}
    table = headline_table(report)
    lines = table.splitlines()
    assert lines[2].startswith("| m | 0.500 | 0.200 |") and lines[2].endswith("| 90.0% |")
    assert lines[3].startswith("| trivial | 0.100 | 0.700 |")


@pytest.mark.parametrize("name", sorted(_SUBCOMMANDS))
def test_every_subcommand_has_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "unavailable" not in result.output


def test_root_help_lists_the_pipeline():
    out = CliRunner().invoke(main, ["--help"]).output
    for name in ("world", "data", "train", "predict", "eval", "report", "demo"):
        assert name in out


def test_demo_cli_folder_and_world_mistakes_are_one_line(tmp_path, tmp_path_factory):
    """Found by the CLI fuzz: an --out name the file system refuses, and a run folder whose
    world was generated with another seed, end in one line (they were tracebacks)."""
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / ("x" * 300))])
    assert res.exit_code == 2 and "Traceback" not in res.output and "cannot create the folder" in res.output
    import shutil

    shutil.copytree(small_world(tmp_path_factory.mktemp("w")), tmp_path / "run" / "world")
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "run"), "--seed", "7"])
    assert res.exit_code == 1 and isinstance(res.exception, (SystemExit, type(None))), res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "generated with another seed or config" in last, res.output
