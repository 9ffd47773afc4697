"""Peak memory of importing one very long hearing, beside the same events spread over many.

    .venv/bin/python benchmarks/long_hearing.py --events 200000 --per-hearing 1000

Writes two inputs of ``--events`` interventions (one hearing; hearings of
``--per-hearing``), imports each into a fresh SQLite store in its own process
(``python -m hearing_core import``, no plugins) and prints each one's peak RSS,
measured with ``os.wait4`` for that process alone.  Issue 9: a hearing's state
used to grow by some 475 bytes an event (one hearing of 200,000: 150 MB, spread:
55 MB); it now keeps 21 bytes an event.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

TZ = timezone(timedelta(hours=-4))


def write_input(out: IO[str], events: int, per_hearing: int) -> None:
    """Hearings of one speaker giving ``per_hearing`` short interventions, 0.2 s apart."""
    done, number = 0, 0
    while done < events:
        slug = f"h{number}"
        number += 1
        start = datetime(2022, 5, 16, tzinfo=TZ)
        out.write(
            json.dumps(
                {
                    "type": "HearingScheduled",
                    "hearing": slug,
                    "at": "2022-05-01T09:00:00-04:00",
                    "title": "T",
                    "venue": "V",
                    "date": "2022-05-16",
                    "timezone": "America/New_York",
                    "languages": ["en"],
                    "programme": [
                        {
                            "id": "s1",
                            "kind": "session",
                            "title": "S",
                            "planned_start": "2022-05-16T10:00:00-04:00",
                            "planned_end": "2022-05-16T11:00:00-04:00",
                        }
                    ],
                }
            )
            + "\n"
        )
        register = {
            "type": "ParticipantRegistered",
            "hearing": slug,
            "at": "2022-05-15T09:00:00-04:00",
            "participant": "ana",
            "name": "Ana",
            "stakeholder_group": "migrants",
        }
        out.write(json.dumps(register) + "\n")
        opened = {
            "type": "SegmentOpened",
            "hearing": slug,
            "at": start.isoformat(),
            "segment": "s1",
        }
        out.write(json.dumps(opened) + "\n")
        for i in range(min(per_hearing, events - done)):
            at = start + timedelta(milliseconds=200 * i + 1)
            record = {
                "type": "InterventionDelivered",
                "hearing": slug,
                "at": at.isoformat(),
                "speaker": "ana",
                "segment": "s1",
                "role": "floor",
                "language": "en",
                "ended_at": (at + timedelta(milliseconds=100)).isoformat(),
                "text": f"Words {i}",
            }
            out.write(json.dumps(record) + "\n")
        done += per_hearing


def import_peak(data: Path, workdir: Path) -> tuple[int, float]:
    """Import ``data`` into a fresh store in a child process: (peak RSS in KiB, seconds)."""
    store = workdir / f"{data.stem}.db"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hearing_core", "--store", str(store), "import", str(data)],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "HEARING_PLUGINS": ""},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import of {data} failed")
    return usage.ru_maxrss, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-hearing", type=int, default=1000)
    args = parser.parse_args()
    if args.events > 400_000:
        parser.error("one hearing's interventions must fit in its day: at most 400,000")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {}
        for name, per in (("one hearing", args.events), ("spread", args.per_hearing)):
            data = workdir / f"{name.replace(' ', '-')}.jsonl"
            with data.open("w", encoding="utf-8") as out:
                write_input(out, args.events, per)
            results[name] = import_peak(data, workdir)
        for name, (peak, seconds) in results.items():
            print(
                f"{name:12} {args.events:,} events: peak RSS {peak / 1024:.1f} MB ({seconds:.0f} s)"
            )
        ratio = results["one hearing"][0] / results["spread"][0]
        print(f"one hearing / spread over hearings of {args.per_hearing}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
