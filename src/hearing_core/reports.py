"""Running a projection's report for a command: what every report command does.

:func:`render_report` checks what was asked (the projection renders that format,
the hearing exists, ``--as-of`` is in its range) and renders it from a
workspace; :func:`write_report` prints it, or writes it to ``-o``.  Neither
knows click.  Plugins build their commands with :func:`report_command` and
:func:`run_report`, which are click commands' bodies: they import click when
called (only the command line calls them), never when this module is imported,
so the core does not import the command line (:mod:`hearing_core.cli`) and the
command line depends on the core, not the other way round.

The command line puts how to open its workspace in the click context
(``open_workspace``); :func:`run_report` asks for it there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from hearing_core.errors import HearingCoreError
from hearing_core.output import (
    check_writable,
    console,
    err_console,
    output_option,
    to_stdout,
    writing,
)
from hearing_core.projection import ALL_HEARINGS, Report, ReportRequest

if TYPE_CHECKING:
    import click

    from hearing_core.workspace import AsOf, Workspace

__all__ = [
    "OPEN_WORKSPACE",
    "RenderedReport",
    "ReportUsageError",
    "render_report",
    "report_command",
    "report_options",
    "run_report",
    "write_report",
]

#: The key, in the click context's object, of the command line's workspace opener.
OPEN_WORKSPACE = "open_workspace"


class ReportUsageError(HearingCoreError):
    """A report asked for in a way its projection cannot answer (a usage error: exit 2)."""

    def __init__(self, message: str, param_hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The option at fault (``--format``), if one is.
        self.param_hint = param_hint


@attrs.frozen
class RenderedReport:
    """A rendered report: its content, exit code and message, and the point it is as of."""

    content: Any  # text, or a rich renderable
    exit_code: int = 0
    message: str | None = None
    as_of: AsOf | None = None


def render_report(
    ws: Workspace,
    projection: str,
    hearing: str | None,
    fmt: str | None,
    *,
    as_of: str | None = None,
    uncorrected: bool = False,
    options: dict[str, Any] | None = None,
) -> RenderedReport:
    """Render one projection's report (``hearing`` None: over the whole archive).

    Point-in-time (``as_of``) and uncorrected readings need a hearing.
    """
    p = ws.host.projection(projection)
    if not p.formats:
        raise ReportUsageError(f"projection {projection!r} renders no reports")
    fmt = fmt or p.formats[0]
    if fmt not in p.formats:
        raise ReportUsageError(
            f"{fmt!r}; {projection} renders {', '.join(p.formats)}", param_hint="--format"
        )
    if hearing is None:
        if as_of is not None or uncorrected:
            raise ReportUsageError("--as-of and --uncorrected need a HEARING")
    else:
        ws.archive.hearing(hearing)  # a clear error for an unknown hearing
    point = None if hearing is None else ws.as_of(hearing, as_of)
    options = dict(options or {})
    if point is not None:
        # Projections may say back what was asked (the audit's status does: "as of 11:30").
        options = {"as_of_position": point.position, **options}
        if point.moment is not None:
            options["as_of_time"] = point.moment.isoformat()
    request = ReportRequest(hearing=hearing or ALL_HEARINGS, format=fmt, options=options)
    upto = None if point is None else point.position
    result = ws.report(projection, request, as_of=upto, uncorrected=uncorrected)
    if isinstance(result, Report):
        return RenderedReport(result.content, result.exit_code, result.message, point)
    return RenderedReport(result, as_of=point)


def write_report(report: RenderedReport, output: Path | str | None) -> None:
    """Print a rendered report (or write it to ``output``); its message goes to stderr."""
    from rich.text import Text

    content = report.content
    if isinstance(content, str) and not content and report.message:
        pass  # a verdict with nothing to show: only the message, on stderr
    elif isinstance(content, str):
        with writing(output) as stream:
            stream.write(content)
            if to_stdout(output) and not content.endswith("\n"):
                stream.write("\n")
    elif not to_stdout(output):
        from rich.console import Console

        with writing(output) as stream:
            Console(
                file=stream, width=120, highlight=False, markup=False, emoji=False, no_color=True
            ).print(content, soft_wrap=isinstance(content, Text))
    else:
        # Text into a file or a pipe keeps its lines whole (no wrapping at 80 columns
        # mid-phrase); on a terminal it wraps at the terminal's width.
        console.print(content, soft_wrap=isinstance(content, Text) and not console.is_terminal)
    if report.message:
        err_console.print(report.message, markup=False)


# --- the helpers plugins build their commands with (click imported when called) -----------


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
    Exits with the report's exit code when it is not 0.
    """
    import click

    check_writable(output)  # before any work: one line, nothing half-written
    opener = ctx.find_root().ensure_object(dict).get(OPEN_WORKSPACE)
    if opener is None:
        raise HearingCoreError("run_report runs inside a `hearing` command")
    ws = opener(ctx)
    try:
        report = render_report(
            ws, projection, hearing, fmt, as_of=as_of, uncorrected=uncorrected, options=options
        )
    except ReportUsageError as e:
        if e.param_hint:
            raise click.BadParameter(e.message, param_hint=e.param_hint) from None
        raise click.UsageError(e.message) from None
    if report.as_of is not None and err_console.is_terminal:
        # Said to the person at the terminal; scripts get the report alone on stdout.
        err_console.print(f"{projection} of {hearing} {report.as_of.describe()}", markup=False)
    write_report(report, output)
    if report.exit_code:
        sys.exit(report.exit_code)


def report_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every report command shares."""
    import click

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
    import click

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
