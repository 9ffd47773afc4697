"""The archive's PostgreSQL recorder: eventsourcing's, with the append-only guards and
the archive chain.

See :mod:`hearing_core.recorders` for what the chain is.  Imported only when a
PostgreSQL store is opened (psycopg is an optional extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from hearing_core.chain import GENESIS_DIGEST
from hearing_core.recorders import ChainRow, next_links, only_rows_after

#: The trigger function refusing every change to a guarded table.
GUARD_FUNCTION = "hearing_core_append_only"

_GUARD_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger
LANGUAGE plpgsql AS $guard$
BEGIN
    RAISE EXCEPTION 'the hearing record is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$guard$
"""

#: The function that takes the event table's ``EXCLUSIVE`` lock for the inserting transaction.
#: ``LOCK TABLE ... IN EXCLUSIVE MODE`` needs UPDATE, DELETE or TRUNCATE privilege, which a
#: role that may only INSERT and SELECT must not have; a ``SECURITY DEFINER`` function owned
#: by the store's owner takes the lock for it (a lock lasts to the end of the transaction,
#: whoever took it).  Only the owner and the roles granted EXECUTE may call it
#: (:mod:`hearing_core.grants`).  Its search_path is fixed, and every name in it qualified,
#: so a caller cannot make it run objects of their own.
_LOCK_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $lock$
BEGIN
    LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;
