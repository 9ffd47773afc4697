"""What a projection is: the public base class plugins subclass.

A projection has a unique ``name``, the event ``types`` it handles, the
read-model ``tables`` it owns, a ``handle`` method that applies one event to
those tables, and a ``render`` method that turns them into reports in the
``formats`` it names.  The host (not the projection) owns transactions and
positions: ``handle`` just writes; if it raises, the host rolls that event
back, records the failure and stops feeding this projection there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

if TYPE_CHECKING:  # imported for annotations only: keeps `hearing --help` fast
    import sqlite_utils
    from rich.console import RenderableType

    from hearing_core.recorded import RecordedEvent


#: ``ReportRequest.hearing`` for a report over every hearing of the archive.
ALL_HEARINGS = "*"


@attrs.frozen
class ReportRequest:
    """What a reader asked for: which hearing, in which format, with which options.

    ``hearing`` is :data:`ALL_HEARINGS` (``"*"``) when the report is over the
    whole archive (only for projections whose commands offer that).  ``options`` carries
    report-specific settings (``language`` for the transcript, for instance);
    a projection ignores the ones it does not know.
    """

    hearing: str
    format: str
    options: Mapping[str, Any] = attrs.field(factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        """One option's value, or ``default`` when it was not given."""
        value = self.options.get(name)
        return default if value is None else value


@attrs.frozen
class Report:
    """A rendered report with a verdict, for reports that can gate a workflow.

    ``render`` may return this instead of plain content: the CLI prints
    ``content``, then ``message`` (if any) on stderr, and exits with
    ``exit_code`` (for instance, an audit that finds a group absent).
    """

    content: str | RenderableType
    exit_code: int = 0
    message: str | None = None


class Projection:
    """Base class of every projection; subclass it and register an instance.

    Class attributes to set:

    ``name``
        Unique, lower case; also the prefix of its tables (``transcript_...``).
    ``version``
        Bump it when ``handle`` changes meaning: the host then rebuilds the
        read model from the log.
    ``types``
        Event types to receive; empty means every type.  A projection that
        honours corrections lists ``CorrectionIssued`` too.
    ``tables``
        Table name -> ``{column: python type}`` (str, int, float, bool) and
        optionally ``pk`` via :meth:`create_tables`.  Every table name must
        start with ``name + "_"``.
    ``formats``
        Report formats :meth:`render` accepts, the first being the default.
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    types: ClassVar[frozenset[str]] = frozenset()
    tables: ClassVar[Mapping[str, Mapping[str, type]]] = {}
    formats: ClassVar[tuple[str, ...]] = ()

    def create_tables(self, db: sqlite_utils.Database) -> None:
        """Create the read-model tables (default: from ``tables``, no primary key)."""
        for table, columns in self.tables.items():
            db[table].create(dict(columns), if_not_exists=True)  # type: ignore[union-attr]

    def handle(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        """Apply one event to the read model.  Must be deterministic."""
        raise NotImplementedError(f"{type(self).__name__}.handle")

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        """Render a report for one hearing from the read model.

        Return text (written as is), a rich renderable (printed to the
        terminal) or a :class:`Report` carrying an exit code.  Output must depend only on the read model, so the same
        log always gives byte-identical reports.
        """
        raise NotImplementedError(f"{type(self).__name__} renders no reports")

    def wants(self, event_type: str) -> bool:
        """Whether this projection receives events of this type."""
        return not self.types or event_type in self.types
