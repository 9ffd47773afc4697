"""The audit's report formats: table, json, csv, programme, status and html (in page.py).

User text (titles, group labels, names, organizations, reasons) only ever
reaches rich inside :class:`rich.text.Text` objects with controls stripped,
never as markup; CSV goes through the csv module; JSON through json.dumps.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from hearing_audit.model import (
    OVER_THRESHOLD,
    UNDER_THRESHOLD,
    Snapshot,
    compute_audit,
    compute_status,
    load,
    parse,
    programme,
)
from hearing_core import Report, ReportRequest, csv_cell, strip_controls

#: Shown for a missing value, and between the two ends of a time range.
DASH = "\N{EN DASH}"

#: Formats the --require-all-groups gate applies to (the audit proper).
GATED_FORMATS = frozenset({"table", "json", "csv", "html"})

CSV_COLUMNS = (
    "group",
    "label",
    "took_part",
    "speakers",
    "turns",
    "panel_turns",
    "floor_turns",
    "other_turns",
    "seconds",
    "panel_seconds",
    "floor_seconds",
    "other_seconds",
    "time_share",
    "turn_share",
    "representation_ratio",
    "representation",
)


class AuditView:
    """A rich renderable whose ``repr`` is its plain-text rendering (so it compares by content)."""

    def __init__(self, parts: Iterable[RenderableType]) -> None:
        self.parts = list(parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Group(*self.parts)

    def plain(self, width: int = 120) -> str:
        """The report as plain text, ``width`` columns wide."""
        out = io.StringIO()
        console = Console(
            file=out,
            width=width,
            color_system=None,
            force_terminal=False,
            highlight=False,
            legacy_windows=False,
        )
        console.print(self)
        return out.getvalue()

    def __repr__(self) -> str:
        return self.plain()


def flag(value: Any) -> bool:
    """An option's truth: a click flag, or ``1/true/yes/on`` given as --option text."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def render_report(db: sqlite_utils.Database, request: ReportRequest) -> str | Report | AuditView:
    snap = load(db, request.hearing)
    if snap is None:
        message = f"the audit read model has no hearing {request.hearing!r}"
        return Report(message, exit_code=1, message=message)
    if request.option("as_of_time"):  # the reader's moment, not the latest time recorded
        snap = replace(snap, hearing={**snap.hearing, "as_of_time": request.option("as_of_time")})
    fmt = request.format
    if fmt == "status":
        return status_view(snap)
    if fmt == "status-json":
        return json.dumps(compute_status(snap), ensure_ascii=False, indent=2) + "\n"
    if fmt == "programme":
        return programme_view(snap)
    audit = compute_audit(snap)
    content: str | AuditView
    if fmt == "json":
        content = json.dumps(audit, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "html":
        from hearing_audit.page import Links, audit_page, pledge_rows

        links = Links(request.option("transcript_href"), request.option("archive_href"))
        content = audit_page(audit, pledge_rows(db, request.hearing), links)
    elif fmt == "csv":
        content = to_csv(audit)
    else:
        content = table_view(snap, audit)
    if (
        fmt in GATED_FORMATS
        and flag(request.option("require_all_groups"))
        and audit["absent_groups"]
    ):
        message = "absent stakeholder groups: " + ", ".join(audit["absent_groups"])
        return Report(content, exit_code=1, message=message)
    return content


# --- plain values ---------------------------------------------------------------------------


def safe(text: Any) -> str:
    return strip_controls(str(text))


def clock(at: str | None, tz: str | None) -> str:
    """A time on the hearing's clock: HH:MM, or HH:MM:SS when the seconds are not zero."""
    if at is None:
        return DASH
    moment = parse(at)
    try:
        if tz:
            moment = moment.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return moment.strftime("%H:%M" if moment.second == 0 else "%H:%M:%S")


def duration(seconds: float | None, *, signed: bool = False) -> str:
    """``h:mm:ss`` or ``m:ss`` (rounded to the second); ``+``/``-`` when signed."""
    if seconds is None:
        return DASH
    total = round(seconds)
    sign = "-" if total < 0 else ("+" if signed and total > 0 else "")
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return sign + body


def turns(n: int) -> str:
    return f"{n} turn" if n == 1 else f"{n} turns"


def share(value: float) -> str:
    return f"{100 * value:.1f}%"


def cell(text: Any, style: str = "") -> Text:
    return Text(safe(text), style=style)


class TitledTable(Table):
    """A table with its title on a line of its own above it (never wrapped to the table's width)."""

    def __init__(self, title: str, style: str = "bold") -> None:
        super().__init__(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
        self.heading = Text(title, style=style)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.heading
        yield from super().__rich_console__(console, options)


def table(
    title: str,
    *columns: str,
    right: Iterable[str] = (),
    nowrap: Iterable[str] = (),
    style: str = "bold",
) -> Table:
    """A titled table; ``right`` columns are right-aligned, and they and ``nowrap`` never wrap."""
    t = TitledTable(title, style)
    aligned, whole = set(right), set(right) | set(nowrap)
    for name in columns:
        t.add_column(
            Text(name),
            justify="right" if name in aligned else "left",
            no_wrap=name in whole,
            overflow="fold",
        )
    return t


# --- table ------------------------------------------------------------------------------------


def _header(snap: Snapshot, audit: Mapping[str, Any], heading: str) -> list[RenderableType]:
    tz = snap.hearing.get("timezone")
    title = Text.assemble((heading, "bold"), ": ", safe(audit["title"]), " (", safe(snap.slug), ")")
    if audit["state"] == "closed":
        state = f"Closed at {clock(audit['closed_at'], tz)}."
    elif audit["state"] == "in_progress":
        state = (
            f"In progress: as of {clock(audit['as_of']['at'], tz)} (seq {audit['as_of']['seq']})."
        )
    else:
        state = "Not started yet."
    return [title, Text(state)]


def table_view(snap: Snapshot, audit: Mapping[str, Any]) -> AuditView:
    tz = snap.hearing.get("timezone")
    k = audit["taxonomy_size"]
    totals = audit["totals"]
    took_part = sum(1 for g in audit["groups"] if g["took_part"])
    parts: list[RenderableType] = _header(snap, audit, "Stakeholder-balance audit")
    parts.append(
        Text(
            f"{took_part} of {k} stakeholder groups took part. Balance index "
            f"{audit['balance_index']:.3f} (normalized entropy of speaking time; 1.000 = even). "
            f"Stakeholders spoke {duration(totals['stakeholder_seconds'])} in "
            f"{turns(totals['stakeholder_turns'])}; officials {duration(totals['official_seconds'])} in "
            f"{turns(totals['official_turns'])} (not counted in shares)."
        )
    )

    groups = table(
        "Stakeholder groups",
        "Group",
        "Turns",
        "P/F/O",
        "Time",
        "Time %",
        "Turn %",
        "Ratio",
        "Flag",
        right=("Turns", "P/F/O", "Time", "Time %", "Turn %", "Ratio"),
        nowrap=("Flag",),
    )
    for g in audit["groups"]:
        if g["absent"]:
            mark = cell("absent", "bold red")
        elif g["representation"] in ("over", "under"):
            mark = cell(g["representation"], "yellow")
        else:
            mark = cell("")
        ratio = g["representation_ratio"]
        groups.add_row(
            cell(g["label"]),
            cell(g["turns"]),
            cell(f"{g['panel_turns']}/{g['floor_turns']}/{g['other_turns']}"),
            cell(duration(g["seconds"])),
            cell(share(g["time_share"])),
            cell(share(g["turn_share"])),
            cell(DASH if ratio is None else f"{ratio:.2f}"),
            mark,
        )
    parts.append(groups)
    parts.append(
        Text(
            f"Ratio = time share ÷ equal share (1/{k}); over > {OVER_THRESHOLD}, under < "
            f"{UNDER_THRESHOLD}. P/F/O = turns on the panel (keynote, panellist) / from the floor / "
            "in other roles (chair, moderator, rapporteur).",
            style="dim",
        )
    )
    labels = {g["group"]: g["label"] for g in audit["groups"]}
    if audit["absent_groups"]:
        parts.append(
            Text.assemble(
                ("Never spoke: ", "bold red"),
                safe("; ".join(labels[g] for g in audit["absent_groups"])),
            )
        )
    for key, word in (
        ("over_represented", "Over-represented"),
        ("under_represented", "Under-represented"),
    ):
        present = [g for g in audit[key] if g not in audit["absent_groups"]]
        if present:
            parts.append(
                Text.assemble((f"{word}: ", "yellow"), safe("; ".join(labels[g] for g in present)))
            )

    parts.append(_coverage_table(audit))
    if audit["officials"]["speakers"]:
        officials = table(
            "Officials (no stakeholder group; reported apart)",
            "Name",
            "Organization",
            "Turns",
            "Time",
            right=("Turns", "Time"),
        )
        for o in audit["officials"]["speakers"]:
            officials.add_row(
                cell(o["name"]),
                cell(o["organization"] or ""),
                cell(o["turns"]),
                cell(duration(o["seconds"])),
            )
        parts.append(officials)
    if audit["outside_taxonomy"]:
        outside = table(
            "Speakers outside the taxonomy (not counted)",
            "Group",
            "Turns",
            "Time",
            right=("Turns", "Time"),
        )
        for o in audit["outside_taxonomy"]:
            outside.add_row(cell(o["group"]), cell(o["turns"]), cell(duration(o["seconds"])))
        parts.append(outside)
    parts.append(_regions_table(audit))
    parts.append(_programme_table(audit["programme"], tz))
    parts.extend(_correction_notes(audit["corrections"], tz))
    return AuditView(parts)


def _coverage_table(audit: Mapping[str, Any]) -> Table:
    segments = audit["coverage"]
    t = TitledTable("Coverage: turns · time per segment")
    t.add_column(Text("Group"), overflow="fold", min_width=14)
    for seg in segments:
        t.add_column(Text(safe(seg["segment"])), justify="right", no_wrap=True)
    for g in audit["groups"]:
        row = [cell(g["label"])]
        for seg in segments:
            c = seg["groups"][g["group"]]
            row.append(cell(f"{c['turns']} · {duration(c['seconds'])}" if c["turns"] else DASH))
        t.add_row(*row)
    t.add_row(
        cell("Officials", "dim"),
        *[
            cell(
                f"{s['official_turns']} · {duration(s['official_seconds'])}"
                if s["official_turns"]
                else DASH,
                "dim",
            )
            for s in segments
        ],
    )
    t.add_row(cell("Groups heard", "bold"), *[cell(s["groups_heard"], "bold") for s in segments])
    return t


def _regions_table(audit: Mapping[str, Any]) -> Table:
    t = table(
        "Regional balance (stakeholders with a region)",
        "Region",
        "Speakers",
        "Turns",
        "Time",
        "Time %",
        right=("Speakers", "Turns", "Time", "Time %"),
    )
    for r in audit["regions"]["rows"]:
        t.add_row(
            cell(r["label"]),
            cell(r["speakers"]),
            cell(r["turns"]),
            cell(duration(r["seconds"])),
            cell(share(r["time_share"])),
        )
    n = audit["regions"]["no_region"]
    t.add_row(
        cell("(no region given)", "dim"),
        cell(n["speakers"], "dim"),
        cell(n["turns"], "dim"),
        cell(duration(n["seconds"]), "dim"),
        cell("", "dim"),
    )
    return t


def _programme_table(rows: list[dict[str, Any]], tz: str | None) -> Table:
    t = table(
        "Programme adherence (overrun: + later or longer than planned)",
        "Segment",
        "Planned",
        "Actual",
        "Planned\nlength",
        "Actual\nlength",
        "End\noverrun",
        "Length\noverrun",
        right=("Planned\nlength", "Actual\nlength", "End\noverrun", "Length\noverrun"),
        nowrap=("Segment", "Planned", "Actual"),
    )
    for r in rows:
        planned = f"{clock(r['planned_start'], tz)}{DASH}{clock(r['planned_end'], tz)}"
        if r["status"] == "not_started":
            actual = "not started"
        elif r["status"] == "open":
            actual = f"{clock(r['actual_start'], tz)}{DASH}(open)"
        else:
            actual = f"{clock(r['actual_start'], tz)}{DASH}{clock(r['actual_end'], tz)}"
        t.add_row(
            cell(r["segment"] + ("" if r["in_programme"] else " (unplanned)")),
            cell(planned if r["in_programme"] else DASH),
            cell(actual),
            cell(duration(r["planned_seconds"])),
            cell(duration(r["actual_seconds"])),
            cell(duration(r["end_overrun_seconds"], signed=True)),
            cell(duration(r["length_overrun_seconds"], signed=True)),
        )
    return t


_TIME_FIELDS = frozenset({"at", "ended_at"})
_EVENT_WORDS = {
    "HearingScheduled": "the schedule",
    "ParticipantRegistered": "a registration",
    "SegmentOpened": "a segment opening",
    "SegmentClosed": "a segment closing",
    "InterventionDelivered": "an intervention",
    "HearingClosed": "the closing",
}


def _value(field: str, value: Any, tz: str | None) -> str:
    if value is None:
        return "none"
    if field in _TIME_FIELDS and isinstance(value, str):
        try:
            return clock(value, tz)
        except ValueError:
            return safe(value)
    return safe(value)


def _correction_notes(corrections: list[dict[str, Any]], tz: str | None) -> Iterator[Text]:
    if not corrections:
        return
    yield Text("Corrections applied", style="bold")
    for c in corrections:
        what = _EVENT_WORDS.get(c["event"], "an event")
        subject = f", {safe(c['subject'])}" if c["subject"] else ""
        if c["withheld"]:
            changes = ", ".join(f"{f} (withheld)" for f in c["fields"])
            reason = "reason withheld: protected participant"
        else:
            changes = "; ".join(
                f"{f} changed"
                if isinstance(v["from"], (list, dict)) or isinstance(v["to"], (list, dict))
                else f"{f} {_value(f, v['from'], tz)} → {_value(f, v['to'], tz)}"
                for f, v in c["fields"].items()
            )
            reason = safe(c["reason"])
        yield Text(
            f"  seq {c['seq']} corrects seq {c['corrects']} ({what}{subject}): {changes}. {reason}"
        )


# --- csv --------------------------------------------------------------------------------------


def to_csv(audit: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in audit["groups"]:
        row = []
        for column in CSV_COLUMNS:
            value = g[column]
            if column in ("time_share", "turn_share", "representation_ratio"):
                value = "" if value is None else f"{value:.6f}"
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            elif value is None:
                value = ""
            row.append(csv_cell(safe(value)))
        writer.writerow(row)
    return out.getvalue()


# --- programme ----------------------------------------------------------------------------------


def programme_view(snap: Snapshot) -> AuditView:
    tz = snap.hearing.get("timezone")
    audit_like = {
        "title": snap.hearing["title"],
        "state": snap.state,
        "closed_at": snap.hearing.get("closed_at"),
        "as_of": {"seq": snap.hearing.get("last_seq"), "at": snap.now()},
    }
    rows = programme(snap)
    parts = _header(snap, audit_like, "Programme adherence")
    parts.append(_programme_table(rows, tz))
    planned = [r for r in rows if r["in_programme"]]
    if planned and all(r["status"] == "closed" for r in planned):
        last = planned[-1]
        parts.append(
            Text(
                f"The programme ended {duration(last['end_overrun_seconds'], signed=True)} against its "
                f"planned end ({clock(last['planned_end'], tz)}); positive = later or longer than planned."
            )
        )
    else:
        parts.append(Text("Positive = later or longer than planned.", style="dim"))
    return AuditView(parts)


# --- status: the moderator's live view ------------------------------------------------------------


def _names(items: Iterable[str]) -> str:
    return ", ".join(safe(i) for i in items)


def status_view(snap: Snapshot) -> AuditView:
    s = compute_status(snap)
    tz = snap.hearing.get("timezone")
    parts: list[RenderableType] = [
        Text.assemble(
            ("Live status", "bold"), ": ", safe(s["title"]), " (", safe(s["hearing"]), ")"
        )
    ]
    if s["state"] == "closed":
        parts.append(
            Text(f"The hearing is closed (closed at {clock(s['closed_at'], tz)}).", style="bold")
        )
    else:
        parts.append(
            Text(
                f"As of {clock(s['now'], tz)} (the record up to seq {s['seq']})."
                if snap.hearing.get("as_of_time")
                else f"As of {clock(s['now'], tz)} (the latest time in the record, "
                f"up to seq {s['seq']})."
            )
        )
    seg = s["open_segment"]
    if seg is not None:
        title = Text.assemble(("Open segment: ", "bold"), safe(seg["title"] or seg["segment"]))
        if seg["moderator"]:
            title.append(f" (moderator: {safe(seg['moderator'])})")
        parts.append(title)
        used = (
            f"Opened {clock(seg['actual_start'], tz)} (planned {clock(seg['planned_start'], tz)}); "
            f"{duration(seg['elapsed_seconds'])} used of {duration(seg['planned_seconds'])} planned"
        )
        remaining = seg["remaining_seconds"]
        if remaining is None:
            used += "."
        elif remaining >= 0:
            used += f"; {duration(remaining)} left until the planned end {clock(seg['planned_end'], tz)}."
        else:
            used += (
                f"; past the planned end {clock(seg['planned_end'], tz)} by {duration(-remaining)}."
            )
        over = seg["over_plan_seconds"]
        parts.append(Text(used, style="bold red" if over else ""))
        here = table(
            "Heard in this segment", "Speaker", "Group", "Turns", "Time", right=("Turns", "Time")
        )
        for r in s["segment_speakers"]:
            here.add_row(
                cell(r["name"]), cell(r["label"]), cell(r["turns"]), cell(duration(r["seconds"]))
            )
        parts.append(
            here if s["segment_speakers"] else Text("No one has spoken in this segment yet.")
        )
        if s["segment_unheard_groups"]:
            parts.append(
                Text.assemble(
                    ("Not yet heard in this segment: ", "yellow"),
                    _names(g["label"] for g in s["segment_unheard_groups"]),
                )
            )
    elif s["state"] != "closed":
        if s["last_closed_segment"]:
            last = s["last_closed_segment"]
            parts.append(
                Text(
                    f"No segment is open. Last closed: {safe(last['title'] or last['segment'])} at "
                    f"{clock(last['actual_end'], tz)} ({duration(last['end_overrun_seconds'], signed=True)}"
                    " against its planned end)."
                )
            )
        else:
            parts.append(Text("The hearing has not started: no segment has been opened."))
        nxt = s["next_segment"]
        if nxt:
            parts.append(
                Text(
                    f"Next in the programme: {safe(nxt['title'] or nxt['segment'])}, planned "
                    f"{clock(nxt['planned_start'], tz)}{DASH}{clock(nxt['planned_end'], tz)}."
                )
            )

    overall = table(
        "Heard so far" if s["state"] != "closed" else "Heard",
        "Group",
        "Turns",
        "Time",
        "Speakers",
        right=("Turns", "Time"),
    )
    for g in s["overall"]:
        overall.add_row(
            cell(g["label"]),
            cell(g["turns"]),
            cell(duration(g["seconds"])),
            cell(_names(g["speakers"])),
        )
    parts.append(overall if s["overall"] else Text("No stakeholder has spoken yet."))
    parts.append(
        Text(
            f"Officials: {turns(s['official_turns'])}, {duration(s['official_seconds'])} "
            "(not counted in the balance).",
            style="dim",
        )
    )
    if s["unheard_groups"]:
        heading = "Never heard" if s["state"] == "closed" else "Not yet heard (call on them)"
        unheard = table(heading, "Group", "Registered participants", style="bold red")
        for g in s["unheard_groups"]:
            unheard.add_row(
                cell(g["label"]),
                cell(
                    _names(g["registered"]) if g["registered"] else "no one registered",
                    "" if g["registered"] else "dim",
                ),
            )
        parts.append(unheard)
    else:
        parts.append(Text("Every stakeholder group has been heard.", style="green"))
    return AuditView(parts)
