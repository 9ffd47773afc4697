"""The transcript's three formats, each a view of :func:`build_document`'s document.

All user text (titles, names, organizations, speeches, reasons) is made
inert for its format: ``escape_markdown`` for Markdown, plain ``rich.text.Text``
segments (never markup) with controls stripped for the terminal, and JSON
string escaping for JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text

from hearing_core import GCM_OBJECTIVES, Report, escape_markdown, strip_controls
from hearing_transcript.document import PERSON_FIELDS, clock

Doc = dict[str, Any]

FIELD_LABELS = {
    "at": "time",
    "ended_at": "end time",
    "gcm_objectives": "GCM objectives",
    "sg_report_areas": "SG report areas",
    "stakeholder_group": "stakeholder group",
    "stakeholder_groups": "stakeholder groups",
    "key_points": "key points",
}

WITHHELD = "withheld to protect the speaker"

_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


# --- shared wording (plain, unescaped: each format escapes it) -------------------------------


def one_line(value: Any) -> str:
    """Any value as one line of text: whitespace runs (newlines included) become a space."""
    return " ".join(str(value).split())


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _value(doc: Doc, field: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "stakeholder_group" and isinstance(value, str):
        return _group_label(doc, value)
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return ", ".join(_value(doc, field, v) for v in value)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            return "; ".join(f"{k}: {v}" for k, v in value.items())
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and "T" in value and field not in PERSON_FIELDS:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return one_line(value)
        if moment.date().isoformat() == doc["date"]:
            return moment.strftime("%H:%M:%S")
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return one_line(value)


def _group_label(doc: Doc, group: str) -> str:
    for g in doc["stakeholder_groups"]:
        if g["id"] == group:
            return str(g["label"])
    return group


def note_text(doc: Doc, note: Doc, esc: Callable[[str], str] = one_line) -> str:
    """``Corrected on <at>: <field> was <old>, now <new> — <reason>``.

    ``esc`` makes each piece of recorded text inert for the output format.
    """
    parts = []
    for change in note["changes"]:
        label = esc(FIELD_LABELS.get(change["field"], change["field"].replace("_", " ")))
        if change["withheld"]:
            parts.append(f"{label} ({WITHHELD})")
        else:
            was = esc(_value(doc, change["field"], change["was"]))
            now = esc(_value(doc, change["field"], change["now"]))
            parts.append(f"{label} was {was}, now {now}")
    when = _when(note["at"])
    if not _CLOCK.fullmatch(when):
        when = esc(when)
    text = f"Corrected on {when}: {'; '.join(parts)}"
    if note["reason"] is not None:
        text += f" — {esc(note['reason'])}"
    return text


def person_text(person: Doc | None) -> str:
    """``Name, Organization (Group label)``."""
    if person is None:
        return "(none)"
    text = one_line(person["name"])
    if person["organization"]:
        text += f", {one_line(person['organization'])}"
    return f"{text} ({one_line(person['stakeholder_group_label'])})"


def segment_meta(segment: Doc) -> str:
    parts = []
    if segment["opened"]:
        parts.append(f"Opened {segment['opened']}")
    if segment["closed"]:
        parts.append(f"closed {segment['closed']}")
    if segment["moderator"] is not None:
        parts.append(f"moderator: {person_text(segment['moderator'])}")
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]


def intervention_heading(item: Doc) -> str:
    times = f"{item['start']}\u2013{item['end']}" if item["end"] else str(item["start"])
    return f"{times} · {one_line(item['speaker']['name'])}"


def intervention_meta(item: Doc) -> str:
    speaker = item["speaker"]
    parts = [one_line(speaker["organization"])] if speaker["organization"] else []
    parts += [
        one_line(speaker["stakeholder_group_label"]),
        one_line(item["role"]),
        f"delivered in {one_line(item['language'])}",
    ]
    return " · ".join(parts)


def language_marker(doc: Doc, item: Doc) -> tuple[str, str] | None:
    """``("original", "fr")`` when a language was asked for and the text shown is not in it;
    ``("translated from", "ar")`` when a translation is shown."""
    shown = item["shown"]
    if not shown["original"]:
        return ("translated from", item["language"])
    if doc["language"] is not None and shown["language"] != doc["language"]:
        return ("original,", shown["language"])
    return None


def objectives_text(numbers: list[int]) -> str:
    return ", ".join(
        f"{n} ({GCM_OBJECTIVES[n]})" if n in GCM_OBJECTIVES else str(n) for n in numbers
    )


def item_heading(item: Doc) -> str:
    """Heading of a pledge, recommendation or summation."""
    if item["kind"] == "summation":
        what = f"Summation of {one_line(item['summarises_title'])}"
    else:
        what = item["kind"].capitalize()
    return f"{what} · {item['time']} · {one_line(item['by']['name'])}"


def item_meta(item: Doc) -> str:
    by = item["by"]
    parts = [one_line(by["organization"])] if by["organization"] else []
    parts.append(one_line(by["stakeholder_group_label"]))
    if item["kind"] == "pledge":
        parts.append(f"{one_line(item['level'])} level")
    if item["kind"] == "recommendation" and item["sg_report_areas"]:
        areas = ", ".join(str(a) for a in item["sg_report_areas"])
        parts.append(f"SG report areas {areas}")
    if item.get("gcm_objectives"):
        parts.append(f"GCM objectives {objectives_text(item['gcm_objectives'])}")
    if item.get("partners"):
        parts.append("partners: " + "; ".join(one_line(p) for p in item["partners"]))
    return " · ".join(parts)


def header_lines(doc: Doc) -> list[tuple[str, str]]:
    shown = (
        "as delivered"
        if doc["language"] is None
        else f"in {doc['language']} where translated; otherwise as delivered, its language marked"
    )
    rows = [
        ("Hearing", doc["hearing"]),
        ("Venue", doc["venue"]),
        ("Date", f"{doc['date']} ({doc['timezone']})"),
        ("Languages", ", ".join(doc["languages"])),
        ("Text shown", shown),
    ]
    if doc["closed_at"]:
        rows.append(("Closed", _when(doc["closed_at"])))
    return [(k, one_line(v)) for k, v in rows]


def _missing(hearing: str) -> Report:
    return Report(
        content=f"No record of hearing {strip_controls(one_line(hearing))} in the transcript.\n",
        exit_code=1,
        message=f"no record of hearing {strip_controls(one_line(hearing))!r}",
    )


# --- markdown ------------------------------------------------------------------------------


def md(value: Any) -> str:
    """One line of user text, inert in Markdown (``escape_markdown`` covers ``=`` too)."""
    return escape_markdown(one_line(value))


def md_paragraphs(value: str) -> list[str]:
    """Multi-line user text as Markdown lines: each line escaped, indentation dropped."""
    out: list[str] = []
    for raw in value.splitlines():
        line = raw.strip()
        if line:
            out.append(md(line))
        elif out and out[-1]:
            out.append("")
    while out and not out[-1]:
        out.pop()
    return out


def render_markdown(doc: Doc | None, hearing: str) -> str | Report:
    if doc is None:
        return _missing(hearing)
    lines = [f"# Transcript: {md(doc['title'])}", ""]
    lines += [f"- **{key}:** {md(value)}" for key, value in header_lines(doc)]
    lines.append("")
    for note in doc["hearing_corrections"]:
        lines += [f"> {note_text(doc, note, md)}", ""]
    for segment in doc["segments"]:
        lines += [f"## {md(segment['title'])}", ""]
        meta = segment_meta(segment)
        if meta:
            lines += [f"*{md(meta)}*", ""]
        for note in segment["corrections"]:
            lines += [f"> {note_text(doc, note, md)}", ""]
        if not segment["items"]:
            lines += ["*No interventions recorded.*", ""]
        for item in segment["items"]:
            lines += _md_item(doc, item)
    if doc["corrections"]:
        lines += ["## Corrections", ""]
        for note in doc["corrections"]:
            lines.append(
                f"- Correction {note['seq']} to the {md(note['subject'])}: "
                f"{note_text(doc, note, md)}"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_item(doc: Doc, item: Doc) -> list[str]:
    if item["kind"] == "intervention":
        lines = [
            f"### {md(intervention_heading(item))}",
            "",
            f"*{md(intervention_meta(item))}*",
            "",
        ]
        text = item["shown"]["text"]
        body = md_paragraphs(text) if text else []
        marker = language_marker(doc, item)
        if not body:
            body = ["*(no text recorded)*"]
        elif marker:
            body[0] = f"*({marker[0]} {md(marker[1])})* {body[0]}"
        lines += [*body, ""]
    else:
        lines = [f"#### {md(item_heading(item))}", "", f"*{md(item_meta(item))}*", ""]
        if item["kind"] == "summation":
            lines += [f"- {md(point)}" for point in item["key_points"]]
            lines.append("")
        else:
            lines += [*md_paragraphs(item["text"] or ""), ""]
    for note in item["corrections"]:
        lines += [f"> {note_text(doc, note, md)}", ""]
    return lines


# --- rich text -----------------------------------------------------------------------------


def _plain(value: Any) -> str:
    return strip_controls(str(value))


def render_text(doc: Doc | None, hearing: str) -> Text | Report:
    """A rich ``Text``: user text only ever enters as plain segments, never as markup."""
    if doc is None:
        return _missing(hearing)
    out = Text()

    def line(value: Any = "", style: str = "") -> None:
        out.append(_plain(value), style=style)
        out.append("\n")

    def notes(items: list[Doc]) -> None:
        for note in items:
            line("  ⚠ " + one_line(note_text(doc, note)), "italic yellow")

    line(f"Transcript: {one_line(doc['title'])}", "bold underline")
    for key, value in header_lines(doc):
        out.append(f"{key}: ", style="dim")
        line(value)
    notes(doc["hearing_corrections"])
    for segment in doc["segments"]:
        line()
        line(f"═══ {one_line(segment['title'])} ═══", "bold magenta")
        meta = segment_meta(segment)
        if meta:
            line(meta, "dim")
        notes(segment["corrections"])
        if not segment["items"]:
            line("(no interventions recorded)", "dim italic")
        for item in segment["items"]:
            line()
            if item["kind"] == "intervention":
                line(intervention_heading(item), "bold cyan")
                line(intervention_meta(item), "dim")
                marker = language_marker(doc, item)
                if marker:
                    line(f"({marker[0]} {marker[1]})", "italic")
                text = item["shown"]["text"]
                line(text if text else "(no text recorded)", "" if text else "dim italic")
            else:
                line(item_heading(item), "bold green")
                line(item_meta(item), "dim")
                if item["kind"] == "summation":
                    for point in item["key_points"]:
                        line(f"  • {point}")
                else:
                    line(item["text"] or "")
            notes(item["corrections"])
    if doc["corrections"]:
        line()
        line("═══ Corrections ═══", "bold magenta")
        for note in doc["corrections"]:
            line(
                f"Correction {note['seq']} to the {one_line(note['subject'])}: "
                f"{note_text(doc, note)}"
            )
    out.rstrip()
    return out


# --- json ----------------------------------------------------------------------------------

_KIND_LISTS = (
    ("intervention", "interventions"),
    ("pledge", "pledges"),
    ("recommendation", "recommendations"),
    ("summation", "summations"),
)


def _json_item(item: Doc) -> Doc:
    return {k: v for k, v in item.items() if k not in ("kind", "segment")}


def render_json(doc: Doc | None, hearing: str) -> str | Report:
    if doc is None:
        return _missing(hearing)
    segments = []
    for segment in doc["segments"]:
        out = {
            k: segment[k]
            for k in (
                "id",
                "kind",
                "title",
                "planned_start",
                "planned_end",
                "opened_at",
                "closed_at",
                "moderator",
                "corrections",
            )
        }
        for kind, key in _KIND_LISTS:
            out[key] = [_json_item(i) for i in segment["items"] if i["kind"] == kind]
        segments.append(out)
    result = {
        "hearing": doc["hearing"],
        "title": doc["title"],
        "venue": doc["venue"],
        "date": doc["date"],
        "timezone": doc["timezone"],
        "languages": doc["languages"],
        "language": doc["language"],
        "closed_at": doc["closed_at"],
        "stakeholder_groups": doc["stakeholder_groups"],
        "segments": segments,
        "corrections": doc["corrections"],
    }
    return json.dumps(result, ensure_ascii=False, indent=2) + "\n"


__all__ = ["clock", "note_text", "render_json", "render_markdown", "render_text"]
