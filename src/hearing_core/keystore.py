"""Per-participant keys for protected speakers, kept apart from the event log.

A small SQLite file (by default ``<store>.keys`` beside a SQLite store, or in
the user's data folder for PostgreSQL; ``--keys`` or ``HEARING_KEYS`` to choose)
holds one AES-256 key per protected participant.  Destroying a key (``hearing
forget``) makes everything encrypted under it unreadable for good, while the
event log stays intact and verifiable.  ``secure_delete`` makes SQLite zero
the deleted key's bytes in the file, and the file is vacuumed afterwards.

The key file is tied to its store's id (:func:`hearing_core.store.store_identity`),
not to a path: the store's folder can be moved or renamed with its key file
and nothing is lost, while a key file of another store is refused in one line
naming both ids.  A key file of an earlier version, which names no store, is
adopted by the first store that opens it.

A destroyed key leaves a tombstone (when, and that it was on purpose), and so
does a key an archive was imported without: a key id with neither a key nor a
tombstone means the key file is not the one this archive was recorded with (it
was replaced, emptied or damaged), which is an error, never a quiet "withheld".

The key file is the one thing to keep out of the log's backups.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearing_core.errors import HearingCoreError

KEY_BYTES = 32
FORMAT = "hearing_core-keys/1"

#: Tombstone kinds: destroyed on purpose by ``hearing forget``; or never given to this
#: store (an archive imported without its key file).
FORGOTTEN = "forgotten"
NOT_GIVEN = "not-given"


class KeyFileError(HearingCoreError):
    """The key file is missing, empty or damaged, or lacks a key it should hold."""


@dataclass(frozen=True)
class Tombstone:
    """What is left of a key that is not held: why (``kind``) and since when (UTC)."""

    key_id: str
    kind: str
    at: str


def create_owner_only(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (never readable by others,
    not even for the moment before a chmod)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class KeyStore:
    """Keys by id; ids are random and say nothing about the person."""

    def __init__(self, path: Path, store_id: str | None = None) -> None:
        """Keys in the file at ``path`` (``:memory:`` for none on disk), for the store
        whose id is ``store_id`` (None: not checked, as for an empty store of an
        earlier version)."""
        self.path = path
        self.store_id = store_id
        self._conn: sqlite3.Connection | None = None
        # Keys made for records not yet saved: written only when the records are.
        self._staged: dict[str, bytes] = {}
        # Keys of imported envelopes that came without their key, marked when saved.
        self._staged_not_given: set[str] = set()

    @property
    def _in_memory(self) -> bool:
        return str(self.path) == ":memory:"

    def _db(self, *, create: bool = True) -> sqlite3.Connection:
        """The open key file; with ``create`` False, a missing or empty file is an error."""
        if self._conn is not None:
            return self._conn
        if not self._in_memory:
            size = self.path.stat().st_size if self.path.exists() else None
            if not create and not size:
                state = "does not exist" if size is None else "is empty"
                raise KeyFileError(
                    f"key file {self.path} {state}: protected speakers' words cannot be read "
                    "(they were not forgotten); restore the key file or give it with --keys"
                )
            create_owner_only(self.path)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.DatabaseError as e:
            raise KeyFileError(f"key file {self.path} cannot be opened: {e}") from None
        try:
            conn.execute("PRAGMA secure_delete=ON")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if tables and "keys" not in tables:
                raise KeyFileError(f"{self.path} is not a key file (it holds no keys table)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, key BLOB NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tombstones "
                "(key_id TEXT PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL)"
            )
            owner = self._owner(conn, adopted="belongs_to" in tables)
            if owner is not None and owner != self.store_id:
                raise KeyFileError(
                    f"key file {self.path} belongs to store {owner}, not to this store "
                    f"({self.store_id}): give this store's key file with --keys"
                )
        except sqlite3.DatabaseError as e:
            conn.close()
            raise KeyFileError(f"key file {self.path} is damaged: {e}") from None
        except KeyFileError:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _owner(self, conn: sqlite3.Connection, *, adopted: bool) -> str | None:
        """The id of the store this key file belongs to (None: not checked).

        A file that names no store yet (new, or from an earlier version) is
        adopted by this one: its id is written in, once (one row at most).
        """
        if self.store_id is None or self._in_memory:
            return None
        row = conn.execute("SELECT store_id FROM belongs_to").fetchone() if adopted else None
        if row is None:  # written once; read (no write lock) on every later opening
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS belongs_to "
                    "(only INTEGER PRIMARY KEY CHECK (only = 1), store_id TEXT NOT NULL)"
                )
                conn.execute("INSERT OR IGNORE INTO belongs_to VALUES (1, ?)", (self.store_id,))
            except sqlite3.OperationalError:
                return None  # a read-only key file of an earlier version: read, not adopted
            row = conn.execute("SELECT store_id FROM belongs_to").fetchone()
        return str(row[0])

    @classmethod
    def of_store(cls, path: Path, store_id: str | None) -> KeyStore:
        """The key file at ``path`` for the store whose id is ``store_id``, refused now
        (not at first use) if it belongs to another store (see :meth:`check_store`)."""
        keys = cls(path, store_id)
        keys.check_store()
        return keys

    def check_store(self) -> None:
        """Refuse now, not at first use, a key file that belongs to another store
        (and adopt one of an earlier version).  A missing or empty file is left alone."""
        if self._in_memory or self.store_id is None:
            return
        if self.path.exists() and self.path.stat().st_size:
            self._db(create=False)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The key file, with everything done inside committed together or not at all."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _one(self, query: str, key_id: str) -> tuple[Any, ...] | None:
        """One row about ``key_id`` from a key file that must exist (never created here)."""
        try:
            row: tuple[Any, ...] | None = (
                self._db(create=False).execute(query, (key_id,)).fetchone()
            )
        except sqlite3.DatabaseError as e:
            raise KeyFileError(f"key file {self.path} is damaged: {e}") from None
        return row

    def create(self) -> tuple[str, bytes]:
        """A new random key and its id, staged until :meth:`commit_staged`."""
        key_id = secrets.token_urlsafe(12)
        key = secrets.token_bytes(KEY_BYTES)
        self._staged[key_id] = key
        return key_id, key

    def expect(self, key_id: str) -> None:
        """An imported envelope names ``key_id``: if this file neither holds the key nor
        knows it is gone, mark it (when the records are saved) as not given to this store."""
        if key_id in self._staged or key_id in self._staged_not_given:
            return
        if not self._in_memory and self._conn is None and not self.path.exists():
            self._staged_not_given.add(key_id)
            return
        if self._held(key_id) is None and self.tombstone(key_id) is None:
            self._staged_not_given.add(key_id)

    def commit_staged(self) -> None:
        """Write the staged keys (before the events that use them are saved)."""
        if self._staged or self._staged_not_given:
            at = _now()
            with self._transaction() as db:
                db.executemany("INSERT INTO keys VALUES (?, ?)", list(self._staged.items()))
                db.executemany(
                    "INSERT OR IGNORE INTO tombstones VALUES (?, ?, ?)",
                    [(k, NOT_GIVEN, at) for k in sorted(self._staged_not_given)],
                )
            self.discard_staged()

    def discard_staged(self) -> None:
        """Forget staged keys whose records were refused."""
        self._staged.clear()
        self._staged_not_given.clear()

    def _held(self, key_id: str) -> bytes | None:
        row = self._one("SELECT key FROM keys WHERE key_id = ?", key_id)
        return None if row is None else bytes(row[0])

    def tombstone(self, key_id: str) -> Tombstone | None:
        """Why and since when the key is not held, if this file says so."""
        if key_id in self._staged_not_given:
            return Tombstone(key_id, NOT_GIVEN, _now())
        row = self._one("SELECT kind, at FROM tombstones WHERE key_id = ?", key_id)
        return None if row is None else Tombstone(key_id, row[0], row[1])

    def get(self, key_id: str) -> bytes | None:
        """The key; None if it was destroyed on purpose or never given to this store.

        A key that is neither held nor tombstoned, and a missing, empty or damaged
        file, raise :class:`KeyFileError`: that is a lost key, not a forgotten one.
        """
        if key_id in self._staged:
            return self._staged[key_id]
        if key_id in self._staged_not_given:
            return None
        key = self._held(key_id)
        if key is not None:
            return key
        if self.tombstone(key_id) is not None:
            return None
        raise KeyFileError(
            f"key file {self.path} holds no key {key_id} and no record that it was forgotten: "
            "it is not this archive's key file, or it was emptied or damaged"
        )

    def destroy(self, key_id: str) -> Tombstone:
        """Delete a key for good (zeroed in the file, then vacuumed), leaving a tombstone.

        Raises :class:`KeyFileError` if the key is not held (saying whether it was
        already forgotten, never given, or is missing).
        """
        if self.get(key_id) is None:
            gone = self.tombstone(key_id)
            assert gone is not None
            if gone.kind == FORGOTTEN:
                why = f"was already destroyed (forgotten) on {gone.at}"
            else:
                why = f"was never given to this store (its archive was imported without it on {gone.at})"
            raise KeyFileError(f"key {key_id} {why}; key file {self.path}")
        gone = Tombstone(key_id, FORGOTTEN, _now())
        with self._transaction() as db:
            db.execute("DELETE FROM keys WHERE key_id = ?", (key_id,))
            db.execute(
                "INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?)", (key_id, gone.kind, gone.at)
            )
        db.execute("VACUUM")
        return gone

    def export(self, key_ids: list[str]) -> dict[str, Any]:
        """Keys as a JSON-able document, to hand over with an archive (separately!).

        Forgotten keys are listed with the date they were destroyed, so the receiving
        store can tell a forgotten speaker from a lost key.
        """
        keys, forgotten = {}, {}
        for key_id in sorted(key_ids):
            key = self.get(key_id)
            if key is not None:
                keys[key_id] = base64.b64encode(key).decode("ascii")
            else:
                gone = self.tombstone(key_id)
                if gone is not None and gone.kind == FORGOTTEN:
                    forgotten[key_id] = gone.at
        doc: dict[str, Any] = {"format": FORMAT, "keys": keys}
        if forgotten:
            doc["forgotten"] = forgotten
        return doc

    def load(self, path: Path) -> int:
        """Add the keys (and tombstones) of an exported key file; return how many keys were new."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            items = [(k, base64.b64decode(v, validate=True)) for k, v in doc["keys"].items()]
            forgotten = [(k, FORGOTTEN, str(v)) for k, v in doc.get("forgotten", {}).items()]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise HearingCoreError(f"{path}: cannot read keys: {e}") from None
        with self._transaction() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", items)
            added = db.total_changes - before
            # A key given now is no longer "not given".
            db.executemany(
                "DELETE FROM tombstones WHERE key_id = ? AND kind = ?",
                [(k, NOT_GIVEN) for k, _ in items],
            )
            db.executemany("INSERT OR IGNORE INTO tombstones VALUES (?, ?, ?)", forgotten)
        return added

    def close(self) -> None:
        """Close the key file (it reopens if used again).  Safe from any thread: called
        from another one (say by a garbage collector's ``__del__``), the connection is
        dropped and SQLite closes it when Python frees it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.ProgrammingError):  # made in another thread
                conn.close()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
