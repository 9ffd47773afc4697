"""Where the record lives: the store URL and the database-level guards.

``--store`` (or ``HEARING_STORE``) is either a SQLite file path (the embedded
default) or a ``postgresql://user@host:port/dbname`` URL.  Both go through
eventsourcing's own persistence modules; this module only translates the URL
into eventsourcing's settings and adds the append-only guards.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import attrs

from hearing_core.errors import StoreError

#: The store used when neither --store nor HEARING_STORE says otherwise.
DEFAULT_STORE = "hearings.db"

#: The application name; PostgreSQL tables are prefixed with it.
APP_NAME = "hearings"


@attrs.frozen
class StoreLocation:
    """A parsed store URL: which persistence module, and its settings."""

    url: str
    kind: str  # "sqlite" or "postgres"
    env: dict[str, str]
    path: Path | None = None  # the file, for SQLite

    @property
    def display(self) -> str:
        """The URL without any password, for messages."""
        if self.kind == "sqlite":
            return str(self.path)
        parsed = urlparse(self.url)
        netloc = parsed.hostname or ""
        if parsed.username:
            netloc = f"{parsed.username}@{netloc}"
        if parsed.port:
            netloc = f"{netloc}:{parsed.port}"
        return f"{parsed.scheme}://{netloc}{parsed.path}"

    def default_views_path(self) -> Path:
        """Where read models live unless told otherwise: beside a SQLite store, else here."""
        if self.path is not None:
            return self.path.with_name(self.path.name + ".views")
        return Path("hearing-views.db")


def resolve(store: str | None) -> StoreLocation:
    """Turn a ``--store`` value (or the environment, or the default) into a location."""
    url = store or os.environ.get("HEARING_STORE") or DEFAULT_STORE
    if url.startswith(("postgresql://", "postgres://")):
        return _postgres(url)
    if "://" in url:
        raise StoreError(f"unsupported store URL {url!r}: give a file path or postgresql://...")
    path = Path(url).expanduser()
    if not path.parent.exists():
        raise StoreError(f"cannot create store {path}: folder {path.parent} does not exist")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "10",
    }
    return StoreLocation(url=url, kind="sqlite", env=env, path=path)


def _postgres(url: str) -> StoreLocation:
    parsed = urlparse(url)
    dbname = parsed.path.lstrip("/")
    if not dbname:
        raise StoreError(f"store URL {url!r} names no database")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }
    schema = parse_qs(parsed.query).get("schema")
    if schema:
        env["POSTGRES_SCHEMA"] = schema[0]
    return StoreLocation(url=url, kind="postgres", env=env)


_SQLITE_GUARDS = """
CREATE TRIGGER IF NOT EXISTS stored_events_no_update
BEFORE UPDATE ON stored_events
BEGIN SELECT RAISE(ABORT, 'the hearing record is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS stored_events_no_delete
BEFORE DELETE ON stored_events
BEGIN SELECT RAISE(ABORT, 'the hearing record is append-only: DELETE refused'); END;
"""


def install_sqlite_guards(path: Path) -> None:
    """Make the event table refuse UPDATE and DELETE (idempotent)."""
    with sqlite3.connect(path) as conn:
        conn.executescript(_SQLITE_GUARDS)
    conn.close()
