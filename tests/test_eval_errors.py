"""`vlm3 eval` / `vlm3 report` on the mistakes of a first hour: one line each (issue #21 item 3)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from vlm3.evaluate.cli import eval_cmd, report


def _one_line(res, message: str) -> None:
    """One ``Error:`` line containing ``message``, no traceback."""
    assert res.exit_code in (1, 2), res.output  # config errors 1 (click.ClickException), usage 2
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and message in res.output, res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: ")


def test_standard_config_without_its_data_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("VLM3_BENCH_ROOT", str(tmp_path / "nowhere"))
    res = CliRunner().invoke(eval_cmd, ["--config", "standard", "--out", str(tmp_path / "run"),
                                        "--baselines", "oracle"])
    _one_line(res, "no benchmark could run (nyuv2: ")
    assert "VLM3_BENCH_ROOT" in res.output and not (tmp_path / "run" / "run.json").exists()


@pytest.mark.parametrize("override, message", [
    ("benchmarks=[{name: a, kind: shards, root: x, tasks: [dpeth]}]",
     "benchmarks[0].tasks: 'dpeth' is not one of depth, correspondence, pose, object"),
    ("benchmarks=[{name: a, kind: shards, root: x, max_samples_per_task: lots}]", "'lots' is not an integer"),
    ("benchmarks=[{name: a, kind: shards, root: x, max_samples_per_task: 0}]", "max_samples_per_task: 0 is not >= 1"),
    ("decoding=fast", "decoding: 'fast' is not one of exact, template, generate"),
    (("decoding=template", "numbers=median"), "numbers='median' needs decoding=exact or generate"),
])
def test_bad_benchmark_entries_are_one_line(tmp_path, override, message):
    extra = list(override) if isinstance(override, tuple) else [override]
    res = CliRunner().invoke(eval_cmd, ["--config", "synthetic", "--out", str(tmp_path / "run"), *extra])
    _one_line(res, message)


def test_report_of_a_run_that_never_ran(tmp_path):
    (tmp_path / "run").mkdir()
    res = CliRunner().invoke(report, [str(tmp_path / "run")])
    _one_line(res, "no predictions under")


def test_published_checkpoints_get_the_release_preprocessing(tmp_path):
    """#20 item 11: weights trained elsewhere (no vlm3.json) are evaluated on records benchmarks
    with the release's uncropped preprocessing; vlm3's own outputs and presets keep theirs."""
    import json

    from vlm3.evaluate.config import load_eval_config
    from vlm3.evaluate.pipeline import published_checkpoint, use_release_preprocessing

    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "config.json").write_text("{}")
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "vlm3.json").write_text(json.dumps({"asking_version": 1, "name": "vlm3-micro", "tasks": {
        "depth": {"focal_px": 200, "max_pixels": 49152, "text_format": "compact"}}}))
    assert published_checkpoint(str(hub)) and not published_checkpoint(str(ours))
    assert not published_checkpoint("micro") and not published_checkpoint(str(tmp_path / "nowhere"))
    cfg = load_eval_config({"benchmarks": [
        {"name": "a", "kind": "records", "path": "x", "adapter": "depthlm_jsonl", "task": "depth"},
        {"name": "b", "kind": "records", "path": "x", "adapter": "depthlm_jsonl", "task": "depth",
         "options": {"preprocessing": "project"}},
        {"name": "c", "kind": "shards", "root": "x"}]})
    benches = [b.benchmark() for b in cfg.benchmarks]
    said = []
    use_release_preprocessing(benches, said.append)
    assert benches[0].options["options"]["preprocessing"] == "release"
    assert benches[1].options["options"]["preprocessing"] == "project"  # the config's choice wins
    assert "options" not in benches[2].options and len(said) == 1 and said[0].startswith("a: release")
