"""Injection strings in every text field a user can set, through every output.

A corpus of HTML, XML, Markdown, rich-markup, format-string, CSV-formula and
SQL-looking strings is put in every text field (title, venue, programme
titles, stakeholder group labels, names, organizations, speeches,
translations, pledges and their partners, recommendations, key points,
correction reasons and values, progress notes) of two hearings on each
store: one imported from a JSON Lines file, the same one recorded action by
action through ``hearing record ...``.  Then every output must show the
strings as text and never act on them:

- Markdown reports (transcript, summary), rendered by a CommonMark parser
  with raw HTML on: no element, link or image comes from user text, and the
  rendered text holds every string literally;
- plain-text and terminal (rich) output: the strings are there literally
  (``[bold red]`` visible), no escape byte; with colour forced, rich's own
  styling is the only escape sequence (no hyperlink, no title change);
- JSON outputs and the Popolo export: valid JSON, strings intact;
- the HTML export: no script, no on* attribute, no javascript: URL, no img or
  svg, the strings in its text;
- the Akoma Ntoso export: no DOCTYPE, no entity, the strings in text nodes;
- and the SQL-looking strings broke nothing: the store verifies, its tables
  are there.

Control characters (so ANSI escapes) are refused on input: that is checked
for every text field too.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.etree as etree
import lxml.html
import pytest
from click.testing import CliRunner, Result
from markdown_it import MarkdownIt

from conftest import fresh_postgres_schema
from hearing_core import cli as cli_module
from hearing_core.cli import cli
from hearing_core.store import connect_postgres, events_table, postgres_schema, resolve

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    '<a href="javascript:alert(1)">a</a>',
    "</title></textarea><!-- x",
    "]]>",
    '<!ENTITY x SYSTEM "file:///etc/passwd">',
    '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    "&xxe;",
    "&lt;b&gt; &#106;&amp;",
    "[x](javascript:alert(1))",
    "![i](http://evil/x.png)",
    "<http://evil/autolink>",
    "# heading",
    "===",
    "```",
    "`code`",
    "*em* __strong__",
    "| a | b |",
    "[/]",
    "[bold red]x[/]",
    "[link=http://evil]y[/link]",
    ":smile: :warning:",
    "'); DROP TABLE stored_events;--",
    '"; DROP TABLE hearings_events; SELECT "',
    '=HYPERLINK("http://evil","x")',
    "{0} {0.__class__} %s %(x)s {{7*7}} ${jndi:x}",
]
N = len(PAYLOADS)
TITLE = " ".join(PAYLOADS[:14])  # one-line fields hold at most 500 characters
VENUE = " ".join(reversed(PAYLOADS[14:]))
SQL = PAYLOADS[23]

FILE = "inj-h"  # imported from a file
LIVE = "inj-live"  # the same records through `hearing record ...`
SLUGS = [FILE, LIVE]


def at(minute: int, hour: int = 10) -> str:
    return f"2022-05-16T{hour:02d}:{minute:02d}:00-04:00"


def P(k: int) -> str:
    return PAYLOADS[k % N]


def lines(k: int) -> str:
    """Every payload, one a line, starting at the k-th (so each starts a text somewhere)."""
    return "\n".join(PAYLOADS[k % N :] + PAYLOADS[: k % N])


def hearing_records(slug: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {
            "type": "HearingScheduled",
            "hearing": slug,
            "at": "2022-05-01T09:00:00-04:00",
            "title": TITLE,
            "venue": VENUE,
            "date": "2022-05-16",
            "timezone": "America/New_York",
            "languages": ["en", "fr"],
            "programme": [
                {
                    "id": f"s{k}",
                    "kind": "session",
                    "title": P(k),
                    "planned_start": at(0, 10 + k),
                    "planned_end": at(0, 11 + k),
                }
                for k in range(2)
            ],
            "stakeholder_groups": [{"id": f"g{k}", "label": P(k)} for k in range(N)],
        }
    ]

    def add(type_: str, when: str, **fields: Any) -> None:
        records.append({"type": type_, "hearing": slug, "at": when, **fields})

    for k in range(N):
        add(
            "ParticipantRegistered",
            at(k, 8),
            participant=f"p{k}",
            name=P(k),
            organization=P(k + 1),
            stakeholder_group=f"g{k}",
        )
    add("SegmentOpened", at(0), segment="s0", moderator="p0")
    for k in range(N):
        add(
            "InterventionDelivered",
            at(k + 1),
            speaker=f"p{k}",
            segment="s0",
            role="floor",
            language="en",
            ended_at=at(k + 2),
            text=lines(k),
            translations={"fr": P(k + 2)},
        )
    add("SegmentClosed", at(40), segment="s0")
    add("SegmentOpened", at(0, 11), segment="s1", moderator="p1")
    for k in range(N):
        add(
            "PledgeMade",
            at(k + 1, 11),
            by=f"p{k}",
            text=P(k),
            gcm_objectives=[k % 23 + 1],
            level="local",
            partners=[P(k + 3), P(k + 4)],
            segment="s1",
        )
        add(
            "RecommendationMade",
            at(k + 1, 11),
            by=f"p{k}",
            text=P(k + 5),
            sg_report_areas=[k % 4 + 1],
            gcm_objectives=[2],
            segment="s1",
        )
    add(
        "SummationDelivered",
        at(50, 11),
        by="p1",
        segment="s1",
        summarises="s0",
        key_points=list(PAYLOADS),
    )
    add("SegmentClosed", at(55, 11), segment="s1")
    add("HearingClosed", at(56, 11))
    first_pledge = next(i for i, r in enumerate(records, 1) if r["type"] == "PledgeMade")
    first_speech = next(i for i, r in enumerate(records, 1) if r["type"] == "InterventionDelivered")
    for k in range(3):
        add(
            "CorrectionIssued",
            at(k, 14),
            corrects=2 + k,
            changes={"name": P(k + 7), "organization": P(k + 8)},
            reason=P(k + 9),
        )
    add(
        "CorrectionIssued",
        at(5, 14),
        corrects=first_speech,
        changes={"text": lines(11), "translations": {"fr": P(12)}},
        reason=P(13),
    )
    add("CorrectionIssued", at(6, 14), corrects=1, changes={"venue": P(14)}, reason=P(15))
    add(
        "PledgeProgressReported",
        at(0, 15),
        pledge=first_pledge,
        status="in_progress",
        note=lines(3),
        by="p1",
    )
    return records


def record_args(record: dict[str, Any], tmp: Path) -> list[str]:
    """The ``hearing record ...`` command that records ``record``."""
    h, when, t = record["hearing"], record["at"], record["type"]
    if t == "HearingScheduled":
        path = tmp / f"{h}-schedule.json"
        path.write_text(json.dumps(record), encoding="utf-8")
        return ["schedule", str(path)]
    if t == "ParticipantRegistered":
        return [
            "register", h, record["participant"], "--name", record["name"],
            "--organization", record["organization"], "--group", record["stakeholder_group"],
            "--at", when,
        ]  # fmt: skip
    if t == "SegmentOpened":
        return ["open", h, record["segment"], "--moderator", record["moderator"], "--at", when]
    if t == "InterventionDelivered":
        translations = [
            f"--translation={lang}={text}" for lang, text in record["translations"].items()
        ]
        return [
            "intervene", h, record["speaker"], "--segment", record["segment"],
            "--role", record["role"], "--language", record["language"],
            "--ended-at", record["ended_at"], f"--text={record['text']}", *translations,
            "--at", when,
        ]  # fmt: skip
    if t == "PledgeMade":
        return [
            "pledge", h, record["by"], f"--text={record['text']}",
            "--objectives", ",".join(map(str, record["gcm_objectives"])),
            "--level", record["level"], *[f"--partner={p}" for p in record["partners"]],
            "--segment", record["segment"], "--at", when,
        ]  # fmt: skip
    if t == "RecommendationMade":
        return [
            "recommend", h, record["by"], f"--text={record['text']}",
            "--areas", ",".join(map(str, record["sg_report_areas"])),
            "--objectives", ",".join(map(str, record["gcm_objectives"])),
            "--segment", record["segment"], "--at", when,
        ]  # fmt: skip
    if t == "SummationDelivered":
        return [
            "summarise", h, record["by"], "--segment", record["segment"],
            "--summarises", record["summarises"],
            *[f"--point={p}" for p in record["key_points"]], "--at", when,
        ]  # fmt: skip
    if t == "SegmentClosed":
        return ["close-segment", h, record["segment"], "--at", when]
    if t == "HearingClosed":
        return ["close", h, "--at", when]
    if t == "CorrectionIssued":
        changes = [f"--set={k}={json.dumps(v)}" for k, v in record["changes"].items()]
        return [
            "correct", h, str(record["corrects"]), *changes,
            f"--reason={record['reason']}", "--at", when,
        ]  # fmt: skip
    assert t == "PledgeProgressReported"
    return [
        "progress", h, str(record["pledge"]), "--status", record["status"],
        f"--note={record['note']}", "--by", record["by"], "--at", when,
    ]  # fmt: skip


# --- the stores ------------------------------------------------------------------------------


class Recorded:
    """A store holding both hearings, with its own views and keys files, and its outputs."""

    def __init__(self, store: str, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.views = folder / "views.db"
        self.keys = folder / "keys.db"
        self._outputs: dict[tuple[str, ...], str] = {}

    def invoke(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(
            cli,
            ["--store", self.store, "--views", str(self.views), "--keys", str(self.keys), *args],
            input=input,
            env={
                "XDG_DATA_HOME": str(self.folder / "xdg"),
                "HEARING_PLUGINS": None,
                "HEARING_PLUGINS_BLOCK": None,
            },
        )

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self.invoke(*args, input=input)
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result.stdout

    def output(self, *args: str) -> str:
        """A command's stdout, computed once per store (the console made wide)."""
        if args not in self._outputs:
            console = cli_module.console
            width = console.width
            console.width = 1000  # no wrapping inside table cells
            try:
                self._outputs[args] = self.ok(*args)
            finally:
                console.width = width
        return self._outputs[args]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def recorded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recorded]:
    folder = tmp_path_factory.mktemp(f"injection-{request.param}")
    if request.param == "sqlite":
        yield _record_both(Recorded(str(folder / "hearings.db"), folder))
        return
    with fresh_postgres_schema() as url:
        yield _record_both(Recorded(url, folder))


