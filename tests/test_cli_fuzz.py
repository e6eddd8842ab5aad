"""CLI fuzz (issues #21 item 3, #30): every `vlm3` command, never a traceback, never an exit 0
having done nothing.

Two fuzzes. The random fuzz (1,200 cases): each case invokes one real command in-process (click's CliRunner, cwd in a temporary folder)
with a seeded random choice of its own parameters, filled from a pool of values users get
wrong: zero, negative, huge and non-finite numbers, malformed grids and intrinsics, missing
files, an 8x8 image, a text file named like an image, an empty folder, a file where a folder
belongs. A case passes when the command ends with an exit code (0, 1 or 2, click's usage
errors included); an exception escaping the command (a traceback for the user) fails it.
A case that gets past its checks into real work (rendering scenes, loading a model) is
stopped after a short time budget and counted as reaching work: that is not an error.

The mistakes fuzz (#30; cases in tests/cli_mistakes.py) injects one mistake of a known shape
into a working invocation of every subcommand: an existing file as an output folder, a
malformed value inside an override, an empty input, an output name with an unsupported
extension, a huge image. The default suite runs 400 of them (with the random fuzz's 1,200:
1,600 cases, ~50 s on 2 busy cores); `-m slow` runs 1,500 (~75 s).

Both fail a case that ends in a traceback, and one that exits 0 with an empty result (a
zero count of pairs/samples/shards/scenes, empty statistics, every split skipped, a written
file that is missing or empty).
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cli_mistakes import mistake_cases, mistake_files
from vlm3.cli import main

CASES = 1200
BUDGET_S = 1.0
SEED = 20261202


class _Budget(BaseException):
    """Raised by the timer when a case has reached real work (not an Exception: code under
    test that catches Exception cannot swallow it)."""


def _commands() -> list[tuple[list[str], click.Command]]:
    ctx = click.Context(main)
    out = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), path + [name])
        else:
            out.append((path, cmd))
    walk(main, [])
    return out


def _files(tmp: Path) -> dict[str, str]:
    (tmp / "empty").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp / "tiny.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp / "ok.png")
    (tmp / "text.png").write_text("not an image")
    (tmp / "shard.jsonl").write_text('{"a": 1}\n')
    (tmp / "bad.yaml").write_text("tasks: [depth]\nseed: lots\n")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "model").mkdir()
    (tmp / "model" / "config.json").write_text("{}")
    (tmp / "model" / "model.safetensors").write_bytes(b"\x00" * 17)
    return {name: str(tmp / name) for name in
            ("empty", "tiny.png", "ok.png", "text.png", "shard.jsonl", "bad.yaml", "list.yaml", "model")}


NUMBERS = ["0", "-1", "1", "3", "1e9", "nan", "inf", "-inf", "lots", "", "2.5", "99999999999"]
TEXTS = ["", "0x6", "-1x4", "8x6", "100000x100000", "nan,nan,320,240", "inf,1,2,3", "0.001,0.001,32,24",
         "1e9,1e9,32,24", "1,2", "500,500,32,24", "a=b", "seed=lots", "tasks=[x]", "cuda:7", "cpu",
         "auto", "vllm:", "vllm:nowhere", "standard", "dpeth", "tiny_cpu", "nowhere/x", "10,20",
         "10,20;30,40", "-5,-5", "1,2,3,4", "x" * 300]


def _value(param: click.Parameter, files: dict[str, str], rng: random.Random) -> str:
    pool = list(files.values()) + TEXTS
    if isinstance(param.type, click.Choice):
        pool = list(param.type.choices) * 3 + ["nope"]
    elif isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType, click.IntRange,
                                 click.FloatRange)):
        pool = NUMBERS
    return rng.choice(pool)


def _case(path: list[str], cmd: click.Command, files: dict[str, str], rng: random.Random) -> list[str]:
    args = list(path)
    for p in cmd.params:
        if p.name in ("help_config", "print_config", "help") or rng.random() < 0.45:
            continue
        if isinstance(p, click.Argument):
            n = 1 if p.nargs == 1 else rng.randint(0, 2)
            args += [_value(p, files, rng) for _ in range(n)]
        elif getattr(p, "is_flag", False):
            args.append(p.opts[-1])
        else:
            args += [p.opts[-1], _value(p, files, rng)]
    return args


def _alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Budget()


def _preload() -> None:
    """Import what the commands import lazily, before any timer runs: a budget stop inside a
    first import would leave a half-imported module behind for the next cases."""
    import importlib

    import transformers

    for name in ("Trainer", "TrainingArguments", "AutoProcessor", "AutoModelForImageTextToText",
                 "Qwen3VLForConditionalGeneration"):
        getattr(transformers, name)
    for module in ("vlm3.demo", "vlm3.train.trainer", "vlm3.train.small.trainer", "vlm3.train.cli", "vlm3.infer.cli",
                   "vlm3.infer.api", "vlm3.evaluate.cli", "vlm3.evaluate.pipeline", "vlm3.data.build",
                   "vlm3.world.generate", "vlm3.predictors.hf", "vlm3.world.show", "vlm3.infer.viz",
                   "vlm3.evaluate.report", "vlm3.evaluate.report_figures", "vlm3.data.inspect", "matplotlib.pyplot"):
        importlib.import_module(module)


# ----------------------------------------------------------------------------- running cases
def _empty_result(output: str, cwd: Path) -> str | None:
    """Why an exit-0 result is empty (a zero count, no split indexed, empty statistics, a
    written file that is missing or empty), else None."""
    m = EMPTY_OUTPUT.search(output)
    if m:
        return f"says {m.group(0).strip()!r}"
    lines = [ln for ln in output.splitlines() if ln.strip()]
    if lines and all("no shards, skipped" in ln for ln in lines if ln.startswith("  ")) \
            and any("no shards, skipped" in ln for ln in lines):
        return "every split skipped"
    for m in WROTE.finditer(output):  # "wrote DIR/a.json, b.json and c.md": b, c beside a
        names = [n.strip().rstrip(".") for n in re.split(r",\s*(?:and\s+)?|\s+and\s+", m.group(1)) if n.strip()]
        names = [n for n in names if "<" not in n]
        for name in names:
            here = [cwd / name, (cwd / names[0]).parent / name]
            p = next((q for q in here if q.exists()), None)
            if p is None or (p.is_file() and p.stat().st_size == 0):
                return f"wrote {name!r}, which is missing or empty"
    return None


EMPTY_OUTPUT = re.compile(r"(?m)(^|[\s(])0 (pairs|samples|shards|scenes|frames|images|points)\b|\"counts\": \{\}")
WROTE = re.compile(r"(?:\bwrote|->) ([^\s;:,]+(?:(?:,\s*(?:and\s+)?|\s+and\s+)[^\s;:,]+)*)")


def _run_cases(cases: list[list[str]], budget_s: float, cwd: Path) -> tuple[Counter, list[tuple[list[str], str]]]:
    """Invoke each case; (outcome counts, failures: tracebacks and exit-0 empty results)."""
    runner = CliRunner()
    outcome: Counter = Counter()
    failures = []
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for args in cases:
            signal.setitimer(signal.ITIMER_REAL, budget_s)
            try:
                res = runner.invoke(main, args)
            except _Budget:
                outcome["reached work"] += 1
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if res.exception is not None and not isinstance(res.exception, SystemExit):
                failures.append((args, f"{type(res.exception).__name__}: {res.exception}"[:300]))
                outcome["traceback"] += 1
                continue
            outcome[f"exit {res.exit_code}"] += 1
            why = _empty_result(res.output, cwd) if res.exit_code == 0 else None
            if why:
                failures.append((args, f"exit 0 with an empty result: {why}"))
                outcome["exit 0, empty"] += 1
    finally:
        signal.signal(signal.SIGALRM, old)
    return outcome, failures


def _report(failures: list[tuple[list[str], str]], n: int) -> str:
    first: dict[str, list[str]] = {}
    for args, err in failures:  # one example per distinct error
        first.setdefault(f"{args[0]}: {err.split(':')[0]}", [a[:80] for a in args] + ["->", err[:200]])
    shown = "\n".join("vlm3 " + " ".join(v) for v in first.values())
    return f"{len(failures)} of {n} cases ended in a traceback or an exit 0 with an empty result:\n{shown}"


# ----------------------------------------------------------------------------- the random fuzz
def _random_cases(n: int, files: dict[str, str]) -> list[list[str]]:
    rng = random.Random(SEED)
    commands = _commands()
    return [_case(*commands[i % len(commands)], files, rng) for i in range(n)]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_cli_fuzz_never_a_traceback(tmp_path, monkeypatch):
    _preload()
    files = _files(tmp_path)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("VLM3_DATA_OUT", str(work / "data_out"))
    outcome, failures = _run_cases(_random_cases(CASES, files), BUDGET_S, work)
    print(dict(outcome))
    assert not failures, _report(failures, CASES)
    assert sum(outcome.values()) - outcome["exit 0, empty"] == CASES >= 1000


# ----------------------------------------------------------------------------- the mistakes fuzz
# Issue #30's shapes of mistakes, one at a time on a working invocation of every subcommand
# (the cases: tests/cli_mistakes.py).
def _mistakes_fuzz(tmp_path: Path, monkeypatch, n: int) -> None:
    _preload()
    work = tmp_path / "cwd"
    work.mkdir()
    mistake_files(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("VLM3_DATA_OUT", str(work / "data_out"))
    monkeypatch.setenv("VLM3_DATA", str(work / "set"))
    monkeypatch.delenv("VLM3_MAX_IMAGE_PIXELS", raising=False)
    cases = mistake_cases(n, _commands(), SEED)
    covered = {" ".join(c[:2]) if c[0] in ("world", "data", "predict") else c[0] for c in cases}
    assert covered == {" ".join(p) for p, _ in _commands()}, "a subcommand got no mistake case"
    t0 = time.perf_counter()
    outcome, failures = _run_cases(cases, BUDGET_S, work)
    print(dict(outcome), f"{n} cases in {time.perf_counter() - t0:.0f} s")
    assert not failures, _report(failures, n)
    assert sum(outcome.values()) == n


MISTAKES_DEFAULT = 400
MISTAKES_FULL = 1500


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_cli_mistakes_fuzz(tmp_path, monkeypatch):
    """Issue #30's shapes of mistakes on every subcommand (a sample; the full run is slow)."""
    _mistakes_fuzz(tmp_path, monkeypatch, MISTAKES_DEFAULT)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_cli_mistakes_fuzz_full(tmp_path, monkeypatch):
    """The full mistakes fuzz: 1,500 cases (with the random fuzz's 1,200: 2,700 in all)."""
    _mistakes_fuzz(tmp_path, monkeypatch, MISTAKES_FULL)
