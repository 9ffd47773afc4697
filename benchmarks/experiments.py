"""Measure candidate core patches (benchmarks/patches.py) against the unpatched core.

    python benchmarks/experiments.py [--events N] [--only import,replay,live]

Each row runs in a fresh process on the same input, the patch applied by
monkeypatching inside that process; src/hearing_core is never changed.
fast_validation needs fastjsonschema importable: set BENCH_SITE to a folder
holding it (``pip install --target DIR fastjsonschema``) or install it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.table import Table
from run import Store, console, make_input, mb, rate, worker

IMPORT = ["", "fast_validation", "fast_json_value", "fast_validation,fast_json_value"]
# Candidates not (yet) in the core; patches that landed were removed from patches.py.
REPLAY = ["", "fast_json_value"]
LIVE = [
    "",
    "sqlite_normal",
    "aggregate_cache_nocopy",
    "snapshots",
    "fast_validation,sqlite_normal",
    "fast_validation,aggregate_cache_nocopy,sqlite_normal",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--events-per-hearing", type=int, default=500)
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--only", default="import,replay,live")
    parser.add_argument("--live-patches", help="';'-separated patch sets for the live path")
    parser.add_argument("--workdir")
    parser.add_argument("--json")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hearing-exp-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    data = make_input(workdir, args.events, args.events_per_hearing)
    only = set(args.only.split(","))
    rows: list[tuple[str, str, str, str]] = []
    raw: dict[str, Any] = {}

    base_store = Store("sqlite", workdir, "exp-base", "")
    console.print("[bold]import[/bold] (and the archive the others use)")
    base = worker("import", cwd=base_store.dir, store=base_store.url, input=data)
    raw["import:"] = base
    if "import" in only:
        for patch in IMPORT[1:]:
            store = Store("sqlite", workdir, "exp-imp", "")
            r = worker("import", cwd=store.dir, store=store.url, input=data, patch=patch)
            raw[f"import:{patch}"] = r
            rows.append(
                (
                    "import events/s (peak RSS)",
                    patch,
                    f"{rate(r):,.0f} ({mb(r):.0f} MB)",
                    f"{rate(r) / rate(base):.2f}x events/s, {mb(r) / mb(base):.2f}x RSS"
                    f" [base {rate(base):,.0f}/s, {mb(base):.0f} MB]",
                )
            )
            store.cleanup()
    if "replay" in only:
        console.print("[bold]replay[/bold]")
        results = {}
        for patch in REPLAY:
            results[patch] = worker(
                "replay",
                cwd=base_store.dir,
                store=base_store.url,
                views=base_store.fresh_views("exp"),
                patch=patch or None,
            )
            raw[f"replay:{patch}"] = results[patch]
        follow = worker("follow", cwd=base_store.dir, store=base_store.url)
        follow_fast = worker(
            "follow", cwd=base_store.dir, store=base_store.url, patch="fast_json_value"
        )
        raw["follow:"], raw["follow:fast_json_value"] = follow, follow_fast
        for patch in REPLAY[1:]:
            r = results[patch]
            rows.append(
                (
                    "replay events/s",
                    patch,
                    f"{rate(r):,.0f}",
                    f"{rate(r) / rate(results['']):.2f}x [base {rate(results['']):,.0f}/s]",
                )
            )
        rows.append(
            (
                "archive.follow() events/s",
                "fast_json_value",
                f"{rate(follow_fast):,.0f}",
                f"{rate(follow_fast) / rate(follow):.2f}x [base {rate(follow):,.0f}/s]",
            )
        )
    if "live" in only:
        console.print("[bold]live path[/bold]")
        worker("replay", cwd=base_store.dir, store=base_store.url, views=base_store.views)
        bare = worker(
            "bare-live",
            cwd=base_store.dir,
            store=base_store.url,
            bare_path=base_store.bare("bare"),
            ops=args.ops,
        )
        raw["bare-live"] = bare
        bare_ms = bare["total"]["median_ms"]
        for patch in args.live_patches.split(";") if args.live_patches else LIVE:
            r = worker(
                "live",
                cwd=base_store.dir,
                store=base_store.url,
                views=base_store.views,
                ops=args.ops,
                patch=patch or None,
                bare_path=base_store.bare("bare"),
            )
            raw[f"live:{patch}"] = r
            t = r["total"]
            inter = r["bare"]["median_ms"]
            rows.append(
                (
                    "live median / p99 ms (record / catch_up)",
                    patch or "(none)",
                    f"{t['median_ms']:.2f} / {t['p99_ms']:.2f}"
                    f" ({r['record']['median_ms']:.2f} / {r['catch_up']['median_ms']:.2f})",
                    f"{t['median_ms'] / inter:.2f}x bare single save interleaved ({inter:.2f} ms;"
                    f" alone {bare_ms:.2f} ms)",
                )
            )
    base_store.cleanup()

    table = Table(title=f"candidate patches, {args.events:,} events")
    for col in ("measurement", "patch", "figure", "vs unpatched"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
