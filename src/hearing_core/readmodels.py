"""The read-model database and the host that feeds projections in log order.

One SQLite file (written with sqlite-utils) holds every projection's tables
and the host's own bookkeeping, all in tables starting with ``_``:

``_positions``
    per projection: its version, the archive position it has processed up
    to, and its last failure;
``_tables``
    which projection owns which table, and whether the table holds personal
    data (see :meth:`ReadModels.personal_tables`);
``_protection``, ``_corrections``
    the host's own state: who is protected and their pseudonym, and every
    correction resolved against what it corrects (stored form: sealed);
``_meta``
    the store the read models were built from, how far the host's state has
    read, and a generation bumped whenever tables are dropped, so a running
    ``replay --follow`` notices a ``forget`` or a rebuild in another process.

For each page of events, the host's state and every projection's writes and
new position commit in one transaction, so a crash never loses or doubles a
row.  While a projection runs (creating tables, handling pages, rendering),
an SQLite authorizer confines it: it may write only its own declared tables,
and never attach databases, change the schema's rules (pragmas, triggers,
views) or end the host's transaction; rendering is read-only.
"""

from __future__ import annotations

import bisect
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import sqlite_utils
from rich.console import RenderableType

from hearing_core.corrections import Correction, Resolved, resolve, shield_correction
from hearing_core.event_view import RecordedEvent
from hearing_core.keystore import create_owner_only
from hearing_core.projection import (
    CORRECTION,
    IDENTITIES,
    WORDS,
    Page,
    Projection,
    Report,
    ReportRequest,
)
from hearing_core.protection import open_value
from hearing_core.shielding import Protection, shield, touches_protected

if TYPE_CHECKING:
    from hearing_core.keystore import KeyStore

POSITIONS = "_positions"
TABLES = "_tables"
PROTECTION = "_protection"
CORRECTIONS = "_corrections"
META = "_meta"

#: The contract the read-model file was built under (``_meta``); older files are rebuilt.
CONTRACT = "2"

#: Events per transaction while catching up.
BATCH = 1000

#: What the host itself reads from the log, whatever the projections take.
HOST_TYPES = frozenset({"ParticipantRegistered", CORRECTION})

#: ``read(after, upto, types)``: the stored events after ``after`` up to ``upto`` (None: the
#: end), of these types (None: every type), in log order.
Reader = Callable[[int, int | None, frozenset[str] | None], Iterable[RecordedEvent]]

#: ``original(hearing, seq)``: one stored record of the log, or None.
Lookup = Callable[[str, int], Mapping[str, Any] | None]


@attrs.frozen
class Failure:
    """A projection stopped at ``position`` because handling that event raised."""

    projection: str
    position: int
    error: str


@attrs.frozen
class PositionInfo:
    """Where one projection stands."""

    projection: str
    version: int
    position: int
    failed_at: int | None
    error: str | None


