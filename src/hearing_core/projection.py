"""What a projection is: the public base class plugins subclass (contract v2).

A projection has a unique ``name``, the read-model ``tables`` it owns
(declared with primary keys and indexes), handlers for the event types it
takes (``@handles(...)`` methods receiving runs of events, or a per-event
``handle`` as in contract v1), and a ``render`` method that turns its tables
into reports in the ``formats`` it names.  The host (not the projection) owns
transactions, positions, protection and corrections: handlers receive
shielded records and resolved :class:`~hearing_core.Correction` objects, and just
write; if one raises, the host rolls that page back, records the failure and
stops feeding this projection there.  See ``docs/plugins.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

if TYPE_CHECKING:  # imported for annotations only: keeps `hearing --help` fast
    import sqlite_utils
    from rich.console import RenderableType

    from hearing_core.corrections import Correction
    from hearing_core.event_view import RecordedEvent


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
    #: Opens sealed words at render time: ``request.reveal(hearing, field, value)``.
    reveal: Callable[[str, str, Any], Any] = attrs.field(
        factory=lambda: _withhold, eq=False, repr=False
    )

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


#: ``Projection.needs`` values: what a projection must see in clear (its tables are then personal).
IDENTITIES = "identities"
WORDS = "words"
NEEDS = frozenset({IDENTITIES, WORDS})

CORRECTION = "CorrectionIssued"


def _withhold(hearing: str, field: str, value: Any) -> Any:
    """The reveal of a request made without keys: sealed values are withheld."""
    from hearing_core.protection import WITHHELD, is_envelope

    if isinstance(value, str):
        return WITHHELD if is_envelope(value) else value
    if isinstance(value, list | tuple):
        return [_withhold(hearing, field, v) for v in value]
    if isinstance(value, Mapping):
        return {k: _withhold(hearing, field, v) for k, v in value.items()}
    return value


@attrs.frozen
class Table:
    """A read-model table a projection owns: its columns, primary key and indexes.

    ``columns`` maps column name -> Python type (``str``, ``int``, ``float``,
    ``bool``); ``pk`` names the primary-key columns (include ``hearing``);
    each entry of ``indexes`` is a tuple of columns to index.
    """

    columns: Mapping[str, type]
    pk: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()


def stakeholder_groups(scheduled: Mapping[str, Any]) -> dict[str, str]:
    """A schedule's stakeholder groups, ``{id: label}`` in its order.

    A hearing that declares none (no ``stakeholder_groups``, or an empty list)
    uses the GCM default taxonomy: the one place this fallback is decided.
    """
    from hearing_core.taxonomy import DEFAULT_STAKEHOLDER_GROUPS

    groups = scheduled.get("stakeholder_groups")
    if not groups:
        return dict(DEFAULT_STAKEHOLDER_GROUPS)
    return {g["id"]: g["label"] for g in groups}


#: Column values stored as they are (checked by exact type first: the common case, fast).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _cell(value: Any) -> Any:
    """A value as sqlite-utils would store it: lists and mappings as JSON text."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    return value


