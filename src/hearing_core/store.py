"""Where the record lives: the store URL, preparing a store, and its identity.

``--store`` (or ``HEARING_STORE``) is either a SQLite file path (the embedded
default) or a ``postgresql://user[:password]@host[:port]/dbname`` URL, which may
carry ``?schema=...`` (and ``pool_size``, ``max_overflow``, ``connect_timeout``,
``lock_timeout``).  Both go through eventsourcing's own persistence modules;
this module only translates the URL into eventsourcing's settings, prepares a
PostgreSQL store (reachability, schema).  The append-only guards are created
by the recorders with their tables (:mod:`hearing_core.recorders`).

psycopg is imported only when a PostgreSQL store is opened: it comes with the
optional ``postgres`` extra.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

import attrs
from eventsourcing.persistence import PersistenceError

from hearing_core.errors import StoreError

if TYPE_CHECKING:
    import psycopg

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
        shown = f"{parsed.scheme}://{netloc}{parsed.path}"
        schema = self.env.get("POSTGRES_SCHEMA")
        return f"{shown}?schema={schema}" if schema else shown

    def default_keys_path(self, store_id: str | None = None) -> Path:
        """Where protected speakers' keys live unless told otherwise.

        Beside a SQLite store (so they move with its folder); for PostgreSQL,
        in the user's data folder under the store's id (:func:`store_identity`),
        so every process on this machine finds the same file whatever its
        working directory and however the URL is spelt.  A file named after the
        URL by earlier versions is still used where it exists.
        """
        if self.path is not None:
            return self.path.with_name(self.path.name + ".keys")
        return self._data_file("keys", store_id)

    def default_views_path(self, store_id: str | None = None) -> Path:
        """Where read models live unless told otherwise (as for keys)."""
        if self.path is not None:
            return self.path.with_name(self.path.name + ".views")
        return self._data_file("views", store_id)

    def _data_file(self, kind: str, store_id: str | None) -> Path:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        folder = base / "hearing_core"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o077:  # made by an older version: the owner's only now
            with contextlib.suppress(PermissionError):  # not ours: leave it to its owner
                folder.chmod(0o700)
        tag = hashlib.sha256(self.display.encode()).hexdigest()[:12]
        schema = self.env.get("POSTGRES_SCHEMA", "public")
        by_url = folder / f"{self.env['POSTGRES_DBNAME']}-{schema}-{tag}.{kind}"
        if store_id is None or by_url.exists():
            return by_url
        return folder / f"{store_id}.{kind}"


def resolve(store: str | None) -> StoreLocation:
    """Turn a ``--store`` value (or the environment, or the default) into a location."""
    url = store or os.environ.get("HEARING_STORE") or DEFAULT_STORE
    if url.startswith(("postgresql://", "postgres://")):
        return _postgres(url)
    if "://" in url:
        raise StoreError(f"unsupported store URL {url!r}: give a file path or postgresql://...")
    path = Path(url).expanduser()
    if not path.parent.exists():
        raise StoreError(f"store {path}: folder {path.parent} does not exist")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "CREATE_TABLE": "y",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "10",
    }
    return StoreLocation(url=url, kind="sqlite", env=authoritative(env), path=path)


#: Settings a ``postgresql://`` URL may carry as query parameters, and their eventsourcing keys.
_PG_QUERY_KEYS = {
    "schema": "POSTGRES_SCHEMA",
    "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW",
    "connect_timeout": "POSTGRES_CONNECT_TIMEOUT",
    "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
}

#: Schema names we accept.  eventsourcing splices the schema unquoted into its type
#: lookups (``CompositeInfo.fetch(conn, f"{schema}.{name}")``), so lower case only.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _postgres(url: str) -> StoreLocation:
    parsed = urlparse(url)
    dbname = unquote(parsed.path.lstrip("/"))
    if not dbname:
        raise StoreError(f"store URL {_redact(url)!r} names no database")
    try:
        port = parsed.port or 5432
    except ValueError:
        raise StoreError(f"store URL {_redact(url)!r} has an invalid port") from None
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "CREATE_TABLE": "y",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        # Empty means "not given": libpq then falls back to PGPASSWORD or ~/.pgpass.
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        # Whole seconds.  eventsourcing uses it as the pool's wait for a connection;
        # the reachability check below uses it as libpq's connect_timeout.
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # eventsourcing opens POOL_SIZE connections per application up front (its
        # default is 5, plus 10 overflow); one archive in one process needs a couple.
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "8",
        # The db-function insert path takes no LOCK TABLE, so notification ids might
        # not follow commit order under concurrent writers: keep the locking path,
        # whatever the process environment says.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
    for key, values in parse_qs(parsed.query, keep_blank_values=True).items():
        if key not in _PG_QUERY_KEYS:
            known = ", ".join(sorted(_PG_QUERY_KEYS))
            raise StoreError(f"unknown store URL parameter {key!r} (known: {known})")
        value = values[-1]
        if key == "schema":
            if not _SCHEMA_NAME.fullmatch(value):
                raise StoreError(
                    f"invalid schema name {value!r}: use lower-case letters, digits and _"
                )
        elif not value.isdigit():
            raise StoreError(f"store URL parameter {key!r} must be a whole number, not {value!r}")
        env[_PG_QUERY_KEYS[key]] = value
    return StoreLocation(url=url, kind="postgres", env=authoritative(env))


def authoritative(env: dict[str, str]) -> dict[str, str]:
    """Add ``HEARINGS_``-prefixed copies of the settings.

    eventsourcing merges the process environment under the ``env=`` mapping but
    looks the application-prefixed key up first, so a stray
    ``HEARINGS_POSTGRES_SCHEMA`` (say) in the environment would otherwise beat the
    store URL.  The plain keys stay for any other application (a projection
    runner, say) built from the same location.
    """
    prefix = APP_NAME.upper() + "_"
    return {**env, **{prefix + k: v for k, v in env.items()}}


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return url.replace(f":{parsed.password}@", ":***@", 1)


def events_table(location: StoreLocation) -> str:
    """The name of the table eventsourcing keeps the archive's events in."""
    if location.kind == "sqlite":
        return "stored_events"
    return f"{APP_NAME.lower()}_events"


