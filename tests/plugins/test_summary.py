"""Tests of the ``summary`` plugin (plugins/hearing-summary)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hearing_core import (
    GCM_OBJECTIVES,
    PLEDGE_LEVELS,
    RecordedEvent,
    Report,
    ReportRequest,
    pseudonyms,
)
from hearing_core.readmodels import ReadModels
from hearing_core.testing import (
    TEST_KEYS,
    HearingBuilder,
    ProjectionContract,
    dump_tables,
    render,
    run_projection,
    sample_records,
)
from hearing_core.testing import request as revealing_request
from hearing_summary.projection import SECTIONS, SummaryProjection

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "samples" / "imrf-2022-msh.jsonl"
SLUG = "imrf-2022-msh"


def sample_events(*, corrected: bool = True) -> list[RecordedEvent]:
    records = sample_records()
    if not corrected:
        records = [r for r in records if r["type"] != "CorrectionIssued"]
    return [RecordedEvent(r["seq"], r) for r in records]


def report(events: list[RecordedEvent], hearing: str, fmt: str = "markdown", **options: Any) -> str:
    result = render(SummaryProjection(), events, hearing, fmt, **options)
    assert isinstance(result, str)
    return result


def as_json(events: list[RecordedEvent], hearing: str, **options: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(report(events, hearing, "json", **options))
    return doc


def built() -> HearingBuilder:
    """A small hearing with every kind of item, a protected maker, an official and corrections."""
    b = (
        HearingBuilder("test-hearing")
        .participant("ana", group="migrants", organization="Ana's Collective")
        .participant("ben", group="trade_unions")
        .participant(
            "hidden-hana",
            group="migrants",
            name="Hana Hidden",
            organization="Secret Shelter",
            protected=True,
        )
        .participant("pga", name="The President")  # an official: no group
        .open("opening")
        .speak("pga")
        .close_segment()
        .open("session-1", moderator="ana")
        .recommend("ana", "Data for all", areas=(4,), objectives=(1,))
        .pledge(
            "ben",
            "Fair recruitment",
            objectives=(6,),
            level="global",
            partners=("Union A", "Union B"),
        )
        .recommend("hidden-hana", "Firewalls", areas=(1, 3), objectives=(15, 7))
        .pledge("hidden-hana", "Shelter network", objectives=(7,), level="local")
        .add(
            {
                "type": "PledgeMade",
                "by": "pga",
                "text": "No segment field",
                "gcm_objectives": [23],
                "level": "regional",
            }
        )
        .close_segment()
        .add(
            {
                "type": "RecommendationMade",
                "by": "ben",
                "text": "Between segments",
                "sg_report_areas": [],
                "gcm_objectives": [22],
            }
        )
        .open("session-2", moderator="ben")
        .pledge("ana", "National plan", objectives=(16,), level="national")
        .summarise("ben", "session-1", ("Point one", "Point two"))
        .close_segment()
        .close()
    )
    return b


def seq_of(b: HearingBuilder, **match: Any) -> int:
    for r in b.records:
        if all(r.get(k) == v for k, v in match.items()):
            return int(r["seq"])
    raise LookupError(match)


def corrected_builder() -> HearingBuilder:
    b = built()
    b.correct(
        seq_of(b, type="PledgeMade", text="National plan"),
        "objective 17 omitted",
        gcm_objectives=[16, 17],
    )
    b.correct(
        seq_of(b, type="ParticipantRegistered", participant="ben"),
        "wrong group",
        stakeholder_group="academia",
    )
    b.correct(
        seq_of(b, type="ParticipantRegistered", participant="hidden-hana"),
        "name misspelt",
        name="Hana Hiddenova",
    )
    return b


class TestSummaryContract(ProjectionContract):
    def make_projection(self) -> SummaryProjection:
        return SummaryProjection()

    def make_events(self) -> list[RecordedEvent]:
        return corrected_builder().events


# --- the sample hearing -----------------------------------------------------------------


def test_sample_counts_in_json() -> None:
    doc = as_json(sample_events(), SLUG)
    counts = doc["counts"]
    assert counts["recommendations"] == 16
    assert counts["pledges"] == 10
    assert counts["summations"] == 2
    assert len(doc["recommendations"]) == 16
    assert len(doc["pledges"]) == 10
    assert len(doc["summations"]) == 2
    assert doc["hearing"]["slug"] == SLUG
    assert [s["summarises"] for s in doc["summations"]] == ["session-1", "session-2"]
    assert doc["summations"][0]["maker"]["participant"] == "mod-s1"
    assert len(doc["summations"][0]["key_points"]) == 4


def test_sample_objective_20_lists_the_corrected_pledge() -> None:
    doc = as_json(sample_events(), SLUG)
    by_objective = {o["objective"]: o for o in doc["by_objective"]}
    assert list(by_objective) == list(range(1, 24))
    assert by_objective[20]["title"] == GCM_OBJECTIVES[20]
    assert by_objective[20]["pledges"] == [82, 96]
    assert by_objective[20]["recommendations"] == [49]
    assert 96 in by_objective[19]["pledges"]
    pledge = next(p for p in doc["pledges"] if p["seq"] == 96)
    assert pledge["gcm_objectives"] == [19, 20]
    assert pledge["corrected_by"] == [122]
    correction = next(c for c in doc["corrections"] if c["seq"] == 122)
    assert correction["previous"] == {"gcm_objectives": [19]}
    assert correction["changes"] == {"gcm_objectives": [19, 20]}
    assert "omitted" in correction["reason"]
    # The correction of an intervention's time (seq 121) does not bear on the summary.
    assert [c["seq"] for c in doc["corrections"]] == [120, 122]

    markdown = report(sample_events(), SLUG, section="by-objective")
    objective_20 = markdown.split("### Objective 20: Remittances")[1].split("### Objective")[0]
    assert "(seq 96)" in objective_20
    assert "*Corrected by seq 122: gcm_objectives [19] → [19, 20]." in objective_20


def test_sample_uncorrected_keeps_the_pledge_off_objective_20() -> None:
    doc = as_json(sample_events(corrected=False), SLUG)
    by_objective = {o["objective"]: o for o in doc["by_objective"]}
    assert by_objective[20]["pledges"] == [82]
    assert doc["corrections"] == []


def test_sample_has_all_four_pledge_levels() -> None:
    doc = as_json(sample_events(), SLUG)
    levels = {entry["level"]: entry["pledges"] for entry in doc["pledges_by_level"]}
    assert list(levels) == list(PLEDGE_LEVELS) == ["local", "national", "regional", "global"]
    assert all(levels[level] for level in PLEDGE_LEVELS)
    assert levels == {
        "local": [45, 88, 94],
        "national": [91, 98],
        "regional": [79, 82, 85],
        "global": [53, 96],
    }
    assert doc["counts"]["pledges_by_level"] == {
        "local": 3,
        "national": 2,
        "regional": 3,
        "global": 2,
    }
    assert doc["pledges_with_partners"] == [45, 79, 85, 88, 96]
    markdown = report(sample_events(), SLUG, section="pledges")
    for heading in (
        "### Local (3)",
        "### National (2)",
        "### Regional (3)",
        "### Global (2)",
        "### With partners (5)",
    ):
        assert heading in markdown


def test_sample_groupings() -> None:
    doc = as_json(sample_events(), SLUG)
    sessions = {s["segment"]: s for s in doc["by_session"]}
    assert list(sessions) == ["opening", "session-1", "lunch", "session-2", "session-3", "closing"]
    assert len(sessions["session-1"]["recommendations"]) == 10
    assert len(sessions["session-2"]["recommendations"]) == 6
    assert sessions["session-1"]["summarised_by"] == [108]
    assert sessions["lunch"]["recommendations"] == sessions["lunch"]["pledges"] == []
    areas = {a["area"]: a["recommendations"] for a in doc["by_area"]}
    assert areas[3] == [47, 58, 60, 62, 100]
    groups = {g["group"]: g for g in doc["by_group"]}
    assert groups["other_stakeholders"]["recommendations"] == []
    assert groups[None]["officials"] is True
    assert groups["migrants"]["recommendations"] == [43, 68]
    # The digest: per area, the recommendations in record order, then the key points.
    digest = doc["digest"]
    assert [a["recommendations"] for a in digest["areas"]] == [areas[n] for n in (1, 2, 3, 4)]
    assert [k["summation"] for k in digest["key_points"]] == [108, 110]
    # The corrected organization (seq 120) is what the report shows.
    union = next(r for r in doc["recommendations"] if r["seq"] == 55)
    assert union["maker"]["organization"] == "Northern Coast Migrant Workers' Union"


def test_sample_protected_maker_by_pseudonym_only() -> None:
    events = sample_events()
    for fmt in ("markdown", "json"):
        text = report(events, SLUG, fmt)
        assert "Protected speaker 1" in text
        assert "Maria" not in text
        assert "fl-maria" not in text
    doc = as_json(events, SLUG)
    rec = next(r for r in doc["recommendations"] if r["seq"] == 68)
    assert rec["maker"] == {
        "participant": None,
        "name": "Protected speaker 1",
        "organization": None,
        "protected": True,
        "stakeholder_group": "migrants",
        "group_label": "Migrants",
    }


def test_sample_digest_as_the_demo_asks() -> None:
    markdown = report(sample_events(), SLUG, "markdown", section="digest")
    assert "## Digest: key recommendations for the opening plenary" in markdown
    assert "## By session" not in markdown
    assert "### Moderators' key points" in markdown
    digest = markdown.split("### Area 1:")[1].split("### Area 2:")[0]
    assert re.findall(r"\(seq (\d+)\)", digest) == ["43", "60", "65", "68"]
    assert "## Corrections applied" in markdown
    # The demo renders through the workspace with exactly these options.
    db = run_projection(SummaryProjection(), sample_events())
    again = SummaryProjection().render(db, ReportRequest(SLUG, "markdown", {"section": "digest"}))
    assert again == markdown


def test_sections_select_groupings() -> None:
    events = sample_events()
    doc = as_json(events, SLUG, section="digest")
    assert "digest" in doc and "by_session" not in doc and "by_objective" not in doc
    assert doc["section"] == "digest"
    assert doc["counts"]["recommendations"] == 16  # the data and counts are always there
    whole = as_json(events, SLUG)
    for key in (
        "digest",
        "by_session",
        "by_objective",
        "by_area",
        "by_group",
        "pledges_by_level",
        "pledges_with_partners",
    ):
        assert key in whole
    for section in SECTIONS:
        assert report(events, SLUG, section=section).startswith("# Summary of recommendations")


def test_unknown_section_is_refused() -> None:
    db = run_projection(SummaryProjection(), sample_events())
    result = SummaryProjection().render(db, ReportRequest(SLUG, "markdown", {"section": "nope"}))
    assert isinstance(result, Report)
    assert result.exit_code == 2
    assert result.message is not None and "nope" in result.message


def test_sample_incremental_equals_rebuild_bytes(tmp_path: Path) -> None:
    events = sample_events()
    whole = ReadModels(tmp_path / "whole.db", [SummaryProjection()], keys=TEST_KEYS)
    assert not whole.feed(events)
    step = ReadModels(tmp_path / "step.db", [SummaryProjection()], keys=TEST_KEYS)
    for i in range(0, len(events), 7):
        assert not step.feed(events[i : i + 7], batch=3)
    assert dump_tables(step.db, "summary_") == dump_tables(whole.db, "summary_")
    for section in SECTIONS:
        for fmt in ("markdown", "json"):
            request = ReportRequest(SLUG, fmt, {"section": section})
            assert step.render(SummaryProjection(), request) == whole.render(
                SummaryProjection(), request
            )


# --- built hearings ---------------------------------------------------------------------


def test_segment_of_items_without_a_segment_field() -> None:
    doc = as_json(built().events, "test-hearing")
    sessions = {s["segment"]: s for s in doc["by_session"]}
    no_field = next(p for p in doc["pledges"] if p["text"] == "No segment field")
    assert no_field["segment"] == "session-1"  # the segment open when it was made
    assert no_field["seq"] in sessions["session-1"]["pledges"]
    between = next(r for r in doc["recommendations"] if r["text"] == "Between segments")
    assert between["segment"] is None
    assert sessions[None]["recommendations"] == [between["seq"]]
    assert sessions[None]["title"] == "Outside any programme segment"
    # ... and the one with no SG-report area is listed apart.
    areas = {a["area"]: a["recommendations"] for a in doc["by_area"]}
    assert areas[None] == [between["seq"]]
    assert doc["digest"]["without_area"] == [between["seq"]]
    markdown = report(built().events, "test-hearing", section="by-session")
    assert "### Outside any programme segment" in markdown


def test_officials_are_apart() -> None:
    doc = as_json(built().events, "test-hearing")
    groups = doc["by_group"]
    assert groups[-1]["group"] is None and groups[-1]["officials"] is True
    official = next(p for p in doc["pledges"] if p["text"] == "No segment field")
    assert groups[-1]["pledges"] == [official["seq"]]
    assert official["maker"]["group_label"] is None
    markdown = report(built().events, "test-hearing", section="by-group")
    assert "### Officials (no stakeholder group)" in markdown
    assert "The President (official)" in markdown


def test_protected_maker_built_with_the_builder() -> None:
    events = corrected_builder().events
    for fmt in ("markdown", "json"):
        for section in SECTIONS:
            text = report(events, "test-hearing", fmt, section=section)
            for secret in ("Hana", "Hiddenova", "hidden-hana", "Secret Shelter"):
                assert secret not in text, (fmt, section, secret)
    doc = as_json(events, "test-hearing")
    hana = [
        i
        for i in doc["recommendations"] + doc["pledges"]
        if i["maker"]["name"] == "Protected speaker 1"
    ]
    assert [i["text"] for i in hana] == ["Firewalls", "Shelter network"]
    withheld = [c for c in doc["corrections"] if c["withheld"]]
    assert len(withheld) == 1
    assert withheld[0]["changes"] is None and withheld[0]["reason"] is None
    assert withheld[0]["subject"] == "Protected speaker 1"
    markdown = report(events, "test-hearing")
    assert "details withheld (protected participant)" in markdown


def test_pseudonyms_follow_hearing_core() -> None:
    b = (
        HearingBuilder("test-hearing")
        .participant("open-one", group="migrants")
        .participant("p-first", group="migrants", protected=True)
        .participant("p-second", group="academia", protected=True)
        .open("session-1")
        .recommend("p-second", "Second's recommendation")
        .pledge("p-first", "First's pledge")
        .close_segment()
    )
    expected = pseudonyms(b.records)
    doc = as_json(b.events, "test-hearing")
    makers = {i["text"]: i["maker"]["name"] for i in doc["recommendations"] + doc["pledges"]}
    assert makers == {
        "Second's recommendation": expected["p-second"],
        "First's pledge": expected["p-first"],
    }
    assert makers["First's pledge"] == "Protected speaker 1"


def test_correction_that_protects_a_participant() -> None:
    b = built()
    b.correct(
        seq_of(b, type="ParticipantRegistered", participant="ana"),
        "Ana asked for protection",
        protected=True,
    )
    # Numbered in the order protection appears in the log (issue 10): Hana was protected at
    # registration, Ana only by the later correction, so Ana is the second.
    expected = pseudonyms(b.records)
    assert expected == {"hidden-hana": "Protected speaker 1", "ana": "Protected speaker 2"}
    for fmt in ("markdown", "json"):
        text = report(b.events, "test-hearing", fmt)
        assert "Ana" not in text and '"ana"' not in text
        assert "Hana" not in text
    doc = as_json(b.events, "test-hearing")
    makers = {i["text"]: i["maker"]["name"] for i in doc["recommendations"] + doc["pledges"]}
    assert makers["Data for all"] == expected["ana"]
    assert makers["Firewalls"] == expected["hidden-hana"]
    session = next(s for s in doc["by_session"] if s["segment"] == "session-1")
    assert session["moderator"]["name"] == expected["ana"]
    assert session["moderator"]["participant"] is None
    assert doc["corrections"][-1]["withheld"] is True


def test_corrected_group_moves_the_maker() -> None:
    before = as_json(built().events, "test-hearing")
    after = as_json(corrected_builder().events, "test-hearing")
    groups_before = {g["group"]: g["pledges"] for g in before["by_group"]}
    groups_after = {g["group"]: g["pledges"] for g in after["by_group"]}
    ben_pledge = next(p["seq"] for p in before["pledges"] if p["text"] == "Fair recruitment")
    assert ben_pledge in groups_before["trade_unions"]
    assert ben_pledge in groups_after["academia"]
    assert ben_pledge not in groups_after["trade_unions"]
    national = next(p for p in after["pledges"] if p["text"] == "National plan")
    by_objective = {o["objective"]: o["pledges"] for o in after["by_objective"]}
    assert national["seq"] in by_objective[17]
    markdown = report(corrected_builder().events, "test-hearing")
    assert "Reason: objective 17 omitted" in markdown
    assert 'stakeholder_group "trade_unions" → "academia"' in markdown


def test_markdown_escapes_injection() -> None:
    nasty_name = "<script>alert(1)</script>"
    b = (
        HearingBuilder("test-hearing")
        .participant(
            "eve",
            group="civil_society",
            name=nasty_name,
            organization="[click me](http://evil.example)",
        )
        .open("session-1")
        .recommend(
            "eve",
            "# Heading\n\n- injected item\n<img src=x onerror=alert(1)> "
            "**bold** `code` | a | b | red ",
            areas=(1,),
            objectives=(1,),
        )
        .pledge(
            "eve",
            "![image](http://evil.example/x.png)",
            objectives=(2,),
            level="local",
            partners=("_under_ & <b>",),
        )
        .summarise("eve", "session-1", ("> quoted", "1. numbered"))
        .close_segment()
    )
    b.correct(2, "[reason](javascript:alert(1))", organization="<i>Org</i>")
    records = b.records
    # The store now refuses control characters and bidi overrides; older or foreign
    # records may still hold them.
    rec = next(r for r in records if r["type"] == "RecommendationMade")
    rec["text"] += "\u202e\x1b[31m\x9b2J"
    events = [RecordedEvent(r["seq"], r) for r in records]
    markdown = report(events, "test-hearing")
    for raw in (
        "<script>",
        "<img",
        "[click me](",
        "![image](",
        "](javascript:",
        "<b>",
        "<i>",
        "**bold**",
        "`code`",
        "\x1b",
        "\x9b",
        "\u202e",
    ):
        assert not re.search(r"(?<!\\)" + re.escape(raw), markdown), raw
    assert "\\<script>alert(1)\\</script>" in markdown
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert not any("Heading" in h or "injected" in h for h in headings)
    assert not any(
        line.startswith(("- injected", "> quoted", "1. numbered", "<", "!"))
        for line in markdown.splitlines()
    )
    assert "\\# Heading - injected item" in markdown  # one line, every marker escaped
    assert "\\_under\\_ & \\<b>" in markdown
    # JSON carries the text itself, controls stripped.
    doc = as_json(events, "test-hearing")
    text = doc["recommendations"][0]["text"]
    assert text.startswith("# Heading\n\n- injected item")
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text


def test_hearings_are_kept_apart() -> None:
    one = built()
    two = (
        HearingBuilder("other-hearing", first_position=1000)
        .participant("zed", group="academia")
        .open("session-1")
        .pledge("zed", "Other pledge", objectives=(20,), level="regional")
        .close_segment()
    )
    db = run_projection(SummaryProjection(), one.events + two.events)
    doc_one = json.loads(str(SummaryProjection().render(db, ReportRequest("test-hearing", "json"))))
    doc_two = json.loads(
        str(SummaryProjection().render(db, ReportRequest("other-hearing", "json")))
    )
    assert doc_two["counts"]["pledges"] == 1 and doc_two["counts"]["recommendations"] == 0
    assert doc_one["counts"]["pledges"] == 4 and doc_one["counts"]["recommendations"] == 3
    assert "Other pledge" not in json.dumps(doc_one)


# --- generated hearings -----------------------------------------------------------------

item_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["recommendation", "pledge"]),
        "by": st.sampled_from(["ana", "ben", "hid", "off"]),
        "objectives": st.lists(st.integers(1, 23), min_size=1, max_size=3, unique=True),
        "areas": st.lists(st.integers(1, 4), max_size=2, unique=True),
        "level": st.sampled_from(PLEDGE_LEVELS),
        "segment_field": st.booleans(),
    }
)


@settings(max_examples=25, deadline=None)
@given(
    segments=st.lists(st.lists(item_strategy, max_size=4), min_size=4, max_size=4),
    corrections=st.lists(
        st.tuples(
            st.integers(0, 50), st.lists(st.integers(1, 23), min_size=1, max_size=3, unique=True)
        ),
        max_size=3,
    ),
)
def test_generated_hearings(
    segments: list[list[dict[str, Any]]], corrections: list[tuple[int, list[int]]]
) -> None:
    b = (
        HearingBuilder("test-hearing")
        .participant("ana", group="migrants")
        .participant("ben", group="media")
        .participant("hid", group="academia", protected=True, name="Hidden Person")
        .participant("off")
    )
    for segment, items in zip(
        ("opening", "session-1", "session-2", "closing"), segments, strict=True
    ):
        b.open(segment)
        for item in items:
            record: dict[str, Any] = {
                "by": item["by"],
                "text": f"{item['kind']} text",
                "gcm_objectives": item["objectives"],
            }
            if item["segment_field"]:
                record["segment"] = segment
            if item["kind"] == "pledge":
                record.update(type="PledgeMade", level=item["level"])
            else:
                record.update(type="RecommendationMade", sg_report_areas=item["areas"])
            b.add(record)
        b.close_segment()
    item_seqs = [r["seq"] for r in b.records if r["type"] in ("PledgeMade", "RecommendationMade")]
    expected_objectives = {
        r["seq"]: set(r["gcm_objectives"]) for r in b.records if r["seq"] in item_seqs
    }
    for index, objectives in corrections:
        if item_seqs:
            target = item_seqs[index % len(item_seqs)]
            b.correct(target, "generated", gcm_objectives=objectives)
            expected_objectives[target] = set(objectives)
    events = b.events

    doc = as_json(events, "test-hearing")
    flat = [i for items in segments for i in items]
    assert doc["counts"]["recommendations"] == sum(i["kind"] == "recommendation" for i in flat)
    assert doc["counts"]["pledges"] == sum(i["kind"] == "pledge" for i in flat)
    for entry in doc["by_objective"]:
        listed = set(entry["recommendations"]) | set(entry["pledges"])
        assert listed == {
            s for s, objs in expected_objectives.items() if entry["objective"] in objs
        }
    for entry in doc["by_session"]:
        for seq in entry["recommendations"] + entry["pledges"]:
            item = next(i for i in doc["recommendations"] + doc["pledges"] if i["seq"] == seq)
            assert item["segment"] == entry["segment"]
    text = report(events, "test-hearing") + json.dumps(doc)
    assert "Hidden Person" not in text and '"hid"' not in text

    whole = run_projection(SummaryProjection(), events)
    models = ReadModels(":memory:", [SummaryProjection()], keys=TEST_KEYS)
    cut = len(events) // 2
    assert not models.feed(events[:cut])
    assert not models.feed(events[cut:])
    assert dump_tables(models.db, "summary_") == dump_tables(whole, "summary_")
    for fmt in ("markdown", "json"):
        request = revealing_request("test-hearing", fmt)  # as the host renders: words revealed
        assert models.render(SummaryProjection(), request) == SummaryProjection().render(
            whole, request
        )


# --- the command line -------------------------------------------------------------------


@pytest.fixture
def fresh_cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``hearing`` group with plugin commands loaded afresh for this test.

    The group remembers that it loaded plugin commands (a process-wide flag), so
    a test that ran earlier with another allow-list would hide ``summary``.
    """
    from hearing_core.cli import cli

    monkeypatch.setattr(cli, "commands", dict(cli.commands))
    monkeypatch.setattr(cli, "_plugins_loaded", False, raising=False)
    return cli


