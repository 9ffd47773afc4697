"""Per-participant keys for protected speakers, kept apart from the event log.

A small SQLite file (by default ``<store>.keys`` beside a SQLite store, or in
the user's data folder for PostgreSQL; ``--keys`` or ``HEARING_KEYS`` to choose)
holds one AES-256 key per protected participant.  Destroying a key (``hearing
forget``) makes everything encrypted under it unreadable for good, while the
event log stays intact and verifiable.  ``secure_delete`` makes SQLite zero
the deleted key's bytes in the file, and the file is vacuumed afterwards.

The key file is the one thing to keep out of the log's backups.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from hearing_core.errors import HearingCoreError

KEY_BYTES = 32
FORMAT = "hearing_core-keys/1"


class KeyStore:
    """Keys by id; ids are random and say nothing about the person."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        # Keys made for records not yet saved: written only when the records are.
        self._staged: dict[str, bytes] = {}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            fresh = str(self.path) != ":memory:" and not self.path.exists()
            self._conn = sqlite3.connect(self.path, isolation_level=None)
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, key BLOB NOT NULL)"
            )
            if fresh:
                os.chmod(self.path, 0o600)  # only the owner may read the keys
        return self._conn

    def create(self) -> tuple[str, bytes]:
        """A new random key and its id, staged until :meth:`commit_staged`."""
        key_id = secrets.token_urlsafe(12)
        key = secrets.token_bytes(KEY_BYTES)
        self._staged[key_id] = key
        return key_id, key

    def commit_staged(self) -> None:
        """Write the staged keys (before the events that use them are saved)."""
        if self._staged:
            self._db().executemany("INSERT INTO keys VALUES (?, ?)", list(self._staged.items()))
            self._staged.clear()

    def discard_staged(self) -> None:
        """Forget staged keys whose records were refused."""
        self._staged.clear()

    def get(self, key_id: str) -> bytes | None:
        """The key, or None if it never existed here or was destroyed."""
        if key_id in self._staged:
            return self._staged[key_id]
        if self._conn is None and str(self.path) != ":memory:" and not self.path.exists():
            return None
        row = self._db().execute("SELECT key FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def destroy(self, key_id: str) -> bool:
        """Delete a key for good (zeroed in the file, then vacuumed); True if it existed."""
        db = self._db()
        deleted = db.execute("DELETE FROM keys WHERE key_id = ?", (key_id,)).rowcount
        db.execute("VACUUM")
        return bool(deleted)

    def export(self, key_ids: list[str]) -> dict[str, Any]:
        """Keys as a JSON-able document, to hand over with an archive (separately!)."""
        keys = {}
        for key_id in sorted(key_ids):
            key = self.get(key_id)
            if key is not None:
                keys[key_id] = base64.b64encode(key).decode("ascii")
        return {"format": FORMAT, "keys": keys}

    def load(self, path: Path) -> int:
        """Add the keys of an exported key file; return how many were new."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            items = [(k, base64.b64decode(v, validate=True)) for k, v in doc["keys"].items()]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise HearingCoreError(f"{path}: cannot read keys: {e}") from None
        db = self._db()
        before = db.total_changes
        db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", items)
        return db.total_changes - before

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
