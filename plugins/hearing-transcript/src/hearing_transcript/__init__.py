"""The transcript of a hearing: a hearing_core projection plugin.

``hearing transcript HEARING [--format markdown|text|json] [--language L]``
shows every intervention segment by segment, with pledges, recommendations
and summations at their place, corrections applied and noted, and protected
speakers by pseudonym only.  See ``docs/transcript.md``.

Importing this module is cheap: the projection and its renderers are
imported when a hook is called, not at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hearing_core import hookimpl

if TYPE_CHECKING:
    import click

    from hearing_core import Projection

__version__ = "0.1.0"

__all__ = ["register_commands", "register_projections"]


@hookimpl
def register_projections(register: Callable[[Projection], None]) -> None:
    """Contribute the ``transcript`` projection."""
    from hearing_transcript.projection import TranscriptProjection

    register(TranscriptProjection())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``hearing transcript HEARING [--format F] [--language L]``."""
    import click

    from hearing_core import report_command

    cli.add_command(
        report_command(
            "transcript",
            name="transcript",
            help=(
                "Render a hearing's transcript: segment by segment, each intervention with "
                "speaker, organization, stakeholder group, role, language and times; pledges, "
                "recommendations and summations in place; corrections applied and noted.  "
                "Formats: markdown (default), text, json."
            ),
            options=[
                click.option(
                    "--language",
                    metavar="L",
                    help=(
                        "Show each intervention's translation into L where there is one; "
                        "text not available in L is shown as delivered and marked "
                        "'(original, xx)'.  Default: as delivered."
                    ),
                )
            ],
        )
    )