class PluginError(Exception):
    """A projection's code raised (anything, ``SystemExit`` included) or misbehaved."""


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line."""
    message = str(error).strip()
    if not message:
        return type(error).__name__
    return f"{type(error).__name__}: {message}".splitlines()[0]


class ReadModels:
    """The read models of a set of projections, in one SQLite database."""

    def __init__(
        self,
        path: Path | str,
        projections: Iterable[Projection],
        *,
        source: str | None = None,
        keys: KeyStore | None = None,
        protection: Protection | None = None,
    ) -> None:
        self.path = path
        self.keys = keys
        self.projections = sorted(projections, key=lambda p: p.name)
        self.failures: dict[str, str] = {}  # projections refused at opening (table clashes)
        self._fed: dict[tuple[str, int], Mapping[str, Any]] = {}  # what feed() was given
        if str(path) == ":memory:":
            self.db = sqlite_utils.Database(memory=True, execute_plugins=False)
        else:
            create_owner_only(Path(path))  # it may hold protected speakers' words
            self.db = sqlite_utils.Database(path, execute_plugins=False)
            self.db.conn.execute("PRAGMA journal_mode=WAL")
        self.db.conn.execute("PRAGMA synchronous=NORMAL")
        self.db.conn.execute("PRAGMA busy_timeout=30000")  # a forget's VACUUM in another process
        self.db.conn.execute("PRAGMA secure_delete=ON")  # dropped rows leave no text behind
        # sqlite-utils probes SQLite's features once per connection by creating scratch
        # tables; do it now, outside the guard, so a plugin's upsert is not refused.
        _ = self.db.supports_on_conflict, self.db.supports_strict
        self.confinement = _Confinement(self.db.conn)
        # Each plugin's writes on a page run under this savepoint: secret, so no plugin can
        # release or roll back the host's (it would have to name it), and the same every
        # time, so its statements are prepared once, not once a plugin a catch-up.
        self._savepoint_name = f"host_{secrets.token_hex(16)}"
        self.plugin_db = _plugin_database(self.db, self.confinement)
        self._create_host_tables()
        self._upgrade()
        self._fixed_protection = protection
        self.protection = protection or self._load_protection()
        if source is not None:
            self._check_source(source)
        self._prepare()

    # --- the host's tables --------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        """A write transaction taken at once (BEGIN IMMEDIATE), or a savepoint inside one.

        Never a deferred one: in WAL mode a reader that later writes fails at once
        ("database is locked") if another process wrote meanwhile.
        """
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield
            return
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.conn.execute("ROLLBACK")
            raise
        self.db.conn.execute("COMMIT")

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """One plugin's writes inside the page's transaction, rolled back alone if it raises."""
        conn, name = self.db.conn, self._savepoint_name
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # else the whole transaction is gone already
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")

    def _create_host_tables(self) -> None:
        with self._write():
            self.db[POSITIONS].create(  # type: ignore[union-attr]
                {
                    "projection": str,
                    "version": int,
                    "position": int,
                    "failed_at": int,
                    "error": str,
                },
                pk="projection",
                if_not_exists=True,
            )
            self.db[TABLES].create(  # type: ignore[union-attr]
                {"table": str, "projection": str, "personal": bool},
                pk="table",
                if_not_exists=True,
            )
            self.db[PROTECTION].create(  # type: ignore[union-attr]
                {"hearing": str, "participant": str, "seq": int, "position": int, "pseudonym": str},
                pk=("hearing", "participant"),
                if_not_exists=True,
            )
            self.db[CORRECTIONS].create(  # type: ignore[union-attr]
                {
                    "hearing": str,
                    "seq": int,
                    "target_seq": int,
                    "target_type": str,
                    "before": str,
                    "after": str,
                    "record": str,
                },
                pk=("hearing", "seq"),
                if_not_exists=True,
            )
            self.db[CORRECTIONS].create_index(  # type: ignore[union-attr]
                ["hearing", "target_seq"], if_not_exists=True
            )
            self.db[META].create(  # type: ignore[union-attr]
                {"key": str, "value": str}, pk="key", if_not_exists=True
            )

    def _upgrade(self) -> None:
        """A read-model file built by the contract v1 host is rebuilt once, from scratch.

        It records no table ownership (its tables may hold protected participants'
        words in clear), so every projection table in it is dropped.
        """
        if self._meta("contract") == CONTRACT:
            return
        with self._write():
            for table in self.db.table_names():
                if not table.startswith("_"):
                    self.db[table].drop(ignore=True)
            for host_table in (POSITIONS, TABLES, PROTECTION, CORRECTIONS):
                self.db.execute(f"DELETE FROM {host_table}")  # noqa: S608 (constants)
            self._set_meta("host_position", 0)
            self._set_meta("contract", CONTRACT)
            self._bump_generation()

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute(f"SELECT value FROM {META} WHERE key = ?", [key]).fetchone()  # noqa: S608
        return default if row is None else str(row[0])

    def _state(self) -> tuple[int, int, dict[str, int]]:
        """The generation, the host's position and every projection's, in one read."""
        rows = self.db.conn.execute(
            f"SELECT 0, key, value FROM {META} WHERE key IN ('generation', 'host_position')"  # noqa: S608
            f" UNION ALL SELECT 1, projection, position FROM {POSITIONS}"
        ).fetchall()
        meta = {str(key): value for kind, key, value in rows if kind == 0}
        positions = {str(name): position for kind, name, position in rows if kind == 1}
        generation = int(meta.get("generation") or 0)
        return generation, int(meta.get("host_position") or 0), positions

    def _set_meta(self, key: str, value: object) -> None:
        self.db.execute(f"INSERT OR REPLACE INTO {META} VALUES (?, ?)", [key, str(value)])  # noqa: S608

    def generation(self) -> int:
        """Bumped whenever tables are dropped (a rebuild, a version bump, a forget)."""
        return int(self._meta("generation", "0") or 0)

    def _bump_generation(self) -> None:
        self._set_meta("generation", self.generation() + 1)

    def _check_source(self, source: str) -> None:
        """Read models built from another store (or a replaced one) are rebuilt, not reused."""
        known = self._meta("source")
        if known == source:
            return
        if known is not None:
            self.reset()
        with self._write():
            self._set_meta("source", source)

    def _load_protection(self) -> Protection:
        rows = self.db.execute(
            f"SELECT hearing, participant, seq, pseudonym FROM {PROTECTION}"  # noqa: S608
        ).fetchall()
        return Protection.from_rows(rows)

    # --- tables and positions -----------------------------------------------------

    def positions(self) -> dict[str, PositionInfo]:
        rows = self.db.execute(
            f"select projection, version, position, failed_at, error from {POSITIONS}"  # noqa: S608 (constant)
        ).fetchall()
        return {r[0]: PositionInfo(*r) for r in rows}

    def owners(self) -> dict[str, tuple[str, bool]]:
        """Every projection table recorded: table -> (owning projection, personal)."""
        rows = self.db.execute(f"select [table], projection, personal from {TABLES}").fetchall()  # noqa: S608
        return {t: (p, bool(personal)) for t, p, personal in rows}

    def personal_tables(self) -> list[str]:
        """Tables that hold personal data: leave them out of anything published.

        A table is personal when its projection declared ``needs`` (it sees
        protected participants' identities or words in clear), or when it
        belongs to a projection the host no longer knows how it was built.
        """
        return sorted(t for t, (_, personal) in self.owners().items() if personal)

    def public_tables(self) -> list[str]:
        """Projection tables that hold no personal data (safe to publish with the record)."""
        return sorted(t for t, (_, personal) in self.owners().items() if not personal)

    def _set_position(self, name: str, position: int, failure: Failure | None) -> None:
        self.db.execute(
            f"update {POSITIONS} set position = ?, failed_at = ?, error = ? where projection = ?",  # noqa: S608
            [
                position,
                failure.position if failure else None,
                failure.error if failure else None,
                name,
            ],
        )

    def _set_positions(self, moved: Iterable[tuple[str, int, Failure | None]]) -> None:
        """:meth:`_set_position` for several projections, in one statement."""
        self.db.conn.executemany(
            f"update {POSITIONS} set position = ?, failed_at = ?, error = ? where projection = ?",  # noqa: S608
            [
                (position, f.position if f else None, f.error if f else None, name)
                for name, position, f in moved
            ],
        )

    def _prepare(self) -> None:
        """Refuse table clashes; create tables; rebuild any projection whose version changed."""
        known = self.positions()
        owners = self.owners()
        usable = []
        for p in self.projections:
            clash = next(
                (
                    (t, owners[t][0])
                    for t in p.tables
                    if t in owners and owners[t][0] != p.name and owners[t][0] in known
                ),
                None,
            )
            if clash is not None:
                self.failures[p.name] = (
                    f"table {clash[0]!r} belongs to projection {clash[1]!r} in this read-model "
                    "database"
                )
                continue
            info = known.get(p.name)
            with self._write():
                if info is None or info.version != p.version:
                    self._drop_tables(p.name)
                    self.db[POSITIONS].upsert(  # type: ignore[union-attr]
                        {
                            "projection": p.name,
                            "version": p.version,
                            "position": 0,
                            "failed_at": None,
                            "error": None,
                        },
                        pk="projection",
                    )
                self._create_tables(p)
            if p.name not in self.failures:
                usable.append(p)
        self.projections = usable
        self._seen_generation = self.generation()

    def _create_tables(self, p: Projection) -> None:
        for table in p.tables:
            self.db.execute(
                f"INSERT OR REPLACE INTO {TABLES} VALUES (?, ?, ?)",  # noqa: S608
                [table, p.name, int(p.personal)],
            )
        try:
            with self.db.atomic(), self.confinement.guard(frozenset(p.tables)):
                p.create_tables(self.plugin_db)
        except BaseException as e:
            self.failures[p.name] = f"create_tables raised {one_line(e)}"

    def _drop_tables(self, projection: str) -> None:
        """Drop the tables recorded as this projection's own (never another's)."""
        for table, (owner, _) in self.owners().items():
            if owner == projection:
                self.db[table].drop(ignore=True)
                self.db.execute(f"DELETE FROM {TABLES} WHERE [table] = ?", [table])  # noqa: S608
        self._bump_generation()

    def reset(self) -> None:
        """Drop every projection's tables and the host's state: the next catch-up rebuilds all."""
        with self._write():
            for p in self.projections:
                self._drop_tables(p.name)
                self._create_tables(p)
                self._set_position(p.name, 0, None)
            self._reset_host()
        self._seen_generation = self.generation()

    def _reset_host(self) -> None:
        self.db.execute(f"DELETE FROM {CORRECTIONS}")  # noqa: S608
        if self._fixed_protection is None:
            self.db.execute(f"DELETE FROM {PROTECTION}")  # noqa: S608
            self.protection = Protection()
        self._set_meta("host_position", 0)

    def forget_personal(self) -> list[str]:
        """Drop every personal table, loaded projection or not; return their names.

        Their projections start again from the beginning of the log the next
        time they run (with the key destroyed, what they see is withheld).
        Nothing else holds a protected participant's name or words: shielded
        tables hold pseudonyms and sealed envelopes only.
        """
        dropped = self.personal_tables()
        with self._write():
            owners = {owner for t, (owner, _) in self.owners().items() if t in dropped}
            for table in dropped:
                self.db[table].drop(ignore=True)
                self.db.execute(f"DELETE FROM {TABLES} WHERE [table] = ?", [table])  # noqa: S608
            for owner in owners:
                self.db.execute(f"DELETE FROM {POSITIONS} WHERE projection = ?", [owner])  # noqa: S608
            self._bump_generation()
        self.db.execute("VACUUM")  # no stale pages with their words in the file
        if str(self.path) != ":memory:":
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    # --- feeding ------------------------------------------------------------------

    def start(self) -> int:
        """The lowest position any projection still needs events after."""
        positions = self.positions()
        return min(
            (positions[p.name].position if p.name in positions else 0 for p in self.projections),
            default=0,
        )

    def types(self) -> frozenset[str] | None:
        """The event types to read from the store (None: every type)."""
        wanted: set[str] = set(HOST_TYPES)
        for p in self.projections:
            if not p.types:
                return None
            wanted |= p.types
        return frozenset(wanted)

    def catch_up(
        self,
        read: Reader,
        *,
        head: int | None = None,
        lookup: Lookup | None = None,
        batch: int = BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> list[Failure]:
        """Feed each projection the events after its position, up to ``head``, page by page.

        ``read(after, upto, types)`` gives the stored events; ``head`` is the
        log's last position (every projection that did not fail ends there,
        even when the last events were of types nobody takes); ``lookup(hearing,
        seq)`` gives one stored record (what a correction corrects).  Starts
        again from the new positions when the host has to rebuild projections
        (a correction protected someone they had already seen) or another
        process dropped tables meanwhile.
        """
        while True:
            failures, restart = self._catch_up_once(read, head, lookup, batch, progress)
            if not restart:
                return failures
            self._reopen()

    def feed(
        self,
        events: Iterable[RecordedEvent],
        *,
        batch: int = BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> list[Failure]:
        """Feed stored events given in log order (a test's list, a hearing's records).

        Records fed earlier are remembered, so that a correction fed later is
        resolved against what it corrects, as :meth:`catch_up` does with the store.
        """
        listed = list(events)
        by_seq = self._fed
        by_seq.update({(e.hearing, e.seq): e.record for e in listed})

        def read(
            after: int, upto: int | None, types: frozenset[str] | None
        ) -> Iterator[RecordedEvent]:
            return (
                e
                for e in listed
                if e.position > after
                and (upto is None or e.position <= upto)
                and (types is None or e.type in types)
            )

        head = max((e.position for e in listed), default=None)
        return self.catch_up(
            read, head=head, lookup=lambda h, s: by_seq.get((h, s)), batch=batch, progress=progress
        )

    def _reopen(self) -> None:
        """After another process (or the host) dropped tables: recreate and reload."""
        self._prepare()
        if self._fixed_protection is None:
            self.protection = self._load_protection()

    def _catch_up_once(
        self,
        read: Reader,
        head: int | None,
        lookup: Lookup | None,
        batch: int,
        progress: Callable[[int], None] | None,
    ) -> tuple[list[Failure], bool]:
        seen, host_position, positions = self._state()
        if seen != self._seen_generation:
            self._reopen()  # another process dropped tables (a forget, a rebuild)
            _, host_position, positions = self._state()
        generation = self._seen_generation
        for p in self.projections:
            positions.setdefault(p.name, 0)
        failed: dict[str, Failure] = {}
        start = min([positions[p.name] for p in self.projections] + [host_position])
        for page in _pages(read(start, head, self.types()), batch):
            # One transaction per page for the host and all projections (one commit);
            # each projection has its own savepoint, so one that fails is rolled back
            # alone, with its position, and the others commit.
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                seen, stored_host, stored = self._state()  # one read, inside the lock
                if seen != generation:
                    self.db.conn.execute("ROLLBACK")
                    return list(failed.values()), True
                host_position = self._fed_elsewhere(positions, host_position, stored_host, stored)
                views = _Views(self, page, host_position, lookup)
                host_position, rebuild = views.advance_host()
                if rebuild is not None:
                    self._rebuild_after(rebuild, positions)
                    self.db.conn.execute("COMMIT")
                    return list(failed.values()), True
                moved: list[tuple[str, int, Failure | None]] = []
                for p in self.projections:
                    if p.name in failed:
                        continue
                    fed = self._feed_one(p, views, positions)
                    if fed is not None:
                        moved.append((p.name, *fed))
                        if fed[1] is not None:
                            failed[p.name] = fed[1]
                self._set_positions(moved)
                self.db.conn.execute("COMMIT")
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            if progress is not None:
                progress(len(page))
        behind = host_position < head if head is not None else False
        behind = behind or any(
            p.name not in failed and positions[p.name] < (head or 0) for p in self.projections
        )
        if head is not None and behind:  # else nothing to write: no second transaction
            self._advance_to(head, generation, positions, failed)
        return list(failed.values()), False

    def _advance_to(
        self, head: int, generation: int, positions: dict[str, int], failed: dict[str, Failure]
    ) -> None:
        """Past the last events read, up to ``head``: none of them was of a type anyone takes."""
        with self._write():
            if self.generation() != generation:
                return
            if int(self._meta("host_position", "0") or 0) < head:
                self._set_meta("host_position", head)
            for p in self.projections:
                if p.name not in failed and positions[p.name] < head:
                    self._set_position(p.name, head, None)
                    positions[p.name] = head

    def _rebuild_after(self, position: int, positions: dict[str, int]) -> None:
        """A correction protected someone registered at ``position``: rebuild shielded
        projections that have already seen them in clear."""
        for p in self.projections:
            if IDENTITIES not in p.needs and positions[p.name] >= position:
                self._drop_tables(p.name)
                self._set_position(p.name, 0, None)

    def _fed_elsewhere(
        self,
        positions: dict[str, int],
        host_position: int,
        stored_host: int,
        stored: Mapping[str, int],
    ) -> int:
        """Catch up with what another process fed since ``positions`` were read: given the
        positions read again inside the page's write transaction (so nothing moves while
        this one feeds), raise ``positions`` in place and return the host's position.
        Without this, two catch-ups started together would both feed the events between
        them."""
        for name, position in stored.items():
            if name in positions and position > positions[name]:
                positions[name] = position
        if stored_host > host_position and self._fixed_protection is None:
            self.protection = self._load_protection()  # registrations the other one saw
        return max(host_position, stored_host)

    def _feed_one(
        self, p: Projection, views: _Views, positions: dict[str, int]
    ) -> tuple[int, Failure | None] | None:
        """Feed one page to one projection; return its new position and failure, if any
        (the caller writes positions in the page's transaction: they commit together).

        The whole page runs under one savepoint and one guard; only if it raises
        is the page rolled back and replayed event by event, to keep everything
        before the failing event and say exactly which it was.
        """
        last = views.stored[-1].position if views.stored else 0
        if last <= positions[p.name]:
            return None
        failure = None
        try:
            todo = views.page_for(p, positions[p.name])
        except BaseException as e:  # a plugin's wants() raised: that plugin's failure
            first = next(ev.position for ev in views.stored if ev.position > positions[p.name])
            return positions[p.name], Failure(p.name, first, one_line(e))
        try:
            if todo.events:
                with self._savepoint(), self.confinement.guard(frozenset(p.tables)):
                    p.handle_page(todo, self.plugin_db)
            position = last
        except BaseException:
            position, failure = self._feed_each(p, todo, positions[p.name], last)
        positions[p.name] = position
        return position, failure

    def _feed_each(
        self, p: Projection, page: Page, position: int, last: int
    ) -> tuple[int, Failure | None]:
        for event in page.events:
            one = Page((event,), {k: v for k, v in page.corrections.items() if k == event.position})
            try:
                with self._savepoint(), self.confinement.guard(frozenset(p.tables)):
                    p.handle_page(one, self.plugin_db)
            except BaseException as e:
                return position, Failure(p.name, event.position, one_line(e))
            position = event.position
        return last, None

    # --- reports ------------------------------------------------------------------

    def reveal(self, hearing: str, field: str, value: Any) -> Any:
        """Open sealed words for a report (withheld where the key is gone or unknown)."""
        return revealer(self.keys)(hearing, field, value)

    def render(
        self, projection: Projection, request: ReportRequest
    ) -> str | RenderableType | Report:
        """Render a report of one projection, read-only; a plugin's failure raises PluginError."""
        request = attrs.evolve(request, reveal=self.reveal)
        self.db.conn.execute("BEGIN")  # one snapshot; rolled back, whatever the plugin tried
        try:
            with self.confinement.guard(frozenset(), read_only=True):
                result = projection.render(self.plugin_db, request)
        except BaseException as e:
            raise PluginError(
                f"projection {projection.name!r} failed to render: {one_line(e)}"
            ) from None
        finally:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
        content = result.content if isinstance(result, Report) else result
        exit_code = result.exit_code if isinstance(result, Report) else 0
        empty = content is None or (isinstance(content, str) and not content.strip())
        if empty and exit_code == 0:  # never a quiet success with nothing to show
            raise PluginError(f"projection {projection.name!r} rendered nothing")
        return result

    def close(self) -> None:
        self.db.conn.close()


def revealer(keys: KeyStore | None) -> Callable[[str, str, Any], Any]:
    """``reveal(hearing, field, value)`` opening envelopes with ``keys`` (a string, or a list
    or mapping of them; other values as they are), :data:`WITHHELD` where no key opens one."""
    from hearing_core.projection import _withhold
    from hearing_core.protection import is_envelope

    if keys is None:
        return _withhold

    def reveal(hearing: str, field: str, value: Any) -> Any:
        if isinstance(value, str):
            return open_value(keys, hearing, field, value) if is_envelope(value) else value
        if isinstance(value, list | tuple):
            return [reveal(hearing, field, v) for v in value]
        if isinstance(value, Mapping):
            return {k: reveal(hearing, field, v) for k, v in value.items()}
        return value

    return reveal


# --- what one page looks like to each projection ------------------------------------------


class _Views:
    """One page of stored events, and the shielded views of it each projection receives."""

    def __init__(
        self,
        models: ReadModels,
        stored: list[RecordedEvent],
        host_position: int,
        lookup: Lookup | None,
    ) -> None:
        self.models = models
        self.stored = stored
        self.host_position = host_position
        self.lookup = lookup
        self._positions = [e.position for e in stored]
        self._types = [e.type for e in stored]
        self._resolved: dict[int, Resolved] = {}
        self._cache: dict[tuple[bool, bool], list[tuple[RecordedEvent, Correction | None]]] = {}
        self._pages: dict[tuple[Any, ...], Page] = {}

    def advance_host(self) -> tuple[int, int | None]:
        """Bring the host's state past this page; return its position and, if a correction
        protected someone, the position from which shielded projections must be rebuilt."""
        db = self.models.db
        protection = self.models.protection
        fixed = self.models._fixed_protection is not None
        position = self.host_position
        rebuild: int | None = None
        registered_rows: list[tuple[str, str, int, int, str | None]] = []  # written in one go

        def write_registrations() -> None:
            db.conn.executemany(
                f"INSERT OR REPLACE INTO {PROTECTION} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
                registered_rows,
            )
            registered_rows.clear()

        for event in self.stored:
            record = event.record
            if record["type"] == CORRECTION:
                self._resolved[event.position] = self._resolve(event, event.position > position)
            if event.position <= position:
                continue
            newly = None if fixed else protection.observe(record)
            if record["type"] == "ParticipantRegistered" and not fixed:
                hearing, pid = record["hearing"], record["participant"]
                label = protection.pseudonym(hearing, pid)
                registered_rows.append((hearing, pid, record["seq"], event.position, label))
            if newly is not None:
                write_registrations()
                hearing = record["hearing"]
                self._set_pseudonym(hearing, newly, protection.pseudonym(hearing, newly))
                row = db.execute(
                    f"SELECT position FROM {PROTECTION} WHERE hearing = ? AND participant = ?",  # noqa: S608
                    [hearing, newly],
                ).fetchone()
                registered = int(row[0]) if row and row[0] is not None else 0
                rebuild = registered if rebuild is None else min(rebuild, registered)
            position = event.position
        write_registrations()
        if self.stored:
            position = max(position, self.stored[-1].position)
        self.models._set_meta("host_position", position)
        return position, rebuild

    def _set_pseudonym(self, hearing: str, participant: str, label: str | None) -> None:
        self.models.db.execute(
            f"UPDATE {PROTECTION} SET pseudonym = ? WHERE hearing = ? AND participant = ?",  # noqa: S608
            [label, hearing, participant],
        )

    def _resolve(self, event: RecordedEvent, new: bool) -> Resolved:
        db = self.models.db
        hearing, seq = event.hearing, event.seq
        if not new:
            row = db.execute(
                f"SELECT target_type, target_seq, before, after, record FROM {CORRECTIONS}"  # noqa: S608
                " WHERE hearing = ? AND seq = ?",
                [hearing, seq],
            ).fetchone()
            if row is not None:
                return Resolved(
                    row[0], row[1], json.loads(row[2]), json.loads(row[3]), json.loads(row[4])
                )
        target_seq = event["corrects"]
        row = db.execute(
            f"SELECT record FROM {CORRECTIONS} WHERE hearing = ? AND target_seq = ? AND seq < ?"  # noqa: S608
            " ORDER BY seq DESC LIMIT 1",
            [hearing, target_seq, seq],
        ).fetchone()
        if row is not None:
            target: Mapping[str, Any] | None = json.loads(row[0])
        else:
            target = self.lookup(hearing, target_seq) if self.lookup else None
        if target is None:
            target = {"type": "", "hearing": hearing, "seq": target_seq}
        target = {k: v for k, v in target.items() if k != "digest"}
        resolved = resolve(event.record, target)
        db.execute(
            f"INSERT OR REPLACE INTO {CORRECTIONS} VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [
                hearing,
                seq,
                resolved.target_seq,
                resolved.target_type,
                json.dumps(resolved.before, ensure_ascii=False),
                json.dumps(resolved.after, ensure_ascii=False),
                json.dumps(resolved.record, ensure_ascii=False),
            ],
        )
        return resolved

    def page_for(self, p: Projection, after: int) -> Page:
        """The page projection ``p`` receives: the events after position ``after`` of the
        types it takes, in the variant its ``needs`` call for.  Projections asking for the
        same share one page (a page is read-only, like the records in it)."""
        identities, words = IDENTITIES in p.needs, WORDS in p.needs
        first = bisect.bisect_right(self._positions, after)
        custom = type(p).wants is not Projection.wants
        # A plugin may declare ``types`` as a plain set, or be unhashable itself.
        key = (identities, words, id(p) if custom else frozenset(p.types), first)
        page = self._pages.get(key)
        if page is None:
            views = self._variant(identities, words)[first:]
            types = self._types[first:]
            if custom:
                chosen = [v for v, t in zip(views, types, strict=True) if p.wants(t)]
            elif p.types:
                wanted = p.types
                chosen = [v for v, t in zip(views, types, strict=True) if t in wanted]
            else:
                chosen = views
            page = Page(
                tuple(event for event, _ in chosen),
                MappingProxyType({event.position: c for event, c in chosen if c is not None}),
            )
            self._pages[key] = page
        return page

    def _variant(
        self, identities: bool, words: bool
    ) -> list[tuple[RecordedEvent, Correction | None]]:
        """Every event of the page as shielded for these needs (in page order)."""
        key = (identities, words)
        if key not in self._cache:
            protection, keys = self.models.protection, self.models.keys
            out: list[tuple[RecordedEvent, Correction | None]] = []
            for e in self.stored:
                if e.type == CORRECTION:
                    shown, parts = shield_correction(
                        e.record,
                        self._resolved[e.position],
                        protection,
                        identities=identities,
                        words=words,
                        keys=keys,
                    )
                    event = RecordedEvent(e.position, shown)
                    resolved = self._resolved[e.position]
                    out.append(
                        (
                            event,
                            Correction(
                                event=event,
                                target_type=resolved.target_type,
                                target_seq=resolved.target_seq,
                                before=parts["before"],
                                after=parts["after"],
                                reason=parts["reason"],
                                record=parts["record"],
                            ),
                        )
                    )
                elif not (identities or words) and not touches_protected(e.record, protection):
                    # Shown as stored (nothing to shield): no copy, no deep freeze again.
                    out.append((e, None))
                else:
                    view = shield(
                        e.record, protection, identities=identities, words=words, keys=keys
                    )
                    out.append((RecordedEvent(e.position, view), None))
            self._cache[key] = out
        return self._cache[key]


