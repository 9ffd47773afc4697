"""The ``hearing`` command line: a thin layer over :mod:`hearing_core`'s library API.

Every command is a library call plus rich output; errors the user can fix
are :class:`~hearing_core.errors.HearingCoreError` and print as one line on
stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from hearing_core import __version__
from hearing_core.errors import HearingCoreError
from hearing_core.output import console as console  # never markup nor emoji codes
from hearing_core.output import err_console as err_console
from hearing_core.output import output_path_type
from hearing_core.reports import OPEN_WORKSPACE

#: Commands that may create a store where there is none; every other command refuses
#: a missing store (a typo in --store must not pass for an empty archive).
CREATING_COMMANDS = frozenset({"import", "record", "demo"})

#: Options of the top-level group that every command accepts too (after its name, as
#: sqlite-utils and datasette users expect: `hearing log X --store big.db`).
SHARED_OPTIONS = ("store", "views", "keys")


class HearingGroup(click.Group):
    """Turns expected errors into one-line messages; adds plugin commands lazily.

    Plugin commands are added for the plugin selection in force (allow-list,
    block-list, --plugins-dir) and replaced when that selection changes, so
    one process can run several invocations (tests do) without stale commands.
    """

    _core_commands: dict[str, click.Command] | None = None
    _loaded_for: tuple[str | None, str | None, str | None] | None = None

    def _load_plugin_commands(self, ctx: click.Context | None) -> None:
        from hearing_core.plugins import ALLOW_ENV, BLOCK_ENV, add_commands

        selection = (os.environ.get(ALLOW_ENV), os.environ.get(BLOCK_ENV), _plugins_dir_arg(ctx))
        if self._loaded_for == selection:
            return
        if self._core_commands is None:
            self._core_commands = dict(self.commands)
        self.commands = dict(self._core_commands)
        self._loaded_for = selection
        add_commands(workspace_host(ctx), self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        core = self._core_commands if self._core_commands is not None else self.commands
        if cmd_name in core:
            return _conventional(core[cmd_name])  # core commands need no plugin loaded
        self._load_plugin_commands(ctx)
        command = super().get_command(ctx, cmd_name)
        return None if command is None else _conventional(command)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI; usage errors are one line too (exit 2), never click's usage block."""
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            message, code = "aborted", 1
        except click.ClickException as e:
            where = e.ctx.command_path if isinstance(e, click.UsageError) and e.ctx else "hearing"
            message, code = f"{where}: {e.format_message()} (see {where} --help)", e.exit_code
        fail(message, code)  # outside the except block: the exit carries no traceback
        return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HearingCoreError as e:
            message = str(e)
        except (BrokenPipeError, KeyboardInterrupt):
            message = ""
        except Exception as e:
            if not _is_store_failure(e):
                raise
            # The store itself failed (locked, corrupt, unreachable): say so in one line.
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            message = f"store: {first}"
        # Exit outside the except block, so nothing (an open store, say) stays referenced
        # from the exception's traceback after the command has finished.
        if not message:
            sys.exit(130)
        fail(message)
        return None


def _is_store_failure(error: Exception) -> bool:
    # eventsourcing is imported here, not at start-up, to keep `hearing --help` fast.
    from eventsourcing.persistence import PersistenceError

    return isinstance(error, PersistenceError | sqlite3.DatabaseError)


def fail(message: str, code: int = 1) -> None:
    """Print one error line on stderr and exit."""
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def _plugins_dir_arg(ctx: click.Context | None) -> str | None:
    """--plugins-dir, which may not be parsed yet when click lists commands for --help."""
    if ctx is not None:
        value = ctx.find_root().params.get("plugins_dir")
        if value is not None:
            return str(value)
    args = sys.argv[1:]
    if "--plugins-dir" in args and args.index("--plugins-dir") + 1 < len(args):
        return args[args.index("--plugins-dir") + 1]
    return None


def workspace_host(ctx: click.Context | None) -> Any:
    """The plugin host for this invocation (loaded once, shared with the workspace)."""
    from hearing_core.plugins import load_plugins

    plugins_dir = _plugins_dir_arg(ctx)
    host = load_plugins(Path(plugins_dir) if plugins_dir else None)
    if ctx is not None:
        ctx.find_root().ensure_object(dict)["host"] = host
    return host


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
    "--keys",
    envvar="HEARING_KEYS",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Protected speakers' key file  [env HEARING_KEYS; default beside the store]",
)
@click.option(
    "--plugins-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also load each *.py in this folder as a plugin (for plugin development).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    store: str | None,
    views: Path | None,
    keys: Path | None,
    plugins_dir: Path | None,
) -> None:
    """An event-sourced record of public multi-stakeholder hearings.

    Record a hearing event by event (or import a JSON Lines file), replay it,
    and render transcripts, summaries and stakeholder-balance audits.
    Start with `hearing demo`.
    """
    obj = ctx.ensure_object(dict)
    obj.update(store=store, views=views, keys=keys, plugins_dir=plugins_dir)
    obj[OPEN_WORKSPACE] = workspace  # how report commands (hearing_core.reports) open it


