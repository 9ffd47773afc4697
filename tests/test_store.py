"""The store on both backends: import and read back, all-or-nothing, the append-only guard."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import postgres_admin
from hearing_core.archive import HearingArchive, open_archive
from hearing_core.domain import event_record
from hearing_core.errors import RecordError, StoreError
from hearing_core.event_view import freeze
from hearing_core.interchange import read_lines
from hearing_core.store import connect_postgres, events_table, postgres_schema, resolve

SLUG = "imrf-2022-msh"


def import_file(archive: HearingArchive, path: Path) -> int:
    with path.open("rb") as stream:
        return archive.import_records(
            (str(path), line, record) for line, record in read_lines(stream, str(path))
        )


def sample_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def raw_rows(store_url: str) -> list[tuple[Any, ...]]:
    """Every stored event row, read straight from the database, in notification order."""
    location = resolve(store_url)
    if location.kind == "sqlite":
        assert location.path is not None
        conn = sqlite3.connect(location.path)
        try:
            return conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state"
                " FROM stored_events ORDER BY rowid"
            ).fetchall()
        finally:
            conn.close()
    table = f'"{postgres_schema(location)}"."{events_table(location)}"'
    with postgres_admin() as conn:  # the recording role may not read the sequence below
        rows: list[tuple[Any, ...]] = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            f" FROM {table} ORDER BY notification_id"
        ).fetchall()
        return rows


def fingerprint(store_url: str) -> dict[str, Any]:
    """What must not change when a write is refused."""
    rows = raw_rows(store_url)
    out: dict[str, Any] = {
        "count": len(rows),
        "max_id": rows[-1][0] if rows else None,
        "rows": rows,
    }
    location = resolve(store_url)
    if location.kind == "sqlite":
        assert location.path is not None
        files = sorted(location.path.parent.glob(location.path.name + "*"))
        out["files"] = {
            f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in files
            if not f.name.endswith("-shm")  # shared-memory index: readers touch it
        }
    else:
        with postgres_admin() as conn:
            seq = f'"{postgres_schema(location)}"."{events_table(location)}_notification_id_seq"'
            out["sequence"] = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
    return out


# --- import and read back ----------------------------------------------------------------


def test_import_sample_reads_back_line_for_line(archive: HearingArchive, sample_path: Path) -> None:
    expected = sample_records(sample_path)
    assert import_file(archive, sample_path) == len(expected) > 100

    assert list(archive.records(SLUG)) == expected
    assert list(archive.records(SLUG, upto=10)) == expected[:10]

    followed = list(archive.follow())
    assert [e.record for e in followed] == expected
    positions = [e.position for e in followed]
    assert positions == sorted(set(positions))
    assert archive.max_position() == positions[-1]
    assert [e.record for e in archive.follow(after=positions[99])] == expected[100:]


def test_follow_reads_what_the_mapper_reads(archive: HearingArchive, sample_path: Path) -> None:
    """follow() decodes straight from the stored JSON; each record is the one the mapper's
    domain event gives, key for key, in the same order, every value of the same type."""
    import_file(archive, sample_path)
    notifications = archive.recorder.select_notifications(None, 10_000)
    by_mapper = [event_record(archive.mapper.to_domain_event(n), SLUG) for n in notifications]
    followed = [e.record for e in archive.follow()]
    assert len(followed) == len(by_mapper) > 100
    for fast, slow in zip(followed, by_mapper, strict=True):
        assert list(fast.items()) == list(slow.items())
        assert [type(v) for v in fast.values()] == [type(freeze(v)) for v in slow.values()]
    # Read the short way: every event but the schedule (which the mapper checks).
    assert sum(archive._decoded(n) is not None for n in notifications) == len(notifications) - 1


def test_follow_leaves_unusual_stored_state_to_the_mapper(
    archive: HearingArchive, sample_path: Path
) -> None:
    """A stored state the short way does not read (a class version, a value object, a
    transcoding nobody registered) is the mapper's to read, or to refuse."""
    import_file(archive, sample_path)
    list(archive.follow())  # the slug of every hearing is known
    notifications = archive.recorder.select_notifications(None, 10_000)
    n = next(n for n in notifications if n.topic.endswith(".InterventionDelivered"))
    state = json.loads(n.state)
    for unusual in (
        {**state, "class_version": 2},
        {**state, "text": {"_type_": "nobody_registered_this", "_data_": "x"}},
        {**state, "text": {"_type_": "decimal_str", "_data_": "1.5"}},
    ):
        changed = type(n)(
            id=n.id,
            originator_id=n.originator_id,
            originator_version=n.originator_version,
            topic=n.topic,
            state=json.dumps(unusual).encode(),
        )
        if unusual.get("class_version"):
            assert archive._decoded(changed) is None
        elif unusual["text"]["_type_"] == "decimal_str":  # registered: read as the mapper does
            assert archive._decoded(changed) == event_record(
                archive.mapper.to_domain_event(changed), SLUG
            )
        else:
            assert archive._decoded(changed) is None
    broken = type(n)(
        id=n.id,
        originator_id=n.originator_id,
        originator_version=n.originator_version,
        topic=n.topic,
        state=b"{not json",
    )
    assert archive._decoded(broken) is None