# --- containing plugins --------------------------------------------------------------------

_WRITES_ON_ARG1 = {
    sqlite3.SQLITE_INSERT,
    sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_DELETE,
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_ANALYZE,
}
_WRITES_ON_ARG2 = {
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_DROP_INDEX,
    sqlite3.SQLITE_ALTER_TABLE,
}
_ALWAYS_DENIED = {
    sqlite3.SQLITE_ATTACH,
    sqlite3.SQLITE_DETACH,
    sqlite3.SQLITE_TRANSACTION,  # BEGIN, COMMIT, ROLLBACK: the host owns transactions
    sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
    sqlite3.SQLITE_DROP_TRIGGER,
    sqlite3.SQLITE_DROP_TEMP_TRIGGER,
    sqlite3.SQLITE_CREATE_VIEW,
    sqlite3.SQLITE_CREATE_TEMP_VIEW,
    sqlite3.SQLITE_DROP_VIEW,
    sqlite3.SQLITE_DROP_TEMP_VIEW,
    sqlite3.SQLITE_CREATE_TEMP_TABLE,
    sqlite3.SQLITE_DROP_TEMP_TABLE,
    sqlite3.SQLITE_CREATE_TEMP_INDEX,
    sqlite3.SQLITE_DROP_TEMP_INDEX,
    sqlite3.SQLITE_CREATE_VTABLE,
    sqlite3.SQLITE_DROP_VTABLE,
}
#: Pragmas that only describe the schema (sqlite-utils reads them); every other is denied.
_INFO_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
}
_READ_PRAGMAS = {"foreign_keys", "legacy_alter_table", "defer_foreign_keys", "journal_mode"}
_INTERNAL = {
    "sqlite_master",
    "sqlite_schema",
    "sqlite_temp_master",
    "sqlite_sequence",
    "sqlite_stat1",
}