def postgres_schema(location: StoreLocation) -> str:
    """The PostgreSQL schema the archive's tables live in."""
    return location.env.get("POSTGRES_SCHEMA") or "public"


@contextmanager
def opening(location: StoreLocation) -> Iterator[dict[str, str]]:
    """Wrap the construction of the eventsourcing application on ``location``.

    Yields settings to add to the store's for the construction.  Before it: for
    PostgreSQL, check that the server can be reached (a one-line
    :class:`StoreError` if not), create the schema if it is missing, and take an
    advisory lock so that processes opening the same schema at once do not race
    in eventsourcing's ``CREATE TYPE/TABLE/FUNCTION`` statements (and the
    recorders' append-only guards, created with the tables: see
    :mod:`hearing_core.recorders`).  Only a role that owns the store's tables
    creates or upgrades them: a role the owner granted INSERT and SELECT only
    (:mod:`hearing_core.grants`) reads first and skips every ``CREATE``
    (``CREATE_TABLE=n``), which it may not run.  eventsourcing's own
    persistence errors while opening become a one-line :class:`StoreError` too.
    """
    if location.kind != "postgres":
        with _sqlite_setup_lock(location.path):
            try:
                yield {}
            except PersistenceError as e:
                raise StoreError(f"cannot open store {location.display}: {_one_line(e)}") from e
        return

    connection = connect_postgres(location)  # a StoreError if psycopg is missing too

    import psycopg
    from psycopg import sql

    schema = postgres_schema(location)
    lock_key = _SETUP_LOCK + schema
    with connection as conn:
        try:
            conn.execute(f"SET lock_timeout = '{_SETUP_LOCK_TIMEOUT}s'")
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_key,))
            if not _pg_schema_exists(conn, schema):  # CREATE SCHEMA needs a privilege to run
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            owner = _pg_owns_or_missing(conn, schema, events_table(location))
        except psycopg.Error as e:
            raise StoreError(
                f"cannot prepare store {location.display}: {_one_line(e)}{_set_up_hint(e)}"
            ) from e
        try:
            yield {} if owner else {"CREATE_TABLE": "n"}
        except PersistenceError as e:
            raise StoreError(
                f"cannot open store {location.display}: {_one_line(e)}{_set_up_hint(e)}"
            ) from e
        finally:
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock_key,))


