"""Tests of the pledges plugin: the follow-up of pledges between forums."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hearing_core import ALL_HEARINGS, Report, ReportRequest, csv_cell
from hearing_core.event_view import RecordedEvent
from hearing_core.readmodels import ReadModels
from hearing_core.testing import (
    TEST_KEYS,
    HearingBuilder,
    ProjectionContract,
    dump_tables,
    render,
    run_projection,
    sample_events,
)
from hearing_pledges.projection import PledgesProjection

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
SAMPLE_KEYS = ROOT / "events" / "samples" / "imrf-2022-msh.keys.json"
SLUG = "imrf-2022-msh"
SAMPLE_PLEDGES = [45, 53, 79, 82, 85, 88, 91, 94, 96, 98]


# --- helpers ---------------------------------------------------------------------------------


def report_json(events: list[RecordedEvent], hearing: str = ALL_HEARINGS, **options: Any) -> Any:
    return json.loads(render(PledgesProjection(), events, hearing, "json", **options))


def pledges_of(doc: Any) -> dict[tuple[str, int], Any]:
    return {(p["hearing"], p["seq"]): p for h in doc["hearings"] for p in h["pledges"]}


def first_hearing() -> HearingBuilder:
    """A hearing with three pledges (seq 5, 6, 7), closed, then a progress report on seq 5."""
    return (
        HearingBuilder("forum-a")
        .participant("ana", group="migrants", name="Ana Alves")
        .participant("bo", group="civil_society", name="Bo Berg")
        .open("session-1")  # seq 4
        .pledge("ana", "Open a help desk", objectives=(15,), level="local", partners=("City",))
        .pledge("bo", "Train paralegals", objectives=(3, 6), level="regional")
        .pledge("ana", "Publish figures", objectives=(1,), level="national")
        .close_segment()
        .close()
        .add({"type": "PledgeProgressReported", "pledge": 5, "status": "planned"})  # seq 10
    )


def second_hearing(first_position: int) -> HearingBuilder:
    """A later forum that reports on the first one's pledges."""
    return (
        HearingBuilder("forum-b", start="2023-05-16T10:00:00-04:00", first_position=first_position)
        .participant("cy", group="trade_unions", name="Cy Chen")  # seq 2
        .add(
            {
                "type": "PledgeProgressReported",
                "pledge": 5,
                "pledge_hearing": "forum-a",
                "status": "in_progress",
                "note": "Desk open two days a week.",
                "by": "cy",
            }
        )  # seq 3
        .add(
            {
                "type": "PledgeProgressReported",
                "pledge": 6,
                "pledge_hearing": "forum-a",
                "status": "withdrawn",
            }
        )  # seq 4
    )


def two_hearings() -> list[RecordedEvent]:
    a = first_hearing().events
    return a + second_hearing(len(a) + 1).events


# --- the contract ----------------------------------------------------------------------------


class TestPledgesContract(ProjectionContract):
    hearing = "forum-a"

    def make_projection(self) -> PledgesProjection:
        return PledgesProjection()

    def make_events(self) -> list[RecordedEvent]:
        a = (
            first_hearing()
            .correct(5, "typo", text="Open a help desk in two districts")
            .correct(10, "wrong status", status="in_progress", note="Corrected")
            .correct(2, "group", stakeholder_group="civil_society")
            .correct(3, "asked for protection", protected=True)
        ).events
        b = second_hearing(len(a) + 1).correct(3, "note", note="Desk open daily").events
        return a + b


# --- the sample ------------------------------------------------------------------------------


