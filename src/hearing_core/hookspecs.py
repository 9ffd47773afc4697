"""The hook contract between hearing_core and its plugins.

Registration callbacks in the style of llm's
``register_models``: the host hands the plugin a function to call once per
thing it contributes, so every projection and command is attributed to its
plugin and checked before use.  Adding an argument to a hook later is safe;
removing or renaming one is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import click

    from hearing_core.exports.registry import Exporter
    from hearing_core.projection import Projection

#: The pluggy project name, also the entry-point group plugins register under.
PROJECT = "hearing_core"

hookspec = HookspecMarker(PROJECT)
hookimpl = HookimplMarker(PROJECT)


@hookspec
def register_projections(register: Callable[[Projection], None]) -> None:
    """Contribute projections: call ``register(projection)`` for each one.

    A projection turns events into read-model tables and renders reports
    from them; see :class:`hearing_core.Projection`.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``hearing`` command line: ``@cli.command()`` on each.

    Keep heavy imports inside the command functions: every plugin's module is
    imported whenever ``hearing`` starts, ``--help`` included.
    """


@hookspec
def register_exporters(register: Callable[[Exporter], None]) -> None:
    """Contribute export formats: call ``register(exporter)`` for each one.

    An exporter names a format of ``hearing export --format`` and writes a
    hearing's records in it; see :class:`hearing_core.exports.registry.Exporter`.
    hearing_core's own formats (jsonl, akn, popolo, html) are registered
    through this hook too, before any plugin's.
    """
