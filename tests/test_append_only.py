"""The append-only guard holds: no SQL path through the recorder's tables changes a stored row.

SQLite: every conflict clause (``INSERT OR REPLACE``, ``REPLACE INTO``, UPSERT,
``OR IGNORE/ABORT/FAIL/ROLLBACK``, ``ON CONFLICT DO NOTHING``) against every guarded
table (the events and the archive chain's links) is refused, and the rows stay
byte-identical; a store made before these guards gets them when it is next opened.
PostgreSQL: ``UPDATE``, ``DELETE``, ``TRUNCATE`` and UPSERT on the events and the links
are refused.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import (
    SAMPLE,
    TEST_WRITER,
    as_role,
    ensure_role,
    fresh_postgres_schema,
    postgres_admin,
)
from hearing_core.archive import open_archive
from hearing_core.cli import cli
from hearing_core.domain import hearing_id
from hearing_core.interchange import read_lines

#: The guarded SQLite tables: name -> (its key columns, its other columns).
SQLITE_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stored_events": (("originator_id", "originator_version"), ("topic", "state")),
    "archive_links": (("notification_id",), ("link",)),
}

#: Every way an INSERT can meet an existing row.  ``{t}`` the table, ``{cols}``/``{vals}``
#: the row (its key kept, its other columns changed), ``{set}`` an UPSERT's assignment,
#: ``{key}`` the key columns, ``{rowcols}``/``{rowvals}`` a new key on an existing rowid.
CONFLICTS = {
    "insert-or-replace": "INSERT OR REPLACE INTO {t} ({cols}) VALUES ({vals})",
    "replace-into": "REPLACE INTO {t} ({cols}) VALUES ({vals})",
    "insert-or-ignore": "INSERT OR IGNORE INTO {t} ({cols}) VALUES ({vals})",
    "insert-or-abort": "INSERT OR ABORT INTO {t} ({cols}) VALUES ({vals})",
    "insert-or-fail": "INSERT OR FAIL INTO {t} ({cols}) VALUES ({vals})",
    "insert-or-rollback": "INSERT OR ROLLBACK INTO {t} ({cols}) VALUES ({vals})",
    "upsert-do-update": "INSERT INTO {t} ({cols}) VALUES ({vals}) ON CONFLICT DO UPDATE SET {set}",
    "upsert-key-do-update": (
        "INSERT INTO {t} ({cols}) VALUES ({vals}) ON CONFLICT ({key}) DO UPDATE SET {set}"
    ),
    "upsert-do-nothing": "INSERT INTO {t} ({cols}) VALUES ({vals}) ON CONFLICT DO NOTHING",
    "replace-on-rowid": "INSERT OR REPLACE INTO {t} ({rowcols}) VALUES ({rowvals})",
    "upsert-on-rowid": (
        "INSERT INTO {t} ({rowcols}) VALUES ({rowvals}) ON CONFLICT (rowid) DO UPDATE SET {set}"
    ),
    "update-or-replace": "UPDATE OR REPLACE {t} SET {set_plain} WHERE rowid = {rowid}",
}


def run(store: str, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", store, *args], input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def imported_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding the sample (made once; each test works on a copy)."""
    path = tmp_path_factory.mktemp("original") / "hearings.db"
    app = open_archive(str(path))
    try:
        with SAMPLE.open("rb") as stream:
            app.import_records(
                (str(SAMPLE), line, record) for line, record in read_lines(stream, str(SAMPLE))
            )
    finally:
        app.close()
    return path