def test_sample_pledges_and_their_follow_up() -> None:
    doc = report_json(sample_events())
    pledges = pledges_of(doc)
    assert sorted(seq for _, seq in pledges) == SAMPLE_PLEDGES
    assert doc["counts"] == {
        "planned": 0,
        "in_progress": 0,
        "fulfilled": 1,
        "withdrawn": 1,
        "made": 8,
        "total": 10,
    }
    p85 = pledges[(SLUG, 85)]
    assert p85["status"] == "fulfilled"
    assert [(r["at"][:4], r["status"], r["seq"]) for r in p85["history"]] == [
        ("2023", "in_progress", 123),
        ("2024", "fulfilled", 124),
    ]
    assert p85["status_reported"] == {"hearing": SLUG, "seq": 124, "at": p85["history"][1]["at"]}
    assert p85["made_by"]["stakeholder_group_label"] == "Trade unions"
    assert p85["segment"]["id"] == "session-2"
    assert pledges[(SLUG, 91)]["status"] == "withdrawn"
    others = [p for key, p in pledges.items() if key[1] not in (85, 91)]
    assert {p["status"] for p in others} == {"made"}
    assert {p["status_label"] for p in others} == {"no report yet"}
    assert all(p["history"] == [] for p in others)
    # The sample's correction of pledge 96 (objective 20 added) shows, with its reason.
    p96 = pledges[(SLUG, 96)]
    assert p96["gcm_objectives"] == [19, 20]
    (correction,) = p96["corrections"]
    assert correction["seq"] == 122
    assert correction["previous"] == {"gcm_objectives": [19]}
    assert correction["changes"] == {"gcm_objectives": [19, 20]}
    assert "Objective 20" in correction["reason"]


def test_sample_markdown() -> None:
    text = render(PledgesProjection(), sample_events(), SLUG)
    assert text.startswith("# Pledges made at International Migration Review Forum")
    assert "| fulfilled | 1 |" in text and "| no report yet | 8 |" in text
    assert "## Pledge 85: Chen Mei" in text
    block = text[text.index("## Pledge 85") : text.index("## Pledge 88")]
    assert "- **Status:** fulfilled, reported 2024-06-03 12:00" in block
    assert "1. 2023-05-16 12:00: **in progress**" in block
    assert "2. 2024-06-03 12:00: **fulfilled**" in block
    block96 = text[text.index("## Pledge 96") : text.index("## Pledge 98")]
    assert "GCM objectives: 19 → 19, 20" in block96
    whole = render(PledgesProjection(), sample_events(), ALL_HEARINGS)
    assert whole.startswith("# Pledges of the whole archive")
    assert "### Pledge 85: Chen Mei" in whole


def test_sample_status_filter() -> None:
    doc = report_json(sample_events(), SLUG, status="fulfilled")
    assert [p["seq"] for p in doc["hearings"][0]["pledges"]] == [85]
    assert doc["hearings"][0]["counts"]["total"] == 10  # the counts stay those of all pledges
    made = report_json(sample_events(), status="made")
    assert [p["seq"] for h in made["hearings"] for p in h["pledges"]] == [
        s for s in SAMPLE_PLEDGES if s not in (85, 91)
    ]


def test_unknown_status_is_refused() -> None:
    projection = PledgesProjection()
    db = run_projection(projection, sample_events())
    result = projection.render(db, ReportRequest(SLUG, "markdown", {"status": "done"}))
    assert isinstance(result, Report)
    assert result.exit_code == 2 and result.message and "done" in result.message


# --- across hearings -------------------------------------------------------------------------


