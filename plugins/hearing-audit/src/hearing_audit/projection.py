"""The audit read model (contract v2): one row per thing the audit needs, kept per hearing.

The tables keep facts, not conclusions: each intervention with its speaker,
each participant with their stakeholder group, each segment with its planned
and actual times.  Group attribution, shares and the balance index are worked
out at render time (see :mod:`hearing_audit.model`), so a correction of a
participant's group moves all their speaking time, retroactively.

Records arrive shielded: a protected participant is known by their pseudonym
only (as ``participant``, ``speaker`` and ``moderator``, and as their
registration's ``name``) and their identifying fields are withheld, so these
tables never hold a protected name.  A correction arrives resolved: it is noted
in ``audit_corrections`` and the corrected record is derived again into the
table it feeds, as if it had been read so from the start.
"""

# Table names in SQL are this module's constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from hearing_core import (
    WITHHELD,
    Correction,
    Page,
    Projection,
    RecordedEvent,
    Report,
    ReportRequest,
    Table,
    handles,
    insert_rows,
    stakeholder_groups,
    upsert_rows,
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

#: Fields of each corrected event type that the audit keeps (and so shows when corrected).
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

_SEGMENT_EVENT = {"SegmentOpened": "opened", "SegmentClosed": "closed"}


def seconds_between(start: str, end: str) -> float:
    """Length of an intervention in seconds; an end before the start counts 0."""
    length = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return max(0.0, length)


