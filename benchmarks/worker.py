"""One measurement in a fresh process: ``python benchmarks/worker.py TASK [options]``.

run.py starts one of these per measurement, so that each starts cold, peak
memory (``ru_maxrss``) belongs to that measurement alone, and a measurement
cannot warm the next one's caches.  The result is one JSON object on the last
line of stdout.  ``--profile FILE`` runs the timed part under cProfile and
dumps the stats there (timings taken while profiling are not reported as
figures).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare
import synth


def maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed(args: argparse.Namespace, fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` (under cProfile when asked); return its result and wall seconds."""
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return result, seconds


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def latency_summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(values) * 1000,
        "p99_ms": pct(values, 0.99) * 1000,
        "max_ms": max(values) * 1000,
        "first_ms": statistics.median(values[: max(1, len(values) // 10)]) * 1000,
        "last_ms": statistics.median(values[-max(1, len(values) // 10) :]) * 1000,
    }


def avg_state_bytes(location: Any, table: str, sqlite_path: str | None = None) -> float:
    if location.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(sqlite_path or str(location.path))
        try:
            return float(conn.execute(f"select avg(length(state)) from {table}").fetchone()[0])
        finally:
            conn.close()
    schema = location.env.get("POSTGRES_SCHEMA") or "public"
    with bare.pg_connect(location) as conn:
        return float(conn.execute(f"select avg(length(state)) from {schema}.{table}").fetchone()[0])


def stored_count(location: Any, table: str, sqlite_path: str | None = None) -> int:
    if location.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(sqlite_path or str(location.path))
        try:
            return int(conn.execute(f"select count(*) from {table}").fetchone()[0])
        finally:
            conn.close()
    schema = location.env.get("POSTGRES_SCHEMA") or "public"
    with bare.pg_connect(location) as conn:
        return int(conn.execute(f"select count(*) from {schema}.{table}").fetchone()[0])


# --- tasks ------------------------------------------------------------------------------


def task_parse(args: argparse.Namespace) -> dict[str, Any]:
    """Only read and parse the input (the share of every streamed import that is not ours)."""
    count, seconds = timed(args, lambda: sum(1 for _ in synth.read_jsonl(args.input)))
    return {"events": count, "seconds": seconds}


def task_import(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.archive import open_archive

    archive = open_archive(args.store)
    count, seconds = timed(args, lambda: archive.import_records(synth.read_jsonl(args.input)))
    return {
        "events": count,
        "seconds": seconds,
        "state_bytes": avg_state_bytes(archive.location, _events_table(archive.location)),
    }


def _events_table(location: Any) -> str:
    from hearing_core.store import events_table

    return events_table(location)


def task_bare_save(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.store import resolve

    location = resolve(args.store)
    app = bare.open_bare(location, args.bare_path)
    writer = bare.BareWriter(app, args.batch)

    def run() -> int:
        for _, _, record in synth.read_jsonl(args.input):
            writer.add(record)
        writer.flush()
        return writer.count

    count, seconds = timed(args, run)
    table = "stored_events" if location.kind == "sqlite" else "benchbare_events"
    stored = stored_count(location, table, args.bare_path)
    if stored != count:
        raise SystemExit(f"bare save stored {stored} events of {count}")
    return {
        "events": count,
        "seconds": seconds,
        "state_bytes": avg_state_bytes(location, table, args.bare_path),
    }


def task_raw(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.store import resolve

    location = resolve(args.store)
    if location.kind == "sqlite":
        rows = bare.sqlite_rows(str(location.path))
        _, seconds = timed(args, lambda: bare.sqlite_raw_insert(args.bare_path, rows, args.batch))
    else:
        rows = bare.pg_rows(location)
        _, seconds = timed(args, lambda: bare.pg_raw_copy(location, rows, args.batch))
    return {"events": len(rows), "seconds": seconds}


def task_replay(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.workspace import Workspace

    ws = Workspace(args.store, views=args.views)
    ws.archive  # noqa: B018 (open before timing)
    ws.readmodels  # noqa: B018
    fed = [0]

    def progress(n: int) -> None:
        fed[0] += n

    failures, seconds = timed(args, lambda: ws.replay(progress))
    # The rate is over the whole log, like the bare read-and-decode: with types pushed
    # down into the store query, the projections are fed fewer events than the log holds.
    return {
        "events": ws.archive.max_position(),
        "fed": fed[0],
        "seconds": seconds,
        "contract": {name: contract_of(p) for name, p in ws.host.projections.items()},
        "failures": [f"{f.projection}@{f.position}: {f.error}" for f in failures],
        "projections": sorted(ws.host.projections),
    }


def contract_of(p: Any) -> str:
    """How a projection is written: v2 (``@handles`` or its own ``handle_page``) or v1."""
    from hearing_core.projection import Projection

    v2 = bool(p.handlers) or type(p).handle_page is not Projection.handle_page
    types = f"{len(p.types)} types" if p.types else "all types"
    needs = f", needs {'+'.join(sorted(p.needs))}" if p.needs else ""
    return f"{'v2' if v2 else 'v1'}, {types}{needs}"


def task_read_decode(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.archive import open_archive

    archive = open_archive(args.store)
    recorder, mapper = archive.recorder, archive.mapper

    def run() -> int:
        count = 0
        start = None
        while True:
            page = recorder.select_notifications(start, 1000, inclusive_of_start=False)
            for n in page:
                mapper.to_domain_event(n)
            count += len(page)
            if len(page) < 1000:
                return count
            start = page[-1].id

    count, seconds = timed(args, run)
    return {"events": count, "seconds": seconds}


def task_follow(args: argparse.Namespace) -> dict[str, Any]:
    """What replay reads: ``archive.follow`` (read, decode, to records, RecordedEvent)."""
    from hearing_core.archive import open_archive

    archive = open_archive(args.store)
    count, seconds = timed(args, lambda: sum(1 for _ in archive.follow(0)))
    return {"events": count, "seconds": seconds}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def live_setup_records(slug: str, participants: int = 30) -> list[dict[str, Any]]:
    """A hearing happening now (UTC): scheduled, speakers registered, a session open."""
    now = _now()
    begin = now - timedelta(minutes=10)
    day = begin.date().isoformat()
    programme = [
        {
            "id": "session-1",
            "kind": "session",
            "title": "Live session",
            "planned_start": _iso(begin),
            "planned_end": _iso(begin + timedelta(hours=3)),
        }
    ]
    records: list[dict[str, Any]] = [
        {
            "type": "HearingScheduled",
            "hearing": slug,
            "at": _iso(begin),
            "title": "Live benchmark hearing",
            "venue": "Benchmark room",
            "date": day,
            "timezone": "UTC",
            "languages": ["en", "fr", "es"],
            "programme": programme,
        }
    ]
    for i in range(participants):
        records.append(
            {
                "type": "ParticipantRegistered",
                "hearing": slug,
                "at": _iso(begin + timedelta(minutes=1)),
                "participant": f"p{i:03d}",
                "name": f"Speaker {i}",
                "stakeholder_group": None if i == 0 else synth.GROUPS[i % len(synth.GROUPS)],
                "organization": "Network of Migrant Workers' Rights and Inclusive Cities",
            }
        )
    records.append(
        {
            "type": "SegmentOpened",
            "hearing": slug,
            "at": _iso(begin + timedelta(minutes=2)),
            "segment": "session-1",
            "moderator": "p000",
        }
    )
    return records


def live_intervention(slug: str, i: int, text: str) -> dict[str, Any]:
    now = _iso(_now())
    return {
        "type": "InterventionDelivered",
        "hearing": slug,
        "at": now,
        "speaker": f"p{1 + i % 29:03d}",
        "segment": "session-1",
        "role": "floor",
        "language": "en",
        "ended_at": now,
        "text": text,
    }


LIVE_TEXT = (
    "We urge member states to ensure regular pathways and access to services for all migrants "
    "regardless of status, with firewalls between service providers and immigration enforcement, "
    "and to report on concrete commitments at the next review forum."
)


def task_live(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.workspace import Workspace

    ws = Workspace(args.store, views=args.views)
    archive = ws.archive
    slug = f"live-{os.getpid()}-{int(time.time())}"
    archive.import_records(("setup", i, r) for i, r in enumerate(live_setup_records(slug), 1))
    ws.catch_up()
    for i in range(5):  # warm-up, not timed
        archive.record(live_intervention(slug, i, LIVE_TEXT))
        ws.catch_up()
    record_s: list[float] = []
    catch_s: list[float] = []
    total_s: list[float] = []
    bare_s: list[float] = []
    # The baseline, interleaved op by op in this same process, so that both see the
    # same machine (other processes' I/O makes fsync times swing by 10x).
    bare_save = (
        _bare_single_saver(args) if args.bare_path or args.store.startswith("postgres") else None
    )

    def run() -> None:
        for i in range(args.ops):
            rec = live_intervention(slug, i, LIVE_TEXT)
            t0 = time.perf_counter()
            archive.record(rec)
            t1 = time.perf_counter()
            failures = ws.catch_up()
            t2 = time.perf_counter()
            if failures:
                raise RuntimeError(f"projection failed: {failures}")
            record_s.append(t1 - t0)
            catch_s.append(t2 - t1)
            total_s.append(t2 - t0)
            if bare_save is not None:
                bare_s.append(bare_save(i))

    timed(args, run)
    result = {
        "ops": args.ops,
        "total": latency_summary(total_s),
        "record": latency_summary(record_s),
        "catch_up": latency_summary(catch_s),
        "hearing_events_at_end": archive.hearing(slug).version,
    }
    if bare_s:
        result["bare"] = latency_summary(bare_s)
    return result


def _bare_single_saver(args: argparse.Namespace) -> Callable[[int], float]:
    """A bare aggregate on the same kind of store; each call times one trigger + save()."""
    from hearing_core.store import resolve

    app = bare.open_bare(resolve(args.store), args.bare_path)
    slug = f"bare-live-{os.getpid()}-{int(time.time())}"
    _, payload, digest = bare.payload_of(live_intervention(slug, 0, LIVE_TEXT))
    oid = bare.uuid.uuid5(bare.BARE_NAMESPACE, slug)
    item = bare.Item._create(bare.Item.Created, id=oid, payload=payload, digest=digest)
    app.save(item)
    for _ in range(5):
        item.trigger_event(bare.Item.Recorded, payload=payload, digest=digest)
        app.save(item)

    def one(i: int) -> float:
        _, payload, digest = bare.payload_of(live_intervention(slug, i, LIVE_TEXT))
        t0 = time.perf_counter()
        item.trigger_event(bare.Item.Recorded, payload=payload, digest=digest)
        app.save(item)
        return time.perf_counter() - t0

    return one


def task_bare_live(args: argparse.Namespace) -> dict[str, Any]:
    """The bare single save on its own (run.py prints it beside the interleaved one)."""
    one = _bare_single_saver(args)
    latencies: list[float] = []

    def run() -> None:
        for i in range(args.ops):
            latencies.append(one(i))

    timed(args, run)
    return {"ops": args.ops, "total": latency_summary(latencies)}


def task_pit(args: argparse.Namespace) -> dict[str, Any]:
    from hearing_core.domain import hearing_id
    from hearing_core.projection import ReportRequest
    from hearing_core.workspace import Workspace

    ws = Workspace(args.store, views=args.views)
    archive = ws.archive
    slug, pos = args.slug, args.pos
    request = ReportRequest(slug, "markdown")
    t0 = time.perf_counter()
    first = ws.report("transcript", request, as_of=pos)
    cold = time.perf_counter() - t0
    report_s, records_s, bare_s = [], [], []

    def run() -> None:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            ws.report("transcript", request, as_of=pos)
            t1 = time.perf_counter()
            got = list(archive.records(slug, upto=pos))
            t2 = time.perf_counter()
            stored = archive.recorder.select_events(hearing_id(slug), lte=pos)
            for s in stored:
                archive.mapper.to_domain_event(s)
            t3 = time.perf_counter()
            assert len(got) == pos == len(stored)
            report_s.append(t1 - t0)
            records_s.append(t2 - t1)
            bare_s.append(t3 - t2)

    timed(args, run)
    return {
        "slug": slug,
        "pos": pos,
        "archive_events": archive.max_position(),
        "report_cold_ms": cold * 1000,
        "report_chars": len(first) if isinstance(first, str) else None,
        "report": latency_summary(report_s),
        "records": latency_summary(records_s),
        "bare": latency_summary(bare_s),
    }


TASKS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "parse": task_parse,
    "import": task_import,
    "bare-save": task_bare_save,
    "raw": task_raw,
    "replay": task_replay,
    "read-decode": task_read_decode,
    "follow": task_follow,
    "live": task_live,
    "bare-live": task_bare_live,
    "pit": task_pit,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--store", help="SQLite path or postgresql:// URL")
    parser.add_argument("--views", help="read-model SQLite file")
    parser.add_argument("--input", help="JSON Lines records")
    parser.add_argument("--bare-path", help="SQLite file for the bare baselines")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--slug")
    parser.add_argument("--pos", type=int)
    parser.add_argument("--profile", help="dump cProfile stats of the timed part here")
    parser.add_argument("--patch", help="comma-separated candidate patches (benchmarks/patches.py)")
    args = parser.parse_args()
    import patches

    applied = patches.apply(args.patch)
    start_kb = maxrss_kb()
    load_start = os.getloadavg()[0]
    result = TASKS[args.task](args)
    result["load"] = [load_start, os.getloadavg()[0]]
    if applied:
        result["patches"] = applied
    result["rss_start_kb"] = start_kb
    result["maxrss_kb"] = maxrss_kb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