def workspace(ctx: click.Context) -> Any:
    """The workspace for this invocation (opened once).

    Only :data:`CREATING_COMMANDS` may create the store; for any other command
    a missing store is a one-line error.
    """
    from hearing_core.workspace import Workspace

    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "workspace" not in obj:
        obj["workspace"] = Workspace(
            obj.get("store"),
            views=obj.get("views"),
            keys=obj.get("keys"),
            plugins_dir=obj.get("plugins_dir"),
            host=obj.get("host"),
            create=root.invoked_subcommand in CREATING_COMMANDS,
        )
        root.call_on_close(obj["workspace"].close)  # connections end with the command
    return obj["workspace"]


def _set_shared(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A shared option given after the command name overrides the one before it."""
    if value is not None and param.name is not None:
        obj = ctx.find_root().ensure_object(dict)
        obj[param.name] = value
        obj[f"{param.name}_given"] = True
    return value


def _shared_option(name: str) -> click.Option:
    path = click.Path(dir_okay=False, path_type=Path)
    return click.Option(
        [f"--{name}"],
        metavar="PATH|URL" if name == "store" else "FILE",
        type=None if name == "store" else path,
        expose_value=False,
        is_eager=True,
        callback=_set_shared,
        help=f"As `hearing --{name}`, given after the command.",
    )


def complete_hearing(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of hearing ids, from the store in force (quietly nothing on error)."""
    from click.shell_completion import CompletionItem

    root = ctx.find_root()
    obj = root.ensure_object(dict)
    # While completing, click parses without running the group's callback: read its params.
    store = obj.get("store") or root.params.get("store")
    try:
        from hearing_core.workspace import Workspace

        ws = Workspace(store, create=False, host=obj.get("host"))
        try:
            rows = ws.archive.hearings()
        finally:
            ws.close()
    except Exception:
        return []
    return [CompletionItem(h.slug, help=h.title) for h in rows if h.slug.startswith(incomplete)]


def _conventional(command: click.Command) -> click.Command:
    """Give a command (and its subcommands) the shared options and hearing completion.

    Done once per command object, for plugin commands too, so every command
    follows the same conventions without each one declaring them.
    """
    if getattr(command, "_hearing_conventions", False):
        return command
    command._hearing_conventions = True  # type: ignore[attr-defined]
    have = {p.name for p in command.params}
    for name in SHARED_OPTIONS:
        if name not in have:
            command.params.append(_shared_option(name))
    for param in command.params:
        hearing = isinstance(param, click.Argument) and param.name == "hearing"
        if hearing and param._custom_shell_complete is None:
            param._custom_shell_complete = complete_hearing
        if isinstance(param, click.Option) and "-o" in param.opts:
            # A plugin's own -o too: `-o -` is standard output and a bad path is one line.
            param.type = output_path_type()
            param.metavar = param.metavar or "FILE"
    # export's formats are files (jsonl, akn, popolo, ...): "--json" would mean nothing there.
    json_alias = command.name != "export" and "as_json" not in have
    if "fmt" in have and json_alias and command.callback is not None:
        _add_json_alias(command)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _conventional(sub)
    return command


def _add_json_alias(command: click.Command) -> None:
    """``--json`` on a command that has ``--format``: the same as ``--format json``.

    Every command that prints JSON then takes ``--json``, as ``hearing log`` and
    ``hearing verify`` always did; ``--format json`` stays where it was.
    """
    import functools

    original = command.callback
    assert original is not None

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta["hearing.as_json"] = True
        return value

    @functools.wraps(original)
    def callback(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if ctx.meta.get("hearing.as_json"):
            given = ctx.get_parameter_source("fmt") == click.core.ParameterSource.COMMANDLINE
            if given and kwargs.get("fmt") != "json":
                raise click.UsageError(f"--json and --format {kwargs['fmt']} disagree")
            kwargs["fmt"] = "json"
        return original(*args, **kwargs)

    command.callback = callback
    command.params.append(
        click.Option(
            ["--json"],
            is_flag=True,
            expose_value=False,
            callback=remember,
            help="Print JSON (the same as --format json).",
        )
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hearing")


# Register the core commands (they import ``cli`` from this module).
from hearing_core.cli import (  # noqa: E402, F401
    archival_cmds,
    demo,
    grant_cmds,
    log_cmds,
    publish_cmds,
    record_cmds,
    report_cmds,
)
