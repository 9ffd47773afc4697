"""The CLI reference (docs/cli.md): every command's ``--help``, as a user sees it.

docs/cli.md holds a cog block that calls :func:`render`; ``cog -r docs/cli.md``
regenerates it and ``tests/test_cli_reference.py`` fails when it is stale (the
way sqlite-utils keeps its CLI reference).  Plugins' commands are included as
installed in the environment that renders it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import click
from click.testing import CliRunner

from hearing_core.cli import cli
from hearing_core.plugins import ALLOW_ENV, BLOCK_ENV


def _paths(group: click.Group, ctx: click.Context, prefix: list[str]) -> Iterator[list[str]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield [*prefix, name]
        if isinstance(command, click.Group):
            sub = click.Context(command, info_name=name, parent=ctx)
            yield from _paths(command, sub, [*prefix, name])


def render() -> str:
    """Markdown: one section per command, its ``--help`` in a code block (every installed
    plugin enabled, whatever this shell's plugin selection)."""
    runner = CliRunner()
    out = []
    with mock.patch.dict(os.environ):
        for name in (ALLOW_ENV, BLOCK_ENV):
            os.environ.pop(name, None)
        root = click.Context(cli, info_name="hearing")
        for path in [[], *_paths(cli, root, [])]:
            result = runner.invoke(cli, [*path, "--help"], prog_name="hearing", terminal_width=100)
            title = " ".join(["hearing", *path])
            out.append(f"## {title}\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(out)