def test_progress_recorded_in_a_later_hearing_shows_under_the_pledge() -> None:
    events = two_hearings()
    doc = report_json(events, "forum-a")
    pledges = pledges_of(doc)
    history = pledges[("forum-a", 5)]["history"]
    assert [(r["hearing"], r["seq"], r["status"]) for r in history] == [
        ("forum-a", 10, "planned"),
        ("forum-b", 3, "in_progress"),
    ]
    assert history[1]["by"]["name"] == "Cy Chen"
    assert history[1]["note"] == "Desk open two days a week."
    assert pledges[("forum-a", 5)]["status"] == "in_progress"
    assert pledges[("forum-a", 5)]["status_reported"]["hearing"] == "forum-b"
    assert pledges[("forum-a", 6)]["status"] == "withdrawn"
    assert pledges[("forum-a", 7)]["status"] == "made"

    # The later forum made no pledges, but lists what was reported there.
    later = report_json(events, "forum-b")
    assert later["hearings"][0]["pledges"] == []
    assert [(r["report"]["seq"], r["pledge"]["seq"]) for r in later["reported_here"]] == [
        (3, 5),
        (4, 6),
    ]
    text = render(PledgesProjection(), events, "forum-b")
    assert "## Progress reported here on pledges of other hearings" in text
    assert "On `forum-a` pledge 5 by Ana Alves (Migrants)" in text

    # The archive-wide report: grouped by hearing, forum-b (no pledges) not listed.
    whole = report_json(events)
    assert [h["hearing"] for h in whole["hearings"]] == ["forum-a"]
    assert whole["counts"]["in_progress"] == 1 and whole["counts"]["withdrawn"] == 1
    markdown = render(PledgesProjection(), events, ALL_HEARINGS)
    assert "recorded in `forum-b` \\#3, reported by Cy Chen (Trade unions)" in markdown


# --- corrections -----------------------------------------------------------------------------


def test_correction_of_a_pledge() -> None:
    events = (
        first_hearing()
        .correct(
            6,
            "partners and level misheard",
            level="national",
            partners=["Bar association"],
            text="Train 200 paralegals",
        )
        .events
    )
    pledge = pledges_of(report_json(events))[("forum-a", 6)]
    assert pledge["level"] == "national"
    assert pledge["partners"] == ["Bar association"]
    assert pledge["text"] == "Train 200 paralegals"
    (c,) = pledge["corrections"]
    assert c["target"] == "pledge" and c["seq"] == 11
    assert c["previous"] == {"level": "regional", "partners": [], "text": "Train paralegals"}
    assert c["reason"] == "partners and level misheard"
    text = render(PledgesProjection(), events, "forum-a")
    assert "level: `regional` → `national`" in text
    assert "Reason: partners and level misheard" in text


def test_correction_of_a_progress_report_changes_the_current_status() -> None:
    a = first_hearing().events
    b = (
        second_hearing(len(a) + 1)
        .correct(3, "it was done", status="fulfilled", note="Desk open daily.")
        .events
    )
    pledge = pledges_of(report_json(a + b))[("forum-a", 5)]
    assert pledge["status"] == "fulfilled"
    report = pledge["history"][1]
    assert (report["status"], report["note"]) == ("fulfilled", "Desk open daily.")
    (c,) = report["corrections"]
    assert c["hearing"] == "forum-b" and c["target"] == "progress"
    assert c["previous"] == {"status": "in_progress", "note": "Desk open two days a week."}
    text = render(PledgesProjection(), a + b, "forum-a")
    assert "report corrected: note: “Desk open two days a week.” → “Desk open daily.”" in text
    assert "; status: **in progress** → **fulfilled**. Reason: it was done" in text


def test_correction_moving_a_report_to_another_pledge() -> None:
    events = first_hearing().correct(10, "wrong pledge", pledge=7).events
    pledges = pledges_of(report_json(events))
    assert pledges[("forum-a", 5)]["status"] == "made"
    assert pledges[("forum-a", 5)]["history"] == []
    assert pledges[("forum-a", 7)]["status"] == "planned"


def test_correction_of_the_makers_registration() -> None:
    events = (
        first_hearing()
        .correct(2, "wrong group and spelling", stakeholder_group="civil_society", name="Ana Alvez")
        .events
    )
    pledge = pledges_of(report_json(events))[("forum-a", 5)]
    assert pledge["made_by"]["name"] == "Ana Alvez"
    assert pledge["made_by"]["stakeholder_group_label"] == "Civil society"
    (c,) = pledge["corrections"]
    assert c["target"] == "registration"
    assert c["previous"] == {"name": "Ana Alves", "stakeholder_group": "migrants"}
    text = render(PledgesProjection(), events, "forum-a")
    assert "## Pledge 5: Ana Alvez (Civil society)" in text
    assert "maker's registration corrected" in text


# --- protected participants ------------------------------------------------------------------