@contextmanager
def _sqlite_setup_lock(path: Path | None) -> Iterator[None]:
    """Serialise the opening of one SQLite store across processes.

    eventsourcing switches a new file to WAL at its first connection; two
    processes doing that at once on a fresh file can get "database is locked"
    at once, without SQLite's busy handler waiting (seen in CI with 8 openers
    under load).  An exclusive ``flock`` on the store's folder (no extra file
    is created) makes openers take turns; it is held only while the tables
    and guards are set up, never while recording.
    """
    try:
        fd = None if path is None else os.open(path.parent, os.O_RDONLY)
    except OSError:
        # A folder one may pass through but not read (mode 0711): no lock, as before.
        # Creating a store needs the folder writable, and then it is readable too.
        fd = None
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _pg_schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def _pg_owns_or_missing(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    """Whether the connected role owns ``table`` (or is a member of its owner, or a superuser),
    or the table is missing (so this open must create it, which only an owner can)."""
    row = conn.execute(
        "SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    return row is None or bool(row[0])


def _set_up_hint(error: BaseException) -> str:
    """What to do when a role that may not create tables opens a store nobody set up."""
    if "permission denied" not in str(error):
        return ""
    return " (the store's owner sets it up and grants this role: see docs/postgres.md)"


#: Advisory lock key prefix serialising the opening of a schema.
_SETUP_LOCK = "hearing_core.setup:"

#: Seconds an opening process waits for another one to finish setting up.
_SETUP_LOCK_TIMEOUT = 60


def connect_postgres(location: StoreLocation) -> psycopg.Connection[Any]:
    """A direct autocommit psycopg connection to the store's database, or a one-line StoreError.

    For tools and tests that need to look beneath eventsourcing; set ``search_path``
    yourself or qualify names with :func:`postgres_schema`.
    """
    try:
        import psycopg
    except ImportError:
        raise StoreError("PostgreSQL stores need psycopg: install hearing-core[postgres]") from None
    env = location.env
    try:
        return psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
            autocommit=True,
        )
    except psycopg.Error as e:
        raise StoreError(f"cannot reach PostgreSQL store {location.display}: {_one_line(e)}") from e


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text.removeprefix("connection failed: ") or type(error).__name__


# --- what a file holds, and the store's identity ----------------------------------------

#: The one-row table holding the store's id, beside eventsourcing's own tables.
IDENTITY_TABLE = "hearing_store"

#: Tables that say what a SQLite file is (a store, read models, a key file).
_STORE_TABLES = {"stored_events", IDENTITY_TABLE}
_VIEWS_TABLES = {"_positions", "_meta"}
_KEYS_TABLES = {"keys"}

_SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_file_kind(path: Path) -> str:
    """What the file at ``path`` is: ``missing``, ``empty``, ``store``, ``views``,
    ``keys``, ``other`` (another SQLite database) or ``foreign`` (not SQLite).

    Read without writing (no journal, no lock beyond a shared one), so it is
    safe on a store other processes are appending to.
    """
    if not path.exists():
        return "missing"
    if path.is_dir():
        return "foreign"
    with path.open("rb") as f:
        header = f.read(len(_SQLITE_HEADER))
    if not header:
        return "empty"
    if header != _SQLITE_HEADER:
        return "foreign"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.OperationalError as e:  # SQLite, but not readable here (permissions, locks)
        raise StoreError(f"cannot read {path}: {e}") from None
    except sqlite3.DatabaseError:
        return "foreign"
    finally:
        conn.close()
    if tables & _STORE_TABLES:
        return "store"
    if tables & _VIEWS_TABLES:
        return "views"
    if tables & _KEYS_TABLES:  # with its tombstones and format tables, if any
        return "keys"
    return "empty" if not tables else "other"


_KIND_NAMES = {
    "views": "a read-model file (give it as --views)",
    "keys": "a key file (give it as --keys)",
    "other": "a SQLite database but not a hearing store",
    "foreign": "not a SQLite database",
}

#: Commands that create a store where there is none.
CREATING_COMMANDS = "`hearing import`, `hearing record` or `hearing demo`"


def check_role(path: Path, role: str, store: Path | None = None) -> None:
    """Refuse a read-model or key file that is something else (a store, say).

    ``role`` is ``views`` or ``keys``; a missing or empty file is fine (it is
    created when first needed).
    """
    if store is not None and path.resolve() == store.resolve():
        raise StoreError(f"--{role} {path} is the store itself: give a file of its own")
    kind = sqlite_file_kind(path)
    if kind in ("missing", "empty", role):
        return
    what = "a hearing store (give it as --store)" if kind == "store" else _KIND_NAMES[kind]
    wanted = "read-model" if role == "views" else "key"
    raise StoreError(f"--{role} {path} is {what}, not a {wanted} file")


def store_identity(location: StoreLocation, *, create: bool) -> str | None:
    """Check ``location`` holds a hearing store and return its id.

    The id is written into the store when it is created (``create``: the
    commands that write).  A store made by an earlier version gets one on
    its first write-open: derived from its first stored event (so it is the
    same id that read-only opens derived before), or random if it is empty.
    Read-only opens never write: they derive the id (None for an empty
    store of an earlier version).

    Without ``create``, a missing store is a one-line :class:`StoreError`;
    a read-model file, a key file or any other file is refused either way.
    """
    if location.kind == "postgres":
        return _postgres_identity(location, create=create)
    assert location.path is not None
    path = location.path
    kind = sqlite_file_kind(path)
    if kind == "missing" and not create:
        raise StoreError(f"no store at {path}: {CREATING_COMMANDS} create one")
    if kind == "empty" and not create:
        raise StoreError(f"{path} is empty, not a hearing store: {CREATING_COMMANDS} fill one")
    if kind in _KIND_NAMES:
        raise StoreError(f"{path} is {_KIND_NAMES[kind]}, not a hearing store")
    if kind == "store":  # read first: a store that has its id needs no write lock
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            found = _read_identity(conn)
            written = _written_identity(conn)
        finally:
            conn.close()
        if not create or written is not None:
            return found
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {IDENTITY_TABLE} (id TEXT NOT NULL)")
        found = _read_identity(conn)
        store_id = found or new_store_id()
        conn.execute(
            f"INSERT INTO {IDENTITY_TABLE} SELECT ? WHERE NOT EXISTS"  # noqa: S608 (constant)
            f" (SELECT 1 FROM {IDENTITY_TABLE})",
            (store_id,),
        )
        conn.execute("COMMIT")
        return store_id
    finally:
        conn.close()


def new_store_id() -> str:
    """A fresh store id (random: two stores never share one unless one is a copy)."""
    return f"store-{uuid.uuid4()}"


def _read_identity(conn: sqlite3.Connection) -> str | None:
    """The stored id; else one derived from the first stored event; else None."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if IDENTITY_TABLE in tables:
        row = conn.execute(f"SELECT id FROM {IDENTITY_TABLE} LIMIT 1").fetchone()  # noqa: S608
        if row is not None:
            return str(row[0])
    if "stored_events" not in tables:
        return None
    first = conn.execute("SELECT state FROM stored_events ORDER BY rowid LIMIT 1").fetchone()
    return None if first is None else _derived_id(first[0])


def _written_identity(conn: sqlite3.Connection) -> str | None:
    """The id written into the store (None for a store of an earlier version)."""
    try:
        row = conn.execute(f"SELECT id FROM {IDENTITY_TABLE} LIMIT 1").fetchone()  # noqa: S608
    except sqlite3.OperationalError:  # no such table
        return None
    return None if row is None else str(row[0])


def _derived_id(state: bytes) -> str:
    # The first event's stored state holds its creation timestamp: stores imported
    # separately from the same file still get different ids.
    return "derived-" + hashlib.sha256(bytes(state)).hexdigest()[:32]


def _postgres_identity(location: StoreLocation, *, create: bool) -> str | None:
    import psycopg

    try:
        return _postgres_identity_of(location, create=create)
    except psycopg.errors.InsufficientPrivilege as e:  # a role nobody granted this store
        raise StoreError(
            f"cannot open store {location.display}: {_one_line(e)}{_set_up_hint(e)}"
        ) from e


def _postgres_identity_of(location: StoreLocation, *, create: bool) -> str | None:
    from psycopg import sql

    schema = postgres_schema(location)
    events = events_table(location)
    with connect_postgres(location) as conn:
        exists = conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = %s AND table_name IN (%s, %s)",
            (schema, events, IDENTITY_TABLE),
        ).fetchone()
        if not create:
            if not exists or not exists[0]:
                raise StoreError(f"no store at {location.display}: {CREATING_COMMANDS} create one")
            return _pg_read(conn, schema, events)
        # Read first: a store that has its id needs no CREATE or LOCK, which a role that may
        # only INSERT and SELECT (hearing_core.grants) could not run.
        written = _pg_written(conn, schema)
        if written is not None:
            return written
        ident = sql.Identifier(schema)
        table = sql.Identifier(schema, IDENTITY_TABLE)
        with conn.transaction():
            if not _pg_schema_exists(conn, schema):
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id text NOT NULL)").format(table))
            conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            store_id = _pg_read(conn, schema, events) or new_store_id()
            conn.execute(
                sql.SQL("INSERT INTO {t} SELECT %s WHERE NOT EXISTS (SELECT 1 FROM {t})").format(
                    t=table
                ),
                (store_id,),
            )
        return store_id


def _pg_written(conn: Any, schema: str) -> str | None:
    """The id written into the store (None if it has none yet, or no identity table)."""
    from psycopg import sql
    from psycopg.errors import UndefinedTable

    try:
        with conn.transaction():  # a savepoint when inside a transaction
            row = conn.execute(
                sql.SQL("SELECT id FROM {} LIMIT 1").format(sql.Identifier(schema, IDENTITY_TABLE))
            ).fetchone()
    except UndefinedTable:
        return None
    return None if row is None else str(row[0])


def _pg_read(conn: Any, schema: str, events: str) -> str | None:
    from psycopg import sql
    from psycopg.errors import UndefinedTable

    try:
        with conn.transaction():  # a savepoint when inside a transaction
            row = conn.execute(
                sql.SQL("SELECT id FROM {} LIMIT 1").format(sql.Identifier(schema, IDENTITY_TABLE))
            ).fetchone()
    except UndefinedTable:
        row = None
    if row is not None:
        return str(row[0])
    try:
        with conn.transaction():
            first = conn.execute(
                sql.SQL("SELECT state FROM {} ORDER BY notification_id LIMIT 1").format(
                    sql.Identifier(schema, events)
                )
            ).fetchone()
    except UndefinedTable:
        first = None
    return None if first is None else _derived_id(first[0])
