"""SIGKILL at random moments, many times over: the record and the read models survive.

Each scenario kills a real process (``python -m hearing_core ...``, or the
recorder in ``tests/crashkit.py``) with SIGKILL after a random delay, 15
times, with seeded delays (``CRASH_SEED`` to vary them), and checks what a
crash may and may not leave behind:

(a) a large import (20,000 events) holds all of it or none of it, every time,
    the store verifies, and it stays writable (SQLite and PostgreSQL);
(b) live recording (``HearingArchive.record`` in a loop): every record the
    recorder was told was stored is there, at most the one in flight besides,
    seq runs 1..n without a gap, every stored record is the one planned for its
    position, and the chain verifies (SQLite and PostgreSQL);
(c) ``hearing replay``: after the kill (and, every other time, a kill of a
    ``hearing replay --incremental`` too), ``hearing replay --incremental`` catches
    up, and every report (transcript, summary and audit as JSON) and every
    read-model table is identical to a clean rebuild in a fresh views file.

The delays are drawn over the length of an uninterrupted run measured first,
so the kills land before, during and after the work whatever the machine.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner

from crashkit import LIVE_STEP
from crashkit import hearing as planned_hearing
from hearing_core.archive import open_archive
from hearing_core.cli import cli
from hearing_core.domain import hearing_id
from hearing_core.testing import dump_tables

KIT = Path(__file__).with_name("crashkit.py")
SAMPLE = Path(__file__).resolve().parents[1] / "events" / "samples" / "imrf-2022-msh.jsonl"
SEED = int(os.environ.get("CRASH_SEED", "20220516"))
KILLS = 15
IMPORT_EVENTS = 20_000
LIVE_EVENTS = 80_000  # far more than a recorder gets through before it is killed
# Enough that the replay itself (not the process start) fills most of the run, so random kills
# land while it writes: since contract v2's batch writers replay is about 3x faster.
REPLAY_EVENTS = 10_000


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def hearing_cmd(store: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "hearing_core", "--store", store, *args]


def run_cli(store: str, *args: str, views: Path | None = None) -> str:
    """A command in this process (no start-up cost); it must succeed."""
    extra = ["--views", str(views)] if views else []
    result = CliRunner().invoke(cli, ["--store", store, *extra, *args])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def kill_after(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL ``proc`` after ``delay`` seconds; True if it was still running then."""
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    return False


