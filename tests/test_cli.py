"""The command line as a user meets it: round trips, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hearing_core.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
SLUG = "imrf-2022-msh"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, env={"HEARING_PLUGINS": ""})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(store_url: str) -> str:
    code, _, err = run("--store", store_url, "import", str(SAMPLE))
    assert code == 0, err
    return store_url


def test_import_then_export_gives_back_the_same_lines(store: str) -> None:
    code, out, _ = run("--store", store, "export", SLUG, "--format", "jsonl")
    assert code == 0
    assert out == SAMPLE.read_text(encoding="utf-8")


def test_export_into_new_store_and_back_is_identical(store: str, tmp_path: Path) -> None:
    _, first, _ = run("--store", store, "export", SLUG)
    other = str(tmp_path / "other.db")
    code, _, err = run("--store", other, "import", "-", input=first)
    assert code == 0, err
    _, second, _ = run("--store", other, "export", SLUG)
    assert second == first


def test_importing_the_same_file_twice_is_refused_and_changes_nothing(store: str) -> None:
    _, before, _ = run("--store", store, "export", SLUG)
    code, _, err = run("--store", store, "import", str(SAMPLE))
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{SAMPLE}:1" in err and "already scheduled" in err
    _, after, _ = run("--store", store, "export", SLUG)
    assert after == before


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"type": "Nope", "hearing": "x", "at": "2022-05-16T10:00:00Z"}', "unknown event type"),
        (
            '{"type": "SegmentOpened", "hearing": "imrf-2022-msh", "at": "2025-05-19T10:00:00-04:00"}',
            "field 'segment': is required",
        ),
        (
            '{"type": "SegmentClosed", "hearing": "imrf-2022-msh", "at": "2025-05-19T10:00:00-04:00", "segment": 7}',
            "field 'segment'",
        ),
    ],
)
def test_bad_line_gives_one_line_error_with_file_line_field(
    store: str, tmp_path: Path, line: str, expected: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    good = json.dumps(
        {
            "type": "CorrectionIssued",
            "hearing": SLUG,
            "at": "2025-05-18T10:00:00-04:00",
            "corrects": 2,
            "changes": {"name": "H.E. Abdulla Shahid"},
            "reason": "check",
        }
    )
    bad.write_text(good + "\n" + line + "\n", encoding="utf-8")
    _, before, _ = run("--store", store, "export", SLUG)
    code, _, err = run("--store", store, "import", str(bad))
    assert code == 1
    assert err.startswith(f"error: {bad}:2")
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    _, after, _ = run("--store", store, "export", SLUG)
    assert after == before


def test_invalid_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"type": "HearingClosed", "hearing": "h\xff", "at": "x"}\n')
    code, _, err = run("--store", str(tmp_path / "s.db"), "import", str(bad))
    assert code == 1 and "bad.jsonl:1" in err and "invalid UTF-8" in err


def test_record_live_path_and_log(tmp_path: Path) -> None:
    db = str(tmp_path / "live.db")
    head = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    sched = tmp_path / "schedule.json"
    sched.write_text(head, encoding="utf-8")
    assert run("--store", db, "record", "schedule", str(sched))[0] == 0
    at = "2022-05-16T09:00:00-04:00"
    code, out, err = run(
        "--store",
        db,
        "record",
        "register",
        SLUG,
        "ana",
        "--name",
        "Ana",
        "--group",
        "migrants",
        "--at",
        at,
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["seq"] == 2
    code, _, err = run(
        "--store",
        db,
        "record",
        "intervene",
        SLUG,
        "ana",
        "--segment",
        "opening",
        "--role",
        "floor",
        "--at",
        "2022-05-16T10:00:00-04:00",
        "--ended-at",
        "2022-05-16T10:02:00-04:00",
    )
    assert code == 1 and "segment 'opening' is not open" in err
    assert (
        run("--store", db, "record", "open", SLUG, "opening", "--at", "2022-05-16T10:00:00-04:00")[
            0
        ]
        == 0
    )
    code, _, err = run(
        "--store",
        db,
        "record",
        "intervene",
        SLUG,
        "ana",
        "--segment",
        "opening",
        "--role",
        "floor",
        "--at",
        "2022-05-16T10:00:00-04:00",
        "--ended-at",
        "2022-05-16T10:02:00-04:00",
        "--text",
        "[bold]hi[/bold]",
    )
    assert code == 0, err
    code, out, _ = run("--store", db, "log", SLUG)
    assert code == 0 and "InterventionDelivered" in out
    code, out, _ = run("--store", db, "hearings", "--json")
    assert json.loads(out)[0]["events"] == 4


def test_as_of_clock_time_limits_the_log(store: str) -> None:
    code, out, _ = run("--store", store, "log", SLUG, "--as-of", "10:00", "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1]["at"] <= "2022-05-16T10:00:00-04:00"
    assert records[-1]["type"] == "SegmentOpened"


def test_verify_and_seal(store: str) -> None:
    code, seal, _ = run("--store", store, "seal", SLUG)
    assert code == 0 and seal.startswith(f"{SLUG}:125:")
    assert run("--store", store, "verify", SLUG, "--seal", seal.strip())[0] == 0
    assert run("--store", store, "verify", SLUG, "--seal", f"{SLUG}:124:{'0' * 64}")[0] == 1
    assert run("--store", store, "verify", SLUG, "--seal", f"{SLUG}:126:{'0' * 64}")[0] == 1
    # A seal published earlier still holds after later events are recorded...
    extra = {
        "type": "PledgeProgressReported",
        "hearing": SLUG,
        "at": "2025-01-01T00:00:00+00:00",
        "pledge": 85,
        "status": "fulfilled",
    }
    code, _, err = run("--store", store, "import", "-", input=json.dumps(extra) + "\n")
    assert code == 0, err
    code, out, _ = run("--store", store, "verify", SLUG, "--seal", seal.strip())
    assert code == 0 and "1 events recorded since" in out
    # ...and a seal of a wrong prefix fails.
    _, later, _ = run("--store", store, "seal", SLUG)
    forged = later.strip().replace(":126:", ":125:")
    assert run("--store", store, "verify", SLUG, "--seal", forged)[0] == 1


def _tampered(tmp_path: Path, sql: list[str]) -> tuple[int, dict]:
    db = tmp_path / "t.db"
    assert run("--store", str(db), "import", str(SAMPLE))[0] == 0
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER stored_events_no_update")
    conn.execute("DROP TRIGGER stored_events_no_delete")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()
    code, out, _ = run("--store", str(db), "verify", SLUG, "--json")
    return code, json.loads(out)["hearings"][0]["break"]


def test_verify_pinpoints_a_changed_field(tmp_path: Path) -> None:
    code, brk = _tampered(
        tmp_path,
        [
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), "
            '\'"role":"panellist"\', \'"role":"floor"\') AS BLOB) '
            "WHERE originator_version = 44"
        ],
    )
    assert code == 1 and brk["position"] == 44 and brk["kind"] == "changed"


def test_verify_pinpoints_a_missing_event(tmp_path: Path) -> None:
    code, brk = _tampered(tmp_path, ["DELETE FROM stored_events WHERE originator_version = 50"])
    assert code == 1 and brk["position"] == 50 and brk["kind"] == "missing"


def test_verify_pinpoints_reordered_events(tmp_path: Path) -> None:
    code, brk = _tampered(
        tmp_path,
        [
            "UPDATE stored_events SET originator_version = -1 WHERE originator_version = 60",
            "UPDATE stored_events SET originator_version = 60 WHERE originator_version = 61",
            "UPDATE stored_events SET originator_version = 61 WHERE originator_version = -1",
        ],
    )
    assert code == 1 and brk["position"] == 60 and brk["kind"] == "reordered"


def test_verify_pinpoints_an_inserted_event(tmp_path: Path) -> None:
    code, brk = _tampered(
        tmp_path,
        [
            "UPDATE stored_events SET originator_version = originator_version + 1000 WHERE originator_version >= 70",
            "UPDATE stored_events SET originator_version = originator_version - 999 WHERE originator_version >= 1070",
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "SELECT originator_id, 70, topic, state FROM stored_events WHERE originator_version = 80",
        ],
    )
    assert code == 1 and brk["position"] == 70 and brk["kind"] == "inserted"


def test_the_sqlite_event_table_refuses_update_and_delete(tmp_path: Path) -> None:
    store = str(tmp_path / "guarded.db")
    assert run("--store", store, "import", str(SAMPLE))[0] == 0
    conn = sqlite3.connect(store)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE stored_events SET state = state WHERE originator_version = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM stored_events")


def test_help_and_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hearing_core", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "HEARING_PLUGINS": ""},
        check=False,
    )
    assert result.returncode == 0
    for command in (
        "import",
        "export",
        "record",
        "log",
        "verify",
        "seal",
        "replay",
        "plugins",
        "demo",
    ):
        assert command in result.stdout


def test_unknown_hearing_is_one_line(tmp_path: Path) -> None:
    code, _, err = run("--store", str(tmp_path / "e.db"), "log", "nope")
    assert code == 1 and err.strip() == f"error: no hearing 'nope' in {tmp_path / 'e.db'}"


def test_export_open_formats_validate(store: str, tmp_path: Path) -> None:
    from hearing_core.exports import akn, popolo

    code, xml, err = run("--store", store, "export", SLUG, "--format", "akn")
    assert code == 0, err
    assert akn.validate(xml) == [] and akn.dangling_references(xml) == []
    code, doc, err = run("--store", store, "export", SLUG, "--format", "popolo")
    assert code == 0, err
    assert popolo.validate(json.loads(doc)) == []
    out = tmp_path / "t.html"
    code, _, err = run(
        "--store", store, "export", SLUG, "--format", "html", "--as-of", "11:00", "-o", str(out)
    )
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and page.count("<article") > 0
    assert not (tmp_path / "t.html.part").exists()


def test_exports_are_deterministic(store: str) -> None:
    for fmt in ("jsonl", "akn", "popolo", "html"):
        first = run("--store", store, "export", SLUG, "--format", fmt)[1]
        assert first == run("--store", store, "export", SLUG, "--format", fmt)[1], fmt


def test_replay_follow_updates_read_models_as_events_arrive(tmp_path: Path) -> None:
    import signal
    import time

    db = str(tmp_path / "f.db")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    head, rest = "\n".join(lines[:40]) + "\n", "\n".join(lines[40:]) + "\n"
    env = {**os.environ, "HEARING_PLUGINS": "transcript"}
    subprocess.run(
        [sys.executable, "-m", "hearing_core", "--store", db, "import", "-"],
        input=head,
        text=True,
        env=env,
        check=True,
    )
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hearing_core",
            "--store",
            db,
            "replay",
            "--follow",
            "--interval",
            "0.1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        subprocess.run(
            [sys.executable, "-m", "hearing_core", "--store", db, "import", "-"],
            input=rest,
            text=True,
            env=env,
            check=True,
        )
        deadline = time.monotonic() + 30
        position = 0
        while time.monotonic() < deadline and position < len(lines):
            time.sleep(0.1)
            try:  # the follower may not have created the read models yet
                with sqlite3.connect(tmp_path / "f.db.views") as views:
                    row = views.execute(
                        "select position from _positions where projection = 'transcript'"
                    ).fetchone()
            except sqlite3.OperationalError:
                continue
            position = row[0] if row else 0
        assert position == len(lines)
    finally:
        follower.send_signal(signal.SIGTERM)
        _, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert "Following the log" in err


def test_demo_records_the_sample_and_shows_the_reports(tmp_path: Path) -> None:
    env = {**os.environ, "HEARING_STORE": str(tmp_path / "my-archive.db")}  # never written
    env.pop("HEARING_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-m", "hearing_core", "demo", "--into", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for heading in (
        "What was recorded",
        "Transcript (opening)",
        "digest",
        "Stakeholder-balance audit",
    ):
        assert heading in done.stdout, heading
    assert "Protected speaker 1" in done.stdout or "fl-maria" not in done.stdout
    assert not (tmp_path / "my-archive.db").exists()
    again = subprocess.run(
        [sys.executable, "-m", "hearing_core", "demo", "--into", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert again.returncode == 0, again.stderr  # the demo folder is replaced, not appended to


@pytest.mark.postgres
def test_demo_into_a_postgresql_store(postgres_store_url: str, tmp_path: Path) -> None:
    code, _, err = run(
        "--store",
        postgres_store_url,
        "--views",
        str(tmp_path / "v.db"),
        "--keys",
        str(tmp_path / "k.db"),
        "demo",
    )
    assert code == 0, err
    assert run("--store", postgres_store_url, "verify", SLUG)[0] == 0
    code, _, err = run("--store", postgres_store_url, "demo")
    assert code == 1 and "already holds" in err