@pytest.fixture
def sqlite_store(imported_store: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    folder.mkdir()
    for f in imported_store.parent.glob(imported_store.name + "*"):
        shutil.copy2(f, folder / f.name)
    return folder / imported_store.name


def table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every guarded table, with its rowid, as stored (bytes as bytes)."""
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall()
            for t in SQLITE_TABLES
        }
    finally:
        conn.close()


def conflicting_statement(conn: sqlite3.Connection, table: str, clause: str) -> tuple[str, list]:
    """``clause`` aimed at the 5th row of ``table``: same key (or same rowid), other values."""
    key, other = SQLITE_TABLES[table]
    cols = key + other
    row = conn.execute(
        f"SELECT rowid, {', '.join(cols)} FROM {table} ORDER BY rowid LIMIT 1 OFFSET 4"
    ).fetchone()
    rowid, values = row[0], list(row[1:])
    changed = [*values[: len(key)], *(_changed(v) for v in values[len(key) :])]
    if table == "stored_events":  # a new key on the existing rowid (its notification id)
        rowcols = ("rowid", *cols)
        rowvals = [rowid, "f" * 32, 1, *changed[len(key) :]]
    else:  # notification_id is the rowid
        rowcols, rowvals = cols, changed
    assignment = ", ".join(f"{c} = excluded.{c}" for c in other)
    statement = CONFLICTS[clause].format(
        t=table,
        cols=", ".join(cols),
        vals=", ".join("?" * len(cols)),
        key=", ".join(key),
        set=assignment,
        set_plain=", ".join(f"{c} = ?" for c in other),
        rowid=rowid,
        rowcols=", ".join(rowcols),
        rowvals=", ".join("?" * len(rowcols)),
    )
    if clause in ("replace-on-rowid", "upsert-on-rowid"):
        return statement, rowvals
    if clause == "update-or-replace":
        return statement, changed[len(key) :]
    return statement, changed


def _changed(value: Any) -> Any:
    if isinstance(value, bytes):
        return value + b" "
    return f"{value}x"


@pytest.mark.parametrize("table", sorted(SQLITE_TABLES))
@pytest.mark.parametrize("clause", sorted(CONFLICTS))
def test_sqlite_no_conflict_clause_changes_a_stored_row(
    sqlite_store: Path, table: str, clause: str
) -> None:
    before = table_rows(sqlite_store)
    conn = sqlite3.connect(sqlite_store)
    try:
        statement, params = conflicting_statement(conn, table, clause)
        with pytest.raises(sqlite3.DatabaseError, match="the hearing record is append-only"):
            conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()
    assert table_rows(sqlite_store) == before
    code, _, err = run(str(sqlite_store), "verify")
    assert code == 0, err


def test_sqlite_guard_lets_new_rows_in(sqlite_store: Path) -> None:
    """The guard refuses overwrites only: appending (what every import does) still works."""
    conn = sqlite3.connect(sqlite_store)
    try:
        (before,) = conn.execute("SELECT count(*) FROM stored_events").fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO stored_events (originator_id, originator_version, topic, state)"
            " VALUES (?, 1, 't', x'00')",
            ("f" * 32,),
        )
        (after,) = conn.execute("SELECT count(*) FROM stored_events").fetchone()
        assert after == before + 1
        assert conn.execute(
            "SELECT state FROM stored_events WHERE originator_id = ?", ("f" * 32,)
        ).fetchone() == (b"\x00",)
        conn.rollback()
    finally:
        conn.close()


#: The guards a store made by hearing_core before the conflict guards had: these two only.
OLD_GUARDS = ("stored_events_no_update", "stored_events_no_delete")


def triggers(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    finally:
        conn.close()


def test_an_older_sqlite_store_gets_the_guards_when_opened(sqlite_store: Path) -> None:
    conn = sqlite3.connect(sqlite_store)
    for name in triggers(sqlite_store) - set(OLD_GUARDS):
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.commit()
    row = conn.execute("SELECT * FROM stored_events WHERE rowid = 5").fetchone()
    conn.close()
    assert triggers(sqlite_store) == set(OLD_GUARDS)

    app = open_archive(str(sqlite_store))  # what every writing command does first
    app.close()

    assert triggers(sqlite_store) == {
        f"{table}_{guard}"
        for table in (*SQLITE_TABLES, "hearing_store")
        for guard in ("no_update", "no_delete", "no_overwrite")
    }
    before = table_rows(sqlite_store)
    conn = sqlite3.connect(sqlite_store)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only: INSERT over an existing"):
            conn.execute("INSERT OR REPLACE INTO stored_events VALUES (?, ?, ?, ?)", row)
    finally:
        conn.close()
    assert table_rows(sqlite_store) == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE hearing_store SET id = 'store-other'",
        "DELETE FROM hearing_store",
        "INSERT INTO hearing_store VALUES ('store-other')",
        "INSERT OR REPLACE INTO hearing_store (rowid, id) SELECT rowid, 'store-other' "
        "FROM hearing_store",
    ],
)
def test_sqlite_store_id_cannot_be_changed(sqlite_store: Path, statement: str) -> None:
    """Key and read-model files are tied to the store's id: it is guarded like the log."""
    conn = sqlite3.connect(sqlite_store)
    try:
        before = conn.execute("SELECT rowid, id FROM hearing_store").fetchall()
        assert len(before) == 1
        with pytest.raises(sqlite3.DatabaseError, match="the hearing record is append-only"):
            conn.execute(statement)
        conn.commit()
        assert conn.execute("SELECT rowid, id FROM hearing_store").fetchall() == before
    finally:
        conn.close()


# --- PostgreSQL --------------------------------------------------------------------------

#: Statements that would change a stored row of a PostgreSQL table (``{t}`` the table, ``{k}``
#: its key column: PostgreSQL has no REPLACE, and an UPSERT's update is an UPDATE).
PG_CHANGES = {
    "update": "UPDATE {t} SET {k} = {k} WHERE {k} = (SELECT min({k}) FROM {t})",
    "delete": "DELETE FROM {t} WHERE {k} = (SELECT min({k}) FROM {t})",
    "truncate": "TRUNCATE {t}",
    "upsert-do-update": (
        "INSERT INTO {t} SELECT * FROM {t} ORDER BY {k} LIMIT 1 "
        "ON CONFLICT ({k}) DO UPDATE SET {k} = excluded.{k}"
    ),
}

#: The guarded PostgreSQL tables (of the store's ``hearings`` application) and a unique key.
PG_TABLES = {"hearings_events": "notification_id", "hearings_links": "notification_id"}


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[str]:
    """A PostgreSQL store holding the sample (one per module: every change is refused)."""
    with fresh_postgres_schema() as url:
        app = open_archive(url)
        try:
            with SAMPLE.open("rb") as stream:
                app.import_records(
                    (str(SAMPLE), line, record) for line, record in read_lines(stream, str(SAMPLE))
                )
        finally:
            app.close()
        yield url


def pg_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    schema = url.rsplit("schema=", 1)[1]
    with postgres_admin() as conn:
        return {
            t: conn.execute(f'SELECT * FROM "{schema}".{t} ORDER BY {k}').fetchall()
            for t, k in PG_TABLES.items()
        }


@pytest.mark.postgres
@pytest.mark.parametrize("table", sorted(PG_TABLES))
@pytest.mark.parametrize("change", sorted(PG_CHANGES))
def test_postgres_no_statement_changes_a_stored_row(
    postgres_store: str, table: str, change: str
) -> None:
    import psycopg

    before = pg_rows(postgres_store)
    schema = postgres_store.rsplit("schema=", 1)[1]
    statement = PG_CHANGES[change].format(t=f'"{schema}".{table}', k=PG_TABLES[table])
    with postgres_admin() as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute(statement)
    assert pg_rows(postgres_store) == before
    code, _, err = run(postgres_store, "verify")
    assert code == 0, err


# --- PostgreSQL: a writer role that may only INSERT and SELECT ----------------------------

#: The role the owner grants in these tests (the one every PostgreSQL test records as).
WRITER = TEST_WRITER
#: A second role, granted read-only.
READER = "hearing_test_reader"


@pytest.fixture
def writer_store(postgres_owner_url: str) -> str:
    """A store set up by its owner, who granted WRITER: the URL connecting as WRITER."""
    ensure_role(WRITER)
    code, out, err = run(postgres_owner_url, "grant", WRITER)  # as the owner
    assert code == 0, err
    assert out.startswith(f"{WRITER} may now record in (INSERT and SELECT only) postgresql://")
    url = as_role(postgres_owner_url, WRITER)
    code, _, err = run(url, "import", str(SAMPLE))
    assert code == 0, err
    return url


def connect_as(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.split("?", 1)[0], autocommit=True)


@pytest.mark.postgres
def test_a_writer_role_records_and_verifies(writer_store: str, tmp_path: Path) -> None:
    """INSERT and SELECT are enough: import (the fixture), the live path, verify, reading."""
    schedule = tmp_path / "schedule.json"
    schedule.write_text(another_hearing().splitlines()[0], encoding="utf-8")
    code, _, err = run(writer_store, "record", "schedule", str(schedule))
    assert code == 0, err
    code, _, err = run(writer_store, "verify")
    assert code == 0, err
    code, out, err = run(writer_store, "log", "another-hearing")
    assert code == 0 and "HearingScheduled" in out, err
    with connect_as(writer_store) as conn:
        user, superuser = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert (user, superuser) == (WRITER, False)
    code, out, err = run(writer_store, "hearings")
    assert code == 0 and "imrf-2022-msh" in out and "another-hearing" in out, err


#: What an owner or superuser could do to the record, and the writer role may not.
OWNER_ONLY = {
    "disable-trigger": "ALTER TABLE {t} DISABLE TRIGGER ALL",
    "replica-role": "SET session_replication_role = replica",
    "drop-table": "DROP TABLE {t}",
    "drop-trigger": 'DROP TRIGGER "{trigger}" ON {t}',
    "replace-guard-function": (
        "CREATE OR REPLACE FUNCTION {schema}.hearing_core_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$"
    ),
    "truncate": "TRUNCATE {t}",
    "update": "UPDATE {t} SET notification_id = notification_id",
    "delete": "DELETE FROM {t}",
}


@pytest.mark.postgres
@pytest.mark.parametrize("table", sorted(PG_TABLES))
@pytest.mark.parametrize("attack", sorted(OWNER_ONLY))
def test_the_writer_role_cannot_do_what_only_an_owner_can(
    writer_store: str, table: str, attack: str
) -> None:
    import psycopg

    schema = writer_store.rsplit("schema=", 1)[1]
    statement = OWNER_ONLY[attack].format(
        t=f'"{schema}".{table}', schema=f'"{schema}"', trigger=f"{table}_no_update_delete"
    )
    before = pg_rows(writer_store)
    # Refused by PostgreSQL's privileges, before any trigger is reached.
    with (
        connect_as(writer_store) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as refused,
    ):
        conn.execute(statement)
    assert "append-only" not in str(refused.value)
    assert pg_rows(writer_store) == before
    code, _, err = run(writer_store, "verify")
    assert code == 0, err


@pytest.mark.postgres
def test_a_read_only_role_reads_and_cannot_insert(postgres_owner_url: str) -> None:
    import psycopg

    from hearing_core.grants import grant
    from hearing_core.store import resolve

    ensure_role(READER)
    owner = postgres_owner_url
    assert run(owner, "import", str(SAMPLE))[0] == 0
    grant(resolve(owner), READER, read_only=True)
    reader = as_role(owner, READER)
    code, _, err = run(reader, "verify")
    assert code == 0, err
    schema = owner.rsplit("schema=", 1)[1]
    with connect_as(reader) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"INSERT INTO \"{schema}\".hearings_links VALUES (999999, 'x')")
    code, _, err = run(reader, "import", "-", input=another_hearing())
    assert code == 1 and "permission denied" in err, err
    assert pg_rows(reader)["hearings_events"][-1][1] != hearing_id("another-hearing")


