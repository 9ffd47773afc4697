"""``hearing publish DIR``: no protected speaker's data anywhere; metadata, queries, search."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hearing_core import publication
from hearing_core.cli import cli
from hearing_core.protection import SEALED_FIELDS
from hearing_core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
KEYS = SAMPLE.with_suffix(".keys.json")
SLUG = "imrf-2022-msh"
PROTECTED = "fl-maria"


def hearing(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"HEARING_PLUGINS": None})
    # Terminal output is wrapped: one line per message here.
    return result.exit_code, " ".join(result.stdout.split()), result.stderr


def store(tmp_path: Path, sample: Path = SAMPLE) -> str:
    db = str(tmp_path / "hearings.db")
    code, _, err = hearing("--store", db, "import", "--keys-file", str(KEYS), str(sample))
    assert code == 0, err
    return db


def secrets_of(db: str, participant: str = PROTECTED) -> list[str]:
    """The protected participant's name, organization and words, in plaintext (with the key)."""
    ws = Workspace(db)
    try:
        records = list(ws.archive.records(SLUG, reveal=True))
    finally:
        ws.close()
    out: list[str] = []
    for r in records:
        field, sealed = SEALED_FIELDS.get(r["type"], ("", ()))
        if r.get(field) != participant:
            continue
        for name in sealed:
            value = r.get(name)
            values = (
                value
                if isinstance(value, list)
                else list((value or {}).values())
                if isinstance(value, dict)
                else [value]
            )
            out += [v for v in values if isinstance(v, str)]
    assert len(out) >= 3, out  # the sample's protected speaker has a name, and spoke
    return out


def everything_written(folder: Path) -> list[str]:
    """Every text of every file under folder: raw bytes decoded, and every SQLite text cell."""
    texts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts.append(data.decode("utf-8", "replace"))
        if data.startswith(b"SQLite format 3\x00"):
            conn = sqlite3.connect(path)
            for (table,) in conn.execute("select name from sqlite_master where type='table'"):
                for row in conn.execute(f"select * from [{table}]"):
                    texts += [v for v in row if isinstance(v, str)]
            conn.close()
    return texts


def assert_nothing_protected(folder: Path, secrets: list[str]) -> None:
    written = everything_written(folder)
    assert len(written) > 100
    for secret in secrets:
        lines = [line.strip() for line in secret.splitlines() if len(line.strip()) >= 12]
        for needle in [secret, *lines]:
            hits = [t for t in written if needle.casefold() in t.casefold()]
            assert not hits, f"{needle!r} was published"
    assert not any(PROTECTED in t for t in written)  # not even their participant id


def test_publish_writes_no_protected_data_before_and_after_forget(tmp_path: Path) -> None:
    db = store(tmp_path)
    secrets = secrets_of(db)
    site = tmp_path / "site"
    code, out, err = hearing("--store", db, "publish", str(site))
    assert code == 0, err
    assert "1 protected participant shown by pseudonym only" in out
    assert sorted(p.name for p in site.rglob("*") if p.is_file()) == [
        "archive.db",
        f"audit-{SLUG}.html",
        "metadata.json",
        f"transcript-{SLUG}.html",
    ]
    assert_nothing_protected(site, secrets)
    conn = sqlite3.connect(site / "archive.db")
    (name,) = conn.execute("select name from participants where protected = 1").fetchone()
    assert name == "Protected speaker 1"
    said = conn.execute(
        "select text from interventions i join participants p on p.id = i.speaker "
        "where p.protected = 1"
    ).fetchall()
    assert said and all(t == "[withheld]" for (t,) in said)
    conn.close()

    code, _, err = hearing("--store", db, "forget", SLUG, PROTECTED, "--yes")
    assert code == 0, err
    code, _, err = hearing("--store", db, "publish", str(site))  # replaces the publication
    assert code == 0, err
    assert_nothing_protected(site, secrets)


