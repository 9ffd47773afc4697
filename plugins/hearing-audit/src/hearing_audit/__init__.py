"""hearing-core-audit: the stakeholder-balance audit plugin for hearing_core.

Registers the ``audit`` projection, the ``hearing audit HEARING`` report
command (formats table, json, csv, programme, status, html; ``--require-all-groups``)
and the moderator's live view ``hearing status HEARING``.  Imports stay light:
rich tables and the renderer load only when a report is rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hearing_core import hookimpl

if TYPE_CHECKING:
    import click

    from hearing_core import Projection

__all__ = ["register_commands", "register_projections"]


@hookimpl
def register_projections(register: Callable[[Projection], None]) -> None:
    from hearing_audit.projection import AuditProjection  # imported late: --help stays fast

    register(AuditProjection())


@hookimpl
def register_commands(cli: click.Group) -> None:
    import click

    from hearing_core import report_command

    cli.add_command(
        report_command(
            "audit",
            help=(
                "Stakeholder-balance audit of a hearing: who took part, speaking time and turns "
                "per stakeholder group, coverage per segment, the balance index, officials, "
                "regions and programme adherence.  Formats: table (default), json, csv, "
                "programme, status, html (a page with charts)."
            ),
            options=[
                click.option(
                    "--require-all-groups",
                    is_flag=True,
                    default=False,
                    help="Exit with status 1 when any stakeholder group of the taxonomy never spoke.",
                )
            ],
        )
    )
    cli.add_command(_status_command())


def _status_command() -> click.Command:
    from pathlib import Path

    import click

    @click.command(
        "status",
        help=(
            "The moderator's live view of a hearing: the open segment and its time against the "
            "plan, who has spoken in it and overall, and which stakeholder groups have not been "
            "heard yet (with their registered participants, to call on from the floor).\n\n"
            "\b\nExamples:\n  hearing status imrf-2022-msh\n"
            "  hearing status imrf-2022-msh --as-of 11:30 --json"
        ),
    )
    @click.argument("hearing")
    @click.option(
        "--as-of", help="As it stood at a position, or a time (ISO 8601, or HH:MM on the day)."
    )
    @click.option(
        "--uncorrected", is_flag=True, help="As originally recorded, corrections ignored."
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for the room, json for a screen or a script (also --json).",
    )
    @click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        help="Write here instead of standard output (- is standard output).",
    )
    @click.pass_context
    def status(
        ctx: click.Context,
        hearing: str,
        as_of: str | None,
        uncorrected: bool,
        fmt: str,
        output: Path | None,
    ) -> None:
        from hearing_core import run_report

        run_report(
            ctx,
            "audit",
            hearing,
            "status-json" if fmt == "json" else "status",
            as_of=as_of,
            uncorrected=uncorrected,
            output=output,
        )

    return status
