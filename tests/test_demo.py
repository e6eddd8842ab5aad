"""The demo's wiring: its data and eval configs, the summary table and the CLI's honesty."""

from __future__ import annotations


import pytest
import yaml
from click.testing import CliRunner

from vlm3.cli import _SUBCOMMANDS, main
from vlm3.data.config import config_from_dict
from vlm3.demo import PRESETS, data_config, eval_config, train_overrides
from vlm3.evaluate.benchmarks import load_eval_config
from vlm3.evaluate.summary import headline_rows


def test_demo_data_config_is_valid_and_keeps_real_frames_out_of_training(tmp_path, real_root):
    raw = data_config(PRESETS["quick"], tmp_path / "world", tmp_path / "data", real_root)
    cfg = config_from_dict(raw)
    names = {s.name: s for s in cfg.sources}
    assert set(names) == {"world", "nyu", "kitti", "scannet"}
    assert names["nyu"].split == "test" and names["kitti"].split == "test"  # evaluation only
    assert all(t.samples["train"] == PRESETS["quick"].train_samples[k] for k, t in cfg.tasks.items())
    assert {t.text_format for t in cfg.tasks.values()} == {"compact"}


def test_demo_data_config_without_real_data_uses_the_world_only(tmp_path):
    raw = data_config(PRESETS["quick"], tmp_path / "world", tmp_path / "data", None)
    assert [s["name"] for s in raw["sources"]] == ["world"]
    bench = eval_config(tmp_path / "data", None)["benchmarks"]
    assert [b["name"] for b in bench] == ["synthetic_test"]


def test_demo_eval_config_loads(tmp_path, real_root):
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(eval_config(tmp_path / "data", real_root)))
    cfg, benches = load_eval_config(path)
    assert cfg["numbers"] == "median"  # the demo model is scored with median number decoding
    assert [b.name for b in benches] == ["synthetic_test", "real_test"]
    assert benches[1].optional and benches[0].options["sources"] == ["world"]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_demo_train_config_resolves(tmp_path, preset):
    from vlm3.train.config import load_config

    cfg = load_config("tiny_cpu", train_overrides(PRESETS[preset], tmp_path / "data", tmp_path / "train"))
    assert cfg.train.max_steps == PRESETS[preset].train_steps and cfg.model.name_or_path == "micro"
    assert cfg.train.answer_vocab == "answers" and not cfg.data.group_by_length and not cfg.data.isolate_questions


def test_headline_table_lists_model_and_baselines():
    report = {"model": "m", "benchmark": "b",
              "depth": {"delta1": 0.5, "abs_rel": 0.2, "parse_rate": 0.9,
                        "baselines": {"trivial": {"delta1": 0.1, "abs_rel": 0.7, "parse_rate": 1.0}}}}
    table = headline_rows(report)
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
