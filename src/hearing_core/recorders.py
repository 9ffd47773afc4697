"""The archive's recorders: eventsourcing's own, extended by subclassing.

eventsourcing extends a recorder by subclassing it: more create-table
statements (``construct_create_table_statements``), and extra rows written
in the insert's transaction (its ``ProcessRecorder`` adds tracking rows that
way).  These recorders add, using only eventsourcing's public names, the
append-only guards (database triggers created with the tables) and the
*archive chain*: for
every stored event, a link digest over the previous link and the row's raw
stored bytes (see :func:`hearing_core.chain.link_digest`), kept in a table
of its own keyed by the event's notification id, written in the same
transaction as the event.

The links are computed after the insert, while the insert holds the store's
write lock (SQLite's database lock; on PostgreSQL the ``EXCLUSIVE`` table
lock eventsourcing takes before inserting), so concurrent writers extend the
chain one after another.  The chain follows notification-id *order*, never
id arithmetic (PostgreSQL's ids may have gaps).

A store made before the archive chain gets its links once, when this version
first opens it: every event without a link, in log order (see
docs/security.md for what that means for such a store).

This module holds the SQLite recorder; :mod:`hearing_core.recorders_postgres`
the PostgreSQL one (imported only when a PostgreSQL store is opened).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from hearing_core.chain import GENESIS_DIGEST, link_digest
from hearing_core.store import IDENTITY_TABLE

#: One stored event with its archive link: (notification id, originator id as 32 hex digits,
#: version, topic, state, stored link or None).
ChainRow = tuple[int, str, int, str, bytes, str | None]

#: The SQLite table holding the archive chain.
SQLITE_LINKS_TABLE = "archive_links"


def sqlite_guard_statements(table: str, key: str) -> list[str]:
    """Triggers making ``table`` append-only, whatever the statement's conflict clause.

    ``UPDATE`` and ``DELETE`` are refused outright.  An ``INSERT`` is refused
    *before* SQLite resolves any conflict when a row with the same primary key
    (``key``, a boolean SQL expression over ``NEW``) or the same rowid already
    exists: ``INSERT OR REPLACE``/``REPLACE INTO`` would otherwise delete the old
    row without firing a ``DELETE`` trigger (unless ``recursive_triggers`` is on),
    an UPSERT would turn into an update, and ``OR IGNORE``/``DO NOTHING`` would
    silently drop the write; every conflict is a loud refusal instead.  The rowid
    test matters for an ``INSERT`` that names the rowid (the notification id)
    explicitly; SQLite gives ``NEW.rowid`` as -1 (never a stored rowid) when it
    picks the rowid itself.  The event table's first two triggers keep the names
    earlier versions gave them, so ``IF NOT EXISTS`` leaves an older store's
    triggers as they are and adds the rest when this version first opens it.
    """
    refuse = "BEGIN SELECT RAISE(ABORT, 'the hearing record is append-only: {} refused'); END"
    exists = f"EXISTS (SELECT 1 FROM {table} WHERE ({key}) OR rowid = NEW.rowid)"  # noqa: S608
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        + refuse.format("UPDATE"),
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        + refuse.format("DELETE"),
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_overwrite BEFORE INSERT ON {table} "
        f"WHEN {exists} " + refuse.format("INSERT over an existing row"),
    ]


def next_links(
    head: str, rows: Sequence[tuple[int, str, int, str, bytes]]
) -> list[tuple[int, str]]:
    """The links of ``rows`` (in log order) following the link ``head``."""
    links = []
    for notification_id, originator_id, version, topic, state in rows:
        head = link_digest(head, originator_id, version, topic, state)
        links.append((notification_id, head))
    return links


def only_rows_after(
    after: int, written: Sequence[tuple[int, str, int, str, bytes]], count_after: Callable[[], int]
) -> bool:
    """Whether ``written`` (rows just inserted, ascending notification ids) are all the
    events after notification id ``after``; ``count_after()`` counts the events after it.

    The insert holds the store's write lock, so nothing else can appear meanwhile; the
    count proves no earlier event is left unlinked between the head and these rows.
    """
    if not written or written[0][0] <= after:
        return False
    if any(a[0] >= b[0] for a, b in pairwise(written)):
        return False
    return count_after() == len(written)


class SQLiteArchiveRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, writing the archive chain as it inserts."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        events, links = events_table_name, SQLITE_LINKS_TABLE  # constants, not input
        self.links_table_name = links
        self._head_sql = (
            f"SELECT notification_id, link FROM {links} ORDER BY notification_id DESC LIMIT 1"  # noqa: S608
        )
        self._after_sql = f"SELECT rowid, originator_id, originator_version, topic, state FROM {events} WHERE rowid > ? ORDER BY rowid"  # noqa: S608
        self._insert_link_sql = f"INSERT INTO {links} (notification_id, link) VALUES (?, ?)"  # noqa: S608
        self._lock_sql = f"INSERT INTO {links} SELECT * FROM {links} WHERE 0"  # noqa: S608
        self._unlinked_sql = f"SELECT (SELECT MAX(rowid) FROM {events}) > coalesce((SELECT MAX(notification_id) FROM {links}), 0)"  # noqa: S608
        self._chain_sql = (
            "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, l.link "  # noqa: S608
            f"FROM {events} e LEFT JOIN {links} l ON l.notification_id = e.rowid "
            "WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?"
        )
        self._links_after_sql = f"SELECT count(*) FROM {links} WHERE notification_id > ?"  # noqa: S608
        self._count_after_sql = f"SELECT count(*) FROM {events} WHERE rowid > ?"  # noqa: S608

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {SQLITE_LINKS_TABLE} ("
            "notification_id INTEGER PRIMARY KEY, link TEXT NOT NULL)"
        )
        # The append-only guards: created with the tables, and added to an older
        # store's tables when this version first opens it (they are all IF NOT EXISTS,
        # so a store that has them takes no write lock here).
        events = self.events_table_name
        statements += sqlite_guard_statements(
            events,
            "originator_id = NEW.originator_id AND originator_version = NEW.originator_version",
        )
        statements += sqlite_guard_statements(
            SQLITE_LINKS_TABLE, "notification_id = NEW.notification_id"
        )
        # The store's id (one row, written by store.store_identity before the recorder
        # opens): read-model and key files are tied to it, so it is guarded too; a second
        # row is refused like an overwrite.
        statements.append(f"CREATE TABLE IF NOT EXISTS {IDENTITY_TABLE} (id TEXT NOT NULL)")
        statements += sqlite_guard_statements(IDENTITY_TABLE, "1")
        return statements

    def create_table(self) -> None:
        super().create_table()
        self._link_existing()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert ``stored_events`` and their archive links in one transaction (``save()``)."""
        with self.datastore.transaction(commit=True) as c:
            return self.write_events(c, stored_events)

    def write_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert ``stored_events`` and their archive links in the caller's transaction.

        What :meth:`insert_events` does inside its own transaction; the bulk writer
        calls it batch after batch inside one long one.  Returns the notification ids.
        The first insert takes SQLite's write lock, so the head read after it is the
        chain's head.
        """
        ids = []
        written = []
        for s in stored_events:
            row = (
                s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                s.originator_version,
                s.topic,
                s.state,
            )
            c.execute(self.insert_events_statement, row)
            ids.append(int(c.lastrowid))
            written.append(row)
        self._link_new(c, [(i, *row) for i, row in zip(ids, written, strict=True)])
        return ids

    def _link_new(
        self, c: SQLiteCursor, written: Sequence[tuple[int, str, int, str, bytes]] = ()
    ) -> None:
        """Link every event after the chain's head (in this transaction).

        ``written``: the rows this transaction has just inserted (notification id,
        originator id, version, topic, state: the values bound to the insert).  When
        they are exactly the rows after the head (the usual case: every earlier
        event is linked), they are linked as they are instead of read back.
        """
        c.execute(self._head_sql)
        top = c.fetchone()
        after, head = (top[0], top[1]) if top else (0, GENESIS_DIGEST)
        if not only_rows_after(after, written, lambda: self._count_after(c, after)):
            c.execute(self._after_sql, (after,))
            written = [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in c.fetchall()]
        c.executemany(self._insert_link_sql, next_links(head, written))

    def _count_after(self, c: SQLiteCursor, after: int) -> int:
        c.execute(self._count_after_sql, (after,))
        return int(c.fetchone()[0])

    def _link_existing(self) -> None:
        """Back-fill links for events stored before the archive chain existed (once)."""
        with self.datastore.transaction(commit=False) as c:
            if not self._unlinked(c):
                return  # the usual case: no write lock taken when opening
        with self.datastore.transaction(commit=True) as c:
            # A write first, so the lock is held before the head is read.
            c.execute(self._lock_sql)
            if self._unlinked(c):
                self._link_new(c)

    def _unlinked(self, c: SQLiteCursor) -> bool:
        c.execute(self._unlinked_sql)
        return bool(c.fetchone()[0])

    def select_chain(self, after: int, limit: int) -> list[ChainRow]:
        """Raw stored rows after notification id ``after`` in log order, each with its link."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._chain_sql, (after, limit))
            return [
                (r[0], str(r[1]), r[2], str(r[3]), bytes(r[4] or b""), r[5]) for r in c.fetchall()
            ]

    def links_after(self, after: int) -> int:
        """How many links name events after notification id ``after`` (there should be none
        after the last event)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._links_after_sql, (after,))
            return int(c.fetchone()[0])
