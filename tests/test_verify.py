"""verify trusts nothing it checks: it reads the stored bytes, never imports what the store
names, and covers every stored column that carries meaning; on both stores.

Each test alters the store beneath its guards, as an attacker with a copy of it would.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SAMPLE, TEST_WRITER, postgres_admin, postgres_test_url, with_schema
from hearing_core.cli import cli
from hearing_core.domain import hearing_id

SLUG = "imrf-2022-msh"
OTHER = "second-hearing"


def run(store: str, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["--store", store, *args], input=input, env={"HEARING_PLUGINS": "transcript"}
    )
    return result.exit_code, result.stdout, result.stderr


def second_hearing() -> str:
    """The sample again as another hearing (without digests: the import chains it afresh)."""
    lines = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.pop("digest", None)
        record["hearing"] = OTHER
        if record.get("pledge_hearing") == SLUG:
            record["pledge_hearing"] = OTHER
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n"


@pytest.fixture
def store(store_url: str) -> str:
    code, _, err = run(store_url, "import", str(SAMPLE))
    assert code == 0, err
    return store_url


@pytest.fixture
def two(store: str) -> str:
    code, _, err = run(store, "import", "-", input=second_hearing())
    assert code == 0, err
    return store


def oid(store: str, slug: str) -> str:
    """A SQL literal for the stored originator id of ``slug``'s rows on this store."""
    uid = hearing_id(slug)
    return f"'{uid}'" if store.startswith("postgresql") else f"'{uid.hex}'"


def tamper(store: str, *statements: str) -> None:
    """Run SQL beneath the append-only guards; ``{events}`` names the event table."""
    if store.startswith("postgresql"):
        schema = store.rsplit("schema=", 1)[1]
        with postgres_admin() as conn, conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")  # triggers off
            for statement in statements:
                conn.execute(statement.format(events=f'"{schema}".hearings_events'))
        return
    conn = sqlite3.connect(store)
    triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for (name,) in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    for statement in statements:
        conn.execute(statement.format(events="stored_events"))
    conn.commit()
    conn.close()


def owner_opens(store: str) -> None:
    """The store's owner opens it, creating what is missing (a dropped link table is
    back-filled).  A SQLite store's writer is its owner, so any open does this; on
    PostgreSQL the tests record as a role that may not create tables, and the owner
    opens the store with `hearing grant` (docs/postgres.md)."""
    if store.startswith("postgresql"):
        owner = with_schema(postgres_test_url(), store.rsplit("schema=", 1)[1])
        code, _, err = run(owner, "grant", TEST_WRITER)
        assert code == 0, err


def state_edit(store: str, old: str, new: str) -> str:
    """SQL that replaces text ``old`` by ``new`` inside the stored state."""
    if store.startswith("postgresql"):
        return (
            "UPDATE {events} SET state = convert_to(replace(convert_from(state, 'UTF8'), "
            f"'{old}', '{new}'), 'UTF8')"
        )
    return f"UPDATE {{events}} SET state = CAST(replace(CAST(state AS TEXT), '{old}', '{new}') AS BLOB)"


def verify_json(store: str, *args: str) -> tuple[int, dict]:
    code, out, err = run(store, "verify", *args, "--json")
    assert out, err
    return code, json.loads(out)


