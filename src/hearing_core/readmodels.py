"""The read-model database and the runner that feeds projections in log order.

One SQLite file (written with sqlite-utils) holds every projection's tables
and a ``_positions`` table: per projection, its version, the archive
position it has processed up to, and its last failure.  For each page of
events, every projection's writes and new position commit in one
transaction, so a crash never loses or doubles a row: the next run resumes
from the committed positions.

While a projection handles an event, a SQLite authorizer lets it write only
its own tables, so a buggy plugin cannot damage another's read model or the
positions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import sqlite_utils
from rich.console import RenderableType

from hearing_core.keystore import create_owner_only
from hearing_core.projection import Projection, Report, ReportRequest
from hearing_core.recorded import RecordedEvent

POSITIONS = "_positions"
META = "_meta"

#: Events per transaction while catching up.
BATCH = 1000

_WRITE_ACTIONS = {
    sqlite3.SQLITE_INSERT,
    sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_DELETE,
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_DROP_INDEX,
    sqlite3.SQLITE_ALTER_TABLE,
}
_INTERNAL = {"sqlite_master", "sqlite_temp_master", "sqlite_sequence", "sqlite_stat1"}


@attrs.frozen
class Failure:
    """A projection stopped at ``position`` because handling that event raised."""

    projection: str
    position: int
    error: str


@attrs.frozen
class PositionInfo:
    """Where one projection stands."""

    projection: str
    version: int
    position: int
    failed_at: int | None
    error: str | None


def _one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text.splitlines()[0] if text.strip() else type(error).__name__


class ReadModels:
    """The read models of a set of projections, in one SQLite database."""

    def __init__(
        self, path: Path | str, projections: Iterable[Projection], *, source: str | None = None
    ) -> None:
        self.path = path
        self.projections = sorted(projections, key=lambda p: p.name)
        if str(path) == ":memory:":
            self.db = sqlite_utils.Database(memory=True)
        else:
            create_owner_only(Path(path))  # it may hold protected speakers' words
            self.db = sqlite_utils.Database(path)
            self.db.conn.execute("PRAGMA journal_mode=WAL")
        self.db.conn.execute("PRAGMA synchronous=NORMAL")
        # sqlite-utils probes SQLite's features once per connection by creating scratch
        # tables; do it now, outside the write guard, so a plugin's upsert is not refused.
        _ = self.db.supports_on_conflict, self.db.supports_strict
        self.db[POSITIONS].create(  # type: ignore[union-attr]
            {"projection": str, "version": int, "position": int, "failed_at": int, "error": str},
            pk="projection",
            if_not_exists=True,
        )
        self._prepare()
        if source is not None:
            self._check_source(source)

    def _check_source(self, source: str) -> None:
        """Read models built from another store (or a replaced one) are rebuilt, not reused."""
        self.db.execute(f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT)")
        row = self.db.execute(f"SELECT value FROM {META} WHERE key = 'source'").fetchone()  # noqa: S608
        if row is not None and row[0] == source:
            return
        if row is not None:
            self.reset()
        with self.db.atomic():
            self.db.execute(
                f"INSERT OR REPLACE INTO {META} VALUES ('source', ?)",  # noqa: S608
                [source],
            )

    # --- positions ----------------------------------------------------------------

    def positions(self) -> dict[str, PositionInfo]:
        rows = self.db.execute(
            f"select projection, version, position, failed_at, error from {POSITIONS}"  # noqa: S608 (constant)
        ).fetchall()
        return {r[0]: PositionInfo(*r) for r in rows}

    def _set_position(self, name: str, position: int, failure: Failure | None) -> None:
        self.db.execute(
            f"update {POSITIONS} set position = ?, failed_at = ?, error = ? where projection = ?",  # noqa: S608
            [
                position,
                failure.position if failure else None,
                failure.error if failure else None,
                name,
            ],
        )

    def _prepare(self) -> None:
        """Create tables; reset any projection whose version changed."""
        known = self.positions()
        for p in self.projections:
            info = known.get(p.name)
            if info is not None and info.version == p.version:
                p.create_tables(self.db)  # idempotent; cheap
                continue
            with self.db.atomic():
                self._drop_tables(p)
                p.create_tables(self.db)
                self.db[POSITIONS].upsert(  # type: ignore[union-attr]
                    {
                        "projection": p.name,
                        "version": p.version,
                        "position": 0,
                        "failed_at": None,
                        "error": None,
                    },
                    pk="projection",
                )

    def _drop_tables(self, p: Projection) -> None:
        for table in self.db.table_names():
            if table.startswith(p.name + "_"):
                self.db[table].drop()

    def reset(self) -> None:
        """Drop every projection's tables and positions: the next catch-up rebuilds all."""
        with self.db.atomic():
            for p in self.projections:
                self._drop_tables(p)
                p.create_tables(self.db)
                self._set_position(p.name, 0, None)

    # --- feeding ------------------------------------------------------------------

    def start(self) -> int:
        """The lowest position any projection still needs events after."""
        positions = self.positions()
        return min((positions[p.name].position for p in self.projections), default=0)

    def feed(
        self,
        events: Iterable[RecordedEvent],
        *,
        batch: int = BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> list[Failure]:
        """Give each projection the events after its position, batch by batch."""
        positions = {name: info.position for name, info in self.positions().items()}
        failed: dict[str, Failure] = {}
        for page in _pages(events, batch):
            # One transaction per page for all projections (one commit, not one each);
            # each projection still has its own savepoint, so one that fails is
            # rolled back alone, with its position, and the others commit.
            with self.db.atomic():
                for p in self.projections:
                    if p.name in failed:
                        continue
                    failure = self._feed_one(p, page, positions)
                    if failure is not None:
                        failed[p.name] = failure
            if progress is not None:
                progress(len(page))
        return list(failed.values())

    def _feed_one(
        self, p: Projection, page: list[RecordedEvent], positions: dict[str, int]
    ) -> Failure | None:
        """Feed one page to one projection: its writes and its new position commit together.

        The whole page runs under one savepoint and one write guard; only if an
        event raises is the page rolled back and replayed event by event, to
        keep everything before the failing event and say exactly which it was.
        """
        todo = [e for e in page if e.position > positions[p.name]]
        if not todo:
            return None
        failure = None
        with self.db.atomic():
            try:
                with self.db.atomic(), self._only_tables_of(p):
                    for event in todo:
                        if p.wants(event.type):
                            p.handle(event, self.db)
                position = todo[-1].position
            except Exception:  # find the failing event, keeping the ones before it
                position, failure = self._feed_each(p, todo, positions[p.name])
            self._set_position(p.name, position, failure)
        positions[p.name] = position
        return failure

    def _feed_each(
        self, p: Projection, events: list[RecordedEvent], position: int
    ) -> tuple[int, Failure | None]:
        for event in events:
            if p.wants(event.type):
                try:
                    with self.db.atomic(), self._only_tables_of(p):
                        p.handle(event, self.db)
                except Exception as e:  # isolate the plugin: record, stop it here
                    return position, Failure(p.name, event.position, _one_line(e))
            position = event.position
        return position, None

    def _only_tables_of(self, p: Projection) -> _Guard:
        return _Guard(self.db.conn, p.name + "_")

    # --- reports ------------------------------------------------------------------

    def render(
        self, projection: Projection, request: ReportRequest
    ) -> str | RenderableType | Report:
        """Render a report of one projection for one hearing."""
        return projection.render(self.db, request)

    def close(self) -> None:
        self.db.conn.close()


class _Guard:
    """Context manager: while active, the connection may write only tables with ``prefix``."""

    def __init__(self, conn: sqlite3.Connection, prefix: str) -> None:
        self.conn = conn
        self.prefix = prefix

    def _authorize(self, action: int, arg1: str | None, *_: Any) -> int:
        if action in _WRITE_ACTIONS and arg1 is not None:
            if arg1 in _INTERNAL or arg1.startswith(self.prefix):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def __enter__(self) -> None:
        self.conn.set_authorizer(self._authorize)

    def __exit__(self, *exc: object) -> None:
        self.conn.set_authorizer(None)


def _pages(events: Iterable[RecordedEvent], size: int) -> Iterator[list[RecordedEvent]]:
    page: list[RecordedEvent] = []
    for event in events:
        page.append(event)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
