"""The transcript projection (contract v2): its read-model tables and how events fill them.

The host hands this projection shielded records: a protected participant is
known only by their pseudonym (their registration's ``name``, and every
``speaker``/``by``/``moderator`` naming them), their identifying fields are
withheld, and their words stay sealed until a report reveals them.  So the
read model never holds a protected name, organization or word in clear.

Each kind of event fills its query table in batches; a correction arrives
resolved (what it corrected, the fields before and after, the corrected
record), is noted field by field in ``transcript_corrections``, and the
corrected record is derived again into the table it feeds, as if it had been
read so from the start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from hearing_core import (
    WITHHELD,
    Correction,
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

#: Event type -> the ``kind`` of its row in ``transcript_items``.
ITEM_KINDS = {
    "InterventionDelivered": "intervention",
    "PledgeMade": "pledge",
    "RecommendationMade": "recommendation",
    "SummationDelivered": "summation",
}

HEARINGS = "transcript_hearings"
GROUPS = "transcript_groups"
SEGMENTS = "transcript_segments"
PARTICIPANTS = "transcript_participants"
ITEMS = "transcript_items"
CORRECTIONS = "transcript_corrections"


def _json(value: Any) -> str | None:
    """A value as compact, stable JSON (None stays NULL)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class TranscriptProjection(Projection):
    """A hearing's transcript, segment by segment, with corrections applied and noted."""

    name: ClassVar[str] = "transcript"
    demo = {"title": "Transcript (opening)", "format": "markdown", "lines": 30, "order": 1}
    version: ClassVar[int] = 2
    description: ClassVar[str] = (
        "Every intervention by segment, with speaker, organization, stakeholder group, role, "
        "language and times; pledges, recommendations and summations in place; corrections noted."
    )
    formats: ClassVar[tuple[str, ...]] = ("markdown", "text", "json")
    tables: ClassVar[Mapping[str, Table]] = {
        HEARINGS: Table(
            {"hearing": str, "title": str, "venue": str, "date": str, "timezone": str,
             "languages": str, "closed_at": str},
            pk=("hearing",),
        ),
        GROUPS: Table(
            {"hearing": str, "group_id": str, "label": str, "position": int},
            pk=("hearing", "group_id"),
        ),
        SEGMENTS: Table(
            {"hearing": str, "segment": str, "position": int, "kind": str, "title": str,
             "planned_start": str, "planned_end": str, "opened_seq": int, "opened_at": str,
             "moderator": str, "closed_seq": int, "closed_at": str},
            pk=("hearing", "segment"),
        ),
        PARTICIPANTS: Table(
            {"hearing": str, "participant": str, "seq": int, "name": str, "organization": str,
             "stakeholder_group": str, "protected": int},
            pk=("hearing", "participant"),
        ),
        ITEMS: Table(
            {"hearing": str, "seq": int, "kind": str, "segment": str, "person": str, "role": str,
             "language": str, "started_at": str, "ended_at": str, "text": str,
             "translations": str, "gcm_objectives": str, "sg_report_areas": str, "level": str,
             "partners": str, "summarises": str, "key_points": str},
            pk=("hearing", "seq"),
            indexes=(("hearing", "segment", "seq"),),
        ),
        CORRECTIONS: Table(
            {"hearing": str, "seq": int, "position": int, "field": str, "corrects": int,
             "corrects_type": str, "previous": str, "value": str, "withheld": int, "at": str,
             "reason": str},
            pk=("hearing", "seq", "field"),
            indexes=(("hearing", "corrects"),),
        ),
    }  # fmt: skip

    # --- events ---------------------------------------------------------------------

    @handles("HearingScheduled")
    def scheduled(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for event in events:
            _schedule(db, event.record)

    @handles("ParticipantRegistered")
    def registered(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        upsert_rows(
            db,
            PARTICIPANTS,
            [_participant(e.record) for e in events],
            pk=("hearing", "participant"),
        )

    @handles("SegmentOpened", "SegmentClosed")
    def segments(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for event in events:
            _segment_event(db, event.record)

    @handles(*ITEM_KINDS)
    def items(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        insert_rows(db, ITEMS, [_item(e.record) for e in events], replace=True)

    @handles("HearingClosed")
    def closed(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for e in events:
            db.execute(
                "update transcript_hearings set closed_at = ? where hearing = ?",
                [e["at"], e.hearing],
            )

    @handles("CorrectionIssued")
    def corrections(self, corrections: list[Correction], db: sqlite_utils.Database) -> None:
        for c in corrections:
            if c.target_type in self.types:  # else: an event the transcript does not show
                _note(db, c)
                _rederive(db, c)

    # --- reports --------------------------------------------------------------------

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        from hearing_transcript.document import build_document
        from hearing_transcript.render import render_json, render_markdown, render_text

        language = request.option("language") or None
        document = build_document(db, request.hearing, language, request.reveal)
        if request.format == "json":
            return render_json(document, request.hearing)
        if request.format == "text":
            return render_text(document, request.hearing)
        if request.format == "markdown":
            return render_markdown(document, request.hearing)
        raise ValueError(f"unknown format {request.format!r}")


# --- rows from (corrected, shielded) records ------------------------------------------------


def _participant(r: Mapping[str, Any]) -> dict[str, Any]:
    protected = bool(r.get("protected"))
    organization = r.get("organization")
    return {
        "hearing": r["hearing"],
        "participant": r["participant"],
        "seq": r["seq"],
        "name": r.get("name"),
        "organization": None if organization == WITHHELD else organization,
        "stakeholder_group": r.get("stakeholder_group"),
        "protected": int(protected),
    }


def _item(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hearing": r["hearing"],
        "seq": r["seq"],
        "kind": ITEM_KINDS[r["type"]],
        "segment": r.get("segment"),
        "person": r.get("speaker", r.get("by")),
        "role": r.get("role"),
        "language": r.get("language"),
        "started_at": r["at"],
        "ended_at": r.get("ended_at"),
        "text": r.get("text"),
        "translations": _json(r.get("translations") or None),
        "gcm_objectives": _json(r.get("gcm_objectives")),
        "sg_report_areas": _json(r.get("sg_report_areas")),
        "level": r.get("level"),
        "partners": _json(r.get("partners") or None),
        "summarises": r.get("summarises"),
        "key_points": _json(r.get("key_points")),
    }


def _schedule(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    """The hearing's header, stakeholder groups and programme (keeping when it closed)."""
    hearing = r["hearing"]
    upsert_rows(
        db,
        HEARINGS,
        [
            {
                "hearing": hearing,
                "title": r["title"],
                "venue": r["venue"],
                "date": r["date"],
                "timezone": r["timezone"],
                "languages": _json(r["languages"]),
            }
        ],
        pk="hearing",
    )
    db.execute("delete from transcript_groups where hearing = ?", [hearing])
    insert_rows(
        db,
        GROUPS,
        [
            {"hearing": hearing, "group_id": gid, "label": label, "position": i}
            for i, (gid, label) in enumerate(stakeholder_groups(r).items())
        ],
    )
    db.execute(
        "update transcript_segments set position = null, kind = null, title = null,"
        " planned_start = null, planned_end = null where hearing = ?",
        [hearing],
    )
    for position, item in enumerate(r["programme"]):
        _ensure_segment(db, hearing, item["id"])
        db.execute(
            "update transcript_segments set position = ?, kind = ?, title = ?, planned_start = ?,"
            " planned_end = ? where hearing = ? and segment = ?",
            [position, item["kind"], item["title"], item["planned_start"], item["planned_end"],
             hearing, item["id"]],
        )  # fmt: skip


def _segment_event(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    hearing, segment = r["hearing"], r["segment"]
    _ensure_segment(db, hearing, segment)
    if r["type"] == "SegmentOpened":
        db.execute(
            "update transcript_segments set opened_seq = ?, opened_at = ?, moderator = ?"
            " where hearing = ? and segment = ?",
            [r["seq"], r["at"], r.get("moderator"), hearing, segment],
        )
    else:
        db.execute(
            "update transcript_segments set closed_seq = ?, closed_at = ?"
            " where hearing = ? and segment = ?",
            [r["seq"], r["at"], hearing, segment],
        )


def _ensure_segment(db: sqlite_utils.Database, hearing: str, segment: str) -> None:
    db.execute(
        "insert or ignore into transcript_segments (hearing, segment) values (?, ?)",
        [hearing, segment],
    )


# --- corrections ---------------------------------------------------------------------------


def _note(db: sqlite_utils.Database, c: Correction) -> None:
    """One row per changed field: before and after, or withheld (a protected identity)."""
    rows = []
    for position, field in enumerate(c.fields):
        before, after = c.before.get(field), c.after[field]
        withheld = WITHHELD in (before, after)
        rows.append(
            {
                "hearing": c.hearing,
                "seq": c.seq,
                "position": position,
                "field": field,
                "corrects": c.target_seq,
                "corrects_type": c.target_type,
                "previous": None if withheld else _json(before),
                "value": None if withheld else _json(after),
                "withheld": int(withheld),
                "at": c.at,
                "reason": c.reason,
            }
        )
    insert_rows(db, CORRECTIONS, rows, replace=True)


def _rederive(db: sqlite_utils.Database, c: Correction) -> None:
    """Derive the corrected record again into the table it feeds."""
    r, kind = c.record, c.target_type
    if kind == "CorrectionIssued":
        # As in hearing_core.apply_corrections: a corrected correction keeps its effect on
        # its own target; only what it says about itself changes.
        for field in ("reason", "at"):
            if field in c.after:
                db.execute(
                    f"update transcript_corrections set {field} = ? where hearing = ? and seq = ?",  # noqa: S608 (a fixed column name)
                    [c.after[field], c.hearing, c.target_seq],
                )
    elif kind == "HearingScheduled":
        _schedule(db, r)
    elif kind == "ParticipantRegistered":
        upsert_rows(db, PARTICIPANTS, [_participant(r)], pk=("hearing", "participant"))
    elif kind in ("SegmentOpened", "SegmentClosed"):
        which = "opened" if kind == "SegmentOpened" else "closed"
        extra = ", moderator = null" if which == "opened" else ""
        db.execute(
            f"update transcript_segments set {which}_seq = null, {which}_at = null{extra}"  # noqa: S608 (fixed names)
            f" where hearing = ? and {which}_seq = ?",
            [c.hearing, c.target_seq],
        )
        _segment_event(db, r)
    elif kind == "HearingClosed":
        db.execute(
            "update transcript_hearings set closed_at = ? where hearing = ?", [r["at"], c.hearing]
        )
    elif kind in ITEM_KINDS:
        insert_rows(db, ITEMS, [_item(r)], replace=True)
