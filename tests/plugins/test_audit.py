"""Tests of the ``audit`` plugin (plugins/hearing-audit): balance audit, programme, live status."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hearing_audit.model import OVER_THRESHOLD, UNDER_THRESHOLD, balance_index, role_kind
from hearing_audit.projection import AuditProjection
from hearing_audit.render import CSV_COLUMNS, AuditView
from hearing_core import DEFAULT_STAKEHOLDER_GROUPS, RecordedEvent, Report, ReportRequest
from hearing_core.errors import RecordError
from hearing_core.readmodels import ReadModels
from hearing_core.testing import (
    TEST_KEYS,
    HearingBuilder,
    ProjectionContract,
    dump_tables,
    run_projection,
    sample_records,
)

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "samples" / "imrf-2022-msh.jsonl"
SLUG = "imrf-2022-msh"
ENV = {"HEARING_PLUGINS": "audit"}


# --- helpers ---------------------------------------------------------------------------------


def sample_events(*, corrected: bool = True) -> list[RecordedEvent]:
    records = sample_records()
    if not corrected:
        records = [r for r in records if r["type"] != "CorrectionIssued"]
    return [RecordedEvent(r["seq"], r) for r in records]


def rendered(events: list[RecordedEvent], hearing: str, fmt: str, **options: Any) -> Any:
    projection = AuditProjection()
    db = run_projection(projection, events)
    return projection.render(db, ReportRequest(hearing, fmt, options))


def content(result: Any) -> Any:
    return result.content if isinstance(result, Report) else result


def text(events: list[RecordedEvent], hearing: str, fmt: str = "table", **options: Any) -> str:
    """A rich report as plain text (wide, so nothing wraps)."""
    view = content(rendered(events, hearing, fmt, **options))
    assert isinstance(view, AuditView)
    return view.plain(width=400)


def audit(events: list[RecordedEvent], hearing: str) -> dict[str, Any]:
    result = content(rendered(events, hearing, "json"))
    assert isinstance(result, str)
    doc: dict[str, Any] = json.loads(result)
    return doc


def group(doc: dict[str, Any], gid: str) -> dict[str, Any]:
    return next(g for g in doc["groups"] if g["group"] == gid)


def built() -> HearingBuilder:
    """A small closed hearing: officials, a protected speaker, regions, every role kind."""
    return (
        HearingBuilder("test-hearing")
        .participant("chair", group=None, name="The Chair", organization="UN")
        .participant("ana", group="migrants", region="africa", name="Ana Mbeki")
        .participant("bo", group="civil_society", region="asia_pacific")
        .participant("cy", group="academia")
        .participant(
            "maria",
            group="migrants",
            name="Maria Secret",
            organization="Secret Org",
            protected=True,
        )
        .participant("mod", group="civil_society", region="asia_pacific")
        .open("opening")
        .speak("chair", minutes=5, role="chair")
        .speak("ana", minutes=4, role="keynote")
        .close_segment()
        .open("session-1", moderator="mod")
        .speak("mod", minutes=2, role="moderator")
        .speak("bo", minutes=6, role="panellist")
        .speak("maria", minutes=3, role="floor")
        .speak("cy", minutes=1, role="floor")
        .close_segment()
        .close()
    )


# --- the contract ----------------------------------------------------------------------------


class TestAuditContract(ProjectionContract):
    def make_projection(self) -> AuditProjection:
        return AuditProjection()

    def make_events(self) -> list[RecordedEvent]:
        b = built()
        # seq 4 registers bo, seq 13 is the moderator's intervention (counting from HearingScheduled = 1)
        return (
            b.correct(4, stakeholder_group="academia")
            .correct(13, ended_at=_ended(b, 13, -60))
            .events
        )


def _ended(b: HearingBuilder, seq: int, delta_seconds: int) -> str:
    from datetime import datetime, timedelta

    record = b.records[seq - 1]
    assert record["type"] == "InterventionDelivered", record
    return (
        datetime.fromisoformat(record["ended_at"]) + timedelta(seconds=delta_seconds)
    ).isoformat()


# --- the balance index -------------------------------------------------------------------------


def test_balance_index_edge_cases() -> None:
    assert balance_index([]) == 0.0
    assert balance_index([0.0, 0.0, 0.0]) == 0.0  # no stakeholder speech
    assert balance_index([0.0]) == 0.0  # no speech wins over k = 1
    assert balance_index([42.0]) == 1.0  # k = 1
    assert balance_index([60.0, 60.0]) == 1.0
    assert balance_index([60.0, 0.0, 0.0]) == 0.0  # one group had all the time
    assert balance_index([10.0, 10.0, 10.0, 10.0]) == pytest.approx(1.0, abs=1e-15)


def two_groups(minutes_a: float, minutes_b: float) -> list[RecordedEvent]:
    b = HearingBuilder("two", stakeholder_groups={"a": "Group A", "b": "Group B"})
    b.participant("x", group="a").participant("y", group="b").participant("z", group=None)
    b.open("opening")
    if minutes_a:
        b.speak("x", minutes=minutes_a)
    if minutes_b:
        b.speak("y", minutes=minutes_b, role="floor")
    return b.speak("z", minutes=30, role="chair").close_segment().close().events


def test_index_is_exactly_one_for_equal_time_over_a_two_group_taxonomy() -> None:
    doc = audit(two_groups(4, 4), "two")
    assert doc["taxonomy_size"] == 2
    assert doc["balance_index"] == 1.0
    assert [g["time_share"] for g in doc["groups"]] == [0.5, 0.5]
    assert [g["representation"] for g in doc["groups"]] == ["balanced", "balanced"]


def test_index_for_uneven_time_matches_the_hand_computation() -> None:
    doc = audit(two_groups(3, 1), "two")
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert doc["balance_index"] == pytest.approx(h / math.log(2), abs=1e-12)
    assert doc["balance_index"] == pytest.approx(0.8112781244591328, abs=1e-12)
    a, b = doc["groups"]
    assert a["time_share"] == 0.75 and b["time_share"] == 0.25
    assert a["representation_ratio"] == 1.5 and a["representation"] == "balanced"  # not > 1.5
    assert b["representation_ratio"] == 0.5 and b["representation"] == "balanced"  # not < 0.5


def test_index_uses_the_whole_taxonomy_size() -> None:
    b = HearingBuilder("h14").participant("x", group="migrants").participant("y", group="media")
    events = b.open("opening").speak("x", minutes=5).speak("y", minutes=5).close_segment().events
    doc = audit(events, "h14")
    assert doc["taxonomy_size"] == len(DEFAULT_STAKEHOLDER_GROUPS) == 14
    assert doc["balance_index"] == pytest.approx(math.log(2) / math.log(14), abs=1e-12)
    assert len(doc["absent_groups"]) == 12
    assert group(doc, "migrants")["representation_ratio"] == pytest.approx(7.0)
    assert group(doc, "migrants")["representation"] == "over"


def test_no_stakeholder_speech_gives_zero_and_no_ratios() -> None:
    doc = audit(two_groups(0, 0), "two")
    assert doc["balance_index"] == 0.0
    assert doc["totals"]["stakeholder_seconds"] == 0
    assert doc["totals"]["official_seconds"] == 1800
    assert all(g["representation_ratio"] is None for g in doc["groups"])
    assert all(g["representation"] is None for g in doc["groups"])
    assert doc["absent_groups"] == ["a", "b"]


def test_single_group_taxonomy_is_perfectly_even() -> None:
    b = HearingBuilder("one", stakeholder_groups={"only": "The only group"})
    events = b.participant("x", group="only").open("opening").speak("x").close_segment().events
    assert audit(events, "one")["balance_index"] == 1.0


def test_roles_split_into_panel_floor_other() -> None:
    assert [
        role_kind(r) for r in ("keynote", "panellist", "floor", "chair", "moderator", "rapporteur")
    ] == ["panel", "panel", "floor", "other", "other", "other"]


# --- the sample hearing -------------------------------------------------------------------------


def test_sample_flags_other_stakeholders_absent() -> None:
    doc = audit(sample_events(), SLUG)
    assert doc["absent_groups"] == ["other_stakeholders"]
    other = group(doc, "other_stakeholders")
    assert other["took_part"] is False and other["absent"] is True and other["turns"] == 0
    assert sum(1 for g in doc["groups"] if g["took_part"]) == 13
    assert [g["group"] for g in doc["groups"]] == list(DEFAULT_STAKEHOLDER_GROUPS)
    assert "Never spoke: Other relevant stakeholders" in text(sample_events(), SLUG)


def test_sample_shares_sum_to_one_and_index_is_in_range() -> None:
    doc = audit(sample_events(), SLUG)
    assert abs(sum(g["time_share"] for g in doc["groups"]) - 1.0) < 1e-9
    assert abs(sum(g["turn_share"] for g in doc["groups"]) - 1.0) < 1e-9
    assert 0.0 < doc["balance_index"] < 1.0
    seconds = [g["seconds"] for g in doc["groups"]]
    assert doc["balance_index"] == pytest.approx(balance_index([float(s) for s in seconds]))
    assert sum(seconds) == doc["totals"]["stakeholder_seconds"]
    for g in doc["groups"]:
        assert g["panel_turns"] + g["floor_turns"] + g["other_turns"] == g["turns"]
        assert g["panel_seconds"] + g["floor_seconds"] + g["other_seconds"] == g["seconds"]
        ratio = g["representation_ratio"]
        assert ratio == pytest.approx(g["time_share"] * 14)
        expected = (
            "over" if ratio > OVER_THRESHOLD else "under" if ratio < UNDER_THRESHOLD else "balanced"
        )
        assert g["representation"] == ("absent" if g["absent"] else expected)
    # A group never heard is "absent", not "under" (docs/auditor.md), and listed as absent only.
    assert [g["group"] for g in doc["groups"] if g["representation"] == "absent"] == (
        doc["absent_groups"]
    )
    assert doc["absent_groups"] == ["other_stakeholders"]
    assert "other_stakeholders" not in doc["under_represented"]
    assert doc["over_represented"] == ["civil_society"]


def test_sample_officials_are_reported_apart_and_excluded() -> None:
    doc = audit(sample_events(), SLUG)
    officials = doc["officials"]
    assert [o["participant"] for o in officials["speakers"]] == ["pga-shahid", "dg-vitorino"]
    # The PGA chairs the opening (8 min) and the closing (3.5 min); the DG gives a keynote (8 min).
    assert officials["turns"] == 3 and officials["seconds"] == 8 * 60 + 210 + 8 * 60
    totals = doc["totals"]
    assert totals["stakeholder_turns"] + totals["official_turns"] == totals["turns"] == 44
    assert totals["stakeholder_seconds"] + totals["official_seconds"] == totals["seconds"]
    # The opening: one keynote by a stakeholder (migrant voice), two turns by officials.
    opening = doc["coverage"][0]
    assert opening["segment"] == "opening"
    assert opening["stakeholder_turns"] == 1 and opening["official_turns"] == 2
    assert opening["groups"]["migrants"] == {"turns": 1, "seconds": 420}


def test_sample_correction_of_seq_71_takes_120_seconds_from_academia() -> None:
    corrected = audit(sample_events(), SLUG)
    original = audit(sample_events(corrected=False), SLUG)
    assert group(original, "academia")["seconds"] - group(corrected, "academia")["seconds"] == 120
    assert (
        group(original, "academia")["floor_seconds"] - group(corrected, "academia")["floor_seconds"]
        == 120
    )
    assert (
        original["totals"]["stakeholder_seconds"] - corrected["totals"]["stakeholder_seconds"]
        == 120
    )
    session1 = next(c for c in corrected["coverage"] if c["segment"] == "session-1")
    assert session1["groups"]["academia"] == {"turns": 2, "seconds": 7 * 60 + 150}
    note = next(c for c in corrected["corrections"] if c["corrects"] == 71)
    assert note["fields"] == {
        "ended_at": {"from": "2022-05-16T12:27:30-04:00", "to": "2022-05-16T12:25:30-04:00"}
    }
    assert note["subject"] == "Irina Sokolova (illustrative)"
    # seq 96 corrects a pledge's objectives: nothing the audit shows.
    assert 96 not in [c["corrects"] for c in corrected["corrections"]]
    assert "ended_at 12:27:30 → 12:25:30" in text(sample_events(), SLUG)


def test_sample_programme_adherence() -> None:
    doc = audit(sample_events(), SLUG)
    rows = {r["segment"]: r for r in doc["programme"]}
    assert list(rows) == ["opening", "session-1", "lunch", "session-2", "session-3", "closing"]
    assert rows["session-3"]["planned_seconds"] == 1800
    assert rows["session-3"]["actual_seconds"] == 1740
    assert rows["session-3"]["end_overrun_seconds"] == -60
    assert rows["session-3"]["length_overrun_seconds"] == -60
    assert rows["closing"]["end_overrun_seconds"] == -15
    assert rows["session-1"]["end_overrun_seconds"] == 0
    assert all(r["status"] == "closed" and r["in_programme"] for r in rows.values())
    assert rows["session-1"]["moderator"] == "Elena Markova (illustrative)"
    plain = text(sample_events(), SLUG, "programme")
    assert "17:50\N{EN DASH}17:59:45" in plain and "-0:15" in plain


def test_sample_regions() -> None:
    doc = audit(sample_events(), SLUG)
    rows = {r["region"]: r for r in doc["regions"]["rows"]}
    assert list(rows) == [
        "africa",
        "arab_states",
        "asia_pacific",
        "europe_north_america",
        "latin_america_caribbean",
    ]
    with_region = sum(r["seconds"] for r in rows.values())
    assert (
        with_region + doc["regions"]["no_region"]["seconds"] == doc["totals"]["stakeholder_seconds"]
    )
    assert abs(sum(r["time_share"] for r in rows.values()) - 1.0) < 1e-9
    # Arab States: fl-ahmed (floor, 3:00) and s2-arab (panel, 8:00).
    assert rows["arab_states"]["turns"] == 2 and rows["arab_states"]["seconds"] == 660


def test_sample_never_shows_the_protected_speaker() -> None:
    events = sample_events()
    outputs = [content(rendered(events, SLUG, fmt)) for fmt in ("json", "csv")]
    outputs += [text(events, SLUG, fmt) for fmt in ("table", "programme", "status")]
    for out in outputs:
        assert "Maria" not in out and "fl-maria" not in out
    assert "Protected speaker 1" in text(events, SLUG, "status")


def test_sample_csv_has_a_row_per_taxonomy_group() -> None:
    out = content(rendered(sample_events(), SLUG, "csv"))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["group"] for r in rows] == list(DEFAULT_STAKEHOLDER_GROUPS)
    assert tuple(rows[0]) == CSV_COLUMNS
    other = rows[-1]
    assert other["took_part"] == "no" and other["turns"] == "0"
    assert abs(sum(float(r["time_share"]) for r in rows) - 1.0) < 1e-5
    academia = next(r for r in rows if r["group"] == "academia")
    assert academia["seconds"] == "570"


def test_require_all_groups_gates_the_report() -> None:
    events = sample_events()
    gated = rendered(events, SLUG, "table", require_all_groups=True)
    assert isinstance(gated, Report)
    assert gated.exit_code == 1
    assert gated.message == "absent stakeholder groups: other_stakeholders"
    assert isinstance(gated.content, AuditView)
    for fmt in ("json", "csv"):
        result = rendered(events, SLUG, fmt, require_all_groups="1")  # as --option gives it
        assert isinstance(result, Report) and result.exit_code == 1
    assert not isinstance(rendered(events, SLUG, "table"), Report)
    assert not isinstance(rendered(events, SLUG, "table", require_all_groups="false"), Report)
    assert not isinstance(rendered(events, SLUG, "status", require_all_groups=True), Report)
    every = HearingBuilder("two", stakeholder_groups={"a": "A"}).participant("x", group="a")
    ok = rendered(every.open("opening").speak("x").events, "two", "table", require_all_groups=True)
    assert not isinstance(ok, Report)


def test_unknown_hearing_is_an_error_report() -> None:
    result = rendered(sample_events(), "nope", "json")
    assert isinstance(result, Report) and result.exit_code == 1
    assert result.message is not None and "nope" in result.message


# --- determinism ------------------------------------------------------------------------------


def all_reports(db: Any, hearing: str) -> list[str]:
    projection = AuditProjection()
    out = []
    for fmt in projection.formats:
        result = content(projection.render(db, ReportRequest(hearing, fmt, {})))
        out.append(result if isinstance(result, str) else result.plain(width=100))
    return out


def test_incremental_equals_rebuild_on_the_sample(tmp_path: Path) -> None:
    events = sample_events()
    whole = run_projection(AuditProjection(), events)
    path = tmp_path / "views.db"
    for cut in (40, 71, 100, 120, len(events)):  # cuts inside the hearing and between corrections
        models = ReadModels(path, [AuditProjection()], keys=TEST_KEYS)
        assert not models.feed(events[:cut], batch=7)
        models.close()
    import sqlite_utils

    stepwise = sqlite_utils.Database(path)
    assert dump_tables(stepwise, "audit_") == dump_tables(whole, "audit_")
    assert all_reports(stepwise, SLUG) == all_reports(whole, SLUG)
    assert all_reports(whole, SLUG) == all_reports(run_projection(AuditProjection(), events), SLUG)


def test_read_model_holds_every_hearing_of_the_archive() -> None:
    sample = sample_events()
    other = built().events
    shifted = [RecordedEvent(len(sample) + e.position, e.record) for e in other]
    db = run_projection(AuditProjection(), sample + shifted)
    assert audit_from_db(db, SLUG) == audit(sample, SLUG)
    assert audit_from_db(db, "test-hearing") == audit(other, "test-hearing")
    hearings = [
        r["hearing"] for r in db.query("select hearing from audit_hearings order by hearing")
    ]
    assert hearings == [SLUG, "test-hearing"]


def audit_from_db(db: Any, hearing: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(AuditProjection().render(db, ReportRequest(hearing, "json")))
    return doc


# --- corrections --------------------------------------------------------------------------------


def test_a_group_correction_moves_all_earlier_time_of_that_speaker() -> None:
    b = built()
    before = audit(b.events, "test-hearing")
    after_events = b.correct(
        4, "registered in the wrong group", stakeholder_group="academia"
    ).events
    after = audit(after_events, "test-hearing")
    bo_seconds = 6 * 60
    assert (
        group(after, "civil_society")["seconds"]
        == group(before, "civil_society")["seconds"] - bo_seconds
    )
    assert group(after, "academia")["seconds"] == group(before, "academia")["seconds"] + bo_seconds
    assert group(after, "academia")["panel_turns"] == 1
    session1 = after["coverage"][1]
    assert session1["groups"]["academia"] == {"turns": 2, "seconds": 7 * 60}
    note = after["corrections"][-1]
    assert note["fields"] == {"stakeholder_group": {"from": "civil_society", "to": "academia"}}
    assert note["reason"] == "registered in the wrong group"


def test_a_correction_fed_later_applies_retroactively(tmp_path: Path) -> None:
    events = built().correct(4, stakeholder_group="academia").events
    path = tmp_path / "views.db"
    models = ReadModels(path, [AuditProjection()], keys=TEST_KEYS)
    models.feed(events[:-1])
    models.feed(events[-1:])
    assert audit_from_db(models.db, "test-hearing") == audit(events, "test-hearing")


def test_an_official_corrected_into_a_group_counts_and_vice_versa() -> None:
    b = built()
    doc = audit(b.correct(2, stakeholder_group="media").events, "test-hearing")  # the chair
    assert doc["officials"]["turns"] == 0
    assert group(doc, "media")["other_turns"] == 1 and group(doc, "media")["seconds"] == 300
    doc = audit(built().correct(3, stakeholder_group=None).events, "test-hearing")  # ana
    assert group(doc, "migrants")["turns"] == 1  # only maria's floor turn is left
    assert [o["name"] for o in doc["officials"]["speakers"]] == ["The Chair", "Ana Mbeki"]


def test_protected_registration_corrections_are_withheld() -> None:
    # seq 6 registers the protected speaker maria
    b = built().correct(
        6, "her organization was misspelled: Secret Org", organization="Secret Org2"
    )
    doc = audit(b.events, "test-hearing")
    note = doc["corrections"][-1]
    assert note["withheld"] is True and note["reason"] is None
    assert note["subject"] == "Protected speaker 1"
    assert note["fields"] == {"organization": {"from": None, "to": None}}
    for out in (json.dumps(doc, ensure_ascii=False), text(b.events, "test-hearing")):
        assert "Secret" not in out and "maria" not in out.lower()


def test_segment_time_corrections_change_the_programme_figures() -> None:
    b = built()
    opened = next(
        r["seq"] for r in b.records if r["type"] == "SegmentOpened" and r["segment"] == "session-1"
    )
    start = b.records[opened - 1]["at"]
    doc_before = audit(b.events, "test-hearing")
    from datetime import datetime, timedelta

    earlier = (datetime.fromisoformat(start) - timedelta(minutes=10)).isoformat()
    doc = audit(b.correct(opened, at=earlier).events, "test-hearing")
    before = doc_before["programme"][1]
    after = doc["programme"][1]
    assert after["segment"] == "session-1"
    assert after["actual_seconds"] == before["actual_seconds"] + 600
    assert after["start_delay_seconds"] == before["start_delay_seconds"] - 600


# --- officials, regions, escaping ------------------------------------------------------------


def test_officials_do_not_change_shares_or_the_index() -> None:
    with_official = audit(two_groups(3, 1), "two")
    b = HearingBuilder("two", stakeholder_groups={"a": "Group A", "b": "Group B"})
    b.participant("x", group="a").participant("y", group="b")
    without = audit(
        b.open("opening").speak("x", minutes=3).speak("y", minutes=1, role="floor").events, "two"
    )
    assert with_official["balance_index"] == without["balance_index"]
    assert with_official["groups"] == without["groups"]
    assert with_official["officials"]["seconds"] == 1800


def test_regions_count_stakeholders_only() -> None:
    b = HearingBuilder("reg").participant("off", group=None, region="africa")
    b.participant("x", group="migrants", region="africa").participant("y", group="media")
    doc = audit(
        b.open("opening")
        .speak("off", minutes=9, role="chair")
        .speak("x", minutes=2)
        .speak("y", minutes=4)
        .events,
        "reg",
    )
    africa = doc["regions"]["rows"][0]
    assert africa["region"] == "africa" and africa["turns"] == 1 and africa["seconds"] == 120
    assert africa["time_share"] == 1.0
    assert doc["regions"]["no_region"] == {"speakers": 1, "turns": 1, "seconds": 240}


def test_user_text_is_never_markup_or_control() -> None:
    b = HearingBuilder("esc", stakeholder_groups={"a": "[bold red]Group[/] A", "b": "B red"})
    b.participant("x", group="a", name="[link=http://evil]Click[/link]").participant("y", group="b")
    events = b.open("opening").speak("x").events
    # The core refuses control characters when recording; an older log may still hold some.
    groups = [{"id": "a", "label": "[bold red]Group[/] A"}, {"id": "b", "label": "B\x1b[31m red"}]
    events[0] = RecordedEvent(
        events[0].position, {**events[0].record, "stakeholder_groups": groups}
    )
    for fmt in ("table", "status"):
        plain = text(events, "esc", fmt)
        assert "[bold red]Group[/] A" in plain
        assert "\x1b" not in plain and "B[31m red" in plain
    assert "[link=http://evil]Click[/link]" in text(events, "esc", "status")
    rows = list(csv.reader(io.StringIO(content(rendered(events, "esc", "csv")))))
    assert rows[1][1] == "[bold red]Group[/] A" and rows[2][1] == "B[31m red"


# --- the moderator's live view ----------------------------------------------------------------------


def half_finished() -> HearingBuilder:
    return (
        HearingBuilder(
            "live",
            stakeholder_groups={"mig": "Migrants", "cs": "Civil society", "bus": "Private sector"},
        )
        .participant("chair", group=None, name="Chair Person")
        .participant("ana", group="mig", name="Ana Live")
        .participant("bo", group="cs", name="Bo Live")
        .participant("cy", group="bus", name="Cy Waiting")
        .open("opening")
        .speak("chair", minutes=10, role="chair")
        .speak("ana", minutes=15, role="keynote")
        .close_segment()
        .open("session-1", moderator="bo")
        .speak("bo", minutes=20, role="moderator")
    )


def test_status_during_a_hearing() -> None:
    plain = text(half_finished().events, "live", "status")
    assert "Open segment: Session 1 (moderator: Bo Live)" in plain
    # Each builder action takes a minute: session-1 (planned 11:00-12:00) opens early at
    # 10:33 and bo speaks 10:34-10:54, the latest time in the record.
    assert "As of 10:54 (the latest time in the record, up to seq 11)" in plain
    assert "Opened 10:33 (planned 11:00); 21:00 used of 1:00:00 planned" in plain
    assert "1:06:00 left until the planned end 12:00" in plain
    assert "Officials: 1 turn, 10:00" in plain
    assert "Not yet heard in this segment: Migrants, Private sector" in plain
    assert "Cy Waiting" in plain  # registered in an unheard group: call on them
    heard = plain.split("Heard so far")[1]
    assert "Ana Live" in heard and "Bo Live" in heard


def test_status_shows_overrun_and_between_segments() -> None:
    b = half_finished().speak("ana", minutes=80, role="floor")  # 10:55-12:15
    plain = text(b.events, "live", "status")
    assert "1:42:00 used of 1:00:00 planned; past the planned end 12:00 by 15:00" in plain
    plain = text(b.close_segment().events, "live", "status")
    assert (
        "No segment is open. Last closed: Session 1 at 12:16 (+16:00 against its planned end)"
        in plain
    )
    assert "Next in the programme: Session 2, planned 12:00\N{EN DASH}13:00" in plain
    assert "Open segment" not in plain


def test_status_before_the_start() -> None:
    b = HearingBuilder("early").participant("x", group="migrants")
    plain = text(b.events, "early", "status")
    assert "has not started" in plain and "Next in the programme: Opening" in plain


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def test_status_command_during_and_after_a_hearing(tmp_path: Path) -> None:
    from hearing_core.cli import cli

    db = str(tmp_path / "live.db")
    b = half_finished()
    first = b.records
    runner = CliRunner()
    result = runner.invoke(cli, ["--store", db, "import", "-"], input=jsonl(first), env=ENV)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["--store", db, "status", "live"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "Open segment: Session 1" in result.stdout
    assert "Not yet heard" in result.stdout and "Cy Waiting" in result.stdout

    rest = b.close_segment().close().records[len(first) :]
    result = runner.invoke(cli, ["--store", db, "import", "-"], input=jsonl(rest), env=ENV)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["--store", db, "status", "live"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "The hearing is closed" in result.stdout
    assert "Open segment" not in result.stdout
    assert "Never heard" in result.stdout and "Private sector" in result.stdout


# --- the CLI on the sample --------------------------------------------------------------------------


@pytest.fixture
def sample_store(tmp_path: Path) -> str:
    from hearing_core.cli import cli

    db = str(tmp_path / "x.db")
    result = CliRunner().invoke(cli, ["--store", db, "import", str(SAMPLE)], env=ENV)
    assert result.exit_code == 0, result.output
    return db


def test_cli_require_all_groups_exits_1(sample_store: str) -> None:
    from hearing_core.cli import cli

    runner = CliRunner()
    result = runner.invoke(
        cli, ["--store", sample_store, "audit", SLUG, "--require-all-groups"], env=ENV
    )
    assert result.exit_code == 1
    assert "absent stakeholder groups: other_stakeholders" in result.stderr
    assert "Stakeholder-balance audit" in result.stdout
    result = runner.invoke(cli, ["--store", sample_store, "audit", SLUG], env=ENV)
    assert result.exit_code == 0, result.output
    assert "absent stakeholder groups" not in result.stderr
    assert "Other relevant stakeholders" in result.stdout


def test_cli_formats(sample_store: str, tmp_path: Path) -> None:
    from hearing_core.cli import cli

    runner = CliRunner()
    result = runner.invoke(
        cli, ["--store", sample_store, "audit", SLUG, "--format", "json"], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == audit(sample_events(), SLUG)
    result = runner.invoke(
        cli, ["--store", sample_store, "audit", SLUG, "--format", "csv"], env=ENV
    )
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 14
    result = runner.invoke(
        cli, ["--store", sample_store, "audit", SLUG, "--format", "programme"], env=ENV
    )
    assert result.exit_code == 0 and "Programme adherence" in result.stdout
    result = runner.invoke(
        cli, ["--store", sample_store, "audit", SLUG, "--uncorrected", "--format", "json"], env=ENV
    )
    assert json.loads(result.stdout) == audit(sample_events(corrected=False), SLUG)
    out = tmp_path / "audit.txt"
    result = runner.invoke(cli, ["--store", sample_store, "audit", SLUG, "-o", str(out)], env=ENV)
    assert result.exit_code == 0 and "Balance index 0.841" in out.read_text(encoding="utf-8")
    result = runner.invoke(
        cli,
        ["--store", sample_store, "report", "audit", SLUG, "--option", "require_all_groups=yes"],
        env=ENV,
    )
    assert result.exit_code == 1


def test_cli_status_as_of_mid_hearing(sample_store: str) -> None:
    from hearing_core.cli import cli

    result = CliRunner().invoke(
        cli, ["--store", sample_store, "status", SLUG, "--as-of", "11:30"], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert "Open segment: Session I" in result.stdout
    assert "The hearing is closed" not in result.stdout
    result = CliRunner().invoke(cli, ["--store", sample_store, "status", SLUG], env=ENV)
    assert "The hearing is closed (closed at 18:00)" in result.stdout


# --- property over generated hearings -----------------------------------------------------------------

GROUP_IDS = [*DEFAULT_STAKEHOLDER_GROUPS, None]
ROLES = ["chair", "keynote", "moderator", "panellist", "floor", "rapporteur"]


@st.composite
def hearings(draw: st.DrawFn) -> list[RecordedEvent]:
    people = draw(st.lists(st.sampled_from(GROUP_IDS), min_size=1, max_size=6))
    b = HearingBuilder("gen")
    for i, gid in enumerate(people):
        region = draw(st.sampled_from([None, "africa", "arab_states", "asia_pacific"]))
        b.participant(f"p{i}", group=gid, region=region)
    for segment in ("opening", "session-1"):
        b.open(segment)
        for _ in range(draw(st.integers(0, 5))):
            who = draw(st.integers(0, len(people) - 1))
            minutes = draw(st.sampled_from([0, 0.5, 1, 2.25, 7]))
            b.speak(f"p{who}", minutes=minutes, role=draw(st.sampled_from(ROLES)))
        b.close_segment()
    if draw(st.booleans()):  # a registration corrected into another group afterwards
        who = draw(st.integers(0, len(people) - 1))
        b.correct(2 + who, stakeholder_group=draw(st.sampled_from(GROUP_IDS)))
    return b.events


@settings(max_examples=25, deadline=None)
@given(hearings())
def test_property_shares_and_index(events: list[RecordedEvent]) -> None:
    doc = audit(events, "gen")
    totals = doc["totals"]
    assert 0.0 <= doc["balance_index"] <= 1.0
    if totals["stakeholder_turns"]:
        assert abs(sum(g["turn_share"] for g in doc["groups"]) - 1.0) < 1e-9
    if totals["stakeholder_seconds"]:
        assert abs(sum(g["time_share"] for g in doc["groups"]) - 1.0) < 1e-9
    else:
        assert doc["balance_index"] == 0.0
    assert sum(g["turns"] for g in doc["groups"]) == totals["stakeholder_turns"]
    assert totals["stakeholder_turns"] + totals["official_turns"] == totals["turns"]
    for g in doc["groups"]:
        assert sum(c["groups"][g["group"]]["turns"] for c in doc["coverage"]) == g["turns"]
        assert g["took_part"] == (g["turns"] > 0)
    assert doc["absent_groups"] == [g["group"] for g in doc["groups"] if not g["took_part"]]


def test_schedule_corrections_change_taxonomy_and_programme() -> None:
    b = built()
    groups = [
        {"id": "migrants", "label": "Migrants and refugees"},
        {"id": "civil_society", "label": "Civil society organizations"},
        {"id": "academia", "label": "Academia"},
    ]
    programme = [
        {
            "id": "opening",
            "kind": "opening",
            "title": "Opening",
            "planned_start": "2022-05-16T10:00:00-04:00",
            "planned_end": "2022-05-16T10:05:00-04:00",
        },
        {
            "id": "session-1",
            "kind": "session",
            "title": "The session",
            "planned_start": "2022-05-16T10:05:00-04:00",
            "planned_end": "2022-05-16T12:00:00-04:00",
        },
    ]
    doc = audit(b.correct(1, stakeholder_groups=groups, programme=programme).events, "test-hearing")
    assert [g["label"] for g in doc["groups"]] == [
        "Migrants and refugees",
        "Civil society organizations",
        "Academia",
    ]
    assert doc["taxonomy_size"] == 3
    assert doc["outside_taxonomy"] == []  # the core refuses to drop a group in use (below)
    assert abs(sum(g["time_share"] for g in doc["groups"]) - 1.0) < 1e-9
    rows = {r["segment"]: r for r in doc["programme"]}
    assert rows["opening"]["planned_seconds"] == 300
    assert rows["session-1"]["title"] == "The session"
    assert [r["segment"] for r in doc["programme"]][:2] == ["opening", "session-1"]
    assert rows["session-2"]["in_programme"] is False  # dropped from the plan, never held
    note = doc["corrections"][-1]
    assert note["event"] == "HearingScheduled"
    assert set(note["fields"]) == {"programme", "stakeholder_groups"}
    with pytest.raises(RecordError) as refused:  # civil_society has speakers: it must stay
        built().correct(1, stakeholder_groups=[groups[0], groups[2]])
    assert refused.value.field == "changes.stakeholder_groups"


def test_cli_help_lists_the_commands() -> None:
    from hearing_core.cli import cli

    result = CliRunner().invoke(cli, ["--help"], env=ENV)
    assert result.exit_code == 0
    assert "audit" in result.stdout and "status" in result.stdout
    result = CliRunner().invoke(cli, ["audit", "--help"], env=ENV)
    assert "--require-all-groups" in result.stdout