@pytest.fixture(scope="module")
def recorded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The same hearing on SQLite only, for checks that do not depend on the store."""
    folder = tmp_path_factory.mktemp("injection-terminal")
    return _record_both(Recorded(str(folder / "hearings.db"), folder))


def _record_both(rec: Recorded) -> Recorded:
    path = rec.folder / "inj.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in hearing_records(FILE)),
        encoding="utf-8",
    )
    rec.ok("import", str(path))
    for record in hearing_records(LIVE):
        rec.ok("record", *record_args(record, rec.folder), "--json")
    return rec


# --- helpers ---------------------------------------------------------------------------------


def squash(text: str) -> str:
    return " ".join(text.split())


def assert_literal(
    text: str, what: str, payloads: list[str] = PAYLOADS, *, or_json: bool = False
) -> None:
    """Every payload appears in ``text`` as written (whitespace aside); with ``or_json``
    also as a JSON string's content (``show`` prints lists and changes as JSON)."""
    flat = squash(text)

    def shown(p: str) -> bool:
        return squash(p) in flat or (or_json and squash(json.dumps(p)[1:-1]) in flat)

    missing = [p for p in payloads if not shown(p)]
    assert not missing, f"{what}: not shown literally: {missing}"


def assert_no_escape(text: str, what: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text, f"{what}: an escape byte in the output"


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def assert_strings_intact(doc: Any, what: str, payloads: list[str] = PAYLOADS) -> None:
    values = strings_in(doc)
    missing = [p for p in payloads if not any(p in s for s in values)]
    assert not missing, f"{what}: not intact in any string: {missing}"


def dangerous(root: Any) -> list[str]:
    """Elements and attributes in a parsed HTML tree that would act."""
    found = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in ("script", "img", "svg", "iframe", "object", "embed", "form", "textarea"):
            found.append(f"<{tag}>")
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if scheme.startswith(("javascript:", "data:", "vbscript:")) or "evil" in scheme:
                    found.append(f"<{tag} {name}={value!r}>")
    return found


def corrected_names() -> list[str]:
    return [P(k + 7) for k in range(3)] + [P(k) for k in range(3, N)]


# --- Markdown --------------------------------------------------------------------------------

MARKDOWN_REPORTS = [("transcript",), ("summary",), ("summary", "--section", "digest")]


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("report", MARKDOWN_REPORTS, ids=" ".join)
def test_markdown_reports_render_the_strings_as_text(
    recorded: Recorded, report: tuple[str, ...], slug: str
) -> None:
    text = recorded.output(report[0], slug, "--format", "markdown", *report[1:])
    assert_no_escape(text, report[0])
    rendered = MarkdownIt("commonmark").render(text)  # raw HTML passes through: it would show
    root = lxml.html.fromstring(f"<div>{rendered}</div>")
    assert dangerous(root) == []
    links = [a.get("href") for a in root.iter("a")]
    assert links == [], f"links made from user text: {links}"
    headings = [squash(el.text_content()) for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert "heading" not in headings and "" not in headings, headings
    codes = [squash(el.text_content()) for el in root.iter("code")]  # e.g. `--uncorrected`
    from_user = [c for c in codes if any(c in squash(p) or squash(p) in c for p in PAYLOADS)]
    assert from_user == [], f"code spans or blocks from user text: {from_user}"
    payloads = PAYLOADS if report == ("transcript",) else [P(k) for k in range(N)]
    if report[-1] == "digest":
        payloads = [P(k + 5) for k in range(N)]  # the recommendations
    assert_literal(root.text_content(), f"{report} rendered", payloads)


# --- plain text and the terminal -------------------------------------------------------------

TEXT_OUTPUTS = [
    ("transcript", "{slug}", "--format", "text"),
    ("audit", "{slug}"),
    ("audit", "{slug}", "--format", "programme"),
    ("status", "{slug}"),
    ("log", "{slug}"),
    ("show", "{slug}", "1"),
    ("show", "{slug}", "2"),
    ("show", "{slug}", "{speech}"),
    ("show", "{slug}", "{summation}"),
    ("show", "{slug}", "{progress}"),
    ("hearings",),
]


def _positions(slug: str) -> dict[str, str]:
    types = [r["type"] for r in hearing_records(slug)]
    return {
        "slug": slug,
        "speech": str(types.index("InterventionDelivered") + 1),
        "summation": str(types.index("SummationDelivered") + 1),
        "progress": str(types.index("PledgeProgressReported") + 1),
    }


def _expected_in_text(command: tuple[str, ...]) -> list[str]:
    if command[0] in ("audit", "status"):
        return [P(k) for k in range(N)] if command[-1] != "programme" else [P(0), P(1)]
    if command[0] == "log":
        return [P(k) for k in range(N)]  # the registrations' gists
    if command[0] == "show" and command[2] == "2":
        return [P(0), P(1), P(7), P(8)]  # the registration and its correction
    if command[0] == "hearings":
        return PAYLOADS[:14]  # the title
    return PAYLOADS


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("command", TEXT_OUTPUTS, ids=" ".join)
def test_text_output_shows_the_strings_literally(
    recorded: Recorded, command: tuple[str, ...], slug: str
) -> None:
    args = tuple(a.format(**_positions(slug)) for a in command)
    text = recorded.output(*args)
    assert_no_escape(text, " ".join(args))
    assert_literal(text, " ".join(args), _expected_in_text(args), or_json=args[0] == "show")


#: rich's own styling (SGR) is the only escape sequence a coloured terminal may get.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_coloured_terminal_gets_no_escape_from_user_text(recorded_sqlite: Recorded) -> None:
    """Through a real process with colour forced, as a terminal user sees it (the terminal
    does not depend on the store, so SQLite only)."""
    recorded = recorded_sqlite
    env = {
        **os.environ,
        "FORCE_COLOR": "1",
        "COLUMNS": "1000",
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(recorded.folder / "xdg"),
    }
    env.pop("NO_COLOR", None)
    base = [sys.executable, "-m", "hearing_core", "--store", recorded.store]
    base += ["--views", str(recorded.views), "--keys", str(recorded.keys)]
    positions = _positions(FILE)
    for command in TEXT_OUTPUTS:
        args = [a.format(**positions) for a in command]
        done = subprocess.run(
            [*base, *args], capture_output=True, env=env, check=False, timeout=120
        )
        out = done.stdout.decode("utf-8")
        assert done.returncode == 0, (args, done.stderr.decode())
        leftover = _SGR.sub("", out)
        assert "\x1b" not in leftover, (args, repr(leftover[leftover.index("\x1b") :][:80]))
        assert "\x1b]8;" not in out, "a hyperlink made from user text"
        expected = _expected_in_text(tuple(args))
        assert_literal(leftover, " ".join(args), expected, or_json=args[0] == "show")


# --- JSON ------------------------------------------------------------------------------------

JSON_OUTPUTS = [
    ("transcript", "--format", "json"),
    ("summary", "--format", "json"),
    ("audit", "--format", "json"),
    ("export", "--format", "popolo"),
    ("log", "--json"),
    ("export", "--format", "jsonl"),
]


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("command", JSON_OUTPUTS, ids=" ".join)
def test_json_output_keeps_the_strings_intact(
    recorded: Recorded, command: tuple[str, ...], slug: str
) -> None:
    text = recorded.output(command[0], slug, *command[1:])
    if command[-1] in ("--json", "jsonl"):
        doc: Any = [json.loads(line) for line in text.splitlines()]
    else:
        doc = json.loads(text)
    expected = PAYLOADS if command[0] != "audit" else [P(k) for k in range(N)]
    assert_strings_intact(doc, " ".join(command), expected)
    if command[-1] == "popolo":
        names = {p.get("name") for p in doc.get("persons", [])}
        assert set(corrected_names()) <= names, names


def test_import_and_live_path_record_the_same(recorded: Recorded) -> None:
    def body(slug: str) -> list[dict[str, Any]]:
        out = recorded.output("log", slug, "--json")
        return [
            {k: v for k, v in json.loads(line).items() if k not in ("hearing", "digest")}
            for line in out.splitlines()
        ]

    assert body(FILE) == body(LIVE)
    assert len(body(FILE)) == len(hearing_records(FILE))


#: What a spreadsheet takes for the start of a formula (OWASP, CSV injection).
FORMULA_START = "=+-@\t\r"

# --- CSV -------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_audit_csv_parses_with_the_labels_intact(recorded: Recorded, slug: str) -> None:
    text = recorded.output("audit", slug, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    # A leading ' is how the audit neutralises a label a spreadsheet would run (CORE BUG 11).
    labels = [
        label[1:] if label.startswith("'") and label[1:2] in FORMULA_START else label
        for label in (row["label"] for row in rows)
    ]
    assert set(labels) >= {P(k) for k in range(N)}, labels
    assert all(len(row) == len(rows[0]) for row in rows)


def test_core_bug_audit_csv_neutralises_formulas(recorded: Recorded) -> None:
    """CORE BUG 11 (hearing-audit, render): a stakeholder-group label (or any cell) that
    starts with = + - @ is written to the CSV as is, so a spreadsheet opening the audit
    runs it as a formula (CWE-1236, e.g. =HYPERLINK(...) exfiltrating the sheet).
    OWASP's advice: prefix such cells with a single quote."""
    text = recorded.output("audit", FILE, "--format", "csv")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    formulas = [c for c in cells if c[:1] and c[0] in FORMULA_START]
    assert formulas == []


# --- the open exports ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("language", [None, "fr"])
def test_html_export_is_inert(recorded: Recorded, slug: str, language: str | None) -> None:
    args = ("export", slug, "--format", "html")
    page = recorded.output(*args, *(("--language", language) if language else ()))
    root = lxml.html.document_fromstring(page)
    assert dangerous(root) == []
    assert root.xpath("//@*[starts-with(translate(name(), 'ON', 'on'), 'on')]") == []
    assert [el.tag for el in root.iter("script", "svg", "img", "iframe")] == []
    assert root.xpath("//title")[0].text_content().startswith(TITLE)
    body = root.xpath("//body")[0].text_content()
    assert_literal(body, "html body", [*PAYLOADS, *corrected_names()])
    # No text turned into markup: the page's elements are the page's own.
    assert "<!ENTITY" not in page and "<script>" not in page


@pytest.mark.parametrize("slug", SLUGS)
def test_akn_export_has_no_doctype_and_the_strings_are_text(recorded: Recorded, slug: str) -> None:
    xml = recorded.output("export", slug, "--format", "akn").encode("utf-8")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(xml, parser)
    tree = root.getroottree()
    assert tree.docinfo.doctype == "" and tree.docinfo.internalDTD is None
    assert [n for n in root.iter() if isinstance(n, etree._Entity)] == []
    assert [n for n in root.iter() if isinstance(n, etree._ProcessingInstruction)] == []
    assert b"<!DOCTYPE" not in xml and b"<!ENTITY" not in xml
    text = " ".join(root.itertext())
    assert_literal(text, "akn text nodes")
    # The same document read by a parser that would expand entities gives the same text.
    expanding = etree.fromstring(xml, etree.XMLParser(resolve_entities=True, no_network=True))
    assert " ".join(expanding.itertext()) == text


# --- SQL-looking strings ---------------------------------------------------------------------


def test_sql_looking_strings_broke_nothing(recorded: Recorded) -> None:
    for slug in SLUGS:
        assert recorded.ok("verify", slug).startswith("✓")
    listing = json.loads(recorded.ok("hearings", "--json"))
    assert {h["hearing"]: h["events"] for h in listing} == {
        FILE: len(hearing_records(FILE)),
        LIVE: len(hearing_records(LIVE)),
    }
    assert all(h["title"] == TITLE for h in listing)
    location = resolve(recorded.store)
    if location.kind == "sqlite":
        with sqlite3.connect(recorded.store) as conn:
            tables = {r[0] for r in conn.execute("select name from sqlite_master")}
            (count,) = conn.execute("select count(*) from stored_events").fetchone()
        assert "stored_events" in tables
    else:
        with connect_postgres(location) as conn:
            table = f'"{postgres_schema(location)}"."{events_table(location)}"'
            (count,) = conn.execute(f"select count(*) from {table}").fetchone()
    assert count == 2 * len(hearing_records(FILE))
    with sqlite3.connect(recorded.views) as views:
        tables = {r[0] for r in views.execute("select name from sqlite_master where type='table'")}
    assert {"_positions", "transcript_hearings"} <= tables
    assert any(t.startswith("audit_") for t in tables) and any(
        t.startswith("summary_") for t in tables
    )


# --- control characters are refused on input -------------------------------------------------

FIELDS = {
    "title": (0, ["title"]),
    "venue": (0, ["venue"]),
    "programme title": (0, ["programme", 0, "title"]),
    "group label": (0, ["stakeholder_groups", 1, "label"]),
    "name": (1, ["name"]),
    "organization": (1, ["organization"]),
    "text": ("speech", ["text"]),
    "translation": ("speech", ["translations", "fr"]),
    "pledge": ("pledge", ["text"]),
    "partner": ("pledge", ["partners", 1]),
    "recommendation": ("recommendation", ["text"]),
    "key point": ("summation", ["key_points", 2]),
    "reason": ("correction", ["reason"]),
    "corrected value": ("correction", ["changes", "name"]),
    "note": ("progress", ["note"]),
}


@pytest.mark.parametrize("control", ["\x1b[31m", "\x1b]0;title\x07", "\x9b2J", "\x00"])
@pytest.mark.parametrize("field", list(FIELDS))
def test_control_characters_are_refused_in_every_text_field(
    tmp_path: Path, field: str, control: str
) -> None:
    records = copy.deepcopy(hearing_records("ctl-h"))
    kinds = {
        "speech": "InterventionDelivered",
        "pledge": "PledgeMade",
        "recommendation": "RecommendationMade",
        "summation": "SummationDelivered",
        "correction": "CorrectionIssued",
        "progress": "PledgeProgressReported",
    }
    where, path = FIELDS[field]
    index = where if isinstance(where, int) else [r["type"] for r in records].index(kinds[where])
    target: Any = records[index]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = f"a{control}b"
    source = tmp_path / "ctl.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    store = str(tmp_path / "ctl.db")
    result = CliRunner().invoke(cli, ["--store", store, "import", str(source)])
    dotted = ".".join(map(str, path))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {source}:{index + 1}, field '{dotted}': contains ")
    assert f"U+{ord(control[0]):04X}" in result.stderr and result.stderr.count("\n") == 1


# --- "enc1:" ---------------------------------------------------------------------------------


def test_core_bug_protected_words_that_look_like_an_envelope(tmp_path: Path) -> None:
    """CORE BUG 10 (protection._seal_fields): any value starting with "enc1:" is taken for
    an already sealed envelope.  A protected speaker who says "enc1: ..." has those
    words stored in the log in plain text (so in every backup and export, beyond the
    reach of `hearing forget`), and every report shows them as [withheld]; an
    unprotected speaker saying the same is refused."""
    store = str(tmp_path / "enc.db")
    runner = CliRunner()
    records = hearing_records("enc-h")[:2]
    records[1] = {**records[1], "protected": True}
    source = tmp_path / "enc.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert runner.invoke(cli, ["--store", store, "import", str(source)]).exit_code == 0
    secret = "enc1: the words of a protected speaker"
    register = ["record", "register", "enc-h", "p1", "--name", "Un", "--at", at(30, 8)]
    assert runner.invoke(cli, ["--store", store, *register]).exit_code == 0
    args = ["record", "open", "enc-h", "s0", "--at", at(0)]
    assert runner.invoke(cli, ["--store", store, *args]).exit_code == 0
    speak = ["record", "intervene", "enc-h", "p0", "--segment", "s0", "--role", "floor"]
    speak += ["--at", at(1), "--ended-at", at(2), "--text", secret]
    assert runner.invoke(cli, ["--store", store, *speak]).exit_code == 0
    exported = runner.invoke(cli, ["--store", store, "export", "enc-h"]).stdout
    assert secret not in exported, "a protected speaker's words are in the log in plain text"
    text = runner.invoke(cli, ["--store", store, "transcript", "enc-h", "--format", "text"])
    assert secret in text.stdout
    speak = ["record", "intervene", "enc-h", "p1", "--segment", "s0", "--role", "floor"]
    speak += ["--at", at(3), "--ended-at", at(4), "--text", secret]
    assert runner.invoke(cli, ["--store", store, *speak]).exit_code == 0
