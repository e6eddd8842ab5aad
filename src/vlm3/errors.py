"""One base for the errors a user can fix, and the click classes that print them as one line.

Every vlm3 error class whose message says what to fix (a bad config, an unreadable image, an
output path that is a file, ...) derives from ``Vlm3Error`` (and keeps its builtin base,
``ValueError`` or ``RuntimeError``, so library callers' ``except ValueError`` still holds).
The ``vlm3`` command groups and commands are built with ``Group`` / ``Command`` below: a
``Vlm3Error`` that reaches them becomes ``Error: <message>`` on stderr, never a traceback.
``usage = True`` marks a mistake in the command line itself (exit status 2, as click's usage
errors); any other exits 1. Commands still catch an error where they add something to say
(which flag, what to run next).
"""

from __future__ import annotations

from typing import Any

import click


class Vlm3Error(Exception):
    """An error the user can fix; its message is one line that says how."""

    #: a mistake in the command line (exit status 2) rather than in the data or the environment (1)
    usage: bool = False


class InputError(Vlm3Error, ValueError):
    """User input that cannot be used (missing/unreadable image, bad spec); message says what to fix."""

    usage = True


def one_line(err: Vlm3Error) -> click.ClickException:
    """The click exception that prints ``err`` as one line (exit 2 for a usage mistake, else 1)."""
    exc = click.ClickException(str(err) or type(err).__name__)
    exc.exit_code = 2 if err.usage else 1
    return exc


class _OneLineErrors:
    """Mixin for click commands and groups: a ``Vlm3Error`` from the callback becomes one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except Vlm3Error as err:
            raise one_line(err) from None


class Command(_OneLineErrors, click.Command):
    """A click command whose ``Vlm3Error`` is printed as one line."""


class Group(_OneLineErrors, click.Group):
    """A click group whose (and whose subcommands') ``Vlm3Error`` is printed as one line."""


__all__ = ["Command", "Group", "InputError", "Vlm3Error", "one_line"]
