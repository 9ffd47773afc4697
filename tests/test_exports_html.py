"""The HTML export: one accessible page, every intervention, no script whatever the text."""

from __future__ import annotations

import copy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from hearing_core.exports import to_html
from hearing_core.testing import sample_records

SAMPLE = Path(__file__).parents[1] / "events/samples/imrf-2022-msh.jsonl"
HOSTILE = '<script>alert(1)</script> <img src=x onerror=alert(1)> "quote" & </div>'


def sample() -> list[dict[str, Any]]:
    return sample_records()


def by_seq(records: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(r for r in records if r["seq"] == seq)


def interventions(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == "InterventionDelivered"]


class Collector(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.doctype: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl


def collect(page: str) -> Collector:
    c = Collector()
    c.feed(page)
    c.close()
    return c


def article(page: str, seq: int) -> lxml.html.HtmlElement:
    found = lxml.html.document_fromstring(page).get_element_by_id(f"intervention-{seq}")
    assert found is not None and found.tag == "article"
    return found


# --- the page ---------------------------------------------------------------------------


def test_a_standalone_html5_page() -> None:
    page = to_html(sample())
    c = collect(page)
    assert c.doctype is not None and c.doctype.lower() == "doctype html"
    html_tag = c.tags[0]
    assert html_tag[0] == "html" and html_tag[1]["lang"] == "en"
    names = [t for t, _ in c.tags]
    assert names.count("title") == 1 and names.count("main") == 1 and names.count("h1") == 1
    assert ("meta", {"charset": "utf-8"}) in c.tags
    assert "script" not in names and "link" not in names and "iframe" not in names
    doc = lxml.html.document_fromstring(page)
    assert (doc.findtext(".//title") or "").startswith("International Migration Review Forum")
    # Nothing is fetched: every link stays on the page, no src anywhere.
    for tag, attrs in c.tags:
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs
            assert doc.get_element_by_id(attrs["href"][1:]) is not None  # type: ignore[index]
        assert not any(a.startswith("on") for a in attrs), (tag, attrs)


def test_segments_are_h2_in_programme_order() -> None:
    records = sample()
    doc = lxml.html.document_fromstring(to_html(records))
    main = doc.find(".//main")
    assert main is not None
    sections = main.findall("section[@class='segment']")
    programme = [item["title"] for item in by_seq(records, 1)["programme"]]
    assert [s.findtext("h2") for s in sections] == programme
    assert [h.text_content() for h in main.iter("h2")] == [*programme, "Corrections"]


def test_every_intervention_appears_with_its_facts() -> None:
    records = sample()
    page = to_html(records)
    doc = lxml.html.document_fromstring(page)
    articles = doc.findall(".//article[@class='intervention']")
    assert len(articles) == len(interventions(records)) == 44
    labels = {g["id"]: g["label"] for g in by_seq(records, 1)["stakeholder_groups"]}
    people = {r["participant"]: r for r in records if r["type"] == "ParticipantRegistered"}
    for record, art in zip(interventions(records), articles, strict=True):
        assert art.get("id") == f"intervention-{record['seq']}"
        text = art.text_content()
        assert record["text"] in text
        person = people[record["speaker"]]
        facts = {
            div.findtext("dt"): div.find("dd").text_content()  # type: ignore[union-attr]
            for div in art.find("dl").findall("div")  # type: ignore[union-attr]
        }
        if not person.get("protected"):
            assert art.findtext("h3/bdi") == person["name"]
            if person.get("organization") and record["speaker"] != "s1-union":
                assert facts["Organization"] == person["organization"]
        if person["stakeholder_group"]:
            assert facts["Stakeholder group"] == labels[person["stakeholder_group"]]
        assert facts["Role"]
        start = art.find(".//dd/time")
        assert start is not None and start.get("datetime") == record["at"]
        times = [t.get("datetime") for t in art.findall(".//dl//time")]
        assert times[0] == record["at"]
        text_block = art.find("div[@class='text']")
        assert text_block is not None and text_block.get("lang") == record["language"]


def test_arabic_is_marked_right_to_left() -> None:
    records = sample()
    arabic = [r for r in interventions(records) if r["language"] == "ar"]
    assert len(arabic) == 2
    for language in (None, "en", "fr"):
        page = to_html(records, language=language)
        c = collect(page)
        ar = [attrs for _, attrs in c.tags if attrs.get("lang") == "ar"]
        assert len(ar) == 2
        assert all(a.get("dir") == "rtl" for a in ar)
        # ... and nothing else is right to left.
        rtl = [attrs for _, attrs in c.tags if attrs.get("dir") == "rtl"]
        assert rtl == ar
        for record in arabic:
            block = article(page, record["seq"]).find(".//*[@lang='ar']")
            assert block is not None and record["text"] in block.text_content()


def test_protected_speaker_by_pseudonym() -> None:
    for uncorrected in (False, True):
        page = to_html(sample(), uncorrected=uncorrected)
        assert "Maria K." not in page and "fl-maria" not in page
        art = article(page, 67)
        assert art.findtext("h3/bdi") == "Protected speaker 1"
        assert "identity is protected" in art.text_content()
        assert "Organization" not in [dt.text for dt in art.iter("dt")]


def test_corrections_are_visible_notes() -> None:
    page = to_html(sample())
    art = article(page, 71)
    note = art.find("aside[@class='correction']")
    assert note is not None
    text = " ".join(note.text_content().split())
    assert "End time changed from 12:27:30 to 12:25:30." in text
    assert "Reason: End time mistyped" in text
    assert note.find(".//del").text == "12:27:30"  # type: ignore[union-attr]
    assert note.find(".//ins").text == "12:25:30"  # type: ignore[union-attr]
    times = [t.text for t in art.findall(".//dl//time")]
    assert times == ["12:23", "12:25:30"]
    doc = lxml.html.document_fromstring(page)
    listed = doc.get_element_by_id("corrections")
    items = listed.findall(".//ol/li")
    assert [li.get("id") for li in items] == ["correction-120", "correction-121", "correction-122"]
    assert "Northern Coast Migrant Workers' Union" in items[0].text_content()
    assert "Pledge by Samuel Tesfaye" in items[2].text_content()
    # Record 71's intervention and record 96's pledge were corrected: each carries its note.
    asides = doc.findall(".//aside")
    assert [a.getparent().get("id") for a in asides] == ["intervention-71", "pledge-96"]
    pledge = doc.get_element_by_id("pledge-96")
    objectives = [li.text for li in pledge.findall(".//ul[@class='codes']/li")]
    assert [o.split(":")[0] for o in objectives] == ["19", "20"]  # as corrected


def test_uncorrected_shows_the_original_record() -> None:
    page = to_html(sample(), uncorrected=True)
    doc = lxml.html.document_fromstring(page)
    assert doc.find(".//aside") is None
    assert doc.get_element_by_id("corrections", None) is None
    art = article(page, 71)
    assert [t.text for t in art.findall(".//dl//time")] == ["12:23", "12:27:30"]
    assert "as originally made" in page
    assert "Nothern Coast Migrant Workers' Union" in article(page, 54).text_content()


def test_language_shows_translation_or_marks_the_original() -> None:
    records = sample()
    page = to_html(records, language="en")
    # Arabic with an English translation: the translation, the original kept below.
    art = article(page, 69)
    main_text = art.find("div[@class='text']")
    assert main_text is not None and main_text.get("lang") == "en" and main_text.get("dir") is None
    assert by_seq(records, 69)["translations"]["en"] in main_text.text_content()
    original = art.find("details[@class='original']/div")
    assert original is not None and original.get("lang") == "ar" and original.get("dir") == "rtl"
    assert "English translation; the original is in Arabic." in art.text_content()

    page = to_html(records, language="fr")
    # English with a French translation (record 38), and English without one (record 36).
    art = article(page, 38)
    shown = art.find("div[@class='text']")
    assert shown is not None and shown.get("lang") == "fr"
    assert by_seq(records, 38)["translations"]["fr"] in shown.text_content()
    art = article(page, 36)
    note = art.find("p[@class='language-note']")
    assert (
        note is not None and note.text == "No French translation: shown in the original (English)."
    )
    shown = art.find("div[@class='text']")
    assert shown is not None and shown.get("lang") == "en"
    # French original (record 44) stays as it is when French is asked for.
    art = article(page, 44)
    assert art.find("p[@class='language-note']") is None
    assert art.find("div[@class='text']").get("lang") == "fr"  # type: ignore[union-attr]


def test_default_page_offers_translations() -> None:
    page = to_html(sample())
    art = article(page, 69)
    details = art.find("details[@class='translation']")
    assert details is not None
    assert details.findtext("summary") == "English translation"
    assert details.find("div").get("lang") == "en"  # type: ignore[union-attr]


def test_a_bad_language_is_refused() -> None:
    with pytest.raises(ValueError):
        to_html(sample(), language='en" onload="alert(1)')


# --- escaping ---------------------------------------------------------------------------


def hostile_records() -> list[dict[str, Any]]:
    records = sample()
    by_seq(records, 36)["text"] = HOSTILE
    by_seq(records, 69)["translations"] = {"en": HOSTILE}
    by_seq(records, 2)["name"] = HOSTILE
    by_seq(records, 2)["organization"] = HOSTILE
    by_seq(records, 1)["title"] = HOSTILE
    by_seq(records, 1)["venue"] = HOSTILE
    by_seq(records, 1)["programme"][0]["title"] = HOSTILE
    by_seq(records, 1)["stakeholder_groups"][0]["label"] = HOSTILE
    by_seq(records, 121)["reason"] = HOSTILE
    return records


@pytest.mark.parametrize("language", [None, "en"])
def test_no_script_whatever_the_text(language: str | None) -> None:
    page = to_html(hostile_records(), language=language)
    c = collect(page)
    names = [t for t, _ in c.tags]
    assert "script" not in names and "img" not in names
    assert not any(a.startswith("on") for _, attrs in c.tags for a in attrs)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    text = "".join(c.text)
    assert text.count(HOSTILE) >= 8  # shown to the reader as text
    doc = lxml.html.document_fromstring(page)
    assert (doc.findtext(".//title") or "").startswith(HOSTILE)
    assert article(page, 36).find("div[@class='text']/p").text == HOSTILE  # type: ignore[union-attr]
    assert doc.find(".//script") is None and doc.find(".//img") is None


def test_control_characters_are_replaced() -> None:
    records = sample()
    by_seq(records, 36)["text"] = "nul\x00 bell\x07 \ud800 ok"
    page = to_html(records)
    page.encode("utf-8")
    assert article(page, 36).find("div[@class='text']/p").text == "nul\ufffd bell\ufffd \ufffd ok"  # type: ignore[union-attr]


def test_rendering_is_deterministic_and_pure() -> None:
    records = sample()
    before = copy.deepcopy(records)
    first = to_html(records)
    assert to_html(records) == first
    assert to_html(copy.deepcopy(before)) == first
    assert to_html(records, language="en") == to_html(records, language="en")
    assert records == before


def test_interventions_without_text_and_open_hearings() -> None:
    records = [r for r in sample() if r["seq"] <= 41]
    del by_seq(records, 41)["text"]
    page = to_html(records)
    art = article(page, 41)
    assert art.find("p[@class='no-text']") is not None
    assert "has not closed" in page
    doc = lxml.html.document_fromstring(page)
    assert [s.findtext("h2") for s in doc.findall(".//main/section")] == [
        "Opening segment",
        by_seq(records, 1)["programme"][1]["title"],
    ]


def test_records_without_seq_read_as_their_position() -> None:
    records = sample()
    bare = [{k: v for k, v in r.items() if k != "seq"} for r in records]
    assert to_html(bare) == to_html(records)


def test_a_regional_variant_counts_as_the_language() -> None:
    records = sample()
    by_seq(records, 36)["language"] = "en-GB"
    art = article(to_html(records, language="en"), 36)
    assert art.find("p[@class='language-note']") is None
    assert art.find("div[@class='text']").get("lang") == "en-GB"  # type: ignore[union-attr]


def test_recommendations_pledges_and_summations_are_in_place() -> None:
    records = sample()
    page = to_html(records)
    doc = lxml.html.document_fromstring(page)
    kinds = {"PledgeMade": "pledge", "RecommendationMade": "recommendation"}
    kinds["SummationDelivered"] = "summation"
    made = [r for r in records if r["type"] in kinds]
    assert len(made) == 28  # as many as the Markdown transcript has
    for r in made:
        art = doc.get_element_by_id(f"{kinds[r['type']]}-{r['seq']}")
        section = art.getparent()
        assert section.get("id") == f"segment-{r['segment']}"
        text = " ".join(art.text_content().split())
        if "text" in r:
            assert " ".join(r["text"].split()) in text
        for point in r.get("key_points", []):
            assert point in text
        codes = [li.text.split(":")[0] for li in art.findall(".//ul[@class='codes']/li")]
        if r["seq"] != 96:  # corrected; see above
            assert codes == [
                str(n) for n in r.get("gcm_objectives", []) + r.get("sg_report_areas", [])
            ]
    # In the order they were made, among the interventions of their segment.
    for section in doc.findall(".//main/section"):
        seqs = [int(a.get("id").rsplit("-", 1)[1]) for a in section.findall("article")]
        assert seqs == sorted(seqs)
    rec = doc.get_element_by_id("recommendation-43")
    assert "Promoting inclusive societies" in rec.text_content()  # SG report area 1, by name
