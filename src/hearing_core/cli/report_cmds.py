"""Commands over the read models: replay, plugins, report, and the report-command factory."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from hearing_core.cli import cli, console, err_console, workspace
from hearing_core.cli.output import (
    check_writable,
    output_option,
    print_renderable,
    to_stdout,
    write_text,
    writing,
)
from hearing_core.projection import ALL_HEARINGS, Report, ReportRequest


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


def _stop_on_sigterm() -> threading.Event:
    """An event set when the process receives SIGTERM (instead of dying at once)."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def _follow(ws: Any, interval: float, stop: threading.Event) -> None:
    """Poll the log and catch up until interrupted (SQLite's recorder cannot push)."""
    err_console.print(f"Following the log every {interval:g} s; Ctrl-C stops.")
    reported: set[tuple[str, int]] = set()
    try:
        while not stop.is_set():
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


def emit(result: Any, output: Path | None) -> None:
    """Print a rendered report (text, rich renderable or Report) and honour its exit code."""
    exit_code, message = 0, None
    if isinstance(result, Report):
        result, exit_code, message = result.content, result.exit_code, result.message
    if isinstance(result, str) and not result and message:
        pass  # a verdict with nothing to show: only the message, on stderr
    elif isinstance(result, str):
        with writing(output) as stream:
            stream.write(result)
            if to_stdout(output) and not result.endswith("\n"):
                stream.write("\n")
    elif not to_stdout(output):
        from rich.console import Console

        with writing(output) as stream:
            Console(
                file=stream, width=120, highlight=False, markup=False, emoji=False, no_color=True
            ).print(result, soft_wrap=isinstance(result, Text))
    else:
        # Text into a file or a pipe keeps its lines whole (no wrapping at 80 columns
        # mid-phrase); on a terminal it wraps at the terminal's width.
        console.print(result, soft_wrap=isinstance(result, Text) and not console.is_terminal)
    if message:
        err_console.print(message, markup=False)
    if exit_code:
        sys.exit(exit_code)


def run_report(
    ctx: click.Context,
    projection: str,
    hearing: str | None,
    fmt: str | None,
    *,
    as_of: str | None = None,
    uncorrected: bool = False,
    output: Path | None = None,
    **options: Any,
) -> None:
    """Render one projection's report and print it (the body of report commands).

    ``hearing`` None asks for a report over the whole archive, for projections
    that render one (point-in-time and uncorrected readings need a hearing).
    """
    check_writable(output)  # before any work: one line, nothing half-written
    ws = workspace(ctx)
    p = ws.host.projection(projection)
    if not p.formats:
        raise click.UsageError(f"projection {projection!r} renders no reports")
    fmt = fmt or p.formats[0]
    if fmt not in p.formats:
        raise click.BadParameter(
            f"{fmt!r}; {projection} renders {', '.join(p.formats)}", param_hint="--format"
        )
    if hearing is None:
        if as_of is not None or uncorrected:
            raise click.UsageError("--as-of and --uncorrected need a HEARING")
    else:
        ws.archive.hearing(hearing)  # a clear error for an unknown hearing
    point = None if hearing is None else ws.as_of(hearing, as_of)
    if point is not None:
        # Projections may say back what was asked (the audit's status does: "as of 11:30").
        options = {"as_of_position": point.position, **options}
        if point.moment is not None:
            options["as_of_time"] = point.moment.isoformat()
    request = ReportRequest(hearing=hearing or ALL_HEARINGS, format=fmt, options=options)
    upto = None if point is None else point.position
    result = ws.report(projection, request, as_of=upto, uncorrected=uncorrected)
    if point is not None and err_console.is_terminal:
        # Said to the person at the terminal; scripts get the report alone on stdout.
        err_console.print(f"{projection} of {hearing} {point.describe()}")
    emit(result, output)


def report_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every report command shares."""
    for option in reversed(
        [
            click.argument("hearing"),
            click.option(
                "--format", "fmt", help="Report format (the projection's first by default)."
            ),
            click.option(
                "--as-of",
                help="As it stood at a position, or a time (ISO 8601, or HH:MM on the day).",
            ),
            click.option(
                "--uncorrected", is_flag=True, help="As originally recorded, corrections ignored."
            ),
            output_option(),
        ]
    ):
        f = option(f)
    return f


def report_command(
    projection: str,
    *,
    name: str | None = None,
    help: str | None = None,
    options: Sequence[Callable[..., Any]] = (),
) -> click.Command:
    """Build a ``hearing NAME HEARING`` command that renders a projection's report.

    Plugins call this in their ``register_commands`` hook; extra click
    options become entries of :attr:`ReportRequest.options`.
    """

    @click.pass_context
    def command(
        ctx: click.Context,
        /,
        hearing: str,
        fmt: str | None,
        as_of: str | None,
        uncorrected: bool,
        output: Path | None,
        **extra: Any,
    ) -> None:
        run_report(
            ctx,
            projection,
            hearing,
            fmt,
            as_of=as_of,
            uncorrected=uncorrected,
            output=output,
            **extra,
        )

    for option in reversed(list(options)):
        command = option(command)
    command = report_options(command)
    shown = name or projection
    examples = (
        f"\n\n\b\nExamples:\n  hearing {shown} imrf-2022-msh\n"
        f"  hearing {shown} imrf-2022-msh --as-of 11:00 -o {shown}.txt\n"
        f"  hearing {shown} imrf-2022-msh --uncorrected"
    )
    text = help or f"Render the {projection} report."
    return click.command(shown, help=text if "Examples:" in text else text + examples)(command)


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