# --- 1. reading a store never imports what it names -------------------------------------


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A harmless importable module that leaves a marker file if anything imports it."""
    folder = tmp_path / "planted"
    folder.mkdir()
    marker = tmp_path / "IMPORTED"
    (folder / "planted_payload.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\nclass x: pass\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "planted_payload", raising=False)
    return "planted_payload:x", marker


@pytest.mark.parametrize("version", [1, 5])
def test_no_read_of_the_store_imports_a_module_its_topic_names(
    store: str, planted: tuple[str, Path], version: int
) -> None:
    topic, marker = planted
    tamper(store, f"UPDATE {{events}} SET topic = '{topic}' WHERE originator_version = {version}")

    code, doc = verify_json(store)
    assert code == 1
    broken = [h["break"] for h in doc["hearings"] if h["break"]] or [doc["archive_problem"]]
    assert broken, doc
    code, doc = verify_json(store, SLUG)
    assert code == 1
    brk = doc["hearings"][0]["break"]
    assert brk["position"] == version and brk["kind"] == "foreign" and topic in brk["detail"]

    for args in (
        ("export", SLUG),
        ("log", SLUG),
        ("show", SLUG, str(version)),
        ("report", "transcript", SLUG),
    ):
        code, _, err = run(store, *args)
        assert code == 1, (args, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert f"event {version} of" in err and "not one of the hearing event types" in err
    run(store, "hearings")  # reads only scheduling and closing rows, chosen by their topics
    assert not marker.exists()
    assert "planted_payload" not in sys.modules


def test_no_read_of_the_store_imports_the_aggregate_topic_a_first_event_names(
    store: str, planted: tuple[str, Path]
) -> None:
    topic, marker = planted
    tamper(store, state_edit(store, "hearing_core.domain:Hearing", topic))
    code, doc = verify_json(store, SLUG)
    assert code == 1 and doc["hearings"][0]["break"]["kind"] == "foreign"
    for args in (("export", SLUG), ("hearings",), ("report", "transcript", SLUG)):
        code, _, err = run(store, *args)
        assert code == 1 and "originator_topic" in err and err.count("\n") == 1, err
    assert not marker.exists()


# --- 2. every stored column that carries meaning is checked ----------------------------


def test_a_first_event_renamed_to_another_hearing_fails_verify_and_every_read(two: str) -> None:
    # Point the second hearing's first event at the first hearing: verify passed before,
    # `hearings` listed the hearing twice and the other hearing's speech joined its transcript.
    tamper(
        two,
        state_edit(two, f'"hearing":"{OTHER}"', f'"hearing":"{SLUG}"')
        + f" WHERE originator_id = {oid(two, OTHER)} AND originator_version = 1",
    )
    code, doc = verify_json(two)
    assert code == 1
    named = {h["hearing"]: h["break"] for h in doc["hearings"]}
    assert named[SLUG] is None
    assert [b for b in named.values() if b and b["position"] == 1 and SLUG in b["detail"]]
    code, doc = verify_json(two, OTHER)
    brk = doc["hearings"][0]["break"]
    assert code == 1 and brk["position"] == 1 and brk["kind"] == "changed"
    for args in (("hearings",), ("export", OTHER), ("report", "transcript", SLUG)):
        code, _, err = run(two, *args)
        assert code == 1 and "is not the hearing of this id" in err, (args, err)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('"role":"panellist"', '"role":"panellist","extra":1', "unexpected key(s) extra"),
        ('"role":"panellist",', "", "missing key(s) role"),
        ('"role":"panellist"', '"rôle":"panellist"', "unexpected key(s) rôle"),
    ],
)
def test_a_stored_key_added_removed_or_renamed_fails_verify(
    store: str, old: str, new: str, said: str
) -> None:
    tamper(store, state_edit(store, old, new) + " WHERE originator_version = 44")
    code, doc = verify_json(store, SLUG)
    brk = doc["hearings"][0]["break"]
    assert code == 1 and brk["position"] == 44 and brk["kind"] == "changed"
    assert said in brk["detail"]


def test_an_event_moved_under_another_hearings_id_fails_verify(two: str) -> None:
    tamper(
        two,
        f"UPDATE {{events}} SET originator_id = {oid(two, OTHER)}, originator_version = 126 "
        f"WHERE originator_id = {oid(two, SLUG)} AND originator_version = 125",
    )
    code, doc = verify_json(two)
    assert code == 1
    named = {h["hearing"]: h["break"] for h in doc["hearings"]}
    assert named[OTHER] is not None and named[OTHER]["position"] == 126


def test_verify_fails_on_an_empty_or_missing_store(store_url: str, tmp_path: Path) -> None:
    from hearing_core.workspace import Workspace

    ws = Workspace(store_url)  # creates the store, empty (read-only commands never do)
    ws.archive.max_position()
    ws.close()
    assert run(store_url, "hearings")[0] == 0
    code, _, err = run(store_url, "verify")
    assert code == 1 and "holds no events" in err
    missing = str(tmp_path / "nowhere.db")
    code, _, err = run(missing, "verify")
    assert code == 1 and "no store at" in err and err.count("\n") == 1
    assert not Path(missing).exists()


# --- 3-5. the archive chain and archive seals ---------------------------------------------


def links_table(store: str) -> str:
    if store.startswith("postgresql"):
        return f'"{store.rsplit("schema=", 1)[1]}".hearings_links'
    return "archive_links"


def ids_of(store: str, slug: str, since: int = 1) -> str:
    """SQL selecting the notification ids of ``slug``'s events from position ``since``."""
    column = "notification_id" if store.startswith("postgresql") else "rowid"
    return (
        f"SELECT {column} FROM {{events}} WHERE originator_id = {oid(store, slug)} "
        f"AND originator_version >= {since}"
    )


