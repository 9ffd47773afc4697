"""Candidate core patches, tried on a copy: applied by monkeypatching inside a worker.

Nothing here changes src/hearing_core.  ``worker.py --patch a,b`` applies the named
patches before the measurement, so each can be compared with the unpatched core
in the same run (``benchmarks/experiments.py``).  Each function's docstring is
the patch it stands for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
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


def fast_json_value() -> None:
    """chain.to_json_value: test the common scalar types first.

    Patch: ``type(value) in (str, int, float, bool, NoneType)`` returns at once;
    datetimes, attrs objects, sequences and mappings as before (attrs field
    lists cached per class).  Used by build_record on every event read or written.
    """
    from hearing_core import chain, domain

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
        return chain.to_json_value(value)

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


def aggregate_cache_nocopy() -> None:
    """The core's aggregate cache without its copies (DEEPCOPY_FROM_AGGREGATE_CACHE=n).

    Only safe if a refused command never leaves the cached hearing half-changed
    (record() validates before triggering, so a refusal changes nothing).
    """
    _with_env({"AGGREGATE_CACHE_MAXSIZE": "100", "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"})


def snapshots() -> None:
    """Snapshot each hearing every 100 events (``snapshotting_intervals``)."""
    from hearing_core.archive import HearingArchive
    from hearing_core.domain import Hearing

    HearingArchive.snapshotting_intervals = {Hearing: 100}


PATCHES: dict[str, Callable[[], None]] = {
    "fast_validation": fast_validation,
    "fast_json_value": fast_json_value,
    "sqlite_normal": sqlite_normal,
    "aggregate_cache_nocopy": aggregate_cache_nocopy,
    "snapshots": snapshots,
}


def apply(names: str | None) -> list[str]:
    applied = []
    for name in (names or "").split(","):
        name = name.strip()
        if name:
            PATCHES[name]()
            applied.append(name)
    return applied
