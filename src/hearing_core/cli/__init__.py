"""The ``hearing`` command line: a thin layer over :mod:`hearing_core`'s library API.

Every command is a library call plus rich output; errors the user can fix
are :class:`~hearing_core.errors.HearingCoreError` and print as one line on
stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from hearing_core import __version__
from hearing_core.errors import HearingCoreError

#: Terminal output.  Markup is off by default: user text is never markup.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class HearingGroup(click.Group):
    """Turns expected errors into one-line messages; loads plugin commands lazily."""

    _plugins_loaded = False

    def _load_plugin_commands(self, ctx: click.Context | None) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from hearing_core.plugins import add_commands

        add_commands(workspace_host(ctx), self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            self._load_plugin_commands(ctx)
            found = super().get_command(ctx, cmd_name)
        return found

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HearingCoreError as e:
            fail(str(e))
        except (BrokenPipeError, KeyboardInterrupt):
            sys.exit(130)


def fail(message: str, code: int = 1) -> None:
    """Print one error line on stderr and exit."""
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def workspace_host(ctx: click.Context | None) -> Any:
    """The plugin host, honouring --plugins-dir given on the command line."""
    from hearing_core.plugins import load_plugins

    plugins_dir = None
    if ctx is not None:
        root = ctx.find_root()
        plugins_dir = root.params.get("plugins_dir")
        if plugins_dir is None:
            # list_commands may run before the root's params are parsed (e.g. --help)
            args = sys.argv[1:]
            if "--plugins-dir" in args and args.index("--plugins-dir") + 1 < len(args):
                plugins_dir = Path(args[args.index("--plugins-dir") + 1])
        obj = root.obj if isinstance(root.obj, dict) else None
        if obj is not None and "host" in obj:
            return obj["host"]
        host = load_plugins(plugins_dir)
        if obj is not None:
            obj["host"] = host
        else:
            root.obj = {"host": host}
        return host
    return load_plugins(plugins_dir)


@click.group(cls=HearingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hearing")
@click.option(
    "--store",
    envvar="HEARING_STORE",
    metavar="PATH|URL",
    help="SQLite file or postgresql://user@host:port/db  [env HEARING_STORE; default hearings.db]",
)
@click.option(
    "--views",
    envvar="HEARING_VIEWS",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read-model SQLite file  [env HEARING_VIEWS; default beside the store]",
)
@click.option(
    "--plugins-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also load each *.py in this folder as a plugin (for plugin development).",
)
@click.pass_context
def cli(
    ctx: click.Context, store: str | None, views: Path | None, plugins_dir: Path | None
) -> None:
    """An event-sourced record of public multi-stakeholder hearings.

    Record a hearing event by event (or import a JSON Lines file), replay it,
    and render transcripts, summaries and stakeholder-balance audits.
    Start with `hearing demo`.
    """
    obj = ctx.ensure_object(dict)
    obj.update(store=store, views=views, plugins_dir=plugins_dir)


def workspace(ctx: click.Context) -> Any:
    """The workspace for this invocation (opened once)."""
    from hearing_core.workspace import Workspace

    obj = ctx.find_root().ensure_object(dict)
    if "workspace" not in obj:
        obj["workspace"] = Workspace(
            obj.get("store"),
            views=obj.get("views"),
            plugins_dir=obj.get("plugins_dir"),
            host=obj.get("host"),
        )
    return obj["workspace"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hearing")


# Register the core commands (they import ``cli`` from this module).
from hearing_core.cli import (  # noqa: E402, F401
    archival_cmds,
    demo,
    log_cmds,
    record_cmds,
    report_cmds,
)
