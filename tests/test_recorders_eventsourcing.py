"""eventsourcing's own recorder test cases, run against the archive's recorders.

The library ships the test cases its authors run against every recorder
(``eventsourcing.tests.persistence``).  The archive's recorders extend the
library's by subclassing (append-only triggers, archive-chain links, a public
``write_events`` for the bulk writer), so passing the library's own suite on
SQLite and PostgreSQL is the proof that the store still behaves as eventsourcing
promises: insert and select, notification ids in commit order, conflicts raising
``IntegrityError``, concurrent writers and readers.  After every test the archive
chain is checked too: every event the library's tests wrote has its link, in log
order, and nothing follows the last event.

The archive has one recorder, an application recorder, so the library's
``ApplicationRecorderTestCase`` and ``NonInterleavingNotificationIDsBaseCase``
are the cases that apply.  ``AggregateRecorderTestCase`` is for aggregate
recorders only (the library runs it against those alone: its first assertion,
that ``insert_events([])`` returns None, fails for the library's own
application recorders, which return the empty list of notification ids), and
``ProcessRecorderTestCase`` and ``TrackingRecorderTestCase`` are for process and
tracking recorders, which the archive does not extend (the library's are used
unchanged).  No library test deletes or updates a stored row, so none needs an
append-only override.  The PostgreSQL cases FAIL (never skip) when the server is
missing, like every other PostgreSQL test here.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    tmpfile_uris,
)

from conftest import postgres_admin, postgres_test_url
from hearing_core.chain import GENESIS_DIGEST
from hearing_core.recorders import SQLiteArchiveRecorder, next_links
from hearing_core.recorders_postgres import PostgresArchiveRecorder
from hearing_core.store import resolve

ArchiveRecorder = SQLiteArchiveRecorder | PostgresArchiveRecorder


def assert_chain_whole(recorder: ArchiveRecorder) -> int:
    """Every stored event has the link that follows its predecessor's, and no link is left over.

    Returns how many events the chain covers."""
    head, after, count = GENESIS_DIGEST, 0, 0
    while True:
        page = recorder.select_chain(after, 1000)
        for notification_id, originator_id, version, topic, state, link in page:
            ((_, expected),) = next_links(
                head, [(notification_id, originator_id, version, topic, state)]
            )
            assert link == expected, (
                f"event {notification_id}: link {link!r}, expected {expected!r}"
            )
            head, after, count = expected, notification_id, count + 1
        if len(page) < 1000:
            break
    assert recorder.links_after(after) == 0, f"links follow the last event ({after})"
    return count


def count_events(recorder: ArchiveRecorder) -> int:
    """How many events the recorder's table holds (read beside the library, not through it)."""
    table = recorder.events_table_name
    if isinstance(recorder, PostgresArchiveRecorder):
        table = f'"{recorder.datastore.schema}"."{table}"'
    datastore: Any = recorder.datastore
    with datastore.transaction(commit=False) as c:
        c.execute(f"SELECT count(*) AS n FROM {table}")
        return int(c.fetchone()["n"])


class ChainChecked:
    """Keeps the recorders a test creates; checks their archive chains when it ends."""

    recorders: list[ArchiveRecorder]

    def setUp(self) -> None:
        self.recorders = []
        super().setUp()  # type: ignore[misc]

    def keep(self, recorder: ArchiveRecorder) -> ArchiveRecorder:
        self.recorders.append(recorder)
        return recorder

    def tearDown(self) -> None:
        for recorder in self.recorders:
            linked = assert_chain_whole(recorder)
            assert linked == count_events(recorder), "an event without its link"
        super().tearDown()  # type: ignore[misc]


# --- SQLite ------------------------------------------------------------------------------


class SQLiteFile:
    """A fresh database file per test (the archive's stores are files, never ``:memory:``)."""

    def setUp(self) -> None:
        self.uris = tmpfile_uris()
        self.db_uri = next(self.uris)
        super().setUp()  # type: ignore[misc]

    def new_recorder(self) -> SQLiteArchiveRecorder:
        recorder = SQLiteArchiveRecorder(SQLiteDatastore(db_name=self.db_uri, pool_size=20))
        recorder.create_table()
        return recorder


