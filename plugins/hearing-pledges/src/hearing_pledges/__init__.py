"""hearing-core-pledges: the follow-up of pledges between forums, for hearing_core.

Registers the ``pledges`` projection (every pledge of the archive with its
progress reports, wherever they were recorded, and its current status) and
the ``hearing pledges [HEARING]`` report command.  Imports stay light: the
projection and the renderers load only when they are used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hearing_core import PLEDGE_STATUSES, hookimpl

if TYPE_CHECKING:
    import click

    from hearing_core import Projection

__all__ = ["register_commands", "register_projections"]

#: The values ``--status`` accepts: the reported statuses, and ``made`` (no report yet).
STATUS_CHOICES = (*PLEDGE_STATUSES, "made")
#: The report formats, the first being the default.
FORMATS = ("markdown", "json", "csv")


@hookimpl
def register_projections(register: Callable[[Projection], None]) -> None:
    from hearing_pledges.projection import PledgesProjection  # imported late: --help stays fast

    register(PledgesProjection())


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(_pledges_command())


def _pledges_command() -> click.Command:
    from pathlib import Path

    import click

    @click.command(
        "pledges",
        help=(
            "The follow-up of pledges: each pledge with who made it, its text, GCM objectives, "
            "level and partners, every progress report on it (in whichever hearing it was "
            "recorded) and its current status.  With HEARING: the pledges made in that "
            "hearing; without: every pledge of the archive, by hearing, with a count by status."
            "\n\n\b\nExamples:\n  hearing pledges\n"
            "  hearing pledges imrf-2022-msh --status fulfilled\n"
            "  hearing pledges --format csv -o pledges.csv"
        ),
    )
    @click.argument("hearing", required=False)
    @click.option(
        "--status",
        type=click.Choice(STATUS_CHOICES),
        help="Only pledges whose current status is this (made: no progress reported yet).",
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        help="Report format: markdown (default), json or csv.",
    )
    @click.option(
        "--as-of",
        help=(
            "With HEARING: as it stood at a position, or a time (ISO 8601, or HH:MM on the day)."
        ),
    )
    @click.option(
        "--uncorrected",
        is_flag=True,
        help="With HEARING: as originally recorded, corrections ignored.",
    )
    @click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here."
    )
    @click.pass_context
    def pledges(
        ctx: click.Context,
        hearing: str | None,
        status: str | None,
        fmt: str | None,
        as_of: str | None,
        uncorrected: bool,
        output: Path | None,
    ) -> None:
        from hearing_core import run_report

        run_report(
            ctx,
            "pledges",
            hearing,
            fmt,
            as_of=as_of,
            uncorrected=uncorrected,
            output=output,
            status=status,
        )

    return pledges
