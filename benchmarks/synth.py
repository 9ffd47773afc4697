"""Synthetic archives: a deterministic stream of valid hearing records.

Each hearing is shaped like the sample IMRF 2022 hearing, only longer: it is
scheduled two weeks ahead, registers its participants on the morning of its
day, runs an opening, three sessions and a closing (interventions with text,
some with a translation, recommendations, pledges and a few moderator
summations), closes, and afterwards gets a few corrections and pledge
progress reports.  The records obey every rule the importer checks: times
only increase, proceedings happen on the hearing's day in its own time zone,
nothing is in the future (hearings are dated 2012 onwards, one a day), speakers
are registered, segments are open when spoken in.  ``seq`` is given; ``digest``
is not (the importer computes the chain either way).

Records average about 400 bytes as JSON lines (see :func:`size_report`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hearing_core.taxonomy import DEFAULT_STAKEHOLDER_GROUPS

#: Default number of events per hearing (the sample has 125; long hearings have ~1,000).
EVENTS_PER_HEARING = 500

TIMEZONES = (
    "America/New_York",
    "Europe/Zurich",
    "Africa/Nairobi",
    "Asia/Bangkok",
    "America/Santiago",
    "Pacific/Fiji",
)
LANGUAGES = ("en", "fr", "es", "ar", "ru", "zh")
GROUPS = tuple(DEFAULT_STAKEHOLDER_GROUPS)
REGIONS = (
    "africa",
    "arab_states",
    "asia_pacific",
    "europe_north_america",
    "latin_america_caribbean",
)
COUNTRIES = ("KE", "MX", "PH", "DE", "SN", "JO", "CO", "TH", "NG", "FR", "BD", "GT")
ROLES = ("panellist", "panellist", "floor", "floor", "floor", "keynote")
LEVELS = ("local", "national", "regional", "global")
FIRST_DAY = date(2012, 1, 2)

WORDS = [
    "migrants",
    "regular",
    "pathways",
    "access",
    "services",
    "health",
    "education",
    "decent",
    "work",
    "recruitment",
    "fees",
    "social",
    "protection",
    "portability",
    "data",
    "disaggregated",
    "national",
    "implementation",
    "plan",
    "review",
    "local",
    "authorities",
    "cities",
    "inclusion",
    "cohesion",
    "discrimination",
    "xenophobia",
    "detention",
    "alternatives",
    "children",
    "families",
    "reunification",
    "consular",
    "protection",
    "missing",
    "migrants",
    "search",
    "rescue",
    "border",
    "governance",
    "human",
    "rights",
    "due",
    "process",
    "trafficking",
    "smuggling",
    "victims",
    "remittances",
    "diaspora",
    "skills",
    "recognition",
    "climate",
    "displacement",
    "disasters",
    "return",
    "reintegration",
    "dignified",
    "cooperation",
    "partnership",
    "funding",
    "capacity",
    "building",
    "multi-stakeholder",
    "civil",
    "society",
    "trade",
    "unions",
    "employers",
    "firewall",
    "status",
    "regardless",
    "covid",
    "recovery",
    "vaccines",
    "labour",
    "mobility",
    "agreements",
    "bilateral",
    "regional",
    "corridors",
    "information",
    "campaigns",
    "legal",
    "identity",
    "documentation",
    "we",
    "urge",
    "member",
    "states",
    "to",
    "ensure",
    "that",
    "the",
    "compact",
    "delivers",
    "for",
    "all",
    "concrete",
    "commitments",
    "measurable",
    "targets",
    "by",
    "the",
    "next",
    "review",
    "forum",
    "with",
    "transparent",
    "reporting",
]

FIRST_NAMES = [
    "Amina",
    "Carlos",
    "Mei",
    "Olena",
    "Kwame",
    "Fatima",
    "Jorge",
    "Priya",
    "Samir",
    "Ana",
    "Tomas",
    "Leila",
    "Chidi",
    "Rosa",
    "Hiroshi",
    "Nadia",
    "Pablo",
    "Zainab",
    "Ivan",
    "Grace",
    "Omar",
    "Lucia",
    "Tenzin",
    "Maryam",
]
LAST_NAMES = [
    "Okafor",
    "Hernandez",
    "Chen",
    "Kovalenko",
    "Mensah",
    "Haddad",
    "Silva",
    "Raman",
    "Khoury",
    "Torres",
    "Novak",
    "Ahmadi",
    "Eze",
    "Moreno",
    "Tanaka",
    "Petrova",
    "Ruiz",
    "Bello",
    "Sokolov",
    "Achieng",
    "Farouk",
    "Rossi",
    "Dorje",
    "Karimi",
]
ORG_HEADS = (
    "Network of",
    "Alliance for",
    "Council of",
    "Federation of",
    "Coalition on",
    "Institute for",
)
ORG_TAILS = (
    "Migrant Workers' Rights",
    "Diaspora Development",
    "Inclusive Cities",
    "Refugee and Migrant Health",
    "Fair Recruitment",
    "Children on the Move",
    "Labour Mobility Research",
)


def _text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words: list[str] = []
    size = 0
    while size < target:
        w = rng.choice(WORDS)
        words.append(w)
        size += len(w) + 1
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def slug_of(index: int) -> str:
    return f"bench-{index:06d}"


def hearing_records(
    index: int, events: int = EVENTS_PER_HEARING, seed: int = 1
) -> Iterator[dict[str, Any]]:
    """The records of hearing number ``index``: ``events`` of them, valid in this order."""
    rng = random.Random(seed * 1_000_003 + index)
    slug = slug_of(index)
    tzname = TIMEZONES[index % len(TIMEZONES)]
    tz = ZoneInfo(tzname)
    day = FIRST_DAY + timedelta(days=index)
    langs = list(LANGUAGES[: 3 + index % 3])
    day_start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    seq = 0

    def at(seconds: float) -> str:
        return (day_start + timedelta(seconds=seconds)).astimezone(tz).isoformat()

    def emit(record: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        return {"type": record.pop("type"), "hearing": slug, "seq": seq, **record}

    # How the events divide up.
    n_participants = max(8, min(60, events // 10))
    segments = ["opening", "session-1", "session-2", "session-3", "closing"]
    n_after = 5  # corrections and progress reports after the close
    n_body = max(0, events - 1 - n_participants - 2 * len(segments) - 1 - n_after)
    share = {"opening": 0.05, "closing": 0.05}
    per_segment = {s: int(n_body * share.get(s, 0.3)) for s in segments}
    per_segment["session-1"] += n_body - sum(per_segment.values())

    # Time: registration from 07:00, proceedings from 09:00, at most ~16 hours.
    step = min(90.0, 58_000 / max(1, n_body + 2 * len(segments) + 1))
    programme = []
    planned = 9 * 3600.0
    for s in segments:
        length = max(600.0, step * (per_segment[s] + 2))
        kind = s.split("-")[0] if s in ("opening", "closing") else "session"
        programme.append(
            {
                "id": s,
                "kind": kind,
                "title": f"{s.replace('-', ' ').title()}: " + _text(rng, 20, 60),
                "planned_start": at(planned),
                "planned_end": at(planned + length),
            }
        )
        planned += length
    yield emit(
        {
            "type": "HearingScheduled",
            "at": (day_start - timedelta(days=14) + timedelta(hours=9)).astimezone(tz).isoformat(),
            "title": f"Regional review hearing {index}: " + _text(rng, 30, 60),
            "venue": f"Conference room {1 + index % 9}, regional centre",
            "date": day.isoformat(),
            "timezone": tzname,
            "languages": langs,
            "programme": programme,
        }
    )

    # Participants: four officials (chair, moderators), then stakeholders.
    people: list[str] = []
    officials: list[str] = []
    for i in range(n_participants):
        pid = f"p{i:03d}"
        official = i < 4
        record: dict[str, Any] = {
            "type": "ParticipantRegistered",
            "at": at(7 * 3600 + i * 20),
            "participant": pid,
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "stakeholder_group": None if official else GROUPS[i % len(GROUPS)],
            "organization": f"{rng.choice(ORG_HEADS)} {rng.choice(ORG_TAILS)} "
            + _text(rng, 10, 60).rstrip("."),
        }
        if not official:
            record["region"] = rng.choice(REGIONS)
            record["country"] = rng.choice(COUNTRIES)
            if rng.random() < 0.03:
                record["protected"] = True
        (officials if official else people).append(pid)
        yield emit(record)
    registrations = list(range(2, 2 + n_participants))

    clock = 9 * 3600.0
    pledges: list[int] = []
    done: list[str] = []
    for s in segments:
        moderator = officials[1 + segments.index(s) % 3]
        clock += step
        yield emit({"type": "SegmentOpened", "at": at(clock), "segment": s, "moderator": moderator})
        for _ in range(per_segment[s]):
            clock += step
            roll = rng.random()
            if roll < 0.65 or (roll >= 0.97 and not done):
                speaker = rng.choice(people)
                language = langs[0] if rng.random() < 0.7 else rng.choice(langs)
                record = {
                    "type": "InterventionDelivered",
                    "at": at(clock),
                    "speaker": speaker,
                    "segment": s,
                    "role": rng.choice(ROLES),
                    "language": language,
                    "ended_at": at(clock + step * 0.8),
                    "text": _text(rng, 130, 300),
                }
                if rng.random() < 0.05:
                    other = next(lang for lang in langs if lang != language)
                    record["translations"] = {other: _text(rng, 130, 250)}
            elif roll < 0.85:
                record = {
                    "type": "RecommendationMade",
                    "at": at(clock),
                    "by": rng.choice(people),
                    "text": _text(rng, 120, 260),
                    "sg_report_areas": sorted(rng.sample(range(1, 5), rng.randint(1, 2))),
                    "gcm_objectives": sorted(rng.sample(range(1, 24), rng.randint(1, 3))),
                    "segment": s,
                }
            elif roll < 0.97:
                record = {
                    "type": "PledgeMade",
                    "at": at(clock),
                    "by": rng.choice(people),
                    "text": _text(rng, 120, 240),
                    "gcm_objectives": sorted(rng.sample(range(1, 24), rng.randint(1, 3))),
                    "level": rng.choice(LEVELS),
                    "segment": s,
                }
                if rng.random() < 0.5:
                    record["partners"] = [f"{rng.choice(ORG_HEADS)} {rng.choice(ORG_TAILS)}"]
                pledges.append(seq + 1)
            else:
                record = {
                    "type": "SummationDelivered",
                    "at": at(clock),
                    "by": moderator,
                    "segment": s,
                    "summarises": rng.choice(done),
                    "key_points": [_text(rng, 50, 90) for _ in range(3)],
                }
            yield emit(record)
        clock += step
        yield emit({"type": "SegmentClosed", "at": at(clock), "segment": s})
        done.append(s)
    clock += step
    yield emit({"type": "HearingClosed", "at": at(clock)})

    # Afterwards: corrections of registrations, progress on pledges.
    later = 86_400 + 10 * 3600.0
    for i in range(3):
        later += 3600
        yield emit(
            {
                "type": "CorrectionIssued",
                "at": at(later),
                "corrects": registrations[(i * 7 + 4) % len(registrations)],
                "changes": {"organization": "Corrected: " + _text(rng, 20, 50).rstrip(".")},
                "reason": "Organization name misspelled at registration.",
            }
        )
    for i in range(2):
        later += 30 * 86_400
        if pledges:
            yield emit(
                {
                    "type": "PledgeProgressReported",
                    "at": at(later),
                    "pledge": pledges[i % len(pledges)],
                    "status": "in_progress",
                    "note": _text(rng, 60, 140),
                }
            )


def archive_records(
    n: int, events_per_hearing: int = EVENTS_PER_HEARING, seed: int = 1, first: int = 0
) -> Iterator[dict[str, Any]]:
    """Exactly ``n`` records: whole hearings one after another (the last may stop early)."""
    count = 0
    index = first
    while count < n:
        for record in hearing_records(index, events_per_hearing, seed):
            yield record
            count += 1
            if count >= n:
                return
        index += 1


def write_jsonl(path: str, n: int, events_per_hearing: int = EVENTS_PER_HEARING) -> int:
    """Write ``n`` records to a JSON Lines file; return its size in bytes."""
    size = 0
    with open(path, "w", encoding="utf-8") as f:
        for record in archive_records(n, events_per_hearing):
            line = json.dumps(record, ensure_ascii=False) + "\n"
            size += len(line.encode("utf-8"))
            f.write(line)
    return size


def read_jsonl(path: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(source, line, record)`` triples, streamed, as ``hearing import`` reads them."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            yield path, number, json.loads(line)
