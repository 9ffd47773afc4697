"""The Akoma Ntoso export: valid against the official XSD, references resolve, text escaped."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from hearing_core.exports import akn, to_akoma_ntoso
from hearing_core.testing import sample_records

SAMPLE = Path(__file__).parents[1] / "events/samples/imrf-2022-msh.jsonl"
STANDARDS = Path(akn.__file__).parent / "standards" / "akoma-ntoso-3.0"
NS = {"a": akn.AKN_NS}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PAYLOAD = "</p><script>alert(1)</script> & ]]>"


def sample() -> list[dict[str, Any]]:
    return sample_records()


def by_seq(records: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(r for r in records if r["seq"] == seq)


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    # The shipped copy, loaded with the network off: akomantoso30.xsd imports ./xml.xsd.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(STANDARDS / "akomantoso30.xsd"), parser))


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"), etree.XMLParser(no_network=True))


def assert_valid(xsd: etree.XMLSchema, xml: str) -> etree._Element:
    root = parse(xml)
    assert xsd.validate(root), "\n".join(str(e) for e in xsd.error_log)
    return root


def reference_ids(root: etree._Element) -> set[str]:
    return {
        str(v)
        for v in root.xpath("/a:akomaNtoso/a:debate/a:meta/a:references/*/@eId", namespaces=NS)
    }


# --- the schema itself ---------------------------------------------------------------


def test_shipped_schema_loads_offline_and_checks(xsd: etree.XMLSchema) -> None:
    example = etree.parse(str(STANDARDS / "Debate_Bungeni-1995-10-31.xml"))
    assert xsd.validate(example), xsd.error_log
    # ... and it does reject a document that breaks the content model.
    root = parse(to_akoma_ntoso(sample()))
    body = root.find(".//a:debateBody", NS)
    parent = body.getparent() if body is not None else None
    assert body is not None and parent is not None
    parent.remove(body)
    assert not xsd.validate(root)


def test_shipped_files_carry_their_licence_notice() -> None:
    notice = (STANDARDS.parent / "NOTICE").read_text(encoding="utf-8")
    assert notice.count("CC-BY 4.0") >= 2
    assert "OASIS" in notice and "Popolo" in notice and "W3C" in notice
    for name in ("akomantoso30.xsd", "xml.xsd"):
        assert (STANDARDS / name).is_file()


# --- the sample ----------------------------------------------------------------------


def test_sample_validates_against_the_official_schema(xsd: etree.XMLSchema) -> None:
    xml = to_akoma_ntoso(sample())
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    assert_valid(xsd, xml)
    assert akn.validate(xml) == []


def test_sample_uncorrected_validates_too(xsd: etree.XMLSchema) -> None:
    assert_valid(xsd, to_akoma_ntoso(sample(), uncorrected=True))


def test_frbr_identification() -> None:
    root = parse(to_akoma_ntoso(sample()))
    ident = root.find("a:debate/a:meta/a:identification", NS)
    assert ident is not None
    work = ident.find("a:FRBRWork", NS)
    expr = ident.find("a:FRBRExpression", NS)
    mani = ident.find("a:FRBRManifestation", NS)
    assert work is not None and expr is not None and mani is not None
    work_uri = work.find("a:FRBRuri", NS).get("value")  # type: ignore[union-attr]
    assert work_uri == "/akn/un/debateRecord/hearing/2022-05-16/imrf-2022-msh"
    assert work.find("a:FRBRcountry", NS).get("value") == "un"  # type: ignore[union-attr]
    assert work.find("a:FRBRdate", NS).get("date") == "2022-05-16"  # type: ignore[union-attr]
    assert expr.find("a:FRBRlanguage", NS).get("language") == "en"  # type: ignore[union-attr]
    expr_uri = expr.find("a:FRBRuri", NS).get("value")  # type: ignore[union-attr]
    # Versioned by the last correction: later pledge progress reports do not touch the debate.
    assert expr_uri == work_uri + "/eng@2022-05-17"
    assert root.find("a:debate", NS).get("contains") == "singleVersion"  # type: ignore[union-attr]
    for level in (work, expr, mani):
        assert level.find("a:FRBRthis", NS) is not None
        author = level.find("a:FRBRauthor", NS)
        assert author is not None and author.get("href") == "#recorder"
    # The two readings are different expressions of the same work.
    original = parse(to_akoma_ntoso(sample(), uncorrected=True))
    original_expr = original.find("a:debate/a:meta/a:identification/a:FRBRExpression", NS)
    assert original_expr is not None
    original_uri = original_expr.find("a:FRBRuri", NS).get("value")  # type: ignore[union-attr]
    assert original_uri == work_uri + "/eng@2022-05-16-as-recorded"
    assert original.find("a:debate", NS).get("contains") == "originalVersion"  # type: ignore[union-attr]


def test_every_by_as_and_refers_to_resolves_to_a_reference() -> None:
    root = parse(to_akoma_ntoso(sample()))
    ids = reference_ids(root)
    speeches = root.findall(".//a:speech", NS)
    assert speeches
    for speech in speeches:
        for attr in ("by", "as"):
            value = speech.get(attr)
            assert value is not None and value.startswith("#"), (attr, value)
            assert value[1:] in ids, f"{attr}={value} names no eId in references"
        for ref in (speech.get("refersTo") or "").split():
            assert ref.startswith("#") and ref[1:] in ids, ref
        by = root.xpath(f"//a:references/*[@eId='{speech.get('by')[1:]}']", namespaces=NS)  # type: ignore[index]
        assert etree.QName(by[0]).localname == "TLCPerson"
        role = root.xpath(f"//a:references/*[@eId='{speech.get('as')[1:]}']", namespaces=NS)  # type: ignore[index]
        assert etree.QName(role[0]).localname == "TLCRole"
    assert akn.dangling_references(to_akoma_ntoso(sample())) == []


def test_references_cover_participants_groups_organizations_and_roles() -> None:
    records = sample()
    root = parse(to_akoma_ntoso(records))
    refs = root.find(".//a:references", NS)
    assert refs is not None
    persons = refs.findall("a:TLCPerson", NS)
    registered = [r for r in records if r["type"] == "ParticipantRegistered"]
    assert len(persons) == len(registered) == 33
    shown = {p.get("showAs") for p in persons}
    assert "H.E. Abdulla Shahid" in shown and "Protected speaker 1" in shown
    orgs = {o.get("showAs") for o in refs.findall("a:TLCOrganization", NS)}
    for group in by_seq(records, 1)["stakeholder_groups"]:
        assert f"Stakeholder group: {group['label']}" in orgs
    assert "Northern Coast Migrant Workers' Union" in orgs  # as corrected
    roles = {r.get("eId") for r in refs.findall("a:TLCRole", NS)}
    used = {r["role"] for r in records if r["type"] == "InterventionDelivered"}
    assert roles == {f"role-{r}" for r in used}


def test_debate_sections_follow_the_programme() -> None:
    records = sample()
    root = parse(to_akoma_ntoso(records))
    sections = root.findall("a:debate/a:debateBody/a:debateSection", NS)
    programme = [item["title"] for item in by_seq(records, 1)["programme"]]
    assert [s.findtext("a:heading", namespaces=NS) for s in sections] == programme
    speeches = root.findall(".//a:speech", NS)
    interventions = [r for r in records if r["type"] == "InterventionDelivered"]
    assert len(speeches) == len(interventions) == 44
    for speech, record in zip(speeches, interventions, strict=True):
        assert speech.get("startTime") == record["at"]
        assert speech.get(XML_LANG) == record["language"]
        assert speech.find("a:from", NS) is not None
        first = speech.find("a:p", NS)
        assert first is not None and first.text == record["text"]
    # The corrected end time of record 71 (Irina Sokolova's intervention).
    sokolova = speeches[[r["seq"] for r in interventions].index(71)]
    assert sokolova.get("endTime") == "2022-05-16T12:25:30-04:00"
    original = parse(to_akoma_ntoso(records, uncorrected=True))
    assert (
        original.findall(".//a:speech", NS)[[r["seq"] for r in interventions].index(71)].get(
            "endTime"
        )
        == "2022-05-16T12:27:30-04:00"
    )


def test_translations_are_kept_with_their_language() -> None:
    root = parse(to_akoma_ntoso(sample()))
    arabic = [s for s in root.findall(".//a:speech", NS) if s.get(XML_LANG) == "ar"]
    assert len(arabic) == 2
    for speech in arabic:
        translation = speech.find("a:p[@class='translation']", NS)
        assert translation is not None and translation.get(XML_LANG) == "en"


def test_corrections_are_noted_only_when_applied() -> None:
    corrected = parse(to_akoma_ntoso(sample()))
    notes = corrected.findall(".//a:notes/a:note", NS)
    assert [n.get("eId") for n in notes] == ["correction-120", "correction-121", "correction-122"]
    assert "mistyped" in "".join(notes[1].itertext())
    original = parse(to_akoma_ntoso(sample(), uncorrected=True))
    assert original.findall(".//a:notes", NS) == []


# --- protection and escaping -------------------------------------------------------------


def test_protected_speaker_is_never_named() -> None:
    for uncorrected in (False, True):
        xml = to_akoma_ntoso(sample(), uncorrected=uncorrected)
        assert "Maria K." not in xml
        assert "fl-maria" not in xml
        root = parse(xml)
        person = root.find(".//a:TLCPerson[@showAs='Protected speaker 1']", NS)
        assert person is not None
        speech = root.find(f".//a:speech[@by='#{person.get('eId')}']", NS)
        assert speech is not None
        assert speech.findtext("a:from", namespaces=NS) == "Protected speaker 1"


def test_protection_added_by_a_correction_holds_in_both_readings(xsd: etree.XMLSchema) -> None:
    records = sample()
    records.append(
        {
            "type": "CorrectionIssued",
            "hearing": "imrf-2022-msh",
            "seq": 123,
            "at": "2022-05-18T09:00:00-04:00",
            "corrects": 29,  # Irina Sokolova's registration
            "changes": {"protected": True},
            "reason": "Irina Sokolova asked for her identity to be protected.",
        }
    )
    for uncorrected in (False, True):
        xml = to_akoma_ntoso(records, uncorrected=uncorrected)
        assert "Sokolova" not in xml and "Irina" not in xml
        assert "Protected speaker 2" in xml
        assert_valid(xsd, xml)


def test_hostile_text_round_trips_as_text(xsd: etree.XMLSchema) -> None:
    records = sample()
    by_seq(records, 36)["text"] = PAYLOAD
    by_seq(records, 2)["name"] = 'Evil "<b>name</b>" & co'
    by_seq(records, 2)["organization"] = "<script>alert(2)</script>"
    by_seq(records, 1)["title"] = "Hearing ]]> <!-- & -->"
    xml = to_akoma_ntoso(records)
    assert "<script>" not in xml
    root = assert_valid(xsd, xml)
    assert not [el for el in root.iter(etree.Element) if etree.QName(el).localname == "script"]
    speech = root.findall(".//a:speech", NS)[0]
    assert speech.find("a:p", NS).text == PAYLOAD  # type: ignore[union-attr]
    assert speech.findtext("a:from", namespaces=NS) == 'Evil "<b>name</b>" & co'
    assert root.find(".//a:TLCOrganization[@showAs='<script>alert(2)</script>']", NS) is not None
    assert root.findtext(".//a:docTitle", namespaces=NS) == "Hearing ]]> <!-- & -->"


def test_characters_xml_cannot_hold_are_replaced(xsd: etree.XMLSchema) -> None:
    records = sample()
    by_seq(records, 36)["text"] = "bell\x07 and nul\x00 and \ud800 end"
    root = assert_valid(xsd, to_akoma_ntoso(records))
    assert root.findall(".//a:speech/a:p", NS)[0].text == "bell\ufffd and nul\ufffd and \ufffd end"


def test_intervention_without_text_gets_a_note(xsd: etree.XMLSchema) -> None:
    records = sample()
    del by_seq(records, 37)["text"]
    root = assert_valid(xsd, to_akoma_ntoso(records))
    speech = root.findall(".//a:speech", NS)[1]
    note = speech.find("a:p", NS)
    assert note is not None and note.get("class") == "no-text"
    assert note.text == "No text was recorded for this intervention."


def test_multi_line_text_becomes_paragraphs() -> None:
    records = sample()
    by_seq(records, 36)["text"] = "First point.\n\nSecond point.\nThird point.  \n"
    root = parse(to_akoma_ntoso(records))
    paras = root.findall(".//a:speech", NS)[0].findall("a:p", NS)
    assert [p.text for p in paras] == ["First point.", "Second point.", "Third point."]


def test_only_opened_segments_appear(xsd: etree.XMLSchema) -> None:
    records = [r for r in sample() if r["seq"] <= 40]  # opening held, session I just opened
    root = assert_valid(xsd, to_akoma_ntoso(records))
    headings = [h.text for h in root.findall(".//a:debateSection/a:heading", NS)]
    assert headings == ["Opening segment", by_seq(records, 1)["programme"][1]["title"]]
    schedule_only = [r for r in sample() if r["seq"] == 1]
    assert_valid(xsd, to_akoma_ntoso(schedule_only))


def test_output_is_deterministic_and_does_not_touch_its_input() -> None:
    records = sample()
    before = copy.deepcopy(records)
    first = to_akoma_ntoso(records)
    assert to_akoma_ntoso(records) == first
    assert to_akoma_ntoso(copy.deepcopy(before)) == first
    assert records == before


def test_records_must_start_with_the_schedule() -> None:
    with pytest.raises(ValueError):
        to_akoma_ntoso([])
    with pytest.raises(ValueError):
        to_akoma_ntoso(sample()[1:])