class _Guard:
    """While active, the connection may write only ``tables`` (or nothing, ``read_only``),
    and may never attach, use pragmas that change anything, make triggers or views,
    or begin and end transactions."""

    def __init__(
        self, confinement: _Confinement, tables: frozenset[str], *, read_only: bool = False
    ) -> None:
        self.confinement = confinement
        self.tables = tables
        self.read_only = read_only

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, dbname: str | None, _: str | None
    ) -> int:
        if action in _ALWAYS_DENIED:
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _INFO_PRAGMAS or (name in _READ_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
            return sqlite3.SQLITE_DENY
        target = arg1 if action in _WRITES_ON_ARG1 else arg2 if action in _WRITES_ON_ARG2 else None
        if target is None and action not in _WRITES_ON_ARG1 | _WRITES_ON_ARG2:
            return sqlite3.SQLITE_OK
        if dbname not in (None, "main"):
            return sqlite3.SQLITE_DENY
        if self.read_only:
            return sqlite3.SQLITE_DENY
        if target in self.tables:
            return sqlite3.SQLITE_OK
        if target in _INTERNAL and action in (
            sqlite3.SQLITE_INSERT,
            sqlite3.SQLITE_UPDATE,
            sqlite3.SQLITE_DELETE,
            sqlite3.SQLITE_ANALYZE,
        ):
            return sqlite3.SQLITE_OK  # SQLite's own bookkeeping while creating allowed tables
        return sqlite3.SQLITE_DENY

    def __enter__(self) -> None:
        self.confinement.enter(self)

    def __exit__(self, *exc: object) -> None:
        self.confinement.leave()


class _Confinement:
    """The read-model connection's one authorizer, installed once: it allows everything
    while the host runs and applies the active guard's rules while a plugin runs.

    SQLite authorizes a statement when it prepares it, and the connection's statement
    cache reuses prepared statements by their text.  Switching authorizers expires every
    prepared statement (each catch-up re-prepared all of them, host's and plugins');
    instead, every statement a plugin runs starts with a comment naming the rules it
    runs under (``tag``), so it is cached apart from the host's statements and from
    other rules' (another plugin's tables, rendering): a plugin can never run a statement
    approved for the host or for different rules, and reuses only its own.
    """

    #: What a plugin's statements start with when no guard is active (never the host's).
    UNGUARDED = "/* plugin */ "

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.active: _Guard | None = None
        self.tag = self.UNGUARDED
        self._tags: dict[tuple[frozenset[str], bool], str] = {}
        conn.set_authorizer(self._authorize)

    def guard(self, tables: frozenset[str], *, read_only: bool = False) -> _Guard:
        """A guard confining the connection to ``tables`` (or to reading) while active."""
        return _Guard(self, tables, read_only=read_only)

    def enter(self, guard: _Guard) -> None:
        if self.active is not None:
            raise PluginError("a plugin's guard is already active")
        rules = (guard.tables, guard.read_only)
        tag = self._tags.get(rules)
        if tag is None:  # the same rules decide the same way: one tag per set of rules
            tag = self._tags[rules] = f"/* plugin {len(self._tags) + 1} */ "
        self.active, self.tag = guard, tag

    def leave(self) -> None:
        self.active, self.tag = None, self.UNGUARDED

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, dbname: str | None, src: str | None
    ) -> int:
        guard = self.active
        if guard is None:
            return sqlite3.SQLITE_OK
        return guard._authorize(action, arg1, arg2, dbname, src)


