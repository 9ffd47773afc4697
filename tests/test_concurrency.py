"""Several processes recording at once, on both stores.

Each worker is a separate Python process (``sys.executable``) that opens the
archive, waits at a start line so they all write at the same moment, then
records through :meth:`HearingArchive.record` (the live path, which retries
when it loses a race).  Afterwards nothing may be lost or duplicated, every
hearing's seq must run 1..n, its digest chain must verify, and a reader that
followed the log *while* the writers ran must have seen every event (the log
order never lets a lower position appear after a higher one was read).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hearing_core.archive import HearingArchive, open_archive
from hearing_core.chain import GENESIS_DIGEST, chain_digest
from hearing_core.verify import verify_archive

WORKERS = 4
PER_WORKER = 20
START_TIMEOUT = 60
RUN_TIMEOUT = 240

WORKER = r"""
import json, os, sys, time
from hearing_core.archive import open_archive
from hearing_core.errors import RecordError

spec = json.loads(sys.argv[1])
archive = open_archive(spec["url"])
open(spec["ready"], "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(spec["go"]):
    if time.monotonic() > deadline:
        sys.exit("never started")
    time.sleep(0.002)
stored = []
for record in spec["records"]:
    try:
        stored.append(archive.record(record))
    except RecordError as e:  # refused on the state the race left: say so, carry on
        stored.append({"refused": str(e)})
archive.close()
json.dump(stored, sys.stdout)
"""


def scheduled(slug: str) -> dict[str, Any]:
    return {
        "type": "HearingScheduled",
        "hearing": slug,
        "at": "2024-03-01T09:00:00+01:00",
        "title": f"Concurrency hearing {slug}",
        "venue": "Room 1",
        "date": "2024-03-04",
        "timezone": "Europe/Zurich",
        "languages": ["en", "fr"],
        "programme": [
            {
                "id": "opening",
                "kind": "opening",
                "title": "Opening",
                "planned_start": "2024-03-04T10:00:00+01:00",
                "planned_end": "2024-03-04T10:30:00+01:00",
            }
        ],
    }


def registration(slug: str, participant: str) -> dict[str, Any]:
    # Every registration carries the same time, so no writer's record can be
    # refused as "time runs backwards" whatever order the race settles in.
    return {
        "type": "ParticipantRegistered",
        "hearing": slug,
        "at": "2024-03-04T09:30:00+01:00",
        "participant": participant,
        "name": f"Participant {participant}",
        "stakeholder_group": "civil_society",
    }


def run_workers(
    archive: HearingArchive,
    store_url: str,
    tmp_path: Path,
    plans: list[list[dict[str, Any]]],
) -> tuple[list[list[dict[str, Any]]], list[int]]:
    """Run one worker per plan at once; return what each recorded and what a tailing reader saw."""
    procs = []
    for n, records in enumerate(plans):
        spec = {
            "url": store_url,
            "ready": str(tmp_path / f"ready-{n}"),
            "go": str(tmp_path / "go"),
            "records": records,
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(spec)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all((tmp_path / f"ready-{n}").exists() for n in range(len(plans))):
            died = next((p for p in procs if p.poll() not in (None, 0)), None)
            if died is not None:
                _, err = died.communicate()
                pytest.fail(f"a worker died while opening the store:\n{err}")
            if time.monotonic() > deadline:
                pytest.fail("the workers did not open the store in time")
            time.sleep(0.01)
        (tmp_path / "go").touch()

        # Tail the log while they write, as a projection would.
        seen: list[int] = []
        last = archive.max_position()
        deadline = time.monotonic() + RUN_TIMEOUT
        while any(p.poll() is None for p in procs):
            for event in archive.follow(after=last):
                seen.append(event.position)
                last = event.position
            if time.monotonic() > deadline:
                pytest.fail("the workers did not finish in time")
            time.sleep(0.001)
        seen.extend(e.position for e in archive.follow(after=last))

        results = []
        for n, p in enumerate(procs):
            out, err = p.communicate(timeout=RUN_TIMEOUT)
            assert p.returncode == 0, f"worker {n} failed:\n{err}"
            results.append(json.loads(out))
        return results, seen
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def check_chain(archive: HearingArchive, slug: str) -> list[dict[str, Any]]:
    """The hearing's records, after checking seq runs 1..n and the digest chain verifies."""
    records = list(archive.records(slug))
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    previous = GENESIS_DIGEST
    for r in records:
        assert r["digest"] == chain_digest(previous, r), f"chain broken at seq {r['seq']}"
        previous = r["digest"]
    assert archive.hearing(slug).head_digest == previous
    return records


def check_log(archive: HearingArchive, seen: list[int], before: int) -> None:
    """The whole log: positions increase, each hearing in seq order, the tail saw everything."""
    log = list(archive.follow())
    positions = [e.position for e in log]
    assert positions == sorted(set(positions))
    assert seen == [p for p in positions if p > before], (
        "a reader following the log during the writes missed (or repeated) events"
    )
    last_seq: dict[str, int] = {}
    for e in log:
        assert e.seq == last_seq.get(e.hearing, 0) + 1, "log order disagrees with a hearing's seq"
        last_seq[e.hearing] = e.seq
    # The archive chain, written by every writer in its insert's transaction, is one chain.
    whole = verify_archive(archive)
    assert whole.problem is None and whole.ok and whole.events == len(log)


def check_returned(plans: list[list[dict[str, Any]]], results: list[list[dict[str, Any]]]) -> None:
    """Nothing was refused, and ``record()`` returned the record it stored, not a neighbour's."""
    for plan, stored in zip(plans, results, strict=True):
        assert not [r for r in stored if "refused" in r]
        assert [r["participant"] for r in stored] == [r["participant"] for r in plan]


def test_concurrent_writers_on_one_hearing(
    archive: HearingArchive, store_url: str, tmp_path: Path
) -> None:
    slug = "shared-hearing"
    archive.record(scheduled(slug))
    before = archive.max_position()
    plans = [
        [registration(slug, f"w{w}-p{i:02d}") for i in range(PER_WORKER)] for w in range(WORKERS)
    ]

    results, seen = run_workers(archive, store_url, tmp_path, plans)

    records = check_chain(archive, slug)
    assert len(records) == 1 + WORKERS * PER_WORKER
    registered = Counter(r["participant"] for r in records if r["type"] == "ParticipantRegistered")
    expected = {r["participant"] for plan in plans for r in plan}
    assert set(registered) == expected
    assert all(count == 1 for count in registered.values())
    check_log(archive, seen, before)
    check_returned(plans, results)


def test_concurrent_writers_on_different_hearings(
    archive: HearingArchive, store_url: str, tmp_path: Path
) -> None:
    before = archive.max_position()
    slugs = [f"hearing-{w}" for w in range(WORKERS)]
    plans = [
        [scheduled(slug)] + [registration(slug, f"p{i:02d}") for i in range(PER_WORKER)]
        for slug in slugs
    ]

    results, seen = run_workers(archive, store_url, tmp_path, plans)

    assert sorted(h.slug for h in archive.hearings()) == slugs
    for slug in slugs:
        records = check_chain(archive, slug)
        assert len(records) == 1 + PER_WORKER
        assert [r["participant"] for r in records[1:]] == [f"p{i:02d}" for i in range(PER_WORKER)]
    check_log(archive, seen, before)
    for plan, stored in zip(plans, results, strict=True):
        assert [r.get("seq") for r in stored] == list(range(1, len(plan) + 1))


def test_racing_to_schedule_the_same_hearing(
    archive: HearingArchive, store_url: str, tmp_path: Path
) -> None:
    """Exactly one scheduling wins; the others are refused as already scheduled, not crashed."""
    plans = [[scheduled("contested")] for _ in range(WORKERS)]
    results, _ = run_workers(archive, store_url, tmp_path, plans)
    outcomes = [r[0] for r in results]
    won = [o for o in outcomes if "refused" not in o]
    assert len(won) == 1
    assert all("already scheduled" in o["refused"] for o in outcomes if "refused" in o)
    assert len(check_chain(archive, "contested")) == 1


OPENER = r"""
import sys, time
from hearing_core.archive import open_archive

start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
open_archive(sys.argv[1]).close()
"""


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing"])
def test_processes_opening_one_store_at_once(store_url: str, existing: bool) -> None:
    """Opening is safe when several processes do it at the same moment.

    Unguarded, eventsourcing's ``CREATE OR REPLACE FUNCTION`` at every open makes
    some of them fail on PostgreSQL with "tuple concurrently updated", even when
    the tables already exist; the store serialises opens with an advisory lock.
    """
    if existing:
        open_archive(store_url).close()
    start = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, store_url, str(start)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    errors = [p.communicate(timeout=START_TIMEOUT)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), "\n".join(e for e in errors if e)
    archive = open_archive(store_url)
    try:
        archive.record(scheduled("after-the-rush"))
        assert [h.slug for h in archive.hearings()] == ["after-the-rush"]
    finally:
        archive.close()
