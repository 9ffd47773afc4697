"""The audit read model: one row per thing the audit needs, kept per hearing.

The tables keep facts, not conclusions: each intervention with its speaker id,
each participant with their stakeholder group, each segment with its planned
and actual times.  Group attribution, shares and the balance index are worked
out at render time (see :mod:`hearing_audit.model`), so a correction of a
participant's group moves all their speaking time, retroactively.
"""

# Table names in SQL are this module's constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from hearing_core import (
    DEFAULT_STAKEHOLDER_GROUPS,
    Projection,
    RecordedEvent,
    Report,
    ReportRequest,
)

if TYPE_CHECKING:  # annotations only: importing the plugin stays cheap
    import sqlite_utils
    from rich.console import RenderableType

NAME = "audit"

HEARINGS = f"{NAME}_hearings"
GROUPS = f"{NAME}_groups"
SEGMENTS = f"{NAME}_segments"
SEGMENT_EVENTS = f"{NAME}_segment_events"
PARTICIPANTS = f"{NAME}_participants"
INTERVENTIONS = f"{NAME}_interventions"
CORRECTIONS = f"{NAME}_corrections"

#: Fields of each corrected event type that the audit keeps (and so re-reads).
AUDITED_FIELDS: Mapping[str, frozenset[str]] = {
    "HearingScheduled": frozenset({"title", "date", "timezone", "programme", "stakeholder_groups"}),
    "ParticipantRegistered": frozenset(
        {"name", "organization", "stakeholder_group", "region", "country", "protected"}
    ),
    "SegmentOpened": frozenset({"segment", "at", "moderator"}),
    "SegmentClosed": frozenset({"segment", "at"}),
    "InterventionDelivered": frozenset({"speaker", "segment", "role", "at", "ended_at"}),
    "HearingClosed": frozenset({"at"}),
}


def seconds_between(start: str, end: str) -> float:
    """Length of an intervention in seconds; an end before the start counts 0."""
    length = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return max(0.0, length)