class AuditProjection(Projection):
    """Stakeholder balance, programme adherence and the moderator's live view."""

    name: ClassVar[str] = NAME
    demo = {"title": "Stakeholder-balance audit", "format": "table", "order": 3}
    version: ClassVar[int] = 2
    description: ClassVar[str] = (
        "Stakeholder-balance audit: who spoke, for how long, in which segment; "
        "programme adherence; the moderator's live status."
    )
    # Every event type: each one moves the hearing's clock (``last_seq``, ``last_at``).
    types: ClassVar[frozenset[str]] = frozenset()
    formats: ClassVar[tuple[str, ...]] = (
        "table",
        "json",
        "csv",
        "programme",
        "status",
        "html",
        "status-json",
    )
    tables: ClassVar[Mapping[str, Table]] = {
        HEARINGS: Table(
            {"hearing": str, "title": str, "date": str, "timezone": str, "scheduled_seq": int,
             "closed_seq": int, "closed_at": str, "last_seq": int, "last_at": str},
            pk=("hearing",),
        ),
        GROUPS: Table(
            {"hearing": str, "ordinal": int, "group_id": str, "label": str},
            pk=("hearing", "group_id"),
        ),
        SEGMENTS: Table(
            {"hearing": str, "segment": str, "ordinal": int, "kind": str, "title": str,
             "planned_start": str, "planned_end": str, "opened_seq": int, "actual_start": str,
             "closed_seq": int, "actual_end": str, "moderator": str},
            pk=("hearing", "segment"),
        ),
        SEGMENT_EVENTS: Table(
            {"hearing": str, "seq": int, "event": str, "segment": str, "at": str,
             "moderator": str},
            pk=("hearing", "seq"),
            indexes=(("hearing", "segment", "event", "seq"),),
        ),
        PARTICIPANTS: Table(
            {"hearing": str, "participant": str, "seq": int, "name": str, "organization": str,
             "stakeholder_group": str, "region": str, "country": str, "protected": int},
            pk=("hearing", "participant"),
        ),
        INTERVENTIONS: Table(
            {"hearing": str, "seq": int, "speaker": str, "segment": str, "role": str, "at": str,
             "ended_at": str, "seconds": float},
            pk=("hearing", "seq"),
        ),
        CORRECTIONS: Table(
            {"hearing": str, "seq": int, "at": str, "corrects": int, "corrected_type": str,
             "changes": str, "previous": str, "reason": str, "affects_audit": int},
            pk=("hearing", "seq"),
        ),
    }  # fmt: skip

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        from hearing_audit.render import render_report  # rich tables load only when rendering

        return render_report(db, request)

    # --- events ----------------------------------------------------------------------

    def handle_page(self, page: Page, db: sqlite_utils.Database) -> None:
        """The ``@handles`` methods, then each hearing's clock moved to its last event.

        Events the audit keeps nothing of (pledges, say) only move the clock, so they are
        left out of the dispatch: runs of interventions stay whole, one batch each.
        """
        handled = tuple(e for e in page if e.type in self.handlers)
        super().handle_page(Page(handled, page.corrections), db)
        last: dict[str, RecordedEvent] = {e.hearing: e for e in page}
        db.conn.executemany(
            f"update {HEARINGS} set last_seq = ?, last_at = ? where hearing = ?",
            [(e.seq, e["at"], hearing) for hearing, e in last.items()],
        )

    @handles("HearingScheduled")
    def scheduled(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for e in events:
            _schedule(db, e.record)

    @handles("ParticipantRegistered")
    def registered(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        insert_rows(db, PARTICIPANTS, [_participant(e.record) for e in events], replace=True)

    @handles(*_SEGMENT_EVENT)
    def segment_events(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        insert_rows(db, SEGMENT_EVENTS, [_segment_event(e.record) for e in events], replace=True)
        for hearing, segment in dict.fromkeys((e.hearing, e["segment"]) for e in events):
            _refresh_segment(db, hearing, segment)

    @handles("InterventionDelivered")
    def interventions(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        insert_rows(db, INTERVENTIONS, [_intervention(e.record) for e in events], replace=True)

    @handles("HearingClosed")
    def closed(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        db.conn.executemany(
            f"update {HEARINGS} set closed_seq = ?, closed_at = ? where hearing = ?",
            [(e.seq, e["at"], e.hearing) for e in events],
        )

    @handles("CorrectionIssued")
    def corrections(self, corrections: list[Correction], db: sqlite_utils.Database) -> None:
        for c in corrections:
            _note(db, c)
            _rederive(db, c)


# --- rows from (corrected, shielded) records ----------------------------------------------


def _known(value: Any) -> Any:
    """A withheld identifying field is stored as unknown (NULL), like one never given."""
    return None if value == WITHHELD else value


def _participant(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hearing": r["hearing"],
        "participant": r["participant"],
        "seq": r["seq"],
        "name": r["name"],
        "organization": _known(r.get("organization")),
        "stakeholder_group": r.get("stakeholder_group"),
        "region": _known(r.get("region")),
        "country": _known(r.get("country")),
        "protected": 1 if r.get("protected") else 0,
    }


def _segment_event(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hearing": r["hearing"],
        "seq": r["seq"],
        "event": _SEGMENT_EVENT[r["type"]],
        "segment": r["segment"],
        "at": r["at"],
        "moderator": r.get("moderator") if r["type"] == "SegmentOpened" else None,
    }


def _intervention(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hearing": r["hearing"],
        "seq": r["seq"],
        "speaker": r["speaker"],
        "segment": r["segment"],
        "role": r["role"],
        "at": r["at"],
        "ended_at": r["ended_at"],
        "seconds": seconds_between(r["at"], r["ended_at"]),
    }


def _schedule(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    """The hearing's header, stakeholder groups and programme (keeping its clock and close)."""
    hearing = r["hearing"]
    upsert_rows(
        db,
        HEARINGS,
        [{"hearing": hearing, "title": r["title"], "date": r["date"], "timezone": r["timezone"],
         "scheduled_seq": r["seq"]}],
        pk="hearing",
    )  # fmt: skip
    db.execute(f"delete from {GROUPS} where hearing = ?", [hearing])
    insert_rows(
        db,
        GROUPS,
        [
            {"hearing": hearing, "ordinal": i, "group_id": gid, "label": label}
            for i, (gid, label) in enumerate(stakeholder_groups(r).items())
        ],
    )
    _write_programme(db, hearing, r["programme"])


def _write_programme(
    db: sqlite_utils.Database, hearing: str, programme: Sequence[Mapping[str, Any]]
) -> None:
    """Write the planned side of every segment; segments dropped from the plan keep their actuals."""
    db.execute(
        f"update {SEGMENTS} set ordinal = null, kind = null, title = null,"
        " planned_start = null, planned_end = null where hearing = ?",
        [hearing],
    )
    upsert_rows(
        db,
        SEGMENTS,
        [
            {"hearing": hearing, "segment": item["id"], "ordinal": i, "kind": item["kind"],
             "title": item["title"], "planned_start": item["planned_start"],
             "planned_end": item["planned_end"]}
            for i, item in enumerate(programme)
        ],
        pk=("hearing", "segment"),
    )  # fmt: skip
    for item in programme:
        _refresh_segment(db, hearing, item["id"])


def _refresh_segment(db: sqlite_utils.Database, hearing: str, segment: str) -> None:
    """Recompute a segment's actual start, end and moderator from its open/close events."""

    def first(event: str) -> tuple[Any, ...]:
        row = db.execute(
            f"select seq, at, moderator from {SEGMENT_EVENTS} where hearing = ? and segment = ?"
            " and event = ? order by seq limit 1",
            [hearing, segment, event],
        ).fetchone()
        return tuple(row) if row else (None, None, None)

    opened, closed = first("opened"), first("closed")
    if opened[0] is None and closed[0] is None:
        exists = db.execute(
            f"select 1 from {SEGMENTS} where hearing = ? and segment = ?", [hearing, segment]
        ).fetchone()
        if exists is None:
            return
    upsert_rows(
        db,
        SEGMENTS,
        [{"hearing": hearing, "segment": segment, "opened_seq": opened[0],
         "actual_start": opened[1], "moderator": opened[2], "closed_seq": closed[0],
         "actual_end": closed[1]}],
        pk=("hearing", "segment"),
    )  # fmt: skip


# --- corrections ---------------------------------------------------------------------------


def _note(db: sqlite_utils.Database, c: Correction) -> None:
    """What the correction changed, and the earlier values of the fields the audit keeps."""
    audited = AUDITED_FIELDS.get(c.target_type, frozenset())
    previous = {f: c.before.get(f) for f in sorted(audited & set(c.fields))}
    if "protected" in previous:
        previous["protected"] = bool(previous["protected"])
    insert_rows(
        db,
        CORRECTIONS,
        [{"hearing": c.hearing, "seq": c.seq, "at": c.at, "corrects": c.target_seq,
         "corrected_type": c.target_type if c.target_type in AUDITED_FIELDS else None,
         "changes": _json(c.after), "previous": _json(previous), "reason": c.reason,
         "affects_audit": int(bool(previous))}],
        replace=True,
    )  # fmt: skip


def _rederive(db: sqlite_utils.Database, c: Correction) -> None:
    """Derive the corrected record again into the table it feeds."""
    r, kind = c.record, c.target_type
    if kind == "HearingScheduled":
        _schedule(db, r)
    elif kind == "ParticipantRegistered":
        insert_rows(db, PARTICIPANTS, [_participant(r)], replace=True)
    elif kind == "InterventionDelivered":
        insert_rows(db, INTERVENTIONS, [_intervention(r)], replace=True)
    elif kind in _SEGMENT_EVENT:
        before = db.execute(
            f"select segment from {SEGMENT_EVENTS} where hearing = ? and seq = ?",
            [c.hearing, c.target_seq],
        ).fetchone()
        insert_rows(db, SEGMENT_EVENTS, [_segment_event(r)], replace=True)
        for segment in sorted({r["segment"], *(before or ())}):
            _refresh_segment(db, c.hearing, segment)
    elif kind == "HearingClosed":
        db.execute(f"update {HEARINGS} set closed_at = ? where hearing = ?", [r["at"], c.hearing])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