def protected_events() -> list[RecordedEvent]:
    return (
        HearingBuilder("forum-p")
        .participant("open-one", group="migrants", name="Open One")
        .participant("fl-maria", group="migrants", name="Maria Secret", protected=True)  # 3
        .participant("fl-jo", group="civil_society", name="Jo Hidden")  # 4
        .open("session-1")
        .pledge("fl-maria", "Support newcomers")  # 6
        .pledge("fl-jo", "Run a course")  # 7
        .add(
            {
                "type": "PledgeProgressReported",
                "pledge": 6,
                "status": "in_progress",
                "by": "fl-maria",
            }
        )  # 8
        .correct(4, "renamed", name="Jo Hiddenova")  # 9: before protection: name in clear
        .correct(4, "asked for protection", protected=True)  # 10
        .correct(7, "reassigned", by="fl-maria")  # 11
        .correct(7, "back", by="fl-jo")  # 12
        .events
    )


def test_protected_makers_and_reporters_appear_by_pseudonym_only() -> None:
    events = protected_events()
    projection = PledgesProjection()
    db = run_projection(projection, events)
    secrets = ("Maria Secret", "Jo Hidden", "fl-maria", "fl-jo")
    for fmt in projection.formats:
        for hearing in ("forum-p", ALL_HEARINGS):
            result = projection.render(db, ReportRequest(hearing, fmt, {}))
            assert isinstance(result, str)
            for secret in secrets:
                assert secret not in result, (fmt, secret)
    # Not even the read model keeps their names.
    dumped = repr(dump_tables(db, "pledges_"))
    assert "Maria Secret" not in dumped and "Jo Hidden" not in dumped
    pledges = pledges_of(report_json(events, "forum-p"))
    maria = pledges[("forum-p", 6)]
    assert maria["made_by"] == {
        "participant": None,
        "name": "Protected speaker 1",
        "protected": True,
        "stakeholder_group": "migrants",
        "stakeholder_group_label": "Migrants",
    }
    assert maria["history"][0]["by"]["name"] == "Protected speaker 1"
    jo = pledges[("forum-p", 7)]
    assert jo["made_by"]["name"] == "Protected speaker 2"  # protected by a later correction
    # Their registration's corrections are listed, without any detail.
    registration = [c for c in jo["corrections"] if c["target"] == "registration"]
    assert [c["withheld"] for c in registration] == [True, True]
    assert all(c["changes"] is None and c["reason"] is None for c in registration)
    # A correction of who made the pledge names them by pseudonym too.
    moved = [c for c in jo["corrections"] if c["target"] == "pledge"]
    assert moved[0]["previous"] == {"by": "Protected speaker 2"}
    assert moved[0]["changes"] == {"by": "Protected speaker 1"}


def test_sample_protected_speaker_is_never_named() -> None:
    events = sample_events()
    names = {e["participant"]: e["name"] for e in events if e.type == "ParticipantRegistered"}
    protected = next(e for e in events if e.type == "ParticipantRegistered" and e.get("protected"))
    projection = PledgesProjection()
    db = run_projection(projection, events)
    assert names[protected["participant"]] not in repr(dump_tables(db, "pledges_"))
    for fmt in projection.formats:
        text = projection.render(db, ReportRequest(ALL_HEARINGS, fmt, {}))
        assert isinstance(text, str)
        assert names[protected["participant"]] not in text


# --- untrusted text --------------------------------------------------------------------------

HOSTILE = '=HYPERLINK("http://evil")'


def hostile_events() -> list[RecordedEvent]:
    return (
        HearingBuilder("forum-x")
        .participant("eve", group="migrants", name="@Eve | **bold** <b>")
        .open("session-1")
        .pledge(
            "eve",
            f"{HOSTILE}\n# Heading\n    code\n[link](http://x) <script>alert(1)</script>",
            partners=("+cmd", "-2+3", "Normal"),
        )  # seq 4
        .add(
            {
                "type": "PledgeProgressReported",
                "pledge": 4,
                "status": "planned",
                "note": "-10 ok | ![img](x)\n1. not a list",
            }
        )
        .events
    )