def test_a_protected_name_said_by_someone_else_is_redacted(tmp_path: Path) -> None:
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    for r in records:
        r.pop("digest")
        if r["seq"] == 36:
            r["text"] = "Thank you. MARIA K. (illustrative) asked me to speak for her."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = store(tmp_path, changed)
    site = tmp_path / "site"
    code, out, err = hearing("--store", db, "publish", str(site))
    assert code == 0, err
    # Once in the interventions, once in the transcript's own table (public under contract v2).
    assert "2 mentions redacted" in out
    conn = sqlite3.connect(site / "archive.db")
    (text,) = conn.execute("select text from interventions where seq = 36").fetchone()
    assert text == "Thank you. [withheld] asked me to speak for her."
    (text,) = conn.execute("select text from transcript_items where seq = 36").fetchone()
    assert text == "Thank you. [withheld] asked me to speak for her."
    assert_nothing_protected(site, secrets_of(db))


def test_publish_refuses_when_anything_protected_slips_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    for r in records:
        r.pop("digest")
        if r["seq"] == 36:
            r["text"] = "Maria K. (illustrative) sends her regards."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = store(tmp_path, changed)
    # Break the redaction: the scan before anything is moved into place must still refuse.
    monkeypatch.setattr(publication, "redacted", lambda record, protected: dict(record))
    site = tmp_path / "site"
    code, _, err = hearing("--store", db, "publish", str(site))
    assert code == 1
    assert err.startswith("error: refusing to publish: protected participants' data found in")
    assert len(err.strip().splitlines()) == 1 and "Maria" not in err
    assert not site.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".publish-")] == []


def test_metadata_describes_every_table_and_column_and_the_queries_run(tmp_path: Path) -> None:
    db = store(tmp_path)
    site = tmp_path / "site"
    assert hearing("--store", db, "publish", str(site))[0] == 0
    meta = json.loads((site / "metadata.json").read_text(encoding="utf-8"))
    assert meta["license"] and meta["license_url"] and meta["source"].startswith("hearing_core")
    assert f"/pages/audit-{SLUG}.html" in meta["description_html"]
    assert f"/pages/transcript-{SLUG}.html" in meta["description_html"]
    database = meta["databases"]["archive"]
    conn = sqlite3.connect(site / "archive.db")
    tables = [
        name
        for (name,) in conn.execute(
            "select name from sqlite_master where type='table' and name not like '%_fts%'"
        )
    ]
    assert sorted(tables) == sorted(database["tables"])
    assert set(publication.TABLES) <= set(tables)
    for table in tables:
        described = database["tables"][table]
        assert described["title"] and described["description"], table
        if table not in publication.TABLES:
            continue  # a projection's own table: its plugin documents its columns
        columns = [c[1] for c in conn.execute(f"pragma table_info([{table}])")]
        assert sorted(columns) == sorted(described["columns"]), table
        assert all(described["columns"].values()), table
        for fk in conn.execute(f"pragma foreign_key_list([{table}])"):
            target = fk[2]  # a link Datasette labels with the target's label column
            assert "label_column" in database["tables"][target], (table, target)
    queries = database["queries"]

    def run(query: str, **params: Any) -> list[tuple[Any, ...]]:
        return conn.execute(queries[query]["sql"], params).fetchall()

    assert run("groups_not_heard") == [
        (
            "International Migration Review Forum: Informal Interactive Multi-Stakeholder Hearing",
            "Other relevant stakeholders",
        )
    ]
    by_status = dict(run("pledges_by_status"))
    assert by_status == {"made": 8, "fulfilled": 1, "withdrawn": 1}
    rows = run("speaking_time_by_group_and_segment")
    assert len(rows) == 6 * 14
    assert sum(r[3] for r in rows) == 41  # every stakeholder turn, officials apart
    said = run("participant_said", name="Protected speaker 1")
    assert said and {r[0] for r in said} >= {"intervention"}
    assert all(r[4] == "[withheld]" for r in said)
    said = run("participant_said", name="Claire Dubois (illustrative)")
    assert [r[0] for r in said].count("pledge") == 1
    # Full-text search over interventions, recommendations and pledges.
    for table, word in (
        ("interventions", "detention"),
        ("recommendations", "firewalls"),
        ("pledges", "municipal"),
    ):
        hits = conn.execute(
            f"select count(*) from [{table}] where rowid in "
            f"(select rowid from [{table}_fts] where [{table}_fts] match ?)",
            [word],
        ).fetchone()[0]
        assert hits >= 1, (table, word)
    conn.close()


