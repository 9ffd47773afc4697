"""Interleaved A/B of the batch import: another checkout's code ("before") against this one's
("after"), beside a bare eventsourcing batch save, each in a fresh process and a fresh store,
on the same generated input, round after round (so load swings hit all three alike).

    .venv/bin/python benchmarks/ab_import.py --before /path/to/other/checkout/src \\
        --store sqlite --events 100000 --rounds 1

Prints each round's rates and, last, one JSON line with the medians and the ratios to the
bare save.  A run that fails is reported and counted as NaN, so a "before" that fails (say,
on PostgreSQL's idle-in-transaction limit) still shows the others.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, help="the other checkout's src folder")
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workdir", default=None, help="inputs and stores (default: temp)")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ab-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    inp = workdir / f"in{args.events}.jsonl"
    if not inp.exists():
        sys.path.insert(0, str(HERE))
        import synth

        synth.write_jsonl(str(inp), args.events)

    rates: dict[str, list[float]] = {"before": [], "after": [], "bare": []}
    for r in range(args.rounds):
        for variant in rates:
            rates[variant].append(_one(args, workdir, inp, variant))
        print(r, {k: round(v[-1]) if not math.isnan(v[-1]) else "failed" for k, v in rates.items()})
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(
        json.dumps(
            {
                "store": args.store,
                "events": args.events,
                "rounds": args.rounds,
                "median": med,
                "ratio_before": med["before"] / med["bare"],
                "ratio_after": med["after"] / med["bare"],
                "runs": rates,
            }
        )
    )


def _one(args: argparse.Namespace, workdir: Path, inp: Path, variant: str) -> float:
    folder = Path(tempfile.mkdtemp(dir=workdir))
    schema = None
    if args.store == "sqlite":
        url = str(folder / "store.db")
    else:
        import psycopg

        schema = "ab_" + uuid.uuid4().hex[:12]
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{args.pg_url}?schema={schema}"
    src = args.before if variant == "before" else str(SRC)
    task = "bare-save" if variant == "bare" else "import"
    command = [sys.executable, str(HERE / "worker.py"), task, "--store", url]
    command += ["--input", str(inp), "--bare-path", str(folder / "bare.db")]
    try:
        out = subprocess.run(
            command,
            env=dict(os.environ, PYTHONPATH=src),
            capture_output=True,
            text=True,
            cwd=HERE,
            check=False,
        )
    finally:
        if schema is not None:
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if out.returncode:
        print(variant, "failed:", out.stderr[-1500:], file=sys.stderr)
        return math.nan
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["events"]) / float(result["seconds"])


if __name__ == "__main__":
    main()