def test_csv_neutralises_formulas() -> None:
    text = render(PledgesProjection(), hostile_events(), "forum-x", "csv")
    rows = list(csv.reader(io.StringIO(text)))
    header, row = rows
    cell = dict(zip(header, row, strict=True))
    assert cell["text"].startswith("'=HYPERLINK")
    assert cell["made_by"] == "'@Eve | **bold** <b>"
    assert cell["partners"] == "'+cmd; -2+3; Normal"
    assert cell["last_note"].startswith("'-10 ok")
    for value in row:
        assert value[:1] not in ("=", "+", "-", "@"), value
    assert csv_cell("-12.5") == "-12.5" and csv_cell(-3) == -3 and csv_cell("@x") == "'@x"


def test_markdown_escapes_user_text() -> None:
    text = render(PledgesProjection(), hostile_events(), "forum-x")
    assert not re.search(r"(?<!\\)<(script|b)>", text)  # only escaped tags
    assert "\\<script>" in text
    assert "## Pledge 4: @Eve \\| \\*\\*bold\\*\\* \\<b>" in text
    assert "> \\# Heading" in text  # no heading from the pledge's text
    assert "> code" in text  # no code block either
    assert "[link\\](http://x)" in text  # no inline link
    assert "![img\\](x)" in text  # no image
    assert "\n   1\\. not a list" in text  # the note's second line stays in its item
    for line in text.splitlines():
        assert not line.startswith("# Heading")


def test_json_keeps_text_verbatim() -> None:
    doc = report_json(hostile_events(), "forum-x")
    pledge = doc["hearings"][0]["pledges"][0]
    assert pledge["text"].startswith(HOSTILE)
    assert pledge["partners"] == ["+cmd", "-2+3", "Normal"]


# --- determinism -----------------------------------------------------------------------------


def all_reports(db: Any, hearings: list[str]) -> list[Any]:
    projection = PledgesProjection()
    return [
        projection.render(db, ReportRequest(h, fmt, {}))
        for h in [*hearings, ALL_HEARINGS]
        for fmt in projection.formats
    ]


def test_incremental_equals_rebuild_across_hearings(tmp_path: Path) -> None:
    events = two_hearings()
    whole = run_projection(PledgesProjection(), events)
    path = tmp_path / "views.db"
    for cut in range(1, len(events) + 1, 3):
        models = ReadModels(path, [PledgesProjection()], keys=TEST_KEYS)
        assert not models.feed(events[:cut])
        models.close()
    models = ReadModels(path, [PledgesProjection()], keys=TEST_KEYS)
    assert not models.feed(events)
    assert dump_tables(models.db, "pledges_") == dump_tables(whole, "pledges_")
    hearings = ["forum-a", "forum-b"]
    assert all_reports(models.db, hearings) == all_reports(whole, hearings)