def test_publish_is_deterministic_and_pages_link_each_other(tmp_path: Path) -> None:
    db = store(tmp_path)
    first, second = tmp_path / "one", tmp_path / "two"
    assert hearing("--store", db, "publish", str(first))[0] == 0
    assert hearing("--store", db, "replay")[0] == 0
    assert hearing("--store", db, "publish", str(second))[0] == 0
    for name in ("archive.db", "metadata.json", f"pages/audit-{SLUG}.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    transcript = (first / f"pages/transcript-{SLUG}.html").read_text(encoding="utf-8")
    audit = (first / f"pages/audit-{SLUG}.html").read_text(encoding="utf-8")
    assert f'href="audit-{SLUG}.html"' in transcript
    assert f'href="transcript-{SLUG}.html"' in audit and 'href="/archive"' in audit


def test_publish_errors_are_one_line(tmp_path: Path) -> None:
    db = store(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, err = hearing("--store", db, "publish", str(busy))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "is not empty and holds no earlier publication" in err
    assert (busy / "notes.txt").read_text(encoding="utf-8") == "mine"
    code, _, err = hearing("--store", db, "publish", str(tmp_path / "x"), "--hearing", "nope")
    assert code == 1 and "no hearing 'nope'" in err and len(err.strip().splitlines()) == 1
    code, _, err = hearing("serve", str(busy))
    assert code == 2 and "holds no archive.db" in err


def test_only_tables_recorded_free_of_personal_data_are_copied_and_still_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hearing_core.readmodels import ReadModels

    db = store(tmp_path)
    site = tmp_path / "site"
    code, out, _ = hearing("--store", db, "publish", str(site))
    if not hasattr(ReadModels, "owners"):
        assert "no projection table copied (the read models record no table ownership)" in out
    # Ownership as the read models record it (one table wrongly marked personal, so left
    # out); shielded tables keep pseudonyms and sealed words only, and the scan still runs.
    recorded = {
        "audit_groups": ("audit", False),
        "summary_participants": ("summary", False),  # shielded: pseudonyms, no names
        "transcript_items": ("transcript", False),  # it keeps their words sealed
        "audit_participants": ("audit", True),
    }
    monkeypatch.setattr(ReadModels, "owners", lambda self: recorded, raising=False)
    code, out, err = hearing("--store", db, "publish", str(site))
    assert code == 0, err
    assert "3 projection tables free of personal data copied" in out
    conn = sqlite3.connect(site / "archive.db")
    names = {n for (n,) in conn.execute("select name from sqlite_master where type='table'")}
    assert {"audit_groups", "summary_participants", "transcript_items"} <= names
    assert "audit_participants" not in names
    rows = conn.execute("select participant, name from summary_participants where protected")
    assert rows.fetchall() == [("Protected speaker 1", "Protected speaker 1")]
    said = conn.execute("select person, text from transcript_items where seq in (67, 68)")
    assert [tuple(r) for r in said] == [("Protected speaker 1", "[withheld]")] * 2
    assert conn.execute("select count(*) from audit_groups").fetchone() == (14,)
    conn.close()
    meta = json.loads((site / "metadata.json").read_text(encoding="utf-8"))
    titles = {t: v["title"] for t, v in meta["databases"]["archive"]["tables"].items()}
    assert "summary projection" in titles["summary_participants"]
    assert_nothing_protected(site, secrets_of(db))


@pytest.mark.postgres
def test_publish_from_a_postgresql_store(postgres_store_url: str, tmp_path: Path) -> None:
    code, _, err = hearing(
        "--store", postgres_store_url, "import", "--keys-file", str(KEYS), str(SAMPLE)
    )
    assert code == 0, err
    site = tmp_path / "site"
    code, out, err = hearing("--store", postgres_store_url, "publish", str(site))
    assert code == 0, err
    assert "1 protected participant shown by pseudonym only" in out
    conn = sqlite3.connect(site / "archive.db")
    assert conn.execute("select count(*) from interventions").fetchone() == (44,)
    conn.close()
    assert_nothing_protected(site, ["Maria K. (illustrative)"])