END;
$lock$
"""

#: Trigger name suffix -> when it fires.  Row triggers do not fire on TRUNCATE.  PostgreSQL
#: has no REPLACE; ``INSERT ... ON CONFLICT DO UPDATE`` is an UPDATE and is refused with it.
_GUARD_TRIGGERS = {
    "no_update_delete": "BEFORE UPDATE OR DELETE ON {schema}.{table} FOR EACH ROW",
    "no_truncate": "BEFORE TRUNCATE ON {schema}.{table} FOR EACH STATEMENT",
}


class PostgresArchiveRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, append-only and writing the archive chain.

    Extended with eventsourcing's public names only: more create statements
    (``sql_create_statements``), ``create_table``, ``insert_events`` and the
    statements it keeps as attributes (``insert_events_statement``,
    ``lock_table_statements``).  The insert path is the library's locking path (an
    ``EXCLUSIVE`` table lock so that notification ids follow commit order); the
    store always turns eventsourcing's database-function path off
    (``POSTGRES_ENABLE_DB_FUNCTIONS=n``, see :mod:`hearing_core.store`).
    """

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
        self.lock_function_name = self.check_lock_function_name(events_table_name)
        lock_function = Identifier(self.lock_function_name)
        self.sql_create_statements += [
            SQL(_LOCK_FUNCTION_SQL).format(function=lock_function, **self._ids),
            SQL("REVOKE ALL ON FUNCTION {schema}.{function}() FROM PUBLIC").format(
                function=lock_function, **self._ids
            ),
        ]
        # The library's lock statements, with the lock taken through the function above.
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(datastore.lock_timeout),
            SQL("SELECT {schema}.{function}()").format(function=lock_function, **self._ids),
        ]
        self.notify_statement = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        self.insert_arrays_statement = SQL(
            "INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id, originator_id, originator_version"
        ).format(id_type=Identifier(datastore.originator_id_type), **self._ids)

    @classmethod
    def check_lock_function_name(cls, events_table_name: str) -> str:
        """The name of the lock function of ``events_table_name`` (checked for length)."""
        name = f"{events_table_name}_lock"
        cls.check_identifier_length(name)
        return name

    def create_table(self) -> None:
        super().create_table()
        self._install_guards()
        self._link_existing()

    def guard_triggers(self) -> dict[str, Composed]:
        """The append-only triggers of the event and link tables: name -> CREATE TRIGGER."""
        statements = {}
        for table in (self.events_table_name, self.links_table_name):
            for suffix, when in _GUARD_TRIGGERS.items():
                ids = {
                    "schema": self._ids["schema"],
                    "table": Identifier(table),
                    "function": Identifier(GUARD_FUNCTION),
                    "name": Identifier(f"{table}_{suffix}"),
                }
                statements[f"{table}_{suffix}"] = SQL(
                    "CREATE TRIGGER {name} " + when + " EXECUTE FUNCTION {schema}.{function}()"
                ).format(**ids)
        return statements

    def _install_guards(self) -> None:
        """Create the missing append-only triggers (reads first: a store that has them all
        takes no lock, so opening never waits for a running import)."""
        wanted = self.guard_triggers()
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND t.tgname = ANY(%s)",
                (self.datastore.schema, list(wanted)),
            )
            present = {row["tgname"] for row in c.fetchall()}
        if present == set(wanted):
            return
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                SQL(_GUARD_FUNCTION_SQL).format(
                    schema=self._ids["schema"], function=Identifier(GUARD_FUNCTION)
                )
            )
            for name, statement in wanted.items():
                if name not in present:
                    c.execute(statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert ``stored_events`` and their archive links in one transaction (``save()``)."""
        if not stored_events:
            return None
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            return self.write_events(curs, stored_events)

    def write_events(self, c: Cursor[DictRow], stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert ``stored_events`` and their archive links in the caller's transaction.

        What :meth:`insert_events` does inside its own transaction; the bulk writer
        calls it batch after batch inside one long one.  Returns the notification ids.
        The table lock is taken first (and held to the end of the transaction), so
        the head read after the insert is the chain's head.
        """
        self._lock(c)
        c.execute(self.notify_statement)
        # The rows go as four arrays, not as eventsourcing's array of composite values:
        # the same rows, in the same order, but psycopg writes each composite (and its
        # bytea, escaped as text) in Python, which took twice as long.
        c.execute(
            self.insert_arrays_statement,
            (
                [s.originator_id for s in stored_events],
                [s.originator_version for s in stored_events],
                [s.topic for s in stored_events],
                [s.state for s in stored_events],
            ),
        )
        # Each id is matched to its event by (originator id, version), never by position.
        by_key = {(_hex(s.originator_id), s.originator_version): s for s in stored_events}
        ids: dict[tuple[str, int], int] = {}
        written = []
        for row in c.fetchall():
            key = (_hex(row["originator_id"]), row["originator_version"])
            s = by_key[key]
            ids[key] = int(row["notification_id"])
            written.append((ids[key], key[0], key[1], s.topic, bytes(s.state)))
        written.sort()
        self._link_new(c, written)
        return [ids[_hex(s.originator_id), s.originator_version] for s in stored_events]

    def _lock(self, c: Cursor[DictRow]) -> None:
        for statement in self.lock_table_statements:
            c.execute(statement, prepare=True)

    def _link_new(
        self, c: Cursor[DictRow], written: Sequence[tuple[int, str, int, str, bytes]] = ()
    ) -> None:
        """Link every event after the chain's head (in this transaction, table locked).

        ``written``: the rows this transaction has just inserted, in notification-id
        order, with the values bound to the insert; when they are exactly the rows after
        the head (the usual case), they are linked as they are instead of read back.
        """
        c.execute(
            SQL(
                "SELECT notification_id, link FROM {schema}.{links} "
                "ORDER BY notification_id DESC LIMIT 1"
            ).format(**self._ids)
        )
        top = c.fetchone()
        after, head = (top["notification_id"], top["link"]) if top else (0, GENESIS_DIGEST)
        if only_rows_after(after, written, lambda: self._count_after(c, after)):
            links = next_links(head, written)
        else:
            links = next_links(head, self._rows_after(c, after))
        if links:
            # One statement for the batch: executemany sends a statement a link (in
            # pipeline mode, still a message and a parameter dump each: a quarter of a
            # PostgreSQL import's time).
            c.execute(
                SQL(
                    "INSERT INTO {schema}.{links} (notification_id, link) "
                    "SELECT * FROM unnest(%s::bigint[], %s::text[])"
                ).format(**self._ids),
                ([i for i, _ in links], [link for _, link in links]),
            )

    def _count_after(self, c: Cursor[DictRow], after: int) -> int:
        c.execute(
            SQL("SELECT count(*) AS n FROM {schema}.{events} WHERE notification_id > %s").format(
                **self._ids
            ),
            (after,),
        )
        row = c.fetchone()
        return int(row["n"]) if row else 0

    def _rows_after(self, c: Cursor[DictRow], after: int) -> list[tuple[int, str, int, str, bytes]]:
        c.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {schema}.{events} WHERE notification_id > %s ORDER BY notification_id"
            ).format(**self._ids),
            (after,),
        )
        return [
            (
                r["notification_id"],
                r["originator_id"].hex,
                r["originator_version"],
                r["topic"],
                bytes(r["state"]),
            )
            for r in c.fetchall()
        ]

    def _link_existing(self) -> None:
        """Back-fill links for events stored before the archive chain existed (once)."""
        with self.datastore.transaction(commit=False) as c:
            if not self._unlinked(c):
                return
        with self.datastore.transaction(commit=True) as c:
            self._lock(c)
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


def _hex(originator_id: UUID | str) -> str:
    """An originator id as the uuid column gives it back (``.hex``)."""
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(originator_id).hex
