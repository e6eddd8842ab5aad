"""One error base: every vlm3 error class is a ``Vlm3Error``, and a command prints one as one line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import click
import pytest
from click.testing import CliRunner

import vlm3
from vlm3.errors import Command, Group, InputError, Vlm3Error

_OPTIONAL = ("vlm3.predictors.vllm", "vlm3.app")  # optional extras: skipped when not installed


def _error_classes() -> dict[str, type]:
    found = {}
    for mod in pkgutil.walk_packages(vlm3.__path__, "vlm3."):
        try:
            module = importlib.import_module(mod.name)
        except ImportError:
            if mod.name.startswith(_OPTIONAL):
                continue
            raise
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, Exception):
                found[f"{module.__name__}.{name}"] = cls
    return found


def test_every_error_class_is_a_vlm3_error_and_keeps_its_builtin_base():
    classes = _error_classes()
    assert len(classes) >= 20, sorted(classes)  # the 20 of issue #29 and the base's own
    assert [n for n, c in classes.items() if not issubclass(c, Vlm3Error)] == []
    assert issubclass(InputError, ValueError)
    assert issubclass(vlm3.config.ConfigError, ValueError)


@pytest.mark.parametrize("err, code", [(InputError("image x.png not found: give a path that exists"), 2),
                                       (Vlm3Error("the disk is full: free 2 GB"), 1)])
def test_a_vlm3_error_in_a_subcommand_is_one_line_on_stderr(err, code):
    @click.group(cls=Group)
    def root():
        pass

    @root.group(cls=Group)
    def sub():
        pass

    @sub.command(cls=Command)
    def go():
        raise err

    res = CliRunner().invoke(root, ["sub", "go"])
    assert res.exit_code == code
    assert res.output.strip().splitlines() == [f"Error: {err}"]
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_a_bug_is_not_hidden_as_a_user_error():
    @click.command(cls=Command)
    def go():
        raise KeyError("a bug")

    res = CliRunner().invoke(go, [])
    assert isinstance(res.exception, KeyError)
