"""The import path: chains stay honest, and a terminal sees progress."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import hearing_core.cli.log_cmds as log_cmds
from hearing_core.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
SLUG = "imrf-2022-msh"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, env={"HEARING_PLUGINS": ""})
    return result.exit_code, result.stdout, result.stderr


def _lines() -> list[dict[str, object]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_stripping_digests_from_the_tail_of_an_export_is_refused(
    store_url: str, tmp_path: Path
) -> None:
    records = _lines()
    for r in records[70:]:
        del r["digest"]
    path = _write(tmp_path / "stripped.jsonl", records)
    code, _, err = run("--store", store_url, "import", str(path))
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}:71, field 'digest': no digest, but line 1 " in err
    # The failed first import left nothing: no store at all (a SQLite file) or an empty one.
    code, out, err = run("--store", store_url, "hearings", "--json")
    assert json.loads(out) == [] if code == 0 else "error: no store at " in err


def test_a_digest_after_lines_without_names_the_first_line_without(
    store_url: str, tmp_path: Path
) -> None:
    records = _lines()
    for r in records[:10]:
        del r["digest"]
    path = _write(tmp_path / "mixed.jsonl", records)
    code, _, err = run("--store", store_url, "import", str(path))
    assert code == 1
    assert f"{path}:1, field 'digest': no digest, but line 11 " in err


def test_lines_without_any_digest_are_chained_on_import(store_url: str, tmp_path: Path) -> None:
    records = _lines()
    for r in records:
        del r["digest"]
    path = _write(tmp_path / "plain.jsonl", records)
    code, _, err = run("--store", store_url, "import", str(path))
    assert code == 0, err
    _, out, _ = run("--store", store_url, "export", SLUG)
    assert out == SAMPLE.read_text(encoding="utf-8")


def test_import_shows_progress_on_a_terminal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "a.db")
    code, out, err = run("--store", store, "import", str(SAMPLE))
    assert code == 0
    assert err == "" and out.startswith("Imported 125 events")

    screen = io.StringIO()
    monkeypatch.setattr(log_cmds, "err_console", Console(file=screen, force_terminal=True))
    code, _, err = run("--store", str(tmp_path / "b.db"), "import", str(SAMPLE))
    assert code == 0, err
    shown = screen.getvalue()
    assert "Importing" in shown and "125 events" in shown


def test_record_times_take_what_as_of_takes(tmp_path: Path) -> None:
    """--at / --ended-at: HH:MM on the hearing's day in its time zone, or ISO with offset."""
    store = str(tmp_path / "t.db")
    records = _lines()
    first_close = next(i for i, r in enumerate(records) if r["type"] == "HearingClosed")
    path = _write(tmp_path / "open.jsonl", records[:first_close])
    assert run("--store", store, "import", str(path))[0] == 0
    code, out, err = run("--store", store, "record", "close", SLUG, "--at", "18:05", "--json")
    assert code == 0, err
    assert json.loads(out)["at"] == "2022-05-16T18:05:00-04:00"  # New York, on the day


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        ("25:00", "'25:00' is not in the expected form: HH:MM on the hearing's day"),
        ("2022-05-16T13:05:00", "is not in the expected form: HH:MM"),
        ("soon", "2022-05-16T11:00:00-04:00"),
    ],
)
def test_a_bad_record_time_names_the_field_and_the_expected_form(
    tmp_path: Path, at: str, fragment: str
) -> None:
    store = str(tmp_path / "t.db")
    assert run("--store", store, "import", str(SAMPLE))[0] == 0
    code, _, err = run(
        "--store", store, "record", "progress", SLUG, "30", "--status", "planned", "--at", at
    )
    assert code == 1
    assert err.startswith("error: field 'at': ") and fragment in err, err
    assert err.count("\n") == 1