def _wait_for_output(path: Path, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> bool:
    """Wait until ``proc`` has written to ``path`` (False if it ended or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.stat().st_size:
            return True
        time.sleep(0.01)
    return False


def stored_count(store: str, slug: str) -> int:
    """How many events the hearing has (its highest position; verify checks there is no gap)."""
    archive = open_archive(store)
    try:
        head = archive.recorder.select_events(hearing_id(slug), desc=True, limit=1)
        return head[0].originator_version if head else 0
    finally:
        archive.close()


def write_lines(path: Path, slug: str, count: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in planned_hearing(slug, count):
            f.write(json.dumps(record) + "\n")


def _timed(command: list[str], **extra: str) -> float:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, env=env(**extra), check=False, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    return time.monotonic() - started


# --- (a) a large import ---------------------------------------------------------------------


@pytest.mark.slow
def test_killed_import_leaves_all_or_nothing(store_url: str, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-import-{store_url[:8]}")
    plugins = {"HEARING_PLUGINS": ""}
    # An uninterrupted import first: a hearing the crashes must not touch, and the timing.
    write_lines(tmp_path / "base.jsonl", "base-h", IMPORT_EVENTS)
    duration = _timed(hearing_cmd(store_url, "import", str(tmp_path / "base.jsonl")), **plugins)
    assert stored_count(store_url, "base-h") == IMPORT_EVENTS
    complete = {"base-h"}
    outcomes = []
    for i in range(KILLS):
        slug = f"crash-{i}"
        source = tmp_path / f"{slug}.jsonl"
        write_lines(source, slug, IMPORT_EVENTS)
        proc = subprocess.Popen(
            hearing_cmd(store_url, "import", str(source)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env(**plugins),
        )
        killed = kill_after(proc, rng.uniform(0.0, duration * 1.1))
        if not killed:
            assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        count = stored_count(store_url, slug)
        outcomes.append((killed, count))
        assert count in (0, IMPORT_EVENTS), f"kill {i}: {count} of {IMPORT_EVENTS} events stored"
        if count:
            complete.add(slug)
            out = run_cli(store_url, "verify", slug)
            assert f"{IMPORT_EVENTS} events, chain intact" in out
        listing = json.loads(run_cli(store_url, "hearings", "--json"))
        assert {h["hearing"]: h["events"] for h in listing} == dict.fromkeys(
            complete, IMPORT_EVENTS
        )
    # Still writable: an import that is left alone goes through after all those crashes.
    unfinished = next((s for s in (f"crash-{i}" for i in range(KILLS)) if s not in complete), None)
    if unfinished is not None:
        run_cli(store_url, "import", str(tmp_path / f"{unfinished}.jsonl"))
        complete.add(unfinished)
    assert stored_count(store_url, unfinished or "base-h") == IMPORT_EVENTS
    out = run_cli(store_url, "verify")
    assert out.count("chain intact") == len(complete)
    # The kills must have exercised both outcomes while the importer ran.
    killed_counts = {count for killed, count in outcomes if killed}
    assert 0 in killed_counts, outcomes
    print(f"\nimport kills (killed, events): {outcomes}; uninterrupted run {duration:.1f} s")


# --- (b) live recording ---------------------------------------------------------------------


def _planned(slug: str, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for record in planned_hearing(slug, LIVE_EVENTS, step=LIVE_STEP):
        if len(out) >= count:  # checked first: a kill before the first commit leaves none
            break
        out.append(record)
    return out


@pytest.mark.slow
def test_killed_live_recording_loses_nothing_acknowledged(store_url: str, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-live-{store_url[:8]}")
    slug = "live-h"
    recorder = [sys.executable, str(KIT), "record", store_url, slug, str(LIVE_EVENTS)]
    acknowledged = 0
    total_killed = 0
    in_flight = 0  # kills that came after a commit and before its acknowledgement
    out, err = tmp_path / "recorder.out", tmp_path / "recorder.err"
    for i in range(KILLS):
        with out.open("wb") as stdout, err.open("wb") as stderr:  # files: never a full pipe
            proc = subprocess.Popen(
                recorder, stdout=stdout, stderr=stderr, env=env(HEARING_PLUGINS="")
            )
            if i % 4 == 0:  # now and then a kill that may land during start-up
                killed = kill_after(proc, rng.uniform(0.0, 0.5))
            else:  # otherwise mid-recording, however slow start-up is on a loaded machine
                assert _wait_for_output(out, proc), f"nothing acknowledged: {err.read_text()}"
                killed = kill_after(proc, rng.uniform(0.0, 1.0))
        # A line being written when the kill came may be cut short: only whole lines count.
        printed = out.read_text(encoding="utf-8").split("\n")[:-1]
        errors = err.read_text(encoding="utf-8", errors="replace")
        assert killed, f"the recorder stopped by itself: {errors}"
        total_killed += 1
        assert "Traceback" not in errors, errors
        if printed:
            assert [int(p) for p in printed] == list(range(acknowledged + 1, int(printed[-1]) + 1))
            acknowledged = int(printed[-1])
        archive = open_archive(store_url)
        try:
            stored = list(archive.records(slug)) if archive.exists(slug) else []
        finally:
            archive.close()
        n = len(stored)
        assert acknowledged <= n <= acknowledged + 1, (i, acknowledged, n)
        in_flight += n - acknowledged
        assert [r["seq"] for r in stored] == list(range(1, n + 1))
        plan = _planned(slug, n)
        for record, expected in zip(stored, plan, strict=True):
            body = {k: v for k, v in record.items() if k not in ("seq", "digest")}
            assert set(body) - set(expected) <= {"stakeholder_groups"}  # the default taxonomy
            assert {k: body[k] for k in expected} == expected, (
                f"kill {i}: position {record['seq']} is not as planned"
            )
        if n:
            assert f"{n} events, chain intact" in run_cli(store_url, "verify", slug)
        acknowledged = n  # the next recorder resumes after what is stored
    print(
        f"\nlive kills: {total_killed}; {acknowledged} events recorded in all; "
        f"{in_flight} stored but not yet acknowledged when killed"
    )


# --- (c) replay -----------------------------------------------------------------------------

REPORTS = [("transcript",), ("summary",), ("audit",)]


def _reports(store: str, views: Path, slugs: list[str]) -> dict[str, str]:
    out = {}
    for slug in slugs:
        for (name,) in REPORTS:
            out[f"{name} {slug}"] = run_cli(store, name, slug, "--format", "json", views=views)
    return out


def _tables(views: Path) -> dict[str, Any]:
    if not views.exists():
        return {"positions": []}
    db = sqlite_utils.Database(views)
    try:
        if "_positions" not in db.table_names():
            return {"positions": []}
        positions = db.execute(
            "select projection, version, position, failed_at, error from _positions"
        ).fetchall()
        prefixes = [row[0] + "_" for row in positions]
        return {
            "positions": sorted(positions),
            **{prefix: dump_tables(db, prefix) for prefix in prefixes},
        }
    finally:
        db.close()


@pytest.mark.slow
def test_killed_replay_catches_up_to_a_clean_rebuild(tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-replay")
    store = str(tmp_path / "replay.db")
    keys = SAMPLE.with_suffix(".keys.json")
    run_cli(store, "import", str(SAMPLE), "--keys-file", str(keys))
    write_lines(tmp_path / "big.jsonl", "big-h", REPLAY_EVENTS)
    run_cli(store, "import", str(tmp_path / "big.jsonl"))
    slugs = ["imrf-2022-msh", "big-h"]
    # The reference: a clean rebuild in a fresh views file, and its reports.
    reference = tmp_path / "reference.views"
    run_cli(store, "replay", views=reference)
    expected_reports = _reports(store, reference, slugs)
    expected_tables = _tables(reference)
    assert set(expected_tables) >= {"positions", "transcript_", "summary_", "audit_"}
    views = tmp_path / "crashed.views"
    command = hearing_cmd(store, "--views", str(views), "replay")
    duration = _timed(command)
    final = [p[2] for p in expected_tables["positions"]]
    outcomes = []
    for i in range(KILLS):
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env()
        )
        killed = kill_after(proc, rng.uniform(0.0, duration * 1.1))
        before = _tables(views)["positions"]
        outcomes.append((killed, [p[2] for p in before]))
        if i % 2 and [p[2] for p in before] != final:
            # Every other time, kill the catch-up too before letting one finish.
            proc = subprocess.Popen(
                [*command, "--incremental"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env(),
            )
            kill_after(proc, rng.uniform(0.0, duration))
        run_cli(store, "replay", "--incremental", views=views)
        assert _tables(views) == expected_tables, f"kill {i}: read models differ"
        assert _reports(store, views, slugs) == expected_reports, f"kill {i}: reports differ"
    midway = [o for o in outcomes if o[0] and o[1] != final]
    print(f"\nreplay kills (killed, positions): {outcomes}; uninterrupted run {duration:.1f} s")
    assert len(midway) >= 3, f"too few kills landed while the replay ran: {outcomes}"