class AuditProjection(Projection):
    """Stakeholder balance, programme adherence and the moderator's live view."""

    name: ClassVar[str] = NAME
    demo = {"title": "Stakeholder-balance audit", "format": "table", "order": 3}
    # Written against contract v1: sees protected participants' identities and words in
    # clear, so its tables are personal data until it is ported to v2 (docs/plugins.md).
    needs: ClassVar[frozenset[str]] = frozenset({"identities", "words"})
    version: ClassVar[int] = 1
    description: ClassVar[str] = (
        "Stakeholder-balance audit: who spoke, for how long, in which segment; "
        "programme adherence; the moderator's live status."
    )
    types: ClassVar[frozenset[str]] = frozenset()  # every event: each one moves the clock
    formats: ClassVar[tuple[str, ...]] = (
        "table",
        "json",
        "csv",
        "programme",
        "status",
        "html",
        "status-json",
    )
    tables: ClassVar[Mapping[str, Mapping[str, type]]] = {
        HEARINGS: {
            "hearing": str,
            "title": str,
            "date": str,
            "timezone": str,
            "scheduled_seq": int,
            "closed_seq": int,
            "closed_at": str,
            "last_seq": int,
            "last_at": str,
        },
        GROUPS: {"hearing": str, "ordinal": int, "group_id": str, "label": str},
        SEGMENTS: {
            "hearing": str,
            "segment": str,
            "ordinal": int,
            "kind": str,
            "title": str,
            "planned_start": str,
            "planned_end": str,
            "opened_seq": int,
            "actual_start": str,
            "closed_seq": int,
            "actual_end": str,
            "moderator": str,
        },
        SEGMENT_EVENTS: {
            "hearing": str,
            "seq": int,
            "event": str,
            "segment": str,
            "at": str,
            "moderator": str,
        },
        PARTICIPANTS: {
            "hearing": str,
            "participant": str,
            "seq": int,
            "name": str,
            "organization": str,
            "stakeholder_group": str,
            "region": str,
            "country": str,
            "protected": int,
        },
        INTERVENTIONS: {
            "hearing": str,
            "seq": int,
            "speaker": str,
            "segment": str,
            "role": str,
            "at": str,
            "ended_at": str,
            "seconds": float,
        },
        CORRECTIONS: {
            "hearing": str,
            "seq": int,
            "at": str,
            "corrects": int,
            "corrected_type": str,
            "changes": str,
            "previous": str,
            "reason": str,
            "affects_audit": int,
        },
    }
    keys: ClassVar[Mapping[str, tuple[str, ...]]] = {
        HEARINGS: ("hearing",),
        GROUPS: ("hearing", "group_id"),
        SEGMENTS: ("hearing", "segment"),
        SEGMENT_EVENTS: ("hearing", "seq"),
        PARTICIPANTS: ("hearing", "participant"),
        INTERVENTIONS: ("hearing", "seq"),
        CORRECTIONS: ("hearing", "seq"),
    }

    def create_tables(self, db: sqlite_utils.Database) -> None:
        for table, columns in self.tables.items():
            db.table(table).create(dict(columns), pk=self.keys[table], if_not_exists=True)

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        from hearing_audit.render import render_report  # rich tables load only when rendering

        return render_report(db, request)

    # --- events ----------------------------------------------------------------------

    def handle(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event, db)
        db.execute(
            f"update {HEARINGS} set last_seq = ?, last_at = ? where hearing = ?",
            [event.seq, event["at"], event.hearing],
        )

    def _on_HearingScheduled(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        db.execute(
            f"insert or replace into {HEARINGS} (hearing, title, date, timezone, scheduled_seq) "
            "values (?, ?, ?, ?, ?)",
            [e.hearing, e["title"], e["date"], e["timezone"], e.seq],
        )
        groups = e.get("stakeholder_groups")
        if groups is None:
            groups = [{"id": k, "label": v} for k, v in DEFAULT_STAKEHOLDER_GROUPS.items()]
        _write_groups(db, e.hearing, groups)
        _write_programme(db, e.hearing, e["programme"])

    def _on_ParticipantRegistered(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        db.execute(
            f"insert or replace into {PARTICIPANTS} (hearing, participant, seq, name, organization,"
            " stakeholder_group, region, country, protected) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                e.hearing,
                e["participant"],
                e.seq,
                e["name"],
                e.get("organization"),
                e.get("stakeholder_group"),
                e.get("region"),
                e.get("country"),
                1 if e.get("protected") else 0,
            ],
        )

    def _on_SegmentOpened(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        self._segment_event(e, db, "opened", e.get("moderator"))

    def _on_SegmentClosed(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        self._segment_event(e, db, "closed", None)

    def _segment_event(
        self, e: RecordedEvent, db: sqlite_utils.Database, kind: str, moderator: str | None
    ) -> None:
        db.execute(
            f"insert or replace into {SEGMENT_EVENTS} (hearing, seq, event, segment, at, moderator) "
            "values (?, ?, ?, ?, ?, ?)",
            [e.hearing, e.seq, kind, e["segment"], e["at"], moderator],
        )
        _refresh_segment(db, e.hearing, e["segment"])

    def _on_InterventionDelivered(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        db.execute(
            f"insert or replace into {INTERVENTIONS} (hearing, seq, speaker, segment, role, at,"
            " ended_at, seconds) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                e.hearing,
                e.seq,
                e["speaker"],
                e["segment"],
                e["role"],
                e["at"],
                e["ended_at"],
                seconds_between(e["at"], e["ended_at"]),
            ],
        )

    def _on_HearingClosed(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        db.execute(
            f"update {HEARINGS} set closed_seq = ?, closed_at = ? where hearing = ?",
            [e.seq, e["at"], e.hearing],
        )

    # --- corrections -----------------------------------------------------------------

    def _on_CorrectionIssued(self, e: RecordedEvent, db: sqlite_utils.Database) -> None:
        hearing, target = e.hearing, int(e["corrects"])
        changes: dict[str, Any] = dict(e["changes"])
        corrected_type, previous = _apply_correction(db, hearing, target, changes)
        audited = AUDITED_FIELDS.get(corrected_type or "", frozenset())
        db.execute(
            f"insert or replace into {CORRECTIONS} (hearing, seq, at, corrects, corrected_type,"
            " changes, previous, reason, affects_audit) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                hearing,
                e.seq,
                e["at"],
                target,
                corrected_type,
                _json(changes),
                _json(previous),
                e["reason"],
                1 if audited & set(changes) else 0,
            ],
        )


# --- helpers (module level so handle stays small) ---------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _one(db: sqlite_utils.Database, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def _write_groups(
    db: sqlite_utils.Database, hearing: str, groups: Sequence[Mapping[str, Any]]
) -> None:
    db.execute(f"delete from {GROUPS} where hearing = ?", [hearing])
    for i, group in enumerate(groups):
        db.execute(
            f"insert or replace into {GROUPS} (hearing, ordinal, group_id, label) values (?, ?, ?, ?)",
            [hearing, i, group["id"], group["label"]],
        )


def _write_programme(
    db: sqlite_utils.Database, hearing: str, programme: Sequence[Mapping[str, Any]]
) -> None:
    """Write the planned side of every segment; segments dropped from the plan keep their actuals."""
    planned = sorted({item["id"] for item in programme})
    for row in list(db.query(f"select segment from {SEGMENTS} where hearing = ?", [hearing])):
        if row["segment"] not in planned:
            db.execute(
                f"update {SEGMENTS} set ordinal = null, kind = null, title = null,"
                " planned_start = null, planned_end = null where hearing = ? and segment = ?",
                [hearing, row["segment"]],
            )
    for i, item in enumerate(programme):
        db.execute(
            f"insert into {SEGMENTS} (hearing, segment, ordinal, kind, title, planned_start,"
            " planned_end) values (?, ?, ?, ?, ?, ?, ?) on conflict (hearing, segment) do update"
            " set ordinal = excluded.ordinal, kind = excluded.kind, title = excluded.title,"
            " planned_start = excluded.planned_start, planned_end = excluded.planned_end",
            [
                hearing,
                item["id"],
                i,
                item["kind"],
                item["title"],
                item["planned_start"],
                item["planned_end"],
            ],
        )
        _refresh_segment(db, hearing, item["id"])


def _refresh_segment(db: sqlite_utils.Database, hearing: str, segment: str) -> None:
    """Recompute a segment's actual start, end and moderator from its open/close events."""
    opened = _one(
        db,
        f"select seq, at, moderator from {SEGMENT_EVENTS} where hearing = ? and segment = ?"
        " and event = 'opened' order by seq limit 1",
        [hearing, segment],
    )
    closed = _one(
        db,
        f"select seq, at from {SEGMENT_EVENTS} where hearing = ? and segment = ?"
        " and event = 'closed' order by seq limit 1",
        [hearing, segment],
    )
    exists = _one(
        db, f"select 1 from {SEGMENTS} where hearing = ? and segment = ?", [hearing, segment]
    )
    if exists is None:
        if opened is None and closed is None:
            return
        db.execute(f"insert into {SEGMENTS} (hearing, segment) values (?, ?)", [hearing, segment])
    db.execute(
        f"update {SEGMENTS} set opened_seq = ?, actual_start = ?, moderator = ?, closed_seq = ?,"
        " actual_end = ? where hearing = ? and segment = ?",
        [
            opened["seq"] if opened else None,
            opened["at"] if opened else None,
            opened["moderator"] if opened else None,
            closed["seq"] if closed else None,
            closed["at"] if closed else None,
            hearing,
            segment,
        ],
    )


def _apply_correction(
    db: sqlite_utils.Database, hearing: str, target: int, changes: Mapping[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """Fold a correction into the row of the event it corrects.

    Returns the corrected event's type (None when the audit keeps nothing of
    it) and the previous values of the changed fields the audit keeps.
    """
    h = _one(db, f"select * from {HEARINGS} where hearing = ?", [hearing])
    if h is not None and h["scheduled_seq"] == target:
        return "HearingScheduled", _correct_schedule(db, hearing, h, changes)
    if h is not None and h["closed_seq"] == target:
        previous = {"at": h["closed_at"]} if "at" in changes else {}
        if "at" in changes:
            db.execute(
                f"update {HEARINGS} set closed_at = ? where hearing = ?", [changes["at"], hearing]
            )
        return "HearingClosed", previous
    p = _one(db, f"select * from {PARTICIPANTS} where hearing = ? and seq = ?", [hearing, target])
    if p is not None:
        return "ParticipantRegistered", _correct_participant(db, hearing, p, changes)
    i = _one(db, f"select * from {INTERVENTIONS} where hearing = ? and seq = ?", [hearing, target])
    if i is not None:
        return "InterventionDelivered", _correct_intervention(db, hearing, i, changes)
    s = _one(db, f"select * from {SEGMENT_EVENTS} where hearing = ? and seq = ?", [hearing, target])
    if s is not None:
        kind = "SegmentOpened" if s["event"] == "opened" else "SegmentClosed"
        return kind, _correct_segment_event(db, hearing, s, changes, AUDITED_FIELDS[kind])
    return None, {}


def _correct_schedule(
    db: sqlite_utils.Database, hearing: str, row: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    previous: dict[str, Any] = {}
    for field in ("title", "date", "timezone"):
        if field in changes:
            previous[field] = row[field]
            db.execute(
                f"update {HEARINGS} set {field} = ? where hearing = ?", [changes[field], hearing]
            )
    if "stakeholder_groups" in changes:
        previous["stakeholder_groups"] = [
            {"id": g["group_id"], "label": g["label"]}
            for g in db.query(
                f"select group_id, label from {GROUPS} where hearing = ? order by ordinal",
                [hearing],
            )
        ]
        _write_groups(db, hearing, changes["stakeholder_groups"])
    if "programme" in changes:
        previous["programme"] = [
            {k: s[k] for k in ("segment", "kind", "title", "planned_start", "planned_end")}
            for s in db.query(
                f"select * from {SEGMENTS} where hearing = ? and ordinal is not null order by ordinal",
                [hearing],
            )
        ]
        _write_programme(db, hearing, changes["programme"])
    return previous


def _correct_participant(
    db: sqlite_utils.Database, hearing: str, row: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    previous: dict[str, Any] = {}
    for field in sorted(AUDITED_FIELDS["ParticipantRegistered"] & set(changes)):
        value = changes[field]
        if field == "protected":
            previous[field] = bool(row[field])
            value = 1 if value else 0
        else:
            previous[field] = row[field]
        db.execute(
            f"update {PARTICIPANTS} set {field} = ? where hearing = ? and participant = ?",
            [value, hearing, row["participant"]],
        )
    return previous


def _correct_intervention(
    db: sqlite_utils.Database, hearing: str, row: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    fields = sorted(AUDITED_FIELDS["InterventionDelivered"] & set(changes))
    previous = {field: row[field] for field in fields}
    new = {**row, **{field: changes[field] for field in fields}}
    db.execute(
        f"update {INTERVENTIONS} set speaker = ?, segment = ?, role = ?, at = ?, ended_at = ?,"
        " seconds = ? where hearing = ? and seq = ?",
        [
            new["speaker"],
            new["segment"],
            new["role"],
            new["at"],
            new["ended_at"],
            seconds_between(new["at"], new["ended_at"]),
            hearing,
            row["seq"],
        ],
    )
    return previous


def _correct_segment_event(
    db: sqlite_utils.Database,
    hearing: str,
    row: Mapping[str, Any],
    changes: Mapping[str, Any],
    audited: frozenset[str],
) -> dict[str, Any]:
    fields = sorted(audited & set(changes))
    previous = {field: row[field] for field in fields}
    new = {**row, **{field: changes[field] for field in fields}}
    db.execute(
        f"update {SEGMENT_EVENTS} set segment = ?, at = ?, moderator = ? where hearing = ? and seq = ?",
        [new["segment"], new["at"], new["moderator"], hearing, row["seq"]],
    )
    for segment in sorted({row["segment"], new["segment"]}):
        _refresh_segment(db, hearing, segment)
    return previous