def _batch(rows: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The columns the rows set (in first-seen order) and their parameter lists.

    As in sqlite-utils, a column some rows of the batch leave out is NULL for them.
    """
    listed = list(rows)
    if not listed:
        return [], []
    columns = list(listed[0])
    if all(list(row) == columns for row in listed):  # the usual case: rows of one shape
        plain = _PLAIN
        return columns, [
            [v if type(v) in plain else _cell(v) for v in row.values()] for row in listed
        ]
    columns = list(dict.fromkeys(c for row in listed for c in row))
    return columns, [[_cell(row.get(c)) for c in columns] for row in listed]


def insert_rows(
    db: sqlite_utils.Database,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    replace: bool = False,
) -> None:
    """Insert rows into a declared table in one batch (``replace``: a row with the same
    primary key is replaced), as ``db[table].insert_all(rows, replace=...)`` does.

    Faster than sqlite-utils for the short runs a page gives: the table is declared,
    so nothing is looked up before writing, and each batch is one ``executemany``.
    """
    columns, params = _batch(rows)
    if not params:
        return
    verb = "insert or replace" if replace else "insert"
    names = ", ".join(f"[{c}]" for c in columns)
    marks = ", ".join("?" for _ in columns)
    db.conn.executemany(f"{verb} into [{table}] ({names}) values ({marks})", params)


def upsert_rows(
    db: sqlite_utils.Database,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    pk: str | tuple[str, ...],
) -> None:
    """Insert rows, or update the columns they give of the row with the same key ``pk``,
    in one batch: as ``db[table].upsert_all(rows, pk=pk)`` does."""
    key = (pk,) if isinstance(pk, str) else tuple(pk)
    columns, params = _batch(rows)
    if not params:
        return
    names = ", ".join(f"[{c}]" for c in columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in columns if c not in key)
    action = f"do update set {updates}" if updates else "do nothing"
    conflict = ", ".join(f"[{c}]" for c in key)
    db.conn.executemany(
        # Names are the projection's own (the guard confines it to its tables); values bound.
        f"insert into [{table}] ({names}) values ({marks}) on conflict ({conflict}) {action}",  # noqa: S608
        params,
    )


def table_spec(declared: Table | Mapping[str, type]) -> Table:
    """A declaration as a :class:`Table` (contract v1 declared bare ``{column: type}``)."""
    return declared if isinstance(declared, Table) else Table(dict(declared))


_Method = TypeVar("_Method", bound=Callable[..., Any])


def handles(*types: str) -> Callable[[_Method], _Method]:
    """Mark a method as the handler of these event types.

    The method is called as ``method(items, db)`` with a list of consecutive
    events of the page (in log order) that it handles: ``RecordedEvent`` objects,
    or :class:`~hearing_core.Correction` objects for ``"CorrectionIssued"``.  A
    projection's ``types`` default to the types its handlers name.
    """

    def mark(method: _Method) -> _Method:
        method.__hearing_handles__ = tuple(types)  # type: ignore[attr-defined]
        return method

    return mark


@attrs.frozen
class Page:
    """A page of events for one projection: shielded, in log order, only the types it takes.

    Iterate it for the events; :meth:`correction` gives the resolved
    :class:`~hearing_core.Correction` of a ``CorrectionIssued`` event.
    """

    events: tuple[RecordedEvent, ...]
    corrections: Mapping[int, Correction] = attrs.field(factory=dict)

    def __iter__(self) -> Iterator[RecordedEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def correction(self, event: RecordedEvent) -> Correction:
        """The resolved correction of a ``CorrectionIssued`` event of this page."""
        return self.corrections[event.position]

    def of_type(self, *types: str) -> list[RecordedEvent]:
        """The page's events of these types, in log order."""
        return [e for e in self.events if e.type in types]


class Projection:
    """Base class of every projection; subclass it and register an instance.

    Class attributes to set:

    ``name``
        Unique, lower case; also the prefix of its tables (``transcript_...``).
    ``version``
        Bump it when what the tables hold changes meaning: the host then
        drops this projection's own tables (no other's) and rebuilds them.
    ``types``
        Event types to receive; by default those its ``@handles`` methods
        name.  Empty (with no handlers) means every type.  The host asks the
        store for these types only.
    ``tables``
        Table name -> :class:`Table` (columns, primary key, indexes); a bare
        ``{column: type}`` mapping (contract v1) is a table without a key.
        The host creates them, records that this projection owns them, and
        lets it write nothing else.
    ``needs``
        What the projection must see in clear: :data:`IDENTITIES` (protected
        participants' names and ids), :data:`WORDS` (their words, decrypted).
        Empty by default: records arrive shielded.  Declaring either marks
        every table of the projection as personal data.
    ``formats``
        Report formats :meth:`render` accepts, the first being the default.
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    types: ClassVar[frozenset[str]] = frozenset()
    # Any, not Table | Mapping: v1 plugins index their bare mappings and must still type-check.
    tables: ClassVar[Mapping[str, Any]] = {}
    needs: ClassVar[frozenset[str]] = frozenset()
    formats: ClassVar[tuple[str, ...]] = ()

    #: Event type -> name of the method handling it (from ``@handles``).
    handlers: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for event_type in getattr(value, "__hearing_handles__", ()):
                    found[event_type] = attr
        cls.handlers = found
        if found and "types" not in vars(cls):
            cls.types = frozenset(found)

    @property
    def personal(self) -> bool:
        """Whether this projection's tables hold personal data (it declared ``needs``)."""
        return bool(self.needs)

    def table_specs(self) -> dict[str, Table]:
        """Every declared table as a :class:`Table`."""
        return {name: table_spec(declared) for name, declared in self.tables.items()}

    def create_tables(self, db: sqlite_utils.Database) -> None:
        """Create the declared tables and indexes (idempotent; rarely overridden)."""
        for table, spec in self.table_specs().items():
            created = db[table].create(  # type: ignore[union-attr]
                dict(spec.columns), pk=spec.pk or None, if_not_exists=True
            )
            for columns in spec.indexes:
                created.create_index(list(columns), if_not_exists=True)

    def handle_page(self, page: Page, db: sqlite_utils.Database) -> None:
        """Apply a page of events to the read model.  Must be deterministic.

        The default dispatches runs of consecutive events to the ``@handles``
        methods (log order is kept exactly), and any event without one to
        :meth:`handle`.  Override it to batch across a whole page.
        """
        handlers = self.handlers
        for method, run in _runs(page, handlers):
            if method is None:
                for event in run:
                    self.handle(event, db)
            else:
                items: list[Any] = [page.correction(e) if e.type == CORRECTION else e for e in run]
                getattr(self, method)(items, db)

    def handle(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        """Apply one event (contract v1; v2 projections use ``@handles`` methods)."""
        raise NotImplementedError(f"{type(self).__name__} handles no {event.type!r} events")

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        """Render a report for one hearing from the read model (read-only).

        Return text (written as is), a rich renderable (printed to the
        terminal) or a :class:`Report` carrying an exit code.  Output must
        depend only on the read model (and ``request.reveal`` for sealed
        words), so the same log always gives byte-identical reports.
        """
        raise NotImplementedError(f"{type(self).__name__} renders no reports")

    def wants(self, event_type: str) -> bool:
        """Whether this projection receives events of this type."""
        return not self.types or event_type in self.types


def _runs(
    page: Sequence[RecordedEvent] | Page, handlers: Mapping[str, str]
) -> Iterator[tuple[str | None, list[RecordedEvent]]]:
    """Consecutive events grouped by the method that handles them (None: ``handle``)."""
    run: list[RecordedEvent] = []
    current: str | None = None
    for event in page:
        method = handlers.get(event.type)
        if run and method != current:
            yield current, run
            run = []
        current = method
        run.append(event)
    if run:
        yield current, run
