"""Candidate core patches, tried on a copy: applied by monkeypatching inside a worker.

Nothing here changes src/hearing_core.  ``worker.py --patch a,b`` applies the named
patches before the measurement, so each can be compared with the unpatched core
in the same run (``benchmarks/experiments.py``).  Each function's docstring is
the patch it stands for.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs


def fast_validation() -> None:
    """catalogue.validate_record: check with a compiled validator, explain with jsonschema.

    Patch: compile each event type's schema once with fastjsonschema (pure Python,
    generates a straight-line function); only when it refuses a record, run the
    existing ``best_match(iter_errors(...))`` to produce the same message and field.
    Valid records (nearly all of them) never reach jsonschema.  Formats are not
    asserted, as today (Draft202012Validator without a format checker).
    """
    extra = os.environ.get("BENCH_SITE")
    if extra and extra not in sys.path:
        sys.path.append(extra)
    import fastjsonschema

    from hearing_core import archive, catalogue

    compiled: dict[str, Callable[[Any], Any]] = {}
    original = catalogue.validate_record

    def validate_record(record: Any) -> None:
        event_type = record.get("type") if isinstance(record, Mapping) else None
        check = compiled.get(event_type) if isinstance(event_type, str) else None
        if check is None and isinstance(event_type, str) and event_type in catalogue.schemas():
            schema = {k: v for k, v in catalogue.schemas()[event_type].items() if k != "$schema"}
            check = compiled[event_type] = fastjsonschema.compile(schema, use_formats=False)
        if check is not None:
            try:
                check(record)
                return
            except fastjsonschema.JsonSchemaException:
                pass
        original(record)  # the slow path names the field, exactly as before

    archive.validate_record = validate_record  # type: ignore[assignment]


def streaming_import() -> None:
    """HearingArchive.import_records: write as it goes, in ONE transaction (SQLite).

    (Superseded: the core now does this itself, src/hearing_core/bulk.py.  Kept for
    measuring the old all-in-memory importer against it on an older checkout.)

    Patch: open one write transaction on a dedicated connection to the store
    (``BEGIN IMMEDIATE``), and every 1,000 checked events turn the hearings'
    pending events into stored events (``mapper.to_stored_event``), insert them
    and drop them (``collect_events()``); commit once at the end, roll back on
    any refusal.  Still all or nothing, but memory no longer grows with the
    input (SQLite spills the uncommitted pages to the WAL file, not to RAM).
    Reads of hearings already in the store go through eventsourcing's own
    connection as before (WAL readers do not block on the writer); hearings in
    the input are found in ``pending``.  For PostgreSQL the same shape works with
    one pooled connection held in a transaction (LOCK TABLE once, inserts per
    batch, one COMMIT).
    """
    from hearing_core.archive import HearingArchive
    from hearing_core.errors import RecordError

    original = HearingArchive.import_records

    def import_records(
        self: HearingArchive, records: Iterable[tuple[str, int, Mapping[str, Any]]]
    ) -> int:
        if self.location.kind != "sqlite":
            return original(self, records)
        conn = sqlite3.connect(str(self.location.path), isolation_level=None, timeout=10)
        statement = "INSERT INTO stored_events VALUES (?,?,?,?)"
        pending: dict[str, Any] = {}
        count = buffered = 0

        def flush() -> None:
            rows = []
            for hearing in pending.values():
                for event in hearing.collect_events():
                    s = self.mapper.to_stored_event(event)
                    rows.append((s.originator_id.hex, s.originator_version, s.topic, s.state))
            conn.executemany(statement, rows)

        try:
            conn.execute("BEGIN IMMEDIATE")
            for source, line, record in records:
                try:
                    self._apply(pending, record)
                except RecordError as e:
                    raise e.located(source, line) from None
                count += 1
                buffered += 1
                if buffered >= 1000:
                    flush()
                    buffered = 0
            flush()
            self.keys.commit_staged()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self.keys.discard_staged()
            raise
        finally:
            conn.close()
        return count

    HearingArchive.import_records = import_records  # type: ignore[method-assign]


def import_evict() -> None:
    """HearingArchive.import_records: keep only the last few hearings in memory.

    Patch (on top of the core's one-transaction batched import, bulk.py): after
    each batch is written, drop all but the ``KEEP`` most recently used hearings
    from ``pending``.  A later record of a dropped hearing (or a progress report
    pointing at it) reloads it through the import's own cursor, which sees the
    rows written so far in the uncommitted transaction.  Today every hearing of
    the input stays in ``pending`` until the end, with its per-event state
    (``event_types``, ``actors``, ``spans``: ~100-150 KB for a 500-event hearing),
    so memory grows with the number of hearings in the input.  SQLite only here;
    PostgreSQL's bulk cursor can read its own uncommitted rows the same way.
    """
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent

    from hearing_core.archive import HearingArchive
    from hearing_core.bulk import BATCH, bulk_writer
    from hearing_core.domain import hearing_id
    from hearing_core.errors import RecordError

    keep = 16
    original = HearingArchive.import_records

    def import_records(
        self: HearingArchive, records: Iterable[tuple[str, int, Mapping[str, Any]]]
    ) -> int:
        if self.location.kind != "sqlite":
            return original(self, records)
        pending: dict[str, Any] = {}
        dropped: set[str] = set()
        batch: list[Any] = []
        count = 0
        recorder: Any = self.recorder

        def load(cursor: Any, slug: str) -> Any:
            cursor.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events"
                " WHERE originator_id=? ORDER BY originator_version",
                (hearing_id(slug).hex,),
            )
            aggregate = None
            for row in cursor.fetchall():
                stored = StoredEvent(
                    originator_id=UUID(row[0]),
                    originator_version=row[1],
                    topic=row[2],
                    state=row[3],
                )
                aggregate = self.mapper.to_domain_event(stored).mutate(aggregate)
            return aggregate

        try:
            with (
                recorder.datastore.transaction(commit=True) as cursor,
                bulk_writer_on(self, cursor) as write,
            ):
                for source, line, record in records:
                    for slug in (record.get("hearing"), record.get("pledge_hearing")):
                        if slug in dropped:
                            pending[slug] = load(cursor, slug)
                            dropped.discard(slug)
                    slug = record.get("hearing")
                    if slug in pending:  # most recently used last
                        pending[slug] = pending.pop(slug)
                    try:
                        hearing = self._apply(pending, record)
                    except RecordError as e:
                        raise e.located(source, line) from None
                    batch.append(hearing.pending_events[-1])
                    count += 1
                    if len(batch) >= BATCH:
                        self._flush(write, batch, pending)
                        for old in list(pending)[:-keep]:
                            del pending[old]
                            dropped.add(old)
                self._flush(write, batch, pending)
                self.keys.commit_staged()
        finally:
            self.keys.discard_staged()
        return count

    from contextlib import contextmanager

    @contextmanager
    def bulk_writer_on(app: Any, cursor: Any) -> Any:
        def write(events: Any) -> None:
            if events:
                stored = [app.mapper.to_stored_event(e) for e in events]
                app.recorder._insert_events(cursor, stored)

        yield write

    assert bulk_writer is not None  # the core's writer, for SQLite, is exactly this
    HearingArchive.import_records = import_records  # type: ignore[method-assign]


def fast_feed() -> None:
    """ReadModels._feed_one: one savepoint and one authorizer per page, not per event.

    Patch: run a projection's page inside the page transaction without a
    SAVEPOINT and without setting/clearing the authorizer around every event;
    if any event raises, roll the page back and run it again the current way
    (event by event, each in a savepoint) to record the exact failure.  Same
    results and the same isolation; the failure case is just slower.
    """
    from hearing_core import readmodels

    original = readmodels.ReadModels._feed_one

    class _Redo(Exception):
        pass

    def _feed_one(
        self: readmodels.ReadModels,
        p: Any,
        page: list[Any],
        positions: dict[str, int],
    ) -> Any:
        position = positions[p.name]
        try:
            with self.db.atomic():
                with self._only_tables_of(p):
                    for event in page:
                        if event.position <= position:
                            continue
                        if p.wants(event.type):
                            try:
                                p.handle(event, self.db)
                            except Exception as e:
                                raise _Redo from e
                        position = event.position
                self._set_position(p.name, position, None)
        except _Redo:
            return original(self, p, page, positions)
        positions[p.name] = position
        return None

    readmodels.ReadModels._feed_one = _feed_one  # type: ignore[method-assign]


def fast_json_value() -> None:
    """records.to_json_value: test the common scalar types first.

    Patch: ``type(value) in (str, int, float, bool, NoneType)`` returns at once;
    datetimes, attrs objects, sequences and mappings as before (attrs field
    lists cached per class).  Used by build_record on every event read or written.
    """
    from hearing_core import domain, records

    scalars = (str, int, float, bool, type(None))
    fields_of: dict[type, tuple[str, ...]] = {}

    def to_json_value(value: Any) -> Any:
        t = type(value)
        if t in scalars:
            return value
        if t is datetime:
            return value.isoformat()
        if t is list or t is tuple:
            return [to_json_value(v) for v in value]
        if t is dict:
            return {str(k): to_json_value(v) for k, v in value.items()}
        names = fields_of.get(t)
        if names is None and attrs.has(t):
            names = fields_of[t] = tuple(f.name for f in attrs.fields(t))
        if names is not None:
            return {
                n: to_json_value(getattr(value, n)) for n in names if getattr(value, n) is not None
            }
        return records.to_json_value(value)

    domain.to_json_value = to_json_value  # type: ignore[assignment]


def sqlite_normal() -> None:
    """The archive's SQLite connections: PRAGMA synchronous=NORMAL (WAL).

    Patch: eventsourcing has no setting for it, so the store would set it on the
    connections eventsourcing makes (a subclass of its SQLite datastore, or a
    ``connect`` hook).  A process crash loses nothing; a power cut may lose the
    last commits (not corrupt the file).
    """
    from eventsourcing import sqlite as es_sqlite

    original = es_sqlite.SQLiteConnectionPool._create_connection

    def _create_connection(self: Any) -> Any:
        conn = original(self)
        conn._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    es_sqlite.SQLiteConnectionPool._create_connection = _create_connection  # type: ignore[method-assign]


def _with_env(extra: dict[str, str]) -> None:
    from hearing_core import archive, store, workspace

    original = store.resolve

    def resolve(url: str | None) -> Any:
        location = original(url)
        env = dict(location.env)
        for key, value in extra.items():
            env[key] = value
            env[store.APP_NAME.upper() + "_" + key] = value
        return attrs.evolve(location, env=env)

    workspace.resolve = resolve  # type: ignore[assignment]
    archive.resolve = resolve  # type: ignore[assignment]


def aggregate_cache() -> None:
    """The live path: keep hearings in eventsourcing's aggregate cache.

    Patch: ``AGGREGATE_CACHE_MAXSIZE`` (say 100) in the store's env; fast-forward
    stays on (safe with several writers: the cached hearing is brought up to date
    from the store before each command), deep copies on (commands mutate).
    """
    _with_env({"AGGREGATE_CACHE_MAXSIZE": "100"})


def aggregate_cache_nocopy() -> None:
    """As aggregate_cache, plus DEEPCOPY_FROM_AGGREGATE_CACHE=n.

    Only safe if a refused command never leaves the cached hearing half-changed
    (record() validates before triggering, so a refusal changes nothing).
    """
    _with_env({"AGGREGATE_CACHE_MAXSIZE": "100", "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"})


def cheap_copy() -> None:
    """Hearing.__deepcopy__: copy the containers, share the (frozen) values.

    Patch: the aggregate cache deep-copies a hearing before every command so that a
    refused or unsaved command cannot corrupt the cached one; ``copy.deepcopy``
    walks every participant, segment and programme item although they are frozen
    attrs objects.  A ``__deepcopy__`` that copies the hearing's dicts and lists
    (one level) and shares their immutable values gives the same safety.  With
    ``aggregate_cache`` it makes the safe cache about as fast as no copy at all.
    """
    from hearing_core.domain import Hearing

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        new = object.__new__(type(self))
        state = self.__dict__.copy()
        for key, value in state.items():
            if type(value) in (dict, list, set):
                state[key] = value.copy()
        new.__dict__.update(state)
        return new

    Hearing.__deepcopy__ = __deepcopy__  # type: ignore[attr-defined]


def snapshots() -> None:
    """Snapshot each hearing every 100 events (``snapshotting_intervals``)."""
    from hearing_core.archive import HearingArchive
    from hearing_core.domain import Hearing

    HearingArchive.snapshotting_intervals = {Hearing: 100}


PATCHES: dict[str, Callable[[], None]] = {
    "fast_validation": fast_validation,
    "streaming_import": streaming_import,
    "import_evict": import_evict,
    "fast_feed": fast_feed,
    "fast_json_value": fast_json_value,
    "sqlite_normal": sqlite_normal,
    "aggregate_cache": aggregate_cache,
    "aggregate_cache_nocopy": aggregate_cache_nocopy,
    "snapshots": snapshots,
    "cheap_copy": cheap_copy,
}


def apply(names: str | None) -> list[str]:
    applied = []
    for name in (names or "").split(","):
        name = name.strip()
        if name:
            PATCHES[name]()
            applied.append(name)
    return applied
