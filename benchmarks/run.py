"""hearing_core benchmarks: each figure side by side with its baseline, measured in the same run.

    python benchmarks/run.py [--store sqlite|postgres|both] [--events N] [--quick]

1. batch import (``HearingArchive.import_records``) vs a bare eventsourcing ``save()`` of
   the same payloads in batches of 1,000, and the storage limit (sqlite3 executemany /
   PostgreSQL COPY of the very same rows);
2. full replay through the first-party projections (``Workspace.replay()``) vs a bare
   read-and-decode of the same log (pages of 1,000 + ``mapper.to_domain_event``);
3. the live path (``HearingArchive.record()`` of one intervention + ``Workspace.catch_up()``)
   vs a bare single-event ``save()``: median and p99;
4. point in time: one hearing's transcript ``as_of`` a position, and ``archive.records(upto=)``,
   in the whole archive, vs a bare ``select_events`` + decode of the same events;
5. peak memory (max RSS, one fresh process per measurement) of import and replay at two sizes;
6. ``hearing --help`` wall time (best of 5) and the ``-X importtime`` top offenders.

Every measurement runs in its own fresh process (benchmarks/worker.py).  The synthetic
archive comes from benchmarks/synth.py: whole hearings of valid records (registrations,
segments, interventions with text, recommendations, pledges, summations, corrections),
about 430 bytes a record, which the importer takes through every real domain rule.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
PY = sys.executable
FIRST_PARTY = "transcript,summary,audit,pledges"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

TARGETS = {
    "import": 0.8,  # import >= 0.8x bare batch save
    "replay": 0.5,  # replay >= 0.5x bare read-and-decode
    "live": 3.0,  # live median < 3x bare single save
    "memory": 1.2,  # big within 20% of small
    "help": 0.3,  # seconds
}

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


# --- running workers ---------------------------------------------------------------------


def worker(
    task: str, *, cwd: Path | str, env: dict[str, str] | None = None, **options: Any
) -> dict[str, Any]:
    """Run one measurement in a fresh process (in ``cwd``); return its JSON result.

    ``cwd`` matters: a PostgreSQL archive keeps its key file in the working folder.
    """
    cmd = [PY, str(WORKER), task]
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    full_env = {**os.environ, "HEARING_PLUGINS": FIRST_PARTY, **(env or {})}
    started = time.perf_counter()
    with console.status(f"[dim]{task}…[/dim]"):
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=full_env, cwd=cwd, check=False
        )
    if done.returncode != 0:
        console.print(done.stderr[-4000:], markup=False)
        raise SystemExit(f"worker {task} failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    took = time.perf_counter() - started
    console.print(
        f"  [dim]{task:<12} {_brief(task, result)}  ({took:.1f} s; {load_of(result)})[/dim]"
    )
    return result


def _brief(task: str, r: dict[str, Any]) -> str:
    if "events" in r and "seconds" in r:
        return f"{r['events']:,} events in {r['seconds']:.2f} s = {rate(r):,.0f}/s, max RSS {mb(r):.0f} MB"
    if "total" in r:
        return f"median {r['total']['median_ms']:.2f} ms, p99 {r['total']['p99_ms']:.2f} ms"
    if "report" in r:
        return f"report median {r['report']['median_ms']:.1f} ms"
    return ""


def load_of(r: dict[str, Any]) -> str:
    """The 1-minute load average when the worker started and ended (the machine is shared)."""
    if "load" not in r:
        return "load ?"
    return f"load {r['load'][0]:.1f}-{r['load'][1]:.1f}"


def rate(r: dict[str, Any]) -> float:
    return float(r["events"] / r["seconds"]) if r["seconds"] else float("inf")


def mb(r: dict[str, Any]) -> float:
    return float(r["maxrss_kb"] / 1024)


# --- inputs and stores -----------------------------------------------------------------------


def make_input(workdir: Path, n: int, per_hearing: int) -> Path:
    sys.path.insert(0, str(HERE))
    import synth

    path = workdir / f"input-{n}-{per_hearing}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        with console.status(f"[dim]generating {n:,} records…[/dim]"):
            size = synth.write_jsonl(str(path), n, per_hearing)
        console.print(
            f"  [dim]generated {path.name}: {n:,} records, {size / n:.0f} bytes a record as JSON"
            f" ({time.perf_counter() - started:.1f} s)[/dim]"
        )
    return path


class Store:
    """One place to measure in: a SQLite folder or a PostgreSQL schema."""

    def __init__(self, kind: str, workdir: Path, tag: str, pg_url: str) -> None:
        self.kind = kind
        self.dir = workdir / f"{kind}-{tag}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.views = str(self.dir / "views.db")
        self.schema = None
        if kind == "sqlite":
            self.url = str(self.dir / "hearings.db")
        else:
            self.schema = f"bench_{os.getpid()}_{tag}".lower().replace("-", "_")
            self.url = f"{pg_url}?schema={self.schema}"
            self.pg_url = pg_url
            self.drop()

    def bare(self, name: str) -> str:
        return str(self.dir / f"{name}.db")

    def fresh_views(self, name: str) -> str:
        path = self.dir / f"{name}.views.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return str(path)

    def drop(self) -> None:
        if self.schema is None:
            return
        import psycopg

        from hearing_core.store import resolve

        env = resolve(self.pg_url).env
        with psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def cleanup(self) -> None:
        self.drop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the measurements --------------------------------------------------------------------------


def measure_store(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    n, per = args.events, args.events_per_hearing
    console.rule(f"[bold]{kind}[/bold]: {n:,} events, {per} a hearing")
    data = make_input(workdir, n, per)
    store = Store(kind, workdir, f"n{n}", args.pg_url)
    out: dict[str, Any] = {"kind": kind, "events": n, "per_hearing": per}
    try:
        console.print("[bold]1. batch import[/bold]")
        out["import"] = worker("import", cwd=store.dir, store=store.url, input=data)
        out["bare_save"] = worker(
            "bare-save", cwd=store.dir, store=store.url, input=data, bare_path=store.bare("bare")
        )
        out["raw"] = worker("raw", cwd=store.dir, store=store.url, bare_path=store.bare("raw"))
        out["parse"] = worker("parse", cwd=store.dir, input=data)

        console.print("[bold]2. replay[/bold]")
        out["replay"] = worker("replay", cwd=store.dir, store=store.url, views=store.views)
        out["read_decode"] = worker("read-decode", cwd=store.dir, store=store.url)
        out["follow"] = worker("follow", cwd=store.dir, store=store.url)
        if args.breakdown:
            out["replay_each"] = {}
            for name in FIRST_PARTY.split(","):
                out["replay_each"][name] = worker(
                    "replay",
                    cwd=store.dir,
                    store=store.url,
                    views=store.fresh_views(name),
                    env={"HEARING_PLUGINS": name},
                )

        console.print("[bold]3. live path[/bold]")
        out["live"] = worker(
            "live",
            cwd=store.dir,
            store=store.url,
            views=store.views,
            ops=args.ops,
            bare_path=store.bare("bare"),
        )
        out["bare_live"] = worker(
            "bare-live", cwd=store.dir, store=store.url, bare_path=store.bare("bare"), ops=args.ops
        )

        console.print("[bold]4. point in time[/bold]")
        hearings = max(1, n // per)
        slug = f"bench-{hearings // 2:06d}"
        pos = min(per, n) // 2
        out["pit"] = worker(
            "pit",
            cwd=store.dir,
            store=store.url,
            views=store.views,
            slug=slug,
            pos=pos,
            repeat=args.repeat,
        )

        if not args.no_memory:
            small = args.memory_small or (100_000 if n >= 1_000_000 else max(1000, n // 10))
            console.print(f"[bold]5. peak memory[/bold] at {small:,} (and {n:,} above)")
            small_data = make_input(workdir, small, per)
            small_store = Store(kind, workdir, f"n{small}", args.pg_url)
            try:
                out["memory_small"] = {
                    "events": small,
                    "import": worker(
                        "import", cwd=small_store.dir, store=small_store.url, input=small_data
                    ),
                    "replay": worker(
                        "replay",
                        cwd=small_store.dir,
                        store=small_store.url,
                        views=small_store.views,
                    ),
                }
            finally:
                if not args.keep:
                    small_store.cleanup()

        if args.profile:
            out["profiles"] = profile_misses(out, store, data, args)
    finally:
        if not args.keep:
            store.cleanup()
    return out


def profile_misses(
    out: dict[str, Any], store: Store, data: Path, args: argparse.Namespace
) -> dict[str, list[str]]:
    """Profile the paths that missed their targets; return the top functions of each."""
    console.print("[bold]profiles of the misses[/bold] (cProfile; timings distorted)")
    verdicts = verdicts_of(out)
    found: dict[str, list[str]] = {}
    prof_dir = Path(args.workdir_path) / "profiles"
    prof_dir.mkdir(exist_ok=True)
    kind = out["kind"]
    if not verdicts["import"][0]:
        # Profile a fresh import of a slice, into a fresh store.
        part = make_input(
            Path(args.workdir_path), min(args.events, 20_000), args.events_per_hearing
        )
        small = Store(kind, Path(args.workdir_path), "prof", args.pg_url)
        try:
            path = prof_dir / f"{kind}-import.prof"
            worker("import", cwd=small.dir, store=small.url, input=part, profile=path)
            found["import"] = top_functions(path)
        finally:
            small.cleanup()
    if not verdicts["replay"][0]:
        path = prof_dir / f"{kind}-replay.prof"
        worker(
            "replay", cwd=store.dir, store=store.url, views=store.fresh_views("prof"), profile=path
        )
        found["replay"] = top_functions(path)
    if not verdicts["live"][0]:
        path = prof_dir / f"{kind}-live.prof"
        worker(
            "live", cwd=store.dir, store=store.url, views=store.views, ops=args.ops, profile=path
        )
        found["live"] = top_functions(path)
    return found


def top_functions(path: Path, limit: int = 14) -> list[str]:
    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tt, ct, nc, func))
    lines = [f"total {total:.2f} s profiled"]
    lines.append("by own time:")
    for tt, ct, nc, func in sorted(rows, key=lambda r: r[0], reverse=True)[:limit]:
        lines.append(f"  {tt:7.2f} s own {ct:7.2f} s cum {nc:>9} calls  {_name(func)}")
    lines.append("by cumulative time:")
    for tt, ct, nc, func in sorted(rows, key=lambda r: r[1], reverse=True)[: limit + 6]:
        lines.append(f"  {ct:7.2f} s cum {tt:7.2f} s own {nc:>9} calls  {_name(func)}")
    return lines


def _name(func: tuple[str, int, str]) -> str:
    file, line, name = func
    if file == "~":
        return name
    parts = Path(file).parts
    for anchor in ("site-packages", "src", "lib"):
        if anchor in parts:
            idx = len(parts) - 1 - parts[::-1].index(anchor)
            file = "/".join(parts[idx + 1 :])
            break
    return f"{name} ({file}:{line})"


def measure_help() -> dict[str, Any]:
    console.rule("[bold]6. hearing --help[/bold]")
    script = Path(PY).parent / "hearing"
    env = {k: v for k, v in os.environ.items() if k not in ("HEARING_PLUGINS",)}
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ran = subprocess.run([str(script), "--help"], capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - t0)
        if ran.returncode != 0:
            console.print(f"[red]hearing --help exited {ran.returncode}[/red]")
            console.print(ran.stderr.decode(errors="replace")[-2000:], markup=False)
            return {"best_s": float("nan"), "times_s": times, "error": ran.returncode}
    done = subprocess.run(
        [PY, "-X", "importtime", str(script), "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    entries = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        body = line[len("import time:") :]
        self_us, cum_us, raw_name = body.split("|", 2)
        depth = (len(raw_name) - len(raw_name.lstrip(" ")) - 1) // 2
        entries.append((int(self_us), int(cum_us), depth, raw_name.strip()))
    # Per package: the cumulative time of its first (outermost) import.
    packages: dict[str, int] = {}
    for _, cum, _, name in entries:
        root = name.split(".")[0]
        packages[root] = max(packages.get(root, 0), cum)
    ours = sorted(
        (e for e in entries if e[3].startswith("hearing_") and e[3] != "hearing_core"),
        key=lambda e: e[1],
        reverse=True,
    )
    by_self = sorted(entries, key=lambda e: e[0], reverse=True)
    total_us = sum(e[1] for e in entries if e[2] == 0)
    return {
        "best_s": min(times),
        "times_s": times,
        "import_total_ms": total_us / 1000,
        "top_packages": [
            (name, cum / 1000)
            for name, cum in sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:12]
        ],
        "top_ours": [(name, cum / 1000) for _, cum, _, name in ours[:10]],
        "top_self": [(name, s / 1000) for s, _, _, name in by_self[:10]],
    }


# --- verdicts and output -----------------------------------------------------------------------


def verdicts_of(out: dict[str, Any]) -> dict[str, tuple[bool, float]]:
    """Target name -> (met, ratio)."""
    v: dict[str, tuple[bool, float]] = {}
    r = rate(out["import"]) / rate(out["bare_save"])
    v["import"] = (r >= TARGETS["import"], r)
    r = rate(out["replay"]) / rate(out["read_decode"])
    v["replay"] = (r >= TARGETS["replay"], r)
    r = out["live"]["total"]["median_ms"] / live_baseline(out)["median_ms"]
    v["live"] = (r < TARGETS["live"], r)
    if "memory_small" in out:
        for what in ("import", "replay"):
            r = mb(out[what]) / mb(out["memory_small"][what])
            v[f"memory_{what}"] = (r <= TARGETS["memory"], r)
    return v


def live_baseline(out: dict[str, Any]) -> dict[str, float]:
    """The bare single save interleaved with the live ops (same conditions), else standalone."""
    live = out["live"]
    return live["bare"] if "bare" in live else out["bare_live"]["total"]  # type: ignore[no-any-return]


def verdict(met: bool) -> str:
    return "[green]PASS[/green]" if met else "[red]MISS[/red]"


def render_store(out: dict[str, Any]) -> None:
    v = verdicts_of(out)
    kind = out["kind"]
    storage = "sqlite3 executemany" if kind == "sqlite" else "PostgreSQL COPY"
    t = Table(title=f"{kind}, {out['events']:,} events ({out['per_hearing']} a hearing)")
    for col in ("measurement", "hearing_core", "baseline", "ratio", "target", "verdict"):
        t.add_column(col, justify="left" if col in ("measurement", "baseline") else "right")
    imp, bare_save, raw = out["import"], out["bare_save"], out["raw"]
    t.add_row(
        "1. batch import, events/s",
        f"{rate(imp):,.0f}",
        f"bare save() x1000: {rate(bare_save):,.0f}",
        f"{v['import'][1]:.3f}x",
        f">= {TARGETS['import']}x",
        verdict(v["import"][0]),
    )
    t.add_row(
        "   vs storage limit",
        f"{rate(imp):,.0f}",
        f"{storage} x1000: {rate(raw):,.0f}",
        f"{rate(imp) / rate(raw):.3f}x",
        "",
        "info",
    )
    t.add_row(
        "   bare save vs storage limit",
        f"{rate(bare_save):,.0f}",
        f"{storage}: {rate(raw):,.0f}",
        f"{rate(bare_save) / rate(raw):.3f}x",
        "",
        "info",
    )
    rep, rd, fol = out["replay"], out["read_decode"], out["follow"]
    t.add_row(
        f"2. replay ({len(rep['projections'])} projections), events/s",
        f"{rate(rep):,.0f} ({load_of(rep)})",
        f"read + decode: {rate(rd):,.0f} ({load_of(rd)})",
        f"{v['replay'][1]:.3f}x",
        f">= {TARGETS['replay']}x",
        verdict(v["replay"][0]),
    )
    t.add_row(
        "   archive.follow() alone",
        f"{rate(fol):,.0f} ({load_of(fol)})",
        f"read + decode: {rate(rd):,.0f}",
        f"{rate(fol) / rate(rd):.3f}x",
        "",
        "info",
    )
    for name, each in out.get("replay_each", {}).items():
        t.add_row(
            f"   replay, {name} only (contract {each.get('contract', {}).get(name, '?')})",
            f"{rate(each):,.0f} ({load_of(each)})",
            f"read + decode: {rate(rd):,.0f}",
            f"{rate(each) / rate(rd):.3f}x",
            "",
            "info",
        )
    live, bl, alone = out["live"], live_baseline(out), out["bare_live"]["total"]
    t.add_row(
        "3. live record + catch_up, median ms",
        f"{live['total']['median_ms']:.2f}",
        f"bare single save, interleaved: {bl['median_ms']:.2f}",
        f"{v['live'][1]:.2f}x",
        f"< {TARGETS['live']}x",
        verdict(v["live"][0]),
    )
    t.add_row(
        "   p99 ms",
        f"{live['total']['p99_ms']:.2f}",
        f"bare single save, interleaved: {bl['p99_ms']:.2f}",
        f"{live['total']['p99_ms'] / bl['p99_ms']:.2f}x",
        "",
        "info",
    )
    t.add_row(
        "   bare single save alone (own process), median / p99 ms",
        "",
        f"{alone['median_ms']:.2f} / {alone['p99_ms']:.2f}",
        "",
        "",
        "info",
    )
    t.add_row(
        "   of which record() / catch_up(), median ms",
        f"{live['record']['median_ms']:.2f} / {live['catch_up']['median_ms']:.2f}",
        "",
        "",
        "",
        "info",
    )
    t.add_row(
        f"   first / last 10% of ops (hearing grows to {live['hearing_events_at_end']} events)",
        f"{live['total']['first_ms']:.2f} / {live['total']['last_ms']:.2f}",
        f"{bl['first_ms']:.2f} / {bl['last_ms']:.2f}",
        "",
        "",
        "info",
    )
    pit = out["pit"]
    t.add_row(
        f"4. transcript as_of seq {pit['pos']} of {pit['slug']}, median ms",
        f"{pit['report']['median_ms']:.1f}",
        f"bare select_events + decode: {pit['bare']['median_ms']:.1f}",
        f"{pit['report']['median_ms'] / pit['bare']['median_ms']:.1f}x",
        "",
        "info",
    )
    t.add_row(
        "   archive.records(slug, upto=pos), median ms",
        f"{pit['records']['median_ms']:.1f}",
        f"bare select_events + decode: {pit['bare']['median_ms']:.1f}",
        f"{pit['records']['median_ms'] / pit['bare']['median_ms']:.1f}x",
        "",
        "info",
    )
    t.add_row(
        "   first report (cold: plugins load)", f"{pit['report_cold_ms']:.1f}", "", "", "", "info"
    )
    if "memory_small" in out:
        small = out["memory_small"]
        for what in ("import", "replay"):
            t.add_row(
                f"5. peak RSS of {what}, MB",
                f"{out['events']:,}: {mb(out[what]):.0f}",
                f"{small['events']:,}: {mb(small[what]):.0f}",
                f"{v['memory_' + what][1]:.2f}x",
                f"<= {TARGETS['memory']}x",
                verdict(v["memory_" + what][0]),
            )
    console.print(t)
    console.print(
        f"  stored event state: {imp['state_bytes']:.0f} bytes a hearing event, "
        f"{bare_save['state_bytes']:.0f} a bare event; "
        f"reading + parsing the JSONL input alone: {rate(out['parse']):,.0f} records/s "
        f"({out['parse']['seconds'] / imp['seconds']:.1%} of the import time, "
        f"{out['parse']['seconds'] / bare_save['seconds']:.1%} of the bare save time)"
    )
    if rep.get("failures"):
        console.print(f"  [red]replay failures: {rep['failures']}[/red]")
    for name, lines in out.get("profiles", {}).items():
        console.print(f"[bold]profile: {name}[/bold]")
        for line in lines:
            console.print(line, markup=False)


def render_help(h: dict[str, Any]) -> None:
    if "error" in h:
        console.print(f"hearing --help: [red]failed (exit {h['error']})[/red]")
        return
    met = h["best_s"] < TARGETS["help"]
    console.print(
        f"hearing --help: best of 5 {h['best_s'] * 1000:.0f} ms "
        f"(all: {', '.join(f'{x * 1000:.0f}' for x in h['times_s'])} ms), target < "
        f"{TARGETS['help'] * 1000:.0f} ms: {verdict(met)}"
    )
    console.print(
        f"  -X importtime: {h['import_total_ms']:.0f} ms importing; by package (cumulative):"
    )
    for name, ms in h["top_packages"]:
        console.print(f"    {ms:7.1f} ms  {name}", markup=False)
    console.print("  hearing_core and plugin modules (cumulative, nested):")
    for name, ms in h["top_ours"]:
        console.print(f"    {ms:7.1f} ms  {name}", markup=False)
    console.print("  largest own import times:")
    for name, ms in h["top_self"][:6]:
        console.print(f"    {ms:7.1f} ms  {name}", markup=False)


def core_snapshot() -> str:
    """Git HEAD plus a digest of the working tree's core and plugin sources measured."""
    import hashlib

    root = HERE.parent
    digest = hashlib.sha256()
    for path in sorted(
        [*root.glob("src/hearing_core/**/*.py"), *root.glob("plugins/*/src/**/*.py")]
    ):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"HEAD {head or '?'} + working tree sources {digest.hexdigest()[:12]}"