def test_cli_summary(fresh_cli: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"HEARING_PLUGINS": "summary"}
    db = str(tmp_path / "x.db")
    result = runner.invoke(fresh_cli, ["--store", db, "import", str(SAMPLE)], env=env)
    assert result.exit_code == 0, result.output

    result = runner.invoke(fresh_cli, ["--store", db, "summary", SLUG, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (
        doc["counts"]["recommendations"],
        doc["counts"]["pledges"],
        doc["counts"]["summations"],
    ) == (16, 10, 2)

    result = runner.invoke(
        fresh_cli, ["--store", db, "summary", SLUG, "--section", "digest"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "## Digest: key recommendations for the opening plenary" in result.output
    assert "## By GCM objective" not in result.output
    assert "Protected speaker 1" in result.output

    again = runner.invoke(
        fresh_cli, ["--store", db, "report", "summary", SLUG, "--option", "section=digest"], env=env
    )
    assert again.exit_code == 0 and again.output == result.output

    uncorrected = runner.invoke(
        fresh_cli, ["--store", db, "summary", SLUG, "--format", "json", "--uncorrected"], env=env
    )
    assert uncorrected.exit_code == 0, uncorrected.output
    objective_20 = json.loads(uncorrected.output)["by_objective"][19]
    assert objective_20["pledges"] == [82]

    as_of = runner.invoke(
        fresh_cli, ["--store", db, "summary", SLUG, "--format", "json", "--as-of", "11:30"], env=env
    )
    assert as_of.exit_code == 0, as_of.output
    assert json.loads(as_of.output)["counts"]["recommendations"] == 5

    bad = runner.invoke(fresh_cli, ["--store", db, "summary", SLUG, "--section", "nope"], env=env)
    assert bad.exit_code == 2
