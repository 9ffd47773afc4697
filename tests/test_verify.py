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

from conftest import SAMPLE, postgres_admin
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
    assert run(store_url, "hearings")[0] == 0  # creates the store, empty
    code, _, err = run(store_url, "verify")
    assert code == 1 and "holds no events" in err
    missing = str(tmp_path / "nowhere.db")
    code, _, err = run(missing, "verify")
    assert code == 1 and "no store at" in err and err.count("\n") == 1
    assert not Path(missing).exists()
