"""The pledges report in its three formats: markdown, json and csv.

Every piece of user text is made inert for its format: Markdown through
``escape_markdown`` (slugs and ids, which are restricted to ``[a-z0-9_-]``,
go in code spans), JSON through ``json.dumps``, CSV through the csv module
with formula-looking cells neutralised by :func:`csv_cell`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hearing_core import GCM_OBJECTIVES, csv_cell, escape_markdown, strip_controls
from hearing_pledges.model import (
    STATUS_LABELS,
    Correction,
    HearingPledges,
    Person,
    Pledge,
    PledgesView,
    ProgressReport,
)

#: How corrected fields are named in the markdown report.
FIELD_LABELS: Mapping[str, str] = {
    "at": "time",
    "by": "participant",
    "text": "text",
    "gcm_objectives": "GCM objectives",
    "level": "level",
    "partners": "partners",
    "segment": "segment",
    "status": "status",
    "note": "note",
    "pledge": "pledge",
    "pledge_hearing": "hearing of the pledge",
    "name": "name",
    "stakeholder_group": "stakeholder group",
    "protected": "protected",
}

#: What a correction of each target is called in the markdown report.
TARGET_LABELS: Mapping[str, str] = {
    "pledge": "pledge corrected",
    "progress": "report corrected",
    "registration": "maker's registration corrected",
}

NO_GROUP = "no stakeholder group"


# --- shared helpers ----------------------------------------------------------------------------


def when(at: str | None) -> str:
    """``2022-05-16T15:26:30-04:00`` -> ``2022-05-16 15:26`` (the record's own local time)."""
    if not at:
        return ""
    return f"{at[:10]} {at[11:16]}"


def one_line(text: str) -> str:
    return " ".join(strip_controls(text).split())


def excerpt(text: str, limit: int = 100) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


# --- markdown ----------------------------------------------------------------------------------


def _md(text: Any) -> str:
    return escape_markdown(str(text))


def _md_inline(text: Any) -> str:
    return escape_markdown(one_line(str(text)))


def _md_value(field: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "status" and isinstance(value, str):
        return f"**{_md_inline(status_label(value))}**"
    if field in ("stakeholder_group", "pledge_hearing", "segment", "level") and isinstance(
        value, str
    ):
        return f"`{one_line(value).replace('`', '')}`"
    if field == "at" and isinstance(value, str):
        return _md_inline(when(value))
    if isinstance(value, list):
        return _md_inline(", ".join(str(v) for v in value))
    if field in ("text", "note", "name"):
        return f"“{_md_inline(value)}”"
    return _md_inline(value)


def _md_person(person: Person) -> str:
    label = person.group_label if person.group is not None else NO_GROUP
    return f"{_md_inline(person.name)} ({_md_inline(label or NO_GROUP)})"


def _md_correction(c: Correction) -> str:
    head = f"\\#{c.seq}, {when(c.at)}, {TARGET_LABELS.get(c.target, c.target)}"
    if c.withheld:
        names = ", ".join(FIELD_LABELS.get(f, f) for f in c.fields)
        return f"{head}: {_md_inline(names)} (details withheld: protected participant)"
    assert c.changes is not None and c.previous is not None
    parts = [
        f"{_md_inline(FIELD_LABELS.get(f, f))}: {_md_value(f, c.previous.get(f))} → "
        f"{_md_value(f, c.changes.get(f))}"
        for f in c.fields
    ]
    reason = f". Reason: {_md_inline(c.reason)}" if c.reason else ""
    return f"{head}: {'; '.join(parts)}{reason}"


def _md_indented(text: str, indent: str) -> str:
    """Escaped text continuing a list item: later lines indented under it."""
    return _md(text).replace("\n", "\n" + indent)


def _md_report(report: ProgressReport, number: int) -> list[str]:
    indent = " " * (len(str(number)) + 2)
    line = f"{number}. {when(report.at)}: **{_md_inline(status_label(report.status))}**"
    where = f"recorded in `{report.hearing}` \\#{report.seq}"
    if report.by is not None:
        where += f", reported by {_md_person(report.by)}"
    line += f" ({where})"
    if report.note:
        line += f". {_md_indented(report.note, indent)}"
    out = [line]
    for c in report.corrections:
        out.append(f"{indent}- {_md_correction(c)}")
    return out


def _md_counts(counts: Mapping[str, int], total: int) -> list[str]:
    out = ["| Current status | Pledges |", "|---|---:|"]
    out += [f"| {status_label(s)} | {n} |" for s, n in counts.items()]
    out.append(f"| **total** | **{total}** |")
    return out


def _md_counts_line(counts: Mapping[str, int], total: int) -> str:
    parts = ", ".join(f"{n} {status_label(s)}" for s, n in counts.items() if n)
    noun = "pledge" if total == 1 else "pledges"
    return f"{total} {noun}" + (f": {parts}." if parts else ".")


def _md_pledge(pledge: Pledge, level: str) -> list[str]:
    out = [f"{level} Pledge {pledge.seq}: {_md_person(pledge.maker)}", ""]
    status = f"- **Status:** {_md_inline(pledge.status_label)}"
    if pledge.status_at is not None:
        status += (
            f", reported {when(pledge.status_at)} "
            f"(`{pledge.status_hearing}` \\#{pledge.status_seq})"
        )
    out.append(status)
    made = f"- **Made:** {when(pledge.at)}"
    if pledge.segment is not None:
        title = f"{_md_inline(pledge.segment_title)} " if pledge.segment_title else ""
        made += f", {title}(`{pledge.segment}`)"
    out.append(made)
    out.append(f"- **Level:** {_md_inline(pledge.level)}")
    objectives = ", ".join(
        f"{o} ({_md_inline(GCM_OBJECTIVES[o])})" if o in GCM_OBJECTIVES else str(o)
        for o in pledge.objectives
    )
    out.append(f"- **GCM objectives:** {objectives}")
    if pledge.partners:
        out.append(f"- **Partners:** {'; '.join(_md_inline(p) for p in pledge.partners)}")
    out.append("")
    out += ["> " + line if line else ">" for line in _md(pledge.text).split("\n")]
    out.append("")
    if pledge.history:
        out += ["**Progress reports**", ""]
        for i, report in enumerate(pledge.history, start=1):
            out += _md_report(report, i)
        out.append("")
    else:
        out += ["No progress reported yet.", ""]
    if pledge.corrections:
        out += ["**Corrections**", ""]
        out += [f"- {_md_correction(c)}" for c in pledge.corrections]
        out.append("")
    return out


def _md_hearing_title(section: HearingPledges) -> str:
    title = _md_inline(section.title) if section.title else f"`{section.hearing}`"
    details = f"`{section.hearing}`" + (f", {_md_inline(section.date)}" if section.date else "")
    return f"{title} ({details})"


def _md_filter(view: PledgesView) -> list[str]:
    if view.status is None:
        return []
    return [
        f"Listed: only the pledges whose current status is **{status_label(view.status)}**.",
        "",
    ]


def render_markdown(view: PledgesView) -> str:
    out: list[str] = []
    if view.scope is not None:
        section = view.hearings[0]
        out += [f"# Pledges made at {_md_hearing_title(section)}", ""]
        if section.total:
            out += [
                f"{_md_counts_line(section.counts, section.total)} Current status of each, "
                "from the last progress report on it (wherever it was recorded):",
                "",
            ]
            out += _md_counts(section.counts, section.total)
            out.append("")
            out += _md_filter(view)
            if not section.pledges:
                out += ["No pledges match.", ""]
        else:
            out += ["No pledges were made in this hearing.", ""]
        for pledge in section.pledges:
            out += _md_pledge(pledge, "##")
        if view.reported_here:
            out += ["## Progress reported here on pledges of other hearings", ""]
            for i, (report, target) in enumerate(view.reported_here, start=1):
                out += _md_reported_here(report, target, i)
            out.append("")
    else:
        out += ["# Pledges of the whole archive", ""]
        if view.total:
            out += [
                f"{_md_counts_line(view.counts, view.total)} Current status of each, from the "
                "last progress report on it (wherever it was recorded):",
                "",
            ]
            out += _md_counts(view.counts, view.total)
            out.append("")
            out += _md_filter(view)
            if not view.hearings:
                out += ["No pledges match.", ""]
        else:
            out += ["No pledges have been made in any hearing of the archive.", ""]
        for section in view.hearings:
            out += [f"## {_md_hearing_title(section)}", ""]
            out += [_md_counts_line(section.counts, section.total), ""]
            for pledge in section.pledges:
                out += _md_pledge(pledge, "###")
    return "\n".join(out).rstrip("\n") + "\n"


def _md_reported_here(report: ProgressReport, pledge: Pledge | None, number: int) -> list[str]:
    first, *corrections = _md_report(report, number)
    indent = " " * (len(str(number)) + 2)
    target = f"`{report.pledge_hearing}` pledge {report.pledge_seq}"
    if pledge is None:
        about = f"{indent}- On {target} (not in this reading of the record)"
    else:
        about = (
            f"{indent}- On {target} by {_md_person(pledge.maker)}: "
            f"“{_md_inline(excerpt(pledge.text))}”; its current status: "
            f"**{_md_inline(pledge.status_label)}**"
        )
    return [first, about, *corrections]


# --- json --------------------------------------------------------------------------------------


def _json_person(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "participant": person.participant,
        "name": person.name,
        "protected": person.protected,
        "stakeholder_group": person.group,
        "stakeholder_group_label": person.group_label,
    }


def _json_correction(c: Correction) -> dict[str, Any]:
    return {
        "hearing": c.hearing,
        "seq": c.seq,
        "at": c.at,
        "corrects": c.corrects,
        "target": c.target,
        "fields": list(c.fields),
        "withheld": c.withheld,
        "changes": None if c.changes is None else dict(c.changes),
        "previous": None if c.previous is None else dict(c.previous),
        "reason": c.reason,
    }


def _json_report(report: ProgressReport) -> dict[str, Any]:
    return {
        "hearing": report.hearing,
        "seq": report.seq,
        "at": report.at,
        "status": report.status,
        "note": report.note,
        "by": _json_person(report.by),
        "pledge_hearing": report.pledge_hearing,
        "pledge": report.pledge_seq,
        "corrections": [_json_correction(c) for c in report.corrections],
    }


def _json_pledge(pledge: Pledge) -> dict[str, Any]:
    return {
        "hearing": pledge.hearing,
        "seq": pledge.seq,
        "made_at": pledge.at,
        "made_by": _json_person(pledge.maker),
        "segment": (
            None
            if pledge.segment is None
            else {"id": pledge.segment, "title": pledge.segment_title}
        ),
        "text": pledge.text,
        "gcm_objectives": list(pledge.objectives),
        "level": pledge.level,
        "partners": list(pledge.partners),
        "status": pledge.status,
        "status_label": pledge.status_label,
        "status_reported": (
            None
            if pledge.status_seq is None
            else {
                "hearing": pledge.status_hearing,
                "seq": pledge.status_seq,
                "at": pledge.status_at,
            }
        ),
        "history": [_json_report(r) for r in pledge.history],
        "corrections": [_json_correction(c) for c in pledge.corrections],
    }


def _json_counts(counts: Mapping[str, int], total: int) -> dict[str, int]:
    return {**counts, "total": total}


def render_json(view: PledgesView) -> str:
    doc: dict[str, Any] = {
        "report": "pledges",
        "hearing": view.scope,
        "status_filter": view.status,
        "counts": _json_counts(view.counts, view.total),
        "hearings": [
            {
                "hearing": s.hearing,
                "title": s.title,
                "date": s.date,
                "counts": _json_counts(s.counts, s.total),
                "pledges": [_json_pledge(p) for p in s.pledges],
            }
            for s in view.hearings
        ],
    }
    if view.scope is not None:
        doc["reported_here"] = [
            {
                "report": _json_report(report),
                "pledge": None
                if pledge is None
                else {
                    "hearing": pledge.hearing,
                    "seq": pledge.seq,
                    "made_by": _json_person(pledge.maker),
                    "text": pledge.text,
                    "status": pledge.status,
                    "status_label": pledge.status_label,
                },
            }
            for report, pledge in view.reported_here
        ]
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


# --- csv ---------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "hearing",
    "pledge",
    "made_at",
    "segment",
    "made_by",
    "stakeholder_group",
    "level",
    "gcm_objectives",
    "partners",
    "text",
    "status",
    "status_at",
    "status_reported_in",
    "reports",
    "history",
    "last_note",
    "corrections",
)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return one_line(str(value))


def _csv_correction(c: Correction) -> str:
    if c.withheld:
        return f"#{c.seq} {c.target}: {', '.join(c.fields)} (withheld)"
    assert c.changes is not None and c.previous is not None
    parts = "; ".join(
        f"{f}: {_csv_value(c.previous.get(f))} -> {_csv_value(c.changes.get(f))}" for f in c.fields
    )
    return f"#{c.seq} {c.target}: {parts} ({one_line(c.reason or '')})"


def _csv_rows(view: PledgesView) -> Iterable[list[Any]]:
    for section in view.hearings:
        for p in section.pledges:
            last = p.history[-1] if p.history else None
            corrections = [*p.corrections, *(c for r in p.history for c in r.corrections)]
            corrections.sort(key=lambda c: (c.position, c.hearing, c.seq))
            yield [
                p.hearing,
                p.seq,
                p.at,
                p.segment or "",
                one_line(p.maker.name),
                one_line(p.maker.group_label or NO_GROUP),
                p.level,
                ", ".join(str(o) for o in p.objectives),
                "; ".join(one_line(x) for x in p.partners),
                strip_controls(p.text),
                p.status,
                p.status_at or "",
                "" if p.status_seq is None else f"{p.status_hearing}#{p.status_seq}",
                len(p.history),
                " | ".join(f"{r.at} {r.status} ({r.hearing}#{r.seq})" for r in p.history),
                "" if last is None or last.note is None else strip_controls(last.note),
                " | ".join(_csv_correction(c) for c in corrections),
            ]


def render_csv(view: PledgesView) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(view):
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()