class _PluginCursor:
    """A cursor whose ``connection`` is the plugin's connection, never the raw one."""

    __slots__ = ("_cursor", "connection")

    def __init__(self, cursor: sqlite3.Cursor, connection: _PluginConnection) -> None:
        self._cursor = cursor
        self.connection = connection

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cursor.fetchmany(size)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def execute(self, sql: str, parameters: Any = ()) -> _PluginCursor:
        self._cursor.execute(self.connection._tagged(sql), parameters)
        return self

    def executemany(self, sql: str, parameters: Any) -> _PluginCursor:
        self._cursor.executemany(self.connection._tagged(sql), parameters)
        return self


class _PluginConnection:
    """What a plugin's ``db.conn`` is: queries only.  No ``set_authorizer``, no commit or
    rollback, no ``executescript`` (it commits), no extensions, no closing."""

    __slots__ = ("__confinement", "__raw")

    def __init__(self, raw: sqlite3.Connection, confinement: _Confinement) -> None:
        self.__raw = raw
        self.__confinement = confinement

    def _tagged(self, sql: str) -> str:
        """``sql`` as run: tagged with the active rules (see :class:`_Confinement`)."""
        return self.__confinement.tag + sql

    def execute(self, sql: str, parameters: Any = ()) -> _PluginCursor:
        return _PluginCursor(self.__raw.execute(self._tagged(sql), parameters), self)

    def executemany(self, sql: str, parameters: Any) -> _PluginCursor:
        return _PluginCursor(self.__raw.executemany(self._tagged(sql), parameters), self)

    def cursor(self) -> _PluginCursor:
        return _PluginCursor(self.__raw.cursor(), self)

    @property
    def in_transaction(self) -> bool:
        return self.__raw.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self.__raw.isolation_level

    @property
    def total_changes(self) -> int:
        return self.__raw.total_changes

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a projection's database connection has no {name!r}")


def _plugin_database(db: sqlite_utils.Database, confinement: _Confinement) -> sqlite_utils.Database:
    """A sqlite-utils Database over the same connection, for plugins, without the raw one."""
    plugin_db = sqlite_utils.Database.__new__(sqlite_utils.Database)
    plugin_db.__dict__.update(db.__dict__)
    plugin_db.conn = _PluginConnection(db.conn, confinement)  # type: ignore[assignment]
    return plugin_db


def _pages(events: Iterable[RecordedEvent], size: int) -> Iterator[list[RecordedEvent]]:
    page: list[RecordedEvent] = []
    for event in events:
        page.append(event)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
