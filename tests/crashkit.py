"""Helpers for the crash tests: record streams to crash in the middle of, and a live recorder.

Run as a script it is the process the tests SIGKILL while it records::

    python tests/crashkit.py record STORE SLUG COUNT

records the first COUNT records of :func:`hearing` (slug SLUG) through
``HearingArchive.record``, one at a time, resuming after whatever the store
already holds of that hearing, and prints each stored position (flushed) as
soon as ``record`` has returned it: every printed position is one the store
acknowledged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

DAY = "2022-05-16"
ZONE = "-04:00"
GROUPS = ["migrants", "civil_society", "private_sector", "trade_unions", "academia", None]
SEGMENTS = [f"s{i}" for i in range(1, 7)]


def _at(seconds: float) -> str:
    """A time on the hearing's day, ``seconds`` after 07:00 local."""
    moment = datetime.fromisoformat(f"{DAY}T07:00:00{ZONE}") + timedelta(seconds=seconds)
    return moment.isoformat()


def schedule(slug: str) -> dict[str, Any]:
    return {
        "type": "HearingScheduled",
        "hearing": slug,
        "at": f"2022-05-01T09:00:00{ZONE}",
        "title": f"Crash hearing {slug}",
        "venue": "Room C",
        "date": DAY,
        "timezone": "America/New_York",
        "languages": ["en", "fr", "es"],
        "programme": [
            {
                "id": sid,
                "kind": "session",
                "title": f"Session {sid}",
                "planned_start": _at(3600 * (i + 1)),
                "planned_end": _at(3600 * (i + 2)),
            }
            for i, sid in enumerate(SEGMENTS)
        ],
    }


def hearing(
    slug: str, count: int, *, people: int = 40, step: float = 3
) -> Iterator[dict[str, Any]]:
    """``count`` valid records of one hearing: a schedule, registrations, then six
    segments with interventions (some translated), pledges, recommendations and
    summations, and now and then a correction of an earlier speech.  Times advance
    ``step`` seconds a record: the hearing's day (with its overrun) holds 82,800 s,
    so some 27,000 records at 3 s, 82,000 at 1 s."""
    clock = 0.0

    def tick() -> str:
        nonlocal clock
        clock += step
        return _at(clock)

    made = 0
    speeches: list[int] = []
    if made < count:
        made += 1
        yield schedule(slug)
    for p in range(min(people, count - made)):
        made += 1
        yield {
            "type": "ParticipantRegistered",
            "hearing": slug,
            "at": tick(),
            "participant": f"p{p}",
            "name": f"Participant {p}",
            "organization": f"Organization {p % 7}",
            "stakeholder_group": GROUPS[p % len(GROUPS)],
        }
    quota = max(1, (count - made) // len(SEGMENTS) - 2)
    for index, segment in enumerate(SEGMENTS):
        if made >= count:
            return
        made += 1
        yield {"type": "SegmentOpened", "hearing": slug, "at": tick(), "segment": segment}
        last = index == len(SEGMENTS) - 1
        for _ in range(count - made if last else quota):
            if made >= count - (0 if last else 1):
                break
            made += 1
            n = made  # the position this record will take
            speaker = f"p{n % people}"
            kind = n % 10
            if kind == 7:
                yield {
                    "type": "PledgeMade",
                    "hearing": slug,
                    "at": tick(),
                    "by": speaker,
                    "text": f"Pledge {n}",
                    "gcm_objectives": [n % 23 + 1],
                    "level": "national",
                    "partners": [f"Partner {n % 5}"],
                    "segment": segment,
                }
            elif kind == 8:
                yield {
                    "type": "RecommendationMade",
                    "hearing": slug,
                    "at": tick(),
                    "by": speaker,
                    "text": f"Recommendation {n}",
                    "sg_report_areas": [n % 4 + 1],
                    "gcm_objectives": [n % 23 + 1, (n + 5) % 23 + 1],
                    "segment": segment,
                }
            elif kind == 9 and n % 50 == 49 and speeches:
                yield {
                    "type": "CorrectionIssued",
                    "hearing": slug,
                    "at": tick(),
                    "corrects": speeches[-1],
                    "changes": {"text": f"Corrected text of {speeches[-1]}"},
                    "reason": f"Correction {n}",
                }
            elif kind == 9:
                yield {
                    "type": "SummationDelivered",
                    "hearing": slug,
                    "at": tick(),
                    "by": "p0",
                    "segment": segment,
                    "summarises": segment,
                    "key_points": [f"Point {n}", f"Point {n + 1}"],
                }
            else:
                start = tick()
                record: dict[str, Any] = {
                    "type": "InterventionDelivered",
                    "hearing": slug,
                    "at": start,
                    "speaker": speaker,
                    "segment": segment,
                    "role": ["panellist", "floor", "keynote"][n % 3],
                    "language": ["fr", "es", "en"][n % 3],
                    "ended_at": _at(clock + 2),
                    "text": f"Intervention {n}: words words words.",
                }
                if n % 3 != 2 and n % 4 == 0:
                    record["translations"] = {"en": f"Translation of {n}"}
                speeches.append(n)
                yield record
        if not last and made < count:
            made += 1
            yield {"type": "SegmentClosed", "hearing": slug, "at": tick(), "segment": segment}


#: Seconds between the live recorder's records: room for 82,000 of them in the day.
LIVE_STEP = 1.0


def record_main(store: str, slug: str, count: int) -> None:
    from hearing_core.archive import open_archive

    archive = open_archive(store)
    done = archive.hearing(slug).version if archive.exists(slug) else 0
    for i, record in enumerate(hearing(slug, count, step=LIVE_STEP)):
        if i < done:
            continue
        stored = archive.record(record)
        sys.stdout.write(f"{stored['seq']}\n")
        sys.stdout.flush()
    archive.close()


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "record":
        record_main(argv[1], argv[2], int(argv[3]))
        return 0
    if len(argv) == 3 and argv[0] == "lines":
        for record in hearing(argv[1], int(argv[2])):
            sys.stdout.write(json.dumps(record) + "\n")
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
