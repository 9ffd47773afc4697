"""The baselines: eventsourcing on its own, and the storage on its own.

``BareApp`` is a minimal eventsourcing application with a minimal aggregate
whose one event type carries the same payload as a hearing event (the
record's fields as a JSON object, plus a 64-character digest): what the
library costs without hearing_core's rules, digests and projections.

The raw storage helpers write rows read back from a real archive (so of
exactly the same size) with sqlite3 ``executemany`` or PostgreSQL ``COPY``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from hearing_core.store import StoreLocation

BARE_NAMESPACE = uuid.UUID("0b8f3c1e-2d4a-5f6b-8c7d-9e0f1a2b3c4d")
COMMON = ("type", "hearing", "seq", "at")


class Item(Aggregate):
    """A minimal aggregate: one event type, no state, no rules."""

    class Created(Aggregate.Created):
        payload: dict[str, Any]
        digest: str

    class Recorded(Aggregate.Event):
        payload: dict[str, Any]
        digest: str

    def __init__(self, payload: dict[str, Any], digest: str) -> None:
        pass


class BareApp(Application[UUID]):
    name = "benchbare"


def open_bare(location: StoreLocation, sqlite_path: str | None = None) -> BareApp:
    """A bare application on the same kind of store (its own SQLite file or PG tables)."""
    env = {k: v for k, v in location.env.items() if not k.startswith("HEARINGS_")}
    if location.kind == "sqlite":
        assert sqlite_path is not None
        env["SQLITE_DBNAME"] = sqlite_path
    return BareApp(env=env)


def payload_of(record: dict[str, Any]) -> tuple[UUID, dict[str, Any], str]:
    """The aggregate id, payload and a digest for a hearing record."""
    payload = {k: v for k, v in record.items() if k not in COMMON}
    digest = hashlib.sha256(record["at"].encode()).hexdigest()
    return uuid.uuid5(BARE_NAMESPACE, record["hearing"]), payload, digest


class BareWriter:
    """Turns records into bare aggregate events, saving every ``batch`` events."""

    def __init__(self, app: BareApp, batch: int = 1000) -> None:
        self.app = app
        self.batch = batch
        self.items: dict[UUID, Item] = {}
        self.pending = 0
        self.count = 0
        self.last: UUID | None = None

    def add(self, record: dict[str, Any]) -> None:
        oid, payload, digest = payload_of(record)
        item = self.items.get(oid)
        if item is None:
            self.items[oid] = Item._create(Item.Created, id=oid, payload=payload, digest=digest)
            self.last = oid
        else:
            item.trigger_event(Item.Recorded, payload=payload, digest=digest)
        self.pending += 1
        self.count += 1
        if self.pending >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.app.save(*self.items.values())
            self.pending = 0
            # Records arrive hearing by hearing: once saved, only the latest can grow.
            self.items = {self.last: self.items[self.last]}


# --- the storage limit ------------------------------------------------------------------

RAW_SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS raw_events (originator_id TEXT, originator_version INTEGER, "
    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
)


def sqlite_rows(path: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()


def sqlite_raw_insert(path: str, rows: list[tuple[Any, ...]], batch: int = 1000) -> None:
    """executemany into a table shaped like eventsourcing's, one transaction per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(RAW_SQLITE_TABLE)
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO raw_events VALUES (?,?,?,?)", rows[i : i + batch])
        conn.execute("COMMIT")
    conn.close()


def pg_connect(location: StoreLocation) -> Any:
    import psycopg

    env = location.env
    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
    )


def pg_rows(location: StoreLocation) -> list[tuple[Any, ...]]:
    schema = location.env.get("POSTGRES_SCHEMA") or "public"
    with pg_connect(location) as conn:
        return conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {schema}.hearings_events"
            " ORDER BY notification_id"
        ).fetchall()


def pg_raw_copy(location: StoreLocation, rows: list[tuple[Any, ...]], batch: int = 1000) -> None:
    """COPY into a table shaped like eventsourcing's, one transaction per batch."""
    schema = location.env.get("POSTGRES_SCHEMA") or "public"
    with pg_connect(location) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.raw_events (originator_id uuid NOT NULL,"
            " originator_version bigint NOT NULL, topic text, state bytea,"
            " notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS raw_events_nid ON {schema}.raw_events (notification_id)"
        )
        conn.commit()
        for i in range(0, len(rows), batch):
            with (
                conn.cursor() as cur,
                cur.copy(
                    f"COPY {schema}.raw_events (originator_id, originator_version, topic, state)"
                    " FROM STDIN"
                ) as copy,
            ):
                for row in rows[i : i + batch]:
                    copy.write_row(row)
            conn.commit()