@pytest.mark.parametrize(
    "prefix",
    [
        # orjson reads an integer beyond 64 bits as a float; the mapper keeps it exact.
        b'{"extra":123456789012345678901234567890,',
        b'{"extra":[1,123456789012345678901234567890],',
        # A duplicate key hides a value the mapper decodes (and here refuses) from orjson.
        b'{"text":{"_type_":"nobody_registered_this","_data_":1},',
        b'{"ended_at":{"_type_":"datetime_iso","_data_":"garbage"},',
    ],
)
def test_follow_never_reads_what_the_mapper_would_read_otherwise(
    archive: HearingArchive, sample_path: Path, prefix: bytes
) -> None:
    """Where orjson and the mapper's json would disagree, the mapper reads (or refuses)."""
    import_file(archive, sample_path)
    list(archive.follow())
    notifications = archive.recorder.select_notifications(None, 10_000)
    n = next(n for n in notifications if n.topic.endswith(".InterventionDelivered"))
    changed = type(n)(
        id=n.id,
        originator_id=n.originator_id,
        originator_version=n.originator_version,
        topic=n.topic,
        state=prefix + n.state[1:],
    )
    assert archive._decoded(changed) is None


def test_hearings_lists_the_imported_hearing(archive: HearingArchive, sample_path: Path) -> None:
    assert archive.hearings() == []
    import_file(archive, sample_path)
    (summary,) = archive.hearings()
    assert summary.slug == SLUG
    assert summary.title == expected_title(sample_path)
    assert summary.date == "2022-05-16"
    assert summary.events == len(sample_records(sample_path))
    assert summary.closed is True


def expected_title(sample_path: Path) -> str:
    return str(sample_records(sample_path)[0]["title"])


def test_reopened_store_reads_the_same(store_url: str, sample_path: Path) -> None:
    first = open_archive(store_url)
    try:
        import_file(first, sample_path)
    finally:
        first.close()
    second = open_archive(store_url)  # guards already there: opening again is harmless
    try:
        assert list(second.records(SLUG)) == sample_records(sample_path)
    finally:
        second.close()


# --- refusals write nothing --------------------------------------------------------------


def second_hearing_lines(sample_path: Path) -> list[dict[str, Any]]:
    """The sample's first ten records re-keyed to another hearing (digests dropped)."""
    out = []
    for record in sample_records(sample_path)[:10]:
        record = {k: v for k, v in record.items() if k != "digest"}
        record["hearing"] = "second-hearing"
        out.append(record)
    return out


@pytest.mark.parametrize("bad", ["malformed-json", "unknown-speaker", "wrong-seq"])
def test_refused_import_leaves_store_unchanged(
    archive: HearingArchive, store_url: str, sample_path: Path, tmp_path: Path, bad: str
) -> None:
    import_file(archive, sample_path)
    before = fingerprint(store_url)

    lines = [json.dumps(r) for r in second_hearing_lines(sample_path)]
    if bad == "malformed-json":
        lines.insert(7, '{"type": "PledgeMade", "hearing": ')
    elif bad == "unknown-speaker":
        lines[7] = json.dumps(
            {
                "type": "PledgeMade",
                "hearing": "second-hearing",
                "at": "2022-05-16T09:34:30-04:00",
                "by": "nobody",
                "text": "A pledge by no registered participant.",
                "gcm_objectives": [1],
                "level": "local",
            }
        )
    else:
        wrong = json.loads(lines[7])
        wrong["seq"] = 42
        lines[7] = json.dumps(wrong)
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(RecordError) as refused:
        import_file(archive, bad_file)
    assert refused.value.line == 8
    assert "\n" not in str(refused.value)

    assert fingerprint(store_url) == before
    assert not archive.exists("second-hearing")
    assert [h.slug for h in archive.hearings()] == [SLUG]


def test_second_import_of_the_same_file_is_refused(
    archive: HearingArchive, store_url: str, sample_path: Path
) -> None:
    import_file(archive, sample_path)
    before = fingerprint(store_url)
    with pytest.raises(RecordError, match="already scheduled") as refused:
        import_file(archive, sample_path)
    assert refused.value.line == 1
    assert fingerprint(store_url) == before
    assert list(archive.records(SLUG)) == sample_records(sample_path)


def test_import_continuing_at_the_wrong_seq_is_refused(
    archive: HearingArchive, store_url: str, sample_path: Path, tmp_path: Path
) -> None:
    records = sample_records(sample_path)
    head = tmp_path / "head.jsonl"
    head.write_text("".join(json.dumps(r) + "\n" for r in records[:50]), encoding="utf-8")
    import_file(archive, head)
    before = fingerprint(store_url)
    overlap = tmp_path / "overlap.jsonl"  # starts again at seq 40
    overlap.write_text("".join(json.dumps(r) + "\n" for r in records[39:]), encoding="utf-8")
    with pytest.raises(RecordError, match="expected seq 51") as refused:
        import_file(archive, overlap)
    assert refused.value.field == "seq"
    assert fingerprint(store_url) == before
    tail = tmp_path / "tail.jsonl"
    tail.write_text("".join(json.dumps(r) + "\n" for r in records[50:]), encoding="utf-8")
    assert import_file(archive, tail) == len(records) - 50
    assert list(archive.records(SLUG)) == records