def machine() -> dict[str, str]:
    from importlib.metadata import version

    info = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": str(os.cpu_count()),
        "python": sys.version.split()[0],
    }
    for dist in ("eventsourcing", "sqlite-utils", "pluggy", "attrs", "jsonschema", "psycopg"):
        try:
            info[dist] = version(dist)
        except Exception:
            info[dist] = "-"
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    info["core"] = core_snapshot()
    info["loadavg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        info["memory"] = subprocess.run(
            ["free", "-h"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[1]
    except Exception:
        info["memory"] = "?"
    return info


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark hearing_core against bare eventsourcing and raw storage.",
    )
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--events", type=int, help="archive size (default 50,000; 10,000 --quick)")
    parser.add_argument("--quick", action="store_true", help="small and fast: a smoke run")
    parser.add_argument(
        "--events-per-hearing", type=int, default=500, help="hearing length (default 500)"
    )
    parser.add_argument("--ops", type=int, help="live-path operations (default 200; 100 --quick)")
    parser.add_argument("--repeat", type=int, help="point-in-time repetitions (default 20)")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help=f"PostgreSQL (default {DEFAULT_PG})")
    parser.add_argument(
        "--memory-small",
        type=int,
        help="the smaller archive for the memory check (default 100,000 at >= 1M, else N/10)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory check")
    parser.add_argument(
        "--breakdown", action="store_true", help="also replay each projection alone"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the paths that miss their targets"
    )
    parser.add_argument("--workdir", help="keep inputs and stores here (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    parser.add_argument("--json", help="also write every raw figure to this JSON file")
    args = parser.parse_args()
    args.events = args.events or (10_000 if args.quick else 50_000)
    args.ops = args.ops or (100 if args.quick else 200)
    args.repeat = args.repeat or (10 if args.quick else 20)

    temporary = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hearing-bench-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    args.workdir_path = str(workdir)
    info = machine()
    console.print(
        f"hearing_core benchmarks, {info['date']}: {info['nproc']} CPUs, python {info['python']}, "
        f"eventsourcing {info['eventsourcing']}, sqlite {info['sqlite']}, "
        f"sqlite-utils {info['sqlite-utils']}, psycopg {info['psycopg']}; "
        f"load average {info['loadavg']}; workdir {workdir}"
    )
    console.print(f"measuring {info['core']}")
    kinds = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    results: dict[str, Any] = {"machine": info, "args": {k: v for k, v in vars(args).items()}}
    started = time.perf_counter()
    try:
        for kind in kinds:
            results[kind] = measure_store(kind, args, workdir)
        results["help"] = measure_help()
    finally:
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    console.rule("[bold]results[/bold]")
    for kind in kinds:
        render_store(results[kind])
    render_help(results["help"])
    console.rule("[bold]targets[/bold]")
    names = {
        "import": "batch import >= 0.8x bare batch save",
        "replay": "replay >= 0.5x bare read-and-decode",
        "live": "live path median < 3x bare single save",
        "memory_import": "import peak RSS: big within 20% of small",
        "memory_replay": "replay peak RSS: big within 20% of small",
    }
    for kind in kinds:
        for key, (met, ratio) in verdicts_of(results[kind]).items():
            console.print(f"  {verdict(met)}  {kind:<8} {names[key]}: {ratio:.3f}x")
    h = results["help"]
    console.print(
        f"  {verdict(h['best_s'] < TARGETS['help'])}  hearing --help < 0.3 s: {h['best_s']:.3f} s"
    )
    console.print(
        f"[dim]total {time.perf_counter() - started:.0f} s; load average now "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}[/dim]"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        console.print(f"[dim]raw figures in {args.json}[/dim]")


if __name__ == "__main__":
    main()