@settings(max_examples=25, deadline=None)
@given(
    pledges=st.integers(min_value=1, max_value=4),
    reports=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),
            st.sampled_from(["planned", "in_progress", "fulfilled", "withdrawn"]),
            st.booleans(),  # recorded in the later hearing?
        ),
        max_size=8,
    ),
    corrected=st.one_of(
        st.none(),
        st.tuples(
            st.integers(min_value=0, max_value=7),
            st.sampled_from(["planned", "in_progress", "fulfilled", "withdrawn"]),
        ),
    ),
    cut=st.integers(min_value=0, max_value=30),
)
def test_property_status_is_the_last_report(
    pledges: int,
    reports: list[tuple[int, str, bool]],
    corrected: tuple[int, str] | None,
    cut: int,
) -> None:
    a = HearingBuilder("forum-a").participant("ana", group="migrants").open("session-1")
    seqs = []
    for i in range(pledges):
        a.pledge("ana", f"Pledge {i}")
        seqs.append(len(a.records))
    a.close_segment().close()
    b = HearingBuilder("forum-b", start="2023-05-16T10:00:00-04:00")
    recorded: list[tuple[HearingBuilder, int, int]] = []  # builder, report seq, pledge seq
    for index, status, later in reports:
        pledge = seqs[index % pledges]
        builder = b if later else a
        record: dict[str, Any] = {"type": "PledgeProgressReported", "pledge": pledge}
        if later:
            record["pledge_hearing"] = "forum-a"
        builder.add({**record, "status": status})
        recorded.append((builder, len(builder.records), pledge))
    order = [(p, s) for (_, _, p), (_, s, _) in zip(recorded, reports, strict=True)]
    if corrected is not None and recorded:
        k = corrected[0] % len(recorded)
        builder, seq, _ = recorded[k]
        builder.correct(seq, "fix", status=corrected[1])
        order[k] = (order[k][0], corrected[1])
    # The log: forum-a's events, then forum-b's; so the last report on a pledge is the
    # last recorded in forum-b if any, else the last recorded in forum-a.
    events_a = a.events
    events = events_a + [RecordedEvent(len(events_a) + i + 1, r) for i, r in enumerate(b.records)]
    expected: dict[int, str] = {}
    for slug in ("forum-a", "forum-b"):
        for (builder, _, pledge), (_, status) in zip(recorded, order, strict=True):
            if builder.slug == slug:
                expected[pledge] = status

    doc = report_json(events, "forum-a")
    got = {p["seq"]: p["status"] for p in doc["hearings"][0]["pledges"]}
    assert got == {s: expected.get(s, "made") for s in seqs}
    assert doc["hearings"][0]["counts"]["total"] == pledges

    # Built in two steps or in one: the same read model and the same reports.
    stepwise = ReadModels(":memory:", [PledgesProjection()], keys=TEST_KEYS)
    assert not stepwise.feed(events[: min(cut, len(events))])
    assert not stepwise.feed(events)
    whole = run_projection(PledgesProjection(), events)
    assert dump_tables(stepwise.db, "pledges_") == dump_tables(whole, "pledges_")
    hearings = ["forum-a", "forum-b"]
    assert all_reports(stepwise.db, hearings) == all_reports(whole, hearings)


# --- the command line ------------------------------------------------------------------------


def invoke(args: list[str]) -> Any:
    from hearing_core.cli import cli

    return CliRunner().invoke(cli, args, env={"HEARING_PLUGINS": "pledges"})


def imported_store(tmp_path: Path) -> str:
    db = str(tmp_path / "x.db")
    result = invoke(["--store", db, "import", str(SAMPLE), "--keys-file", str(SAMPLE_KEYS)])
    assert result.exit_code == 0, result.output
    return db