# --- the append-only guard ---------------------------------------------------------------


def test_raw_update_and_delete_are_refused(
    archive: HearingArchive, store_url: str, sample_path: Path
) -> None:
    import_file(archive, sample_path)
    before = fingerprint(store_url)
    location = resolve(store_url)
    if location.kind == "sqlite":
        assert location.path is not None
        conn = sqlite3.connect(location.path)
        try:
            with pytest.raises(sqlite3.DatabaseError, match="append-only: UPDATE refused"):
                conn.execute("UPDATE stored_events SET topic = 'x' WHERE originator_version = 5")
            conn.rollback()
            with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE refused"):
                conn.execute("DELETE FROM stored_events WHERE originator_version = 2")
            conn.rollback()
        finally:
            conn.close()
    else:
        import psycopg

        table = f'"{postgres_schema(location)}"."{events_table(location)}"'
        # As the owner: the recording role may not even try (test_append_only.py); for the
        # owner, the triggers are what refuses.
        with postgres_admin() as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="UPDATE refused"):
                conn.execute(f"UPDATE {table} SET topic = 'x' WHERE originator_version = 5")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="DELETE refused"):
                conn.execute(f"DELETE FROM {table} WHERE originator_version = 2")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE refused"):
                conn.execute(f"TRUNCATE {table}")
    assert fingerprint(store_url) == before
    assert list(archive.records(SLUG)) == sample_records(sample_path)


@pytest.mark.postgres
def test_postgres_tables_live_in_the_schema_of_the_url(postgres_owner_url: str) -> None:
    store_url = postgres_owner_url
    location = resolve(store_url)
    app = open_archive(store_url)
    app.close()
    again = open_archive(store_url)
    again.close()
    with connect_postgres(location) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (postgres_schema(location),),
        ).fetchall()
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
            " ORDER BY tgname",
            (postgres_schema(location),),
        ).fetchall()
    # The store's id, its events and the archive chain.
    assert sorted(tables) == [("hearing_store",), ("hearings_events",), ("hearings_links",)]
    assert triggers == [
        ("hearings_events_no_truncate",),
        ("hearings_events_no_update_delete",),
        ("hearings_links_no_truncate",),
        ("hearings_links_no_update_delete",),
    ]


# --- store URLs --------------------------------------------------------------------------


def test_unreachable_postgres_is_a_one_line_store_error() -> None:
    with pytest.raises(StoreError) as refused:
        open_archive("postgresql://postgres@127.0.0.1:1/test")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(
        "cannot reach PostgreSQL store postgresql://postgres@127.0.0.1:1/test"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://postgres@127.0.0.1:5432/", "names no database"),
        ("postgresql://postgres@127.0.0.1:5432/test?schema=Bad-Name", "invalid schema name"),
        (
            "postgresql://postgres@127.0.0.1:5432/test?sslmode=require",
            "unknown store URL parameter",
        ),
        ("postgresql://postgres@127.0.0.1:5432/test?pool_size=lots", "whole number"),
        ("postgresql://u:secret@127.0.0.1:99999/test", "invalid port"),
    ],
)
def test_bad_postgres_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(StoreError, match=problem) as refused:
        resolve(url)
    assert "secret" not in str(refused.value)


def test_postgres_url_maps_to_eventsourcing_settings() -> None:
    location = resolve("postgresql://alice:p%40ss@db.example:6543/records?schema=s1&pool_size=3")
    env = location.env
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_DBNAME"] == "records"
    assert env["POSTGRES_HOST"] == "db.example"
    assert env["POSTGRES_PORT"] == "6543"
    assert env["POSTGRES_USER"] == "alice"
    assert env["POSTGRES_PASSWORD"] == "p@ss"
    assert env["POSTGRES_SCHEMA"] == "s1"
    assert env["POSTGRES_POOL_SIZE"] == "3"
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"
    # The application-prefixed keys win over a stray environment in eventsourcing's lookup.
    assert env["HEARINGS_POSTGRES_SCHEMA"] == "s1"
    assert "p@ss" not in location.display
    assert location.display == "postgresql://alice@db.example:6543/records?schema=s1"
    assert events_table(location) == "hearings_events"


def test_stray_prefixed_environment_does_not_redirect_the_store(
    store_url: str, monkeypatch: pytest.MonkeyPatch, sample_path: Path
) -> None:
    monkeypatch.setenv("HEARINGS_SQLITE_DBNAME", "elsewhere.db")
    monkeypatch.setenv("HEARINGS_POSTGRES_SCHEMA", "elsewhere")
    app = open_archive(store_url)
    try:
        import_file(app, sample_path)
    finally:
        app.close()
    assert len(raw_rows(store_url)) == len(sample_records(sample_path))
    assert not Path("elsewhere.db").exists()
