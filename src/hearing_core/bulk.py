"""One database transaction spanning many batches of events: all-or-nothing imports
whose memory stays flat however long the input.

eventsourcing's ``save()`` writes the events it is given in one transaction,
so an all-or-nothing import through it must hold every event in memory until
the end.  Here the transaction is opened first, events are written in
batches as they are checked, and it commits only when the whole input has
passed (or rolls back on the first refusal).  Each batch goes through the
archive recorders' public ``write_events``, the very method their
``insert_events`` (what ``save()`` calls) runs inside its own transaction, so
rows, archive links, notification ids and (on PostgreSQL) the table lock that
keeps notification order equal to commit order are exactly as ``save()`` makes
them.  Reads go through the same transaction, so they see the rows the
import has written but not yet committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

#: Events written per batch inside the import's transaction.
BATCH = 1000

#: PostgreSQL: how long the import's transaction may wait on the importer between two
#: batches.  eventsourcing sets ``idle_in_transaction_session_timeout`` (5 s by default)
#: on its connections to end transactions a client forgot; the import's is not forgotten,
#: it waits while the next batch is checked, which on a starved CPU took longer than 5 s.
#: Raised for this transaction only (``SET LOCAL``); still bounded, so an importer that
#: hangs does not hold the table lock for ever.
IMPORT_IDLE_TIMEOUT_MS = 300_000


class BulkWriter(Protocol):
    """What :func:`bulk_writer` yields."""

    def write(self, events: Sequence[Any]) -> None:
        """Write domain events (in log order) inside the transaction."""

    def read(self, originator_id: UUID) -> list[Any]:
        """An aggregate's domain events as the transaction sees them (written ones included)."""


class _Writer:
    """Opens the transaction at the first write, so an input refused early touches nothing."""

    def __init__(self, app: Application[Any], kind: str, stack: ExitStack) -> None:
        self.app = app
        self.recorder: Any = app.recorder
        self.kind = kind
        self.stack = stack
        self.cursor: Any = None

    def _begin(self) -> None:
        datastore = self.recorder.datastore
        if self.kind == "postgres":
            conn = self.stack.enter_context(datastore.get_connection())
            self.stack.enter_context(conn.transaction())
            self.cursor = self.stack.enter_context(conn.cursor())
            self.cursor.execute(
                f"SET LOCAL idle_in_transaction_session_timeout = {IMPORT_IDLE_TIMEOUT_MS}"
            )
        else:
            self.cursor = self.stack.enter_context(datastore.transaction(commit=True))

    def write(self, events: Sequence[Any]) -> None:
        if not events:
            return
        if self.cursor is None:
            self._begin()
        stored = [self.app.mapper.to_stored_event(e) for e in events]
        self.recorder.write_events(self.cursor, stored)

    def read(self, originator_id: UUID) -> list[Any]:
        if self.cursor is None:  # nothing written yet: the committed log is the whole truth
            stored = self.recorder.select_events(originator_id)
            return [self.app.mapper.to_domain_event(s) for s in stored]
        statement = self.recorder.select_events_statement
        if self.kind == "postgres":
            from psycopg.sql import SQL

            self.cursor.execute(
                statement + SQL(" ORDER BY originator_version ASC"), [originator_id]
            )
        else:
            self.cursor.execute(statement + "ORDER BY originator_version ASC ", [originator_id.hex])
        rows = self.cursor.fetchall()
        stored = [
            StoredEvent(
                originator_id=originator_id,
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]
        return [self.app.mapper.to_domain_event(s) for s in stored]


@contextmanager
def bulk_writer(app: Application[Any], kind: str) -> Iterator[BulkWriter]:
    """Yield a writer; commit when the block ends, roll back if it raises."""
    with ExitStack() as stack:
        yield _Writer(app, kind, stack)