def remove(store: str, slug: str, since: int = 1, *, links: bool) -> None:
    """Delete ``slug``'s events from position ``since`` (and their archive links too)."""
    statements = []
    if links:
        statements.append(
            f"DELETE FROM {links_table(store)} WHERE notification_id IN ({ids_of(store, slug, since)})"
        )
    statements.append(
        f"DELETE FROM {{events}} WHERE originator_id = {oid(store, slug)} "
        f"AND originator_version >= {since}"
    )
    tamper(store, *statements)


@pytest.mark.parametrize("links", [False, True])
@pytest.mark.parametrize("since", [1, 100])
def test_removing_a_hearing_or_its_tail_before_the_last_fails_verify(
    two: str, links: bool, since: int
) -> None:
    # Every row of the first hearing (verify exited 0 before), or its tail.
    remove(two, SLUG, since, links=links)
    code, doc = verify_json(two)
    assert code == 1
    assert "archive chain breaks at event" in doc["archive_problem"]
    code, _, err = run(two, "verify")
    assert code == 1 and "✗ archive: the archive chain breaks" in err


def test_removing_the_last_events_but_not_their_links_fails_verify(two: str) -> None:
    remove(two, OTHER, 120, links=False)
    code, doc = verify_json(two)
    assert code == 1 and "follow the last stored event" in doc["archive_problem"]


def test_archive_seal_catches_what_verify_alone_cannot(two: str) -> None:
    code, sealed, err = run(two, "seal")
    assert code == 0, err
    assert sealed.startswith("@archive:250:")
    sealed = sealed.strip()
    assert run(two, "verify", "--seal", sealed)[0] == 0
    # Truncating the last hearing's tail, links and all, leaves a consistent archive:
    # verify alone cannot tell, the seal can (docs/security.md says so).
    remove(two, OTHER, 120, links=True)
    assert run(two, "verify")[0] == 0
    code, _, err = run(two, "verify", "--seal", sealed)
    assert code == 1 and "seal mismatch: the seal covers 250 events" in err


def test_archive_seal_catches_a_rechained_forgery(two: str) -> None:
    code, sealed, _ = run(two, "seal")
    assert code == 0
    # Remove the first hearing and the whole archive chain: it is re-chained (back-filled)
    # over what is left the next time the store is opened, so verify passes...
    tamper(two, f"DELETE FROM {{events}} WHERE originator_id = {oid(two, SLUG)}")
    tamper(two, f"DROP TABLE {links_table(two)}")
    owner_opens(two)
    assert run(two, "verify")[0] == 0
    # ...and the seal does not.
    code, _, err = run(two, "verify", "--seal", sealed.strip())
    assert code == 1 and "seal mismatch" in err


def test_corrections_of_sealed_events_recorded_after_a_seal_are_listed(two: str) -> None:
    _, archive_seal, _ = run(two, "seal")
    _, hearing_seal, _ = run(two, "seal", SLUG)
    correction = {
        "type": "CorrectionIssued",
        "hearing": SLUG,
        "at": "2024-07-01T09:00:00-04:00",
        "corrects": 14,
        "changes": {"organization": "Southern Coast Migrant Workers' Union"},
        "reason": "Forged after the seal.",
    }
    later_note = {
        "type": "PledgeProgressReported",
        "hearing": OTHER,
        "at": "2025-01-01T00:00:00+00:00",
        "pledge": 85,
        "status": "fulfilled",
    }
    lines = json.dumps(correction) + "\n" + json.dumps(later_note) + "\n"
    code, _, err = run(two, "import", "-", input=lines)
    assert code == 0, err
    code, out, _ = run(two, "verify", "--seal", archive_seal.strip())
    assert code == 0
    assert "2 events recorded since, 1 of them correcting sealed events:" in out
    assert f"{SLUG} #126 corrects sealed #14: Forged after the seal." in out
    code, out, _ = run(two, "verify", SLUG, "--seal", hearing_seal.strip())
    assert code == 0 and f"{SLUG} #126 corrects sealed #14: Forged after the seal." in out
    code, doc = verify_json(two, "--seal", archive_seal.strip())
    assert doc["corrections_since_seal"] == [
        {"hearing": SLUG, "position": 126, "corrects": 14, "reason": "Forged after the seal."}
    ]