def test_cli_with_and_without_hearing(tmp_path: Path) -> None:
    db = imported_store(tmp_path)
    result = invoke(["--store", db, "pledges", SLUG, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert len(doc["hearings"][0]["pledges"]) == 10

    whole = invoke(["--store", db, "pledges"])
    assert whole.exit_code == 0, whole.output
    assert whole.output.startswith("# Pledges of the whole archive")
    assert "| withdrawn | 1 |" in whole.output

    fulfilled = invoke(["--store", db, "pledges", "--status", "fulfilled", "--format", "csv"])
    assert fulfilled.exit_code == 0, fulfilled.output
    rows = list(csv.DictReader(io.StringIO(fulfilled.output)))
    assert [(r["pledge"], r["status"], r["reports"]) for r in rows] == [("85", "fulfilled", "2")]

    again = invoke(["--store", db, "report", "pledges", SLUG, "--option", "status=fulfilled"])
    assert again.exit_code == 0, again.output
    assert "## Pledge 85:" in again.output and "## Pledge 91:" not in again.output

    # --as-of and --uncorrected read one hearing: they need it.
    refused = invoke(["--store", db, "pledges", "--as-of", "12:00"])
    assert refused.exit_code == 2
    assert refused.output.strip().count("\n") == 0
    assert "--as-of and --uncorrected need a HEARING" in refused.output
    refused = invoke(["--store", db, "pledges", "--uncorrected"])
    assert refused.exit_code == 2

    # With a hearing they work: as it stood in 2023, pledge 85 was in progress.
    as_of = invoke(
        ["--store", db, "pledges", SLUG, "--as-of", "2023-12-31T00:00:00+00:00", "--format", "json"]
    )
    assert as_of.exit_code == 0, as_of.output
    p85 = pledges_of(json.loads(as_of.output))[(SLUG, 85)]
    assert p85["status"] == "in_progress"
    uncorrected = invoke(["--store", db, "pledges", SLUG, "--uncorrected", "--format", "json"])
    assert uncorrected.exit_code == 0, uncorrected.output
    assert pledges_of(json.loads(uncorrected.output))[(SLUG, 96)]["gcm_objectives"] == [19]

    bad = invoke(["--store", db, "pledges", SLUG, "--status", "done"])
    assert bad.exit_code == 2
    bad = invoke(["--store", db, "report", "pledges", SLUG, "--option", "status=done"])
    assert bad.exit_code == 2


def test_cli_progress_reported_at_a_later_forum(tmp_path: Path) -> None:
    db = imported_store(tmp_path)
    schedule = tmp_path / "forum-2026.json"
    schedule.write_text(
        json.dumps(
            {
                "type": "HearingScheduled",
                "hearing": "imrf-2026-msh",
                "at": "2025-01-10T09:00:00-05:00",
                "title": "IMRF 2026 hearing",
                "venue": "Conference Room 4",
                "date": "2025-02-10",
                "timezone": "America/New_York",
                "languages": ["en"],
                "programme": [
                    {
                        "id": "session-1",
                        "kind": "session",
                        "title": "Follow-up",
                        "planned_start": "2025-02-10T10:00:00-05:00",
                        "planned_end": "2025-02-10T12:00:00-05:00",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    steps = [
        ["record", "schedule", str(schedule)],
        [
            "record",
            "register",
            "imrf-2026-msh",
            "ngo",
            "--name",
            "Reporter",
            "--group",
            "civil_society",
            "--at",
            "2025-02-10T09:00:00-05:00",
        ],
        [
            "record",
            "progress",
            "imrf-2026-msh",
            "98",
            "--pledge-hearing",
            SLUG,
            "--status",
            "fulfilled",
            "--note",
            "Convention ratified.",
            "--by",
            "ngo",
            "--at",
            "2025-02-10T10:30:00-05:00",
        ],
    ]
    for step in steps:
        result = invoke(["--store", db, *step])
        assert result.exit_code == 0, result.output

    result = invoke(["--store", db, "pledges", SLUG])
    assert result.exit_code == 0, result.output
    block = result.output[result.output.index("## Pledge 98") :]
    assert "- **Status:** fulfilled, reported 2025-02-10 10:30 (`imrf-2026-msh` \\#3)" in block
    assert "recorded in `imrf-2026-msh` \\#3, reported by Reporter (Civil society)" in block

    later = invoke(["--store", db, "pledges", "imrf-2026-msh", "--format", "json"])
    assert later.exit_code == 0, later.output
    (item,) = json.loads(later.output)["reported_here"]
    assert item["pledge"]["seq"] == 98 and item["pledge"]["status"] == "fulfilled"

    whole = invoke(["--store", db, "pledges", "--status", "fulfilled", "--format", "json"])
    assert whole.exit_code == 0, whole.output
    assert sorted(pledges_of(json.loads(whole.output))) == [(SLUG, 85), (SLUG, 98)]


@pytest.mark.parametrize("fmt", ["markdown", "json", "csv"])
def test_cli_output_is_deterministic(tmp_path: Path, fmt: str) -> None:
    db = imported_store(tmp_path)
    first = invoke(["--store", db, "pledges", "--format", fmt])
    replay = invoke(["--store", db, "replay"])
    assert replay.exit_code == 0, replay.output
    second = invoke(["--store", db, "pledges", "--format", fmt])
    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output
