"""The aggregate refuses what cannot have happened, and a refusal leaves the store as it was.

Each case starts from a small valid hearing in the store (both backends),
tries one impossible record through the live path and through import, and
checks the error names the field and that nothing was written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearing_core.archive import HearingArchive
from hearing_core.domain import ActorLog, SpanLog
from hearing_core.errors import RecordError

H = "inv-hearing"


def _schedule(**over: Any) -> dict[str, Any]:
    record = {
        "type": "HearingScheduled",
        "hearing": H,
        "at": "2022-05-01T09:00:00-04:00",
        "title": "Invariant hearing",
        "venue": "Room 1",
        "date": "2022-05-16",
        "timezone": "America/New_York",
        "languages": ["en", "fr"],
        "programme": [
            {
                "id": "s1",
                "kind": "session",
                "title": "Session 1",
                "planned_start": "2022-05-16T10:00:00-04:00",
                "planned_end": "2022-05-16T11:00:00-04:00",
            },
            {
                "id": "s2",
                "kind": "session",
                "title": "Session 2",
                "planned_start": "2022-05-16T11:00:00-04:00",
                "planned_end": "2022-05-16T12:00:00-04:00",
            },
        ],
    }
    record.update(over)
    return record


BASE = [
    _schedule(),
    {
        "type": "ParticipantRegistered",
        "hearing": H,
        "at": "2022-05-16T09:00:00-04:00",
        "participant": "ana",
        "name": "Ana",
        "stakeholder_group": "migrants",
    },
    {"type": "SegmentOpened", "hearing": H, "at": "2022-05-16T10:00:00-04:00", "segment": "s1"},
    {
        "type": "InterventionDelivered",
        "hearing": H,
        "at": "2022-05-16T10:01:00-04:00",
        "speaker": "ana",
        "segment": "s1",
        "role": "panellist",
        "language": "en",
        "ended_at": "2022-05-16T10:05:00-04:00",
        "text": "Hello",
    },
]


def _at(minute: int) -> str:
    return f"2022-05-16T10:{minute:02d}:00-04:00"


def speech(**over: Any) -> dict[str, Any]:
    r = {
        "type": "InterventionDelivered",
        "hearing": H,
        "at": _at(10),
        "speaker": "ana",
        "segment": "s1",
        "role": "floor",
        "language": "en",
        "ended_at": _at(12),
    }
    r.update(over)
    return r


def fix(seq: int, reason: str = "typo", **changes: Any) -> dict[str, Any]:
    return {
        "type": "CorrectionIssued",
        "hearing": H,
        "at": _at(15),
        "corrects": seq,
        "changes": changes or {"reason": reason},
        "reason": reason,
    }


CLOSE_S1 = {"type": "SegmentClosed", "hearing": H, "at": _at(20), "segment": "s1"}
CLOSED = {"type": "HearingClosed", "hearing": H, "at": _at(21)}

# (case id, records to add first, the refused record, the field the error must name)
CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], str]] = [
    ("unregistered speaker", [], speech(speaker="bob"), "speaker"),
    ("segment not open", [], speech(segment="s2"), "segment"),
    ("segment not in programme", [], speech(segment="nope"), "segment"),
    ("after segment closed", [CLOSE_S1], speech(at=_at(25), ended_at=_at(26)), "segment"),
    (
        "anything after close",
        [CLOSE_S1, CLOSED],
        {
            "type": "ParticipantRegistered",
            "hearing": H,
            "at": _at(30),
            "participant": "zed",
            "name": "Zed",
            "stakeholder_group": None,
        },
        "type",
    ),
    ("ends before it starts", [], speech(ended_at=_at(9)), "ended_at"),
    ("time runs backwards", [], speech(at="2022-05-16T09:59:00-04:00"), "at"),
    (
        "group not in taxonomy",
        [],
        {
            "type": "ParticipantRegistered",
            "hearing": H,
            "at": _at(10),
            "participant": "bob",
            "name": "Bob",
            "stakeholder_group": "pirates",
        },
        "stakeholder_group",
    ),
    (
        "GCM objective above 23",
        [],
        {
            "type": "PledgeMade",
            "hearing": H,
            "at": _at(10),
            "by": "ana",
            "text": "x",
            "gcm_objectives": [24],
            "level": "local",
        },
        "gcm_objectives.0",
    ),
    (
        "GCM objective below 1",
        [],
        {
            "type": "RecommendationMade",
            "hearing": H,
            "at": _at(10),
            "by": "ana",
            "text": "x",
            "sg_report_areas": [1],
            "gcm_objectives": [0],
        },
        "gcm_objectives.0",
    ),
    (
        "segment opened twice",
        [CLOSE_S1],
        {"type": "SegmentOpened", "hearing": H, "at": _at(25), "segment": "s1"},
        "segment",
    ),
    (
        "second segment while one is open",
        [],
        {"type": "SegmentOpened", "hearing": H, "at": _at(10), "segment": "s2"},
        "segment",
    ),
    (
        "closed before it opened",
        [],
        {"type": "SegmentClosed", "hearing": H, "at": _at(10), "segment": "s2"},
        "segment",
    ),
    (
        "correction of no event",
        [],
        {
            "type": "CorrectionIssued",
            "hearing": H,
            "at": _at(10),
            "corrects": 99,
            "changes": {"text": "x"},
            "reason": "typo",
        },
        "corrects",
    ),
    (
        "correction of a field the event lacks",
        [],
        {
            "type": "CorrectionIssued",
            "hearing": H,
            "at": _at(10),
            "corrects": 2,
            "changes": {"ended_at": _at(9)},
            "reason": "typo",
        },
        "changes.ended_at",
    ),
    (
        "duplicate participant",
        [],
        {
            "type": "ParticipantRegistered",
            "hearing": H,
            "at": _at(10),
            "participant": "ana",
            "name": "Ana again",
            "stakeholder_group": "migrants",
        },
        "participant",
    ),
    ("language not of the hearing", [], speech(language="de"), "language"),
    ("seq that skips", [], speech(seq=9), "seq"),
    ("seq that repeats", [], speech(seq=4), "seq"),
    ("time without offset", [], speech(at="2022-05-16T10:10:00"), "at"),
    ("unknown hearing", [], speech(hearing="other"), "hearing"),
    ("scheduled twice", [], _schedule(at=_at(10)), "hearing"),
    (
        "close with a segment open",
        [],
        {"type": "HearingClosed", "hearing": H, "at": _at(10)},
        "type",
    ),
    ("time in the future", [], speech(at="2099-05-16T10:10:00-04:00"), "at"),
    (
        "proceedings off the hearing's day",
        [CLOSE_S1],
        {"type": "SegmentOpened", "hearing": H, "at": "2022-05-18T10:00:00-04:00", "segment": "s2"},
        "at",
    ),
    (
        "control character in a name",
        [],
        {
            "type": "ParticipantRegistered",
            "hearing": H,
            "at": _at(10),
            "participant": "bob",
            "name": "Bob\x1b[31m",
            "stakeholder_group": None,
        },
        "name",
    ),
    (
        "bidi override in a name",
        [],
        {
            "type": "ParticipantRegistered",
            "hearing": H,
            "at": _at(10),
            "participant": "bob",
            "name": "Bob \u202egnp.exe",
            "stakeholder_group": None,
        },
        "name",
    ),
    ("NUL in a speech", [], speech(text="a\x00b"), "text"),
    ("correction to an unregistered speaker", [], fix(4, speaker="ghost"), "changes.speaker"),
    ("correction to an unknown segment", [], fix(4, segment="nope"), "changes.segment"),
    ("correction ending before the start", [], fix(4, ended_at=_at(0)), "changes.ended_at"),
    ("correction lifting protection", [], fix(2, protected=False), "changes.protected"),
    ("correction of a correction", [fix(2, name="Ana B")], fix(5, reason="again"), "corrects"),
]


def _state(archive: HearingArchive) -> tuple[int, list[dict[str, Any]]]:
    return archive.max_position(), list(archive.records(H))


@pytest.fixture
def seeded(archive: HearingArchive) -> HearingArchive:
    archive.import_records(("base", i, r) for i, r in enumerate(BASE, 1))
    return archive


@pytest.mark.parametrize(
    ("prior", "bad", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_live_path_refuses_and_changes_nothing(
    seeded: HearingArchive, prior: list[dict[str, Any]], bad: dict[str, Any], field: str
) -> None:
    for r in prior:
        seeded.record(r)
    before = _state(seeded)
    with pytest.raises(RecordError) as refused:
        seeded.record(bad)
    assert refused.value.field == field, str(refused.value)
    assert _state(seeded) == before


@pytest.mark.parametrize(
    ("prior", "bad", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_import_refuses_whole_file(
    seeded: HearingArchive, prior: list[dict[str, Any]], bad: dict[str, Any], field: str
) -> None:
    before = _state(seeded)
    lines = [*prior, bad]
    with pytest.raises(RecordError) as refused:
        seeded.import_records(("bad.jsonl", i, r) for i, r in enumerate(lines, 1))
    assert refused.value.line == len(lines)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"bad.jsonl:{len(lines)}, field '{field}': ")
    assert _state(seeded) == before


def test_valid_records_are_accepted(seeded: HearingArchive) -> None:
    """The fixtures above are one step from valid: the good versions go through."""
    seeded.record(speech())
    seeded.record(
        {
            "type": "PledgeMade",
            "hearing": H,
            "at": _at(12),
            "by": "ana",
            "text": "x",
            "gcm_objectives": [23],
            "level": "global",
            "partners": ["IOM"],
        }
    )
    seeded.record(CLOSE_S1)
    seeded.record(CLOSED)
    stored = seeded.record(
        {
            "type": "CorrectionIssued",
            "hearing": H,
            "at": _at(30),
            "corrects": 2,
            "changes": {"name": "Ana María"},
            "reason": "spelling",
        }
    )
    assert stored["seq"] == 9
    assert seeded.hearing(H).participants["ana"].name == "Ana María"


def test_corrected_group_is_checked_against_taxonomy(seeded: HearingArchive) -> None:
    with pytest.raises(RecordError) as refused:
        seeded.record(
            {
                "type": "CorrectionIssued",
                "hearing": H,
                "at": _at(30),
                "corrects": 2,
                "changes": {"stakeholder_group": "pirates"},
                "reason": "x",
            }
        )
    assert refused.value.field == "changes.stakeholder_group"


def test_custom_taxonomy_replaces_default(archive: HearingArchive) -> None:
    archive.record(_schedule(stakeholder_groups=[{"id": "youth", "label": "Youth"}]))
    archive.record(
        {
            "type": "ParticipantRegistered",
            "hearing": H,
            "at": _at(1),
            "participant": "y",
            "name": "Y",
            "stakeholder_group": "youth",
        }
    )
    with pytest.raises(RecordError):
        archive.record(
            {
                "type": "ParticipantRegistered",
                "hearing": H,
                "at": _at(2),
                "participant": "m",
                "name": "M",
                "stakeholder_group": "migrants",
            }
        )


def test_value_objects_round_trip_through_store(seeded: HearingArchive) -> None:
    hearing = seeded.hearing(H)
    item = hearing.segments["s1"].item
    assert item.planned_start.isoformat() == "2022-05-16T10:00:00-04:00"
    assert type(item).__name__ == "ProgrammeItem"
    assert json.loads(json.dumps(list(seeded.records(H))))[0]["programme"][0]["id"] == "s1"


def _pledged(archive: HearingArchive) -> None:
    archive.import_records(("base", i, r) for i, r in enumerate(BASE, 1))
    archive.record(
        {
            "type": "PledgeMade",
            "hearing": H,
            "at": _at(12),
            "by": "ana",
            "text": "x",
            "gcm_objectives": [5],
            "level": "local",
        }
    )  # seq 5
    archive.record(CLOSE_S1)
    archive.record(CLOSED)


def test_pledge_progress_is_accepted_after_close_and_checked(archive: HearingArchive) -> None:
    _pledged(archive)
    stored = archive.record(
        {
            "type": "PledgeProgressReported",
            "hearing": H,
            "at": "2023-01-01T00:00:00+00:00",
            "pledge": 5,
            "status": "in_progress",
        }
    )
    assert stored["seq"] == 8
    before = _state(archive)
    with pytest.raises(RecordError) as refused:
        archive.record(
            {
                "type": "PledgeProgressReported",
                "hearing": H,
                "at": "2023-02-01T00:00:00+00:00",
                "pledge": 4,
                "status": "fulfilled",
            }
        )
    assert refused.value.field == "pledge" and "not a pledge" in str(refused.value)
    assert _state(archive) == before


def test_pledge_progress_from_a_later_hearing(archive: HearingArchive) -> None:
    _pledged(archive)
    later = _schedule(hearing="later-hearing", at="2023-01-01T00:00:00+00:00")
    archive.record(later)
    ok = {
        "type": "PledgeProgressReported",
        "hearing": "later-hearing",
        "at": "2023-01-02T00:00:00+00:00",
        "pledge": 5,
        "pledge_hearing": H,
        "status": "fulfilled",
    }
    assert archive.record(ok)["pledge_hearing"] == H
    with pytest.raises(RecordError) as refused:
        archive.record({**ok, "pledge": 2})
    assert refused.value.field == "pledge"
    with pytest.raises(RecordError) as refused:
        archive.record({**ok, "pledge_hearing": "ghost"})
    assert refused.value.field == "pledge_hearing"


def test_pseudonyms_follow_protection_given_by_correction() -> None:
    from hearing_core import pseudonyms
    from hearing_core.testing import HearingBuilder

    b = HearingBuilder("p").participant("a", group="migrants").participant("b", protected=True)
    b.correct(2, protected=True)
    assert pseudonyms(b.records) == {"b": "Protected speaker 1", "a": "Protected speaker 2"}


def test_cached_copies_are_independent() -> None:
    """The repository cache hands out copies: changing one never changes another."""
    import copy

    from hearing_core.testing import HearingBuilder

    original = HearingBuilder("c").participant("a", group="migrants").open("session-1").hearing
    clone = copy.deepcopy(original)
    assert vars(clone).keys() == vars(original).keys()
    clone.participants.pop("a")
    clone.event_types.append("HearingClosed")
    clone.actors[9] = "x"
    clone.segments.clear()
    assert "a" in original.participants and "HearingClosed" not in original.event_types
    assert original.actors.get(9) is None and len(original.event_types) == 3
    assert original.segments
    for value in vars(original).values():  # every item held is immutable (or a container of them)
        items = (
            value.values()
            if isinstance(value, dict)
            else value
            if isinstance(value, list | set)
            else [value]
        )
        for item in items:
            assert not isinstance(item, dict | list | set), type(item)


def test_position_logs_remember_what_a_dict_would() -> None:
    """The hearing's compact per-position state (issue 9: bounded memory) loses nothing:
    types by position, actors by position, and intervention spans to the microsecond."""
    from datetime import datetime, timedelta, timezone

    from hearing_core.domain import ActorLog, Hearing, SpanLog, TypeLog

    types, actors, spans = TypeLog(), ActorLog(), SpanLog()
    names = list(Hearing.EVENT_TYPES)
    tz = timezone(timedelta(hours=-4, minutes=-30))
    expected: dict[int, tuple[str, str | None, tuple[datetime, datetime] | None]] = {}
    for seq in range(1, 500):
        name = names[seq * 7 % len(names)]
        types.append(name)
        who = f"p{seq % 13}" if seq % 3 else None
        if who:
            actors[seq] = who
        span = None
        if seq % 5 == 0:
            start = datetime(2022, 5, 16, 10, tzinfo=tz) + timedelta(microseconds=seq * 1_000_003)
            span = (start, start + timedelta(microseconds=seq))
            spans[seq] = span
        expected[seq] = (name, who, span)
    assert len(types) == 499
    for seq, (name, who, span) in expected.items():
        assert types[seq - 1] == name and actors.get(seq) == who
        if span is None:
            with pytest.raises(KeyError):
                spans[seq]
        else:
            assert spans[seq] == span  # the same instants (read back in UTC)
    assert actors.get(10_000) is None and list(types)[:2] == [types[0], types[1]]


@given(st.lists(st.integers(min_value=-6 * 10**16, max_value=2 * 10**17), max_size=20))
def test_span_log_keeps_exact_instants_and_actor_log_any_order(offsets: list[int]) -> None:
    """Spans are kept to the microsecond either side of the epoch, at any positions;
    actors set at the next position, a later one, or again, read back as set."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    spans, actors = SpanLog(), ActorLog()
    expected: dict[int, tuple[datetime, datetime]] = {}
    who: dict[int, str] = {}
    for i, us in enumerate(offsets):
        seq = (i * 7) % 11  # positions out of order, some set twice
        moment = epoch + timedelta(microseconds=us)
        spans[seq] = expected[seq] = (moment, moment + timedelta(microseconds=1))
        actors[seq] = who[seq] = f"p{us % 5}"
    for seq, span in expected.items():
        assert spans[seq] == span
        assert actors[seq] == who[seq]
