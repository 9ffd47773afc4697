"""hearing_core plugin ``summary``: the summary of recommendations and pledges.

Registers the ``summary`` projection and the ``hearing summary HEARING``
command.  The projection's code is imported only when a hook runs, which
keeps ``hearing --help`` fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hearing_core import hookimpl

if TYPE_CHECKING:
    import click

    from hearing_core import Projection

__version__ = "0.1.0"


@hookimpl
def register_projections(register: Callable[[Projection], None]) -> None:
    from hearing_summary.projection import SummaryProjection

    register(SummaryProjection())


@hookimpl
def register_commands(cli: click.Group) -> None:
    import click

    from hearing_core import report_command
    from hearing_summary.sections import SECTIONS

    cli.add_command(
        report_command(
            "summary",
            name="summary",
            help=(
                "Summarise a hearing's recommendations and pledges: by session, GCM objective, "
                "SG-report area and stakeholder group; pledges by level and partners; the "
                "moderators' summations; and a digest for the opening plenary.  Formats: "
                "markdown (default), json."
            ),
            options=[
                click.option(
                    "--section",
                    type=click.Choice(SECTIONS),
                    default="all",
                    show_default=True,
                    help="Show one part of the summary only.",
                )
            ],
        )
    )