def another_hearing() -> str:
    """The sample's first ten records re-keyed to another hearing (digests dropped)."""
    out = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:10]:
        record = {k: v for k, v in json.loads(line).items() if k != "digest"}
        record["hearing"] = "another-hearing"
        out.append(json.dumps(record))
    return "\n".join(out) + "\n"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("role", "problem"),
    [("postgres", "is a superuser: it could switch the guards off"), ("nobody_here", "no role")],
)
def test_granting_a_superuser_or_no_role_is_refused(
    postgres_owner_url: str, role: str, problem: str
) -> None:
    from hearing_core.errors import StoreError
    from hearing_core.grants import grant
    from hearing_core.store import resolve

    with pytest.raises(StoreError, match=problem):
        grant(resolve(postgres_owner_url), role)


def test_grant_on_a_sqlite_store_is_one_line(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "hearings.db"), "grant", WRITER)
    assert code == 1
    assert err == "error: roles and grants are for PostgreSQL stores (a SQLite file has no roles)\n"


@pytest.mark.postgres
@pytest.mark.parametrize("schema", ["empty", "missing"])
def test_a_writer_cannot_open_a_store_nobody_set_up(postgres_owner_url: str, schema: str) -> None:
    """One line saying the owner sets the store up; nothing is created."""
    ensure_role(WRITER)
    url = as_role(postgres_owner_url, WRITER)
    if schema == "missing":
        url = url.rsplit("schema=", 1)[0] + "schema=nobody_made_this_one"
    before = pg_schema_objects(url)
    code, out, err = run(url, "import", str(SAMPLE))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "the store's owner sets it up" in err, err
    assert pg_schema_objects(url) == before


def pg_schema_objects(url: str) -> list[tuple[str, str]]:
    schema = url.rsplit("schema=", 1)[1]
    with postgres_admin() as conn:
        return conn.execute(
            "SELECT n.nspname, c.relname FROM pg_namespace n LEFT JOIN pg_class c"
            " ON c.relnamespace = n.oid WHERE n.nspname = %s ORDER BY 2",
            (schema,),
        ).fetchall()
