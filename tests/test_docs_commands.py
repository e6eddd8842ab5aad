"""The commands in README.md and docs/*.md are true (issue #21 item 8).

Every ``vlm3 ...`` line inside a fenced code block is checked against the real command
tree: the subcommand exists, every option is one it has, required options are given, and
OVERRIDES are ``key=value``. Lines that are usage synopses (``[--out DIR]``, ``IMAGE``,
``...``) are checked for their command and options only. Then the demo's own chain of
commands from the docs runs at small sizes (test_docs_chain_runs).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from vlm3.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_SYNOPSIS = re.compile(r"\[|\.\.\.|\||\b[A-Z][A-Z0-9_]{2,}\b(?!=)")


def is_synopsis(text: str) -> bool:
    """A usage line (placeholders, alternatives, ellipses) rather than a runnable command;
    quoted text and ${VAR} are not placeholders."""
    bare = re.sub(r'"[^"]*"|\'[^\']*\'|\$\{[^}]*\}', "", text.split(" #")[0])
    return bool(_SYNOPSIS.search(bare))


def doc_commands() -> list[tuple[str, int, str]]:
    """(file, line number, command text) of every vlm3 command in a fenced block; lines
    continued with a backslash are joined, trailing comments dropped."""
    out = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        fenced = False
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.strip().startswith("```"):
                fenced = not fenced
            elif fenced and line.strip().startswith("vlm3 "):
                start = i
                text = line.strip()
                while text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text[:-1] + " " + lines[i].strip()
                out.append((path.name, start + 1, text))
            i += 1
    return out


def _strip_comment(text: str) -> str:
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return " ".join(shlex.quote(t) for t in lexer)


def _resolve(args: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """(leaf command, its path, remaining args) following the group tree."""
    ctx = click.Context(main)
    cmd: click.Command = main
    path: list[str] = []
    while isinstance(cmd, click.Group) and args:
        sub = cmd.get_command(ctx, args[0])
        assert sub is not None, f"no command `vlm3 {' '.join(path + args[:1])}`"
        cmd, path, args = sub, path + [args[0]], args[1:]
    return cmd, path, args


COMMANDS = doc_commands()


def test_the_docs_have_commands():
    assert len(COMMANDS) >= 20 and {f for f, _, _ in COMMANDS} >= {"README.md", "data.md", "training.md"}


@pytest.mark.parametrize("where, text", [(f"{f}:{n}", t) for f, n, t in COMMANDS],
                         ids=[f"{f}:{n}" for f, n, _ in COMMANDS])
def test_doc_command_fits_the_cli(where, text, monkeypatch):
    # the files a doc command names (a user's photos, checkpoints) need not exist here
    monkeypatch.setattr(click.Path, "convert", lambda self, value, param, ctx: value)
    synopsis = is_synopsis(text)
    args = shlex.split(_strip_comment(text))[1:]
    cmd, path, rest = _resolve(args)
    if synopsis:  # only the command and its option names
        names = {o for p in cmd.params for o in getattr(p, "opts", [])} | {"--help"}
        for tok in rest:
            if tok.startswith("--"):
                assert tok.split("=")[0] in names, f"{where}: `vlm3 {' '.join(path)}` has no option {tok}"
        return
    try:
        ctx = cmd.make_context(" ".join(["vlm3", *path]), list(rest), resilient_parsing=False)
    except click.UsageError as err:
        pytest.fail(f"{where}: `{text}` does not parse: {err.format_message()}")
    overrides = ctx.params.get("overrides") or ()
    bad = [o for o in overrides if "=" not in o]
    assert not bad, f"{where}: `{text}`: {bad} are not key=value overrides (is a --config missing?)"


def test_docs_chain_runs(tmp_path, monkeypatch):
    """The first steps a reader copies, at small sizes: generate a world, build, inspect."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    chain = [c for _, _, c in COMMANDS if c.startswith(("vlm3 world generate", "vlm3 data inspect data/"))]
    assert chain, "the docs no longer show how to generate the world"
    world = shlex.split(_strip_comment(chain[0]))[1:]
    world[world.index("--scenes") + 1] = "2"
    res = runner.invoke(main, world)
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["data", "build", "demo", "--quiet", "tasks.depth.samples.train=2",
                               "tasks.correspondence.samples.train=2", "tasks.pose.samples.train=2",
                               "tasks.object.samples.train=2", "--var", "VLM3_REAL_DATA=nowhere"])
    assert res.exit_code == 0, res.output
    for c in chain[1:]:
        res = runner.invoke(main, shlex.split(_strip_comment(c))[1:])
        assert res.exit_code == 0, (c, res.output)