class TestSQLiteArchiveRecorder(
    SQLiteFile, ChainChecked, ApplicationRecorderTestCase[SQLiteArchiveRecorder]
):
    def create_recorder(self) -> SQLiteArchiveRecorder:
        recorder = self.new_recorder()
        self.keep(recorder)
        return recorder


class TestSQLiteArchiveRecorderNonInterleaving(
    SQLiteFile, ChainChecked, NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> SQLiteArchiveRecorder:
        recorder = self.new_recorder()
        self.keep(recorder)
        return recorder


# --- PostgreSQL --------------------------------------------------------------------------


class PostgresSchema:
    """A fresh schema per test in the test database, dropped afterwards."""

    datastore: PostgresDatastore

    def setUp(self) -> None:
        self.schema = f"t_{uuid.uuid4().hex[:16]}"
        with postgres_admin() as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        env = resolve(postgres_test_url()).env
        self.datastore = PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            schema=self.schema,
            # The library's concurrency tests run ten writers and two readers at once.
            pool_size=4,
            max_overflow=12,
            connect_timeout=60,
        )
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        try:
            super().tearDown()  # type: ignore[misc]
        finally:
            self.datastore.close()
            with postgres_admin() as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def new_recorder(self) -> PostgresArchiveRecorder:
        recorder = PostgresArchiveRecorder(self.datastore, events_table_name="stored_events")
        recorder.create_table()
        return recorder


@pytest.mark.postgres
class TestPostgresArchiveRecorder(
    ChainChecked, PostgresSchema, ApplicationRecorderTestCase[PostgresArchiveRecorder]
):
    def create_recorder(self) -> PostgresArchiveRecorder:
        recorder = self.new_recorder()
        self.keep(recorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        """The library runs its subscription test for PostgreSQL (LISTEN/NOTIFY): so do we."""
        self.optional_test_insert_subscribe()


@pytest.mark.postgres
class TestPostgresArchiveRecorderNonInterleaving(
    ChainChecked, PostgresSchema, NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> PostgresArchiveRecorder:
        recorder = self.new_recorder()
        self.keep(recorder)
        return recorder


# --- the links of a batch: from the rows as bound, or read back ---------------------------


def _stored(originator_id: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id,
        originator_version=version,
        topic="tests:Event",
        state=f'{{"v":{version},"text":"\\u2028 é"}}'.encode(),
    )


def test_events_left_unlinked_before_an_insert_are_linked_with_it(tmp_path: Path) -> None:
    """The rows an insert binds are linked as they are only when nothing unlinked precedes
    them; events another writer stored without links (eventsourcing's own recorder, beside
    ours) are read back and linked first, in log order, and the chain stays whole."""
    db = str(tmp_path / "store.db")
    ours = SQLiteArchiveRecorder(SQLiteDatastore(db_name=db))
    ours.create_table()
    plain = SQLiteApplicationRecorder(SQLiteDatastore(db_name=db))
    a, b = uuid.uuid4(), uuid.uuid4()
    ours.insert_events([_stored(a, 1)])
    plain.insert_events([_stored(a, 2), _stored(a, 3)])  # no links written
    ours.insert_events([_stored(b, 1), _stored(b, 2)])
    ours.insert_events([_stored(a, 4)])
    assert assert_chain_whole(ours) == count_events(ours) == 6


def test_linking_rows_as_bound_writes_the_links_reading_them_back_would(tmp_path: Path) -> None:
    """The two ways of linking a batch agree link for link."""
    fast = SQLiteArchiveRecorder(SQLiteDatastore(db_name=str(tmp_path / "fast.db")))
    slow = SQLiteArchiveRecorder(SQLiteDatastore(db_name=str(tmp_path / "slow.db")))
    for recorder in (fast, slow):
        recorder.create_table()
    slow._count_after = lambda c, after: -1  # type: ignore[method-assign]  # never "only ours"
    oid = uuid.uuid4()
    for start in (1, 4):
        batch = [_stored(oid, v) for v in range(start, start + 3)]
        fast.insert_events(batch)
        slow.insert_events(batch)
    assert fast.select_chain(0, 10) == slow.select_chain(0, 10)
    assert assert_chain_whole(fast) == 6
