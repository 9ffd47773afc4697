"""One database transaction spanning many batches of events: all-or-nothing imports
whose memory stays flat however long the input.

eventsourcing's ``save()`` writes the events it is given in one transaction,
so an all-or-nothing import through it must hold every event in memory until
the end.  Here the transaction is opened first, events are written in
batches as they are checked, and it commits only when the whole input has
passed (or rolls back on the first refusal).  It uses the recorders' own
insert methods, so rows, notification ids and (on PostgreSQL) the table lock
that keeps notification order equal to commit order are exactly as ``save()``
makes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application

#: Events written per batch inside the import's transaction.
BATCH = 1000


@contextmanager
def bulk_writer(app: Application[Any], kind: str) -> Iterator[Any]:
    """Yield ``write(events)``; commit when the block ends, roll back if it raises."""
    recorder: Any = app.recorder
    if kind == "postgres":
        with (
            recorder.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):

            def write_pg(events: Sequence[Any]) -> None:
                if events:
                    stored = [app.mapper.to_stored_event(e) for e in events]
                    recorder._insert_stored_events(curs, stored)

            yield write_pg
    else:
        with recorder.datastore.transaction(commit=True) as cursor:

            def write_sqlite(events: Sequence[Any]) -> None:
                if events:
                    stored = [app.mapper.to_stored_event(e) for e in events]
                    recorder._insert_events(cursor, stored)

            yield write_sqlite
