"""Commands over the read models: replay, plugins and report.

``report_command`` and ``run_report``, which plugins build report commands with, live
in :mod:`hearing_core.reports`; they are re-exported here for plugins that imported
them from this module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from hearing_core.cli import cli, console, err_console, workspace
from hearing_core.output import (
    check_writable,
    output_option,
    print_renderable,
    write_text,
)
from hearing_core.reports import report_command, report_options, run_report

__all__ = ["report_command", "report_options", "run_report"]


def _progress_bar(total: int, label: str) -> tuple[Progress, Callable[[int], None]]:
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    task = progress.add_task(label, total=total)
    return progress, lambda n: progress.advance(task, n)


@cli.command()
@click.option("--incremental", is_flag=True, help="Only catch up on new events; keep read models.")
@click.option(
    "--follow",
    is_flag=True,
    help="Then keep going: tail the log and update the read models as events arrive (Ctrl-C stops).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="With --follow: seconds between polls of the log.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the outcome as JSON (no progress bar)."
)
@click.pass_context
def replay(
    ctx: click.Context, incremental: bool, follow: bool, interval: float, as_json: bool
) -> None:
    """Rebuild every read model from the log (or catch up with --incremental).

    \b
    Examples:
      hearing replay
      hearing replay --incremental --json
      hearing replay --follow --interval 0.5
    """
    # A follower is a service: SIGTERM asks it to stop cleanly (exit 0).  Listen before the
    # first catch-up, so a stop asked for while it runs is kept, not fatal.
    stop = _stop_on_sigterm() if follow else None
    ws = workspace(ctx)
    if not incremental:
        ws.readmodels.reset()
    total = ws.pending()
    if as_json:
        failures = ws.catch_up()
    else:
        progress, advance = _progress_bar(total, "Replaying")
        with progress:
            failures = ws.catch_up(advance)
    projections = ", ".join(p.name for p in ws.readmodels.projections) or "none"
    if as_json:
        import json

        positions = ws.readmodels.positions()
        click.echo(
            json.dumps(
                {
                    "views": str(ws.views_path),
                    "rebuilt": not incremental,
                    "archive_position": ws.archive.max_position(),
                    "projections": [
                        {
                            "name": p.name,
                            "position": positions[p.name].position if p.name in positions else 0,
                        }
                        for p in ws.readmodels.projections
                    ],
                    "stalled": [
                        {"projection": f.projection, "position": f.position, "error": f.error}
                        for f in failures
                    ],
                },
                indent=2,
            )
        )
    elif failures:
        stalled = ", ".join(f.projection for f in failures)
        console.print(f"Read models in {ws.views_path} rebuilt; stalled: {stalled}.", markup=False)
    else:
        console.print(
            f"Read models in {ws.views_path} are up to date (projections: {projections}).",
            markup=False,
        )
    for f in [] if as_json else failures:
        err_console.print(
            f"projection {f.projection} stalled at position {f.position}: {f.error}", markup=False
        )
    if stop is not None:
        _follow(ws, interval, stop)
    if failures:
        sys.exit(1)


class _StopFlag:
    """Set by SIGTERM.  A plain attribute, no lock: a signal handler that took a lock
    (``threading.Event.set``) could wait forever for one its own thread holds."""

    def __init__(self) -> None:
        self.asked = False

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking within 0.1 s of a stop being asked for."""
        import time

        end = time.monotonic() + seconds
        while not self.asked and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))


def _stop_on_sigterm() -> _StopFlag:
    """A flag set when the process receives SIGTERM (instead of dying at once)."""
    import signal

    stop = _StopFlag()

    def ask(*_: object) -> None:
        stop.asked = True

    signal.signal(signal.SIGTERM, ask)
    return stop


def _follow(ws: Any, interval: float, stop: _StopFlag) -> None:
    """Poll the log and catch up until interrupted (SQLite's recorder cannot push)."""
    err_console.print(f"Following the log every {interval:g} s; Ctrl-C stops.")
    reported: set[tuple[str, int]] = set()
    try:
        while not stop.asked:
            before = ws.readmodels.start()
            for f in ws.catch_up():
                if (f.projection, f.position) not in reported:
                    reported.add((f.projection, f.position))
                    err_console.print(
                        f"projection {f.projection} stalled at position {f.position}: {f.error}",
                        markup=False,
                    )
            after = ws.readmodels.start()
            if after != before:
                console.print(f"caught up to position {after}", markup=False)
            stop.wait(interval)
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@output_option()
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, output: Path | None) -> None:
    """Show each plugin, its version, its projections, their positions and failures.

    \b
    Examples:
      hearing plugins
      hearing plugins --json -o plugins.json
    """
    import json

    check_writable(output)
    ws = workspace(ctx)
    host = ws.host
    _ = host.projections  # collect them now, so each plugin's list (and failures) is complete
    from hearing_core.exports.registry import all_exporters

    all_exporters(host)  # and the export formats, so a refused one shows as a failure
    positions = ws.readmodels.positions()
    head = ws.archive.max_position()
    rows = []
    for info in sorted(host.plugins.values(), key=lambda i: i.name):
        projections = []
        for name in info.projections:
            pos = positions.get(name)
            projections.append(
                {
                    "name": name,
                    "position": pos.position if pos else 0,
                    # How far the read model is behind the log: reports catch up first.
                    "behind": head - (pos.position if pos else 0),
                    "failed_at": pos.failed_at if pos else None,
                    "error": pos.error if pos else None,
                }
            )
        rows.append(
            {
                "plugin": info.name,
                "version": info.version,
                "source": info.source,
                "error": info.error,
                "projections": projections,
            }
        )
    if as_json:
        write_text(output, json.dumps(rows, indent=2))
        return
    table = Table("plugin", "version", "projection", "position", "status", title="Plugins")
    for row in rows:
        status = f"failed: {row['error']}" if row["error"] else "ok"
        if not row["projections"]:
            table.add_row(row["plugin"], row["version"] or "-", "-", "-", status)
        for p in row["projections"]:
            pstatus = f"stalled at {p['failed_at']}: {p['error']}" if p["failed_at"] else status
            table.add_row(
                row["plugin"], row["version"] or "-", p["name"], str(p["position"]), pstatus
            )
    none = "No plugins loaded (check HEARING_PLUGINS / HEARING_PLUGINS_BLOCK)."
    print_renderable(output, Group(table, Text(none)) if not rows else table)


@cli.command("report")
@click.argument("projection")
@report_options
@click.option("--option", "extra", multiple=True, metavar="KEY=VALUE", help="A report option.")
@click.pass_context
def report(
    ctx: click.Context,
    projection: str,
    hearing: str,
    fmt: str | None,
    as_of: str | None,
    uncorrected: bool,
    output: Path | None,
    extra: tuple[str, ...],
) -> None:
    """Render any projection's report: hearing report PROJECTION HEARING.

    \b
    Examples:
      hearing report language_time imrf-2022-msh
      hearing report transcript imrf-2022-msh --option language=en
      hearing report audit imrf-2022-msh --format json -o audit.json
    """
    options: dict[str, Any] = {}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--option")
        options[key] = value
    try:
        run_report(
            ctx,
            projection,
            hearing,
            fmt,
            as_of=as_of,
            uncorrected=uncorrected,
            output=output,
            **options,
        )
    except KeyError as e:
        raise click.UsageError(str(e.args[0])) from None