@pytest.mark.parametrize("given", ["garbage", f"{SLUG}:12", f"{SLUG}:x:{'0' * 64}", "@archive:1:z"])
def test_a_seal_that_is_not_one_is_said_so(store: str, given: str) -> None:
    for args in (("verify", SLUG, "--seal", given), ("verify", "--seal", given)):
        code, _, err = run(store, *args)
        assert code == 1 and "is not a seal" in err and err.count("\n") == 1, err
        assert "mismatch" not in err


def test_a_store_made_before_the_archive_chain_keeps_verifying(store: str) -> None:
    _, hearing_seal, _ = run(store, "seal", SLUG)
    tamper(store, f"DROP TABLE {links_table(store)}")  # as stores made before it
    owner_opens(store)  # the first open by this version, by the owner
    code, out, err = run(store, "verify")
    assert code == 0, err
    assert "archive links intact" in out
    assert run(store, "verify", SLUG, "--seal", hearing_seal.strip())[0] == 0
    assert run(store, "seal", SLUG)[1] == hearing_seal  # hearing seals keep their meaning


def test_verify_fails_when_the_event_table_is_dropped(store: str) -> None:
    table = "{events}"
    tamper(store, f"DROP TABLE {table}")
    code, _, err = run(store, "verify")
    if store.startswith("postgresql"):  # recording as a role that may not recreate it
        assert code == 1 and "the store's owner sets it up" in err, err
    else:  # the writer owns the file: the open recreates the table, empty
        assert code == 1 and "holds no events" in err, err


def test_a_topic_changed_to_another_event_type_fails_verify(store: str) -> None:
    topic = "hearing_core.domain:Hearing.SegmentClosed"
    tamper(store, f"UPDATE {{events}} SET topic = '{topic}' WHERE originator_version = 44")
    code, doc = verify_json(store, SLUG)
    brk = doc["hearings"][0]["break"]
    assert code == 1 and brk["position"] == 44 and brk["kind"] == "changed"


def test_events_of_a_hearing_whose_first_event_is_gone_fail_verify(two: str) -> None:
    column = "notification_id" if two.startswith("postgresql") else "rowid"
    first = f"originator_id = {oid(two, OTHER)} AND originator_version = 1"
    tamper(
        two,
        f"DELETE FROM {links_table(two)} WHERE notification_id IN "
        f"(SELECT {column} FROM {{events}} WHERE {first})",
        f"DELETE FROM {{events}} WHERE {first}",
    )
    code, doc = verify_json(two)
    assert code == 1
    named = {h["hearing"]: h["break"] for h in doc["hearings"]}
    assert named[f"id {hearing_id(OTHER).hex}"]["kind"] == "missing"


def test_sqlite_insert_or_replace_beneath_the_guards_fails_verify(tmp_path: Path) -> None:
    """The triggers refuse REPLACE (test_append_only.py), but whoever owns the file can drop
    them first; SQLite's REPLACE then deletes the old row without firing DELETE triggers.
    The archive chain catches what it did."""
    db = str(tmp_path / "hearings.db")
    assert run(db, "import", str(SAMPLE))[0] == 0
    conn = sqlite3.connect(db)
    row = conn.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events"
        " WHERE originator_version = 71"
    ).fetchone()
    conn.close()
    tamper(
        db,
        "INSERT OR REPLACE INTO {events} (originator_id, originator_version, topic, state)"
        f" VALUES ('{row[0]}', {row[1]}, '{row[2]}', x'{bytes(row[3]).hex()}')",
    )
    code, _, err = run(db, "verify")
    assert code == 1
    assert "the archive chain breaks at event 71 in log order" in err
