"""The audit page (``hearing audit HEARING --format html``): charts from the JSON's figures."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import lxml.html
from click.testing import CliRunner
from lxml import etree

from hearing_audit.page import Links, PledgeRow, audit_page
from hearing_audit.projection import AuditProjection
from hearing_core import RecordedEvent, ReportRequest
from hearing_core.cli import cli
from hearing_core.testing import run_projection, sample_records

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "samples" / "imrf-2022-msh.jsonl"
SLUG = "imrf-2022-msh"
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> & "q"'
RTL_NAME = "\u0644\u064a\u0644\u0649 \u062d\u062f\u0627\u062f"  # Layla Haddad, in Arabic


def audit_json(records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    events = [RecordedEvent(r["seq"], r) for r in (records or sample_records())]
    projection = AuditProjection()
    db = run_projection(projection, events)
    out = projection.render(db, ReportRequest(SLUG, "json", {}))
    assert isinstance(out, str)
    return dict(json.loads(out))


def charts(page: str) -> list[tuple[str, str, bytes]]:
    """(figcaption, alt, SVG bytes) of every chart of the page."""
    doc = lxml.html.document_fromstring(page)
    out = []
    for figure in doc.findall(".//figure"):
        img = figure.find("img")
        assert img is not None
        src = img.get("src") or ""
        assert src.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(src.split(",", 1)[1])
        out.append((figure.findtext("figcaption") or "", img.get("alt") or "", svg))
    return out


def test_every_figure_of_the_audit_has_a_chart_a_title_a_text_and_a_table() -> None:
    audit = audit_json()
    page = audit_page(audit, [PledgeRow(45, "Claire", "Local authorities", "made")])
    doc = lxml.html.document_fromstring(page)
    found = charts(page)
    titles = [t for t, _, _ in found]
    assert titles == [
        "Speaking time and turns per stakeholder group",
        "Coverage: minutes per segment and stakeholder group",
        "Regional balance",
        "Officials apart",
        "Programme adherence: planned and actual",
        "Pledges' status",
    ]
    for title, alt, svg in found:
        assert len(alt) > 40, title
        root = etree.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        # Real drawings, with their text as text (the browser shapes right-to-left labels).
        assert len(root.findall(".//{http://www.w3.org/2000/svg}text")) > 3, title
        assert b"<script" not in svg and b"http://" not in svg.replace(
            b"http://www.w3.org/", b""
        ).replace(b"http://purl.org/", b"").replace(b"http://creativecommons.org/", b"")
    for section in doc.findall(".//section[@class='chart']"):
        assert section.find(".//table/caption") is not None  # the numbers beside the chart
    # The absent group is visibly zero: in the chart's text alternative, its table and its drawing.
    (groups_alt,) = [alt for t, alt, _ in found if t.startswith("Speaking time")]
    assert "Not heard: Other relevant stakeholders." in groups_alt
    row = [
        tr
        for tr in doc.get_element_by_id("groups").findall(".//tbody/tr")
        if tr.findtext("th/bdi") == "Other relevant stakeholders"
    ]
    assert [td.text_content() for td in row[0].findall("td")][:2] == ["0", "0:00"]
    assert b"not heard" in found[0][2]


def test_the_tables_hold_the_json_figures() -> None:
    audit = audit_json()
    doc = lxml.html.document_fromstring(audit_page(audit))
    rows = doc.get_element_by_id("groups").findall(".//tbody/tr")
    assert [r.findtext("th/bdi") for r in rows] == [g["label"] for g in audit["groups"]]
    assert [r.findall("td")[0].text for r in rows] == [str(g["turns"]) for g in audit["groups"]]
    coverage = doc.get_element_by_id("coverage").findall(".//tbody/tr")
    assert len(coverage) == len(audit["coverage"])
    first = audit["coverage"][1]
    cells = [td.text for td in coverage[1].findall("td")]
    assert cells[-1] == f"{first['groups_heard']}/{len(audit['groups'])}"
    programme = doc.get_element_by_id("programme").findall(".//tbody/tr")
    assert [r.findtext("th/bdi") for r in programme] == [p["title"] for p in audit["programme"]]
    officials = doc.get_element_by_id("officials").findall(".//tbody/tr")
    assert [td.text for td in officials[1].findall("td")] == [
        str(audit["totals"]["official_turns"]),
        "19:30",
    ]
    # Without the pledges plugin the page says so instead of drawing nothing.
    assert "not installed" in doc.get_element_by_id("pledges").text_content()


def test_the_page_is_byte_identical_on_every_render() -> None:
    audit = audit_json()
    first = audit_page(audit, [PledgeRow(1, "A", None, "fulfilled")], Links("t.html", "/a"))
    again = audit_page(audit_json(), [PledgeRow(1, "A", None, "fulfilled")], Links("t.html", "/a"))
    assert first == again
    assert "<script" not in first and "http://" not in first.replace("http://www.w3.org/", "")


def test_recorded_text_is_escaped_and_right_to_left_names_isolated() -> None:
    records = sample_records()
    for r in records:
        if r["type"] == "HearingScheduled":
            r["title"] = HOSTILE
            for item in r["programme"]:
                if item["id"] == "session-3":
                    item["title"] = HOSTILE
    audit = audit_json(records)
    page = audit_page(audit, [PledgeRow(7, RTL_NAME, HOSTILE, "planned")])
    doc = lxml.html.document_fromstring(page)
    assert doc.findall(".//script") == []
    assert [i.get("src", "")[:26] for i in doc.findall(".//img")] == [
        "data:image/svg+xml;base64,"
    ] * 6
    assert doc.findtext(".//h1") == HOSTILE
    assert HOSTILE in [r.findtext("th/bdi") for r in doc.get_element_by_id("programme").iter("tr")]
    pledge_cells = [bdi.text for bdi in doc.get_element_by_id("main").iter("bdi")]
    assert RTL_NAME in pledge_cells
    # In the SVG the hostile title is text, escaped by matplotlib's writer.
    for _, _, svg in charts(page):
        etree.fromstring(svg)  # well-formed: nothing broke out of its text element
        assert b"<script" not in svg


def test_hearing_audit_format_html_is_the_page_and_replays_byte_identical(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    runner = CliRunner()
    env = {"HEARING_PLUGINS": "audit,pledges"}
    assert runner.invoke(cli, ["--store", db, "import", str(SAMPLE)], env=env).exit_code == 0
    first = runner.invoke(cli, ["--store", db, "audit", SLUG, "--format", "html"], env=env)
    assert first.exit_code == 0, first.output
    assert runner.invoke(cli, ["--store", db, "replay"], env=env).exit_code == 0
    again = runner.invoke(cli, ["--store", db, "audit", SLUG, "--format", "html"], env=env)
    assert first.stdout == again.stdout
    doc = lxml.html.document_fromstring(first.stdout)
    statuses = [td.text for td in doc.get_element_by_id("pledges").findall(".//tbody/tr/td")]
    assert statuses == ["8", "0", "0", "1", "1"]  # made (no report yet), planned, ..., withdrawn
    assert len(re.findall("<figure>", first.stdout)) == 6
