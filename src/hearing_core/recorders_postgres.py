"""The archive's PostgreSQL recorder: eventsourcing's, writing the archive chain as it inserts.

See :mod:`hearing_core.recorders` for what the chain is.  Imported only when a
PostgreSQL store is opened (psycopg is an optional extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor, pq
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from hearing_core.chain import GENESIS_DIGEST
from hearing_core.recorders import ChainRow, next_links


class PostgresArchiveRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, writing the archive chain."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.links_table_name = events_table_name.removesuffix("_events") + "_links"
        self.check_identifier_length(self.links_table_name)
        self._ids = {
            "schema": Identifier(datastore.schema),
            "events": Identifier(events_table_name),
            "links": Identifier(self.links_table_name),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{links} "
                "(notification_id bigint PRIMARY KEY, link text NOT NULL)"
            ).format(**self._ids)
        )

    def create_table(self) -> None:
        super().create_table()
        self._link_existing()

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # Takes the EXCLUSIVE table lock and inserts: the head read below is the chain's head.
        super()._insert_stored_events(curs, stored_events, **kwargs)
        if curs.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            return  # save(): linked once the pipeline has synced the insert, below
        with curs.connection.cursor() as c:  # the bulk writer's transaction
            self._link_new(c)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # save(): the insert has succeeded (a conflict raised at the sync before this), and
        # the table lock is still held until the transaction commits.
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        with curs.connection.cursor() as c:
            self._link_new(c)
        return ids

    def _link_new(self, c: Cursor[DictRow]) -> None:
        """Link every event after the chain's head (in this transaction, table locked)."""
        c.execute(
            SQL(
                "SELECT notification_id, link FROM {schema}.{links} "
                "ORDER BY notification_id DESC LIMIT 1"
            ).format(**self._ids)
        )
        top = c.fetchone()
        after, head = (top["notification_id"], top["link"]) if top else (0, GENESIS_DIGEST)
        c.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {schema}.{events} WHERE notification_id > %s ORDER BY notification_id"
            ).format(**self._ids),
            (after,),
        )
        rows = [
            (
                r["notification_id"],
                r["originator_id"].hex,
                r["originator_version"],
                r["topic"],
                bytes(r["state"]),
            )
            for r in c.fetchall()
        ]
        links = next_links(head, rows)
        if links:
            c.executemany(
                SQL("INSERT INTO {schema}.{links} (notification_id, link) VALUES (%s, %s)").format(
                    **self._ids
                ),
                links,
            )

    def _link_existing(self) -> None:
        """Back-fill links for events stored before the archive chain existed (once)."""
        with self.datastore.transaction(commit=False) as c:
            if not self._unlinked(c):
                return
        with self.datastore.transaction(commit=True) as c:
            self._lock_table(c)
            if self._unlinked(c):
                self._link_new(c)

    def _unlinked(self, c: Cursor[DictRow]) -> bool:
        c.execute(
            SQL(
                "SELECT (SELECT MAX(notification_id) FROM {schema}.{events}) > "
                "coalesce((SELECT MAX(notification_id) FROM {schema}.{links}), 0) AS unlinked"
            ).format(**self._ids)
        )
        row = c.fetchone()
        return bool(row and row["unlinked"])

    def select_chain(self, after: int, limit: int) -> list[ChainRow]:
        """Raw stored rows after notification id ``after`` in log order, each with its link."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQL(
                    "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
                    "e.state, l.link FROM {schema}.{events} e LEFT JOIN {schema}.{links} l "
                    "ON l.notification_id = e.notification_id WHERE e.notification_id > %s "
                    "ORDER BY e.notification_id LIMIT %s"
                ).format(**self._ids),
                (after, limit),
            )
            return [
                (
                    r["notification_id"],
                    r["originator_id"].hex,
                    r["originator_version"],
                    r["topic"] or "",
                    bytes(r["state"] or b""),
                    r["link"],
                )
                for r in c.fetchall()
            ]

    def links_after(self, after: int) -> int:
        """How many links name events after notification id ``after``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQL("SELECT count(*) AS n FROM {schema}.{links} WHERE notification_id > %s").format(
                    **self._ids
                ),
                (after,),
            )
            row = c.fetchone()
            return int(row["n"]) if row else 0
