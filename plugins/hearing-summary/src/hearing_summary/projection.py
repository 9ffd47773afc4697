"""The ``summary`` projection (contract v2): its read-model tables and how events fill them.

The query tables (items, objectives, areas, partners, summations, key points,
participants, segments, groups) are derived from each record as it arrives.
A correction arrives resolved by the host: the corrected record is derived
again into the rows it feeds, and a row in ``summary_corrections`` says what
changed and why.

Records arrive shielded: a protected participant is known by their pseudonym
only, their identifying fields are withheld and their words stay sealed (the
report reveals them, for whoever holds the key), so these tables hold no
protected name or word in clear.
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
from hearing_summary.sections import SECTIONS

if TYPE_CHECKING:  # annotations only: importing the plugin stays cheap
    import sqlite_utils
    from rich.console import RenderableType

#: Event types of the items.
RECOMMENDATION_T = "RecommendationMade"
PLEDGE_T = "PledgeMade"

#: Item kinds, as stored in ``summary_items.kind``.
RECOMMENDATION = "recommendation"
PLEDGE = "pledge"

#: Event type -> what a correction of it is called in the report.
TARGETS: Mapping[str, str] = {
    "HearingScheduled": "hearing",
    "ParticipantRegistered": "participant",
    "SegmentOpened": "segment",
    "RecommendationMade": RECOMMENDATION,
    "PledgeMade": PLEDGE,
    "SummationDelivered": "summation",
}


HEARINGS = "summary_hearings"
GROUPS = "summary_groups"
SEGMENTS = "summary_segments"
PARTICIPANTS = "summary_participants"
ITEMS = "summary_items"
OBJECTIVES = "summary_item_objectives"
AREAS = "summary_item_areas"
PARTNERS = "summary_item_partners"
SUMMATIONS = "summary_summations"
KEY_POINTS = "summary_key_points"
CORRECTIONS = "summary_corrections"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class SummaryProjection(Projection):
    """Recommendations, pledges and summations, grouped for the hearing's summary."""

    name: ClassVar[str] = "summary"
    demo = {
        "title": "Summary: digest for the opening plenary",
        "format": "markdown",
        "options": {"section": "digest"},
        "order": 2,
    }
    version: ClassVar[int] = 2
    description: ClassVar[str] = (
        "Recommendations and pledges by session, GCM objective, SG-report area and "
        "stakeholder group; pledges by level; moderators' summations; a digest for the "
        "opening plenary"
    )
    formats: ClassVar[tuple[str, ...]] = ("markdown", "json")
    tables: ClassVar[Mapping[str, Table]] = {
        HEARINGS: Table(
            {"hearing": str, "title": str, "date": str, "open_segment": str}, pk=("hearing",)
        ),
        GROUPS: Table(
            {"hearing": str, "group_id": str, "position": int, "label": str},
            pk=("hearing", "group_id"),
        ),
        SEGMENTS: Table(
            {"hearing": str, "segment": str, "position": int, "kind": str, "title": str,
             "opened_seq": int, "moderator": str},
            pk=("hearing", "segment"),
        ),
        PARTICIPANTS: Table(
            {"hearing": str, "participant": str, "seq": int, "name": str, "organization": str,
             "stakeholder_group": str, "protected": int},
            pk=("hearing", "participant"),
        ),
        ITEMS: Table(
            {"hearing": str, "seq": int, "kind": str, "at": str, "by": str, "text": str,
             "level": str, "segment": str, "segment_given": str, "segment_open": str},
            pk=("hearing", "seq"),
        ),
        OBJECTIVES: Table(
            {"hearing": str, "seq": int, "objective": int}, pk=("hearing", "seq", "objective")
        ),
        AREAS: Table({"hearing": str, "seq": int, "area": int}, pk=("hearing", "seq", "area")),
        PARTNERS: Table(
            {"hearing": str, "seq": int, "position": int, "partner": str},
            pk=("hearing", "seq", "position"),
        ),
        SUMMATIONS: Table(
            {"hearing": str, "seq": int, "at": str, "by": str, "segment": str,
             "summarises": str},
            pk=("hearing", "seq"),
        ),
        KEY_POINTS: Table(
            {"hearing": str, "seq": int, "position": int, "point": str},
            pk=("hearing", "seq", "position"),
        ),
        CORRECTIONS: Table(
            {"hearing": str, "seq": int, "at": str, "corrects": int, "target": str,
             "changes": str, "previous": str, "reason": str},
            pk=("hearing", "seq"),
        ),
    }  # fmt: skip

    # --- events --------------------------------------------------------------------

    @handles("HearingScheduled")
    def scheduled(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for e in events:
            _derive_hearing(db, e.record)

    @handles("ParticipantRegistered")
    def registered(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        insert_rows(db, PARTICIPANTS, [_participant(e.record) for e in events], replace=True)

    @handles("SegmentOpened", "SegmentClosed")
    def segments(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for e in events:
            opened = e.type == "SegmentOpened"
            if opened:
                _derive_opening(db, e.record)
            upsert_rows(
                db,
                HEARINGS,
                [{"hearing": e.hearing, "open_segment": e["segment"] if opened else None}],
                pk="hearing",
            )

    @handles(RECOMMENDATION_T, PLEDGE_T)
    def items(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        # No segment opens or closes within a run of items: one look-up per hearing.
        hearings = {e.hearing for e in events}
        open_segment = dict(
            db.execute(
                f"select hearing, open_segment from {HEARINGS} where hearing in"  # noqa: S608
                f" ({', '.join('?' for _ in hearings)})",
                sorted(hearings),
            ).fetchall()
        )
        _insert(db, [_item_rows(e.record, open_segment.get(e.hearing)) for e in events])

    @handles("SummationDelivered")
    def summations(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        _insert(db, [_summation_rows(e.record) for e in events])

    @handles("CorrectionIssued")
    def corrections(self, corrections: list[Correction], db: sqlite_utils.Database) -> None:
        for c in corrections:
            if c.target_type in TARGETS:  # else: something the summary does not show
                _rederive(db, c)
                insert_rows(
                    db,
                    CORRECTIONS,
                    [{"hearing": c.hearing, "seq": c.seq, "at": c.at, "corrects": c.target_seq,
                     "target": TARGETS[c.target_type], "changes": _json(c.after),
                     "previous": _json(c.before), "reason": c.reason}],
                    replace=True,
                )  # fmt: skip

    # --- reports -------------------------------------------------------------------

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        from hearing_summary.model import load
        from hearing_summary.render import render_json, render_markdown

        section = str(request.option("section", "all"))
        if section not in SECTIONS:
            return Report(
                "",
                exit_code=2,
                message=f"unknown section {section!r}; choose one of {', '.join(SECTIONS)}",
            )
        summary = load(db, request.hearing, request.reveal)
        if request.format == "json":
            return render_json(summary, section)
        return render_markdown(summary, section)


# --- rows from (corrected, shielded) records ----------------------------------------------


def _rederive(db: sqlite_utils.Database, c: Correction) -> None:
    """Derive the corrected record again into the rows it feeds."""
    r, kind = c.record, c.target_type
    if kind == "HearingScheduled":
        _derive_hearing(db, r)
    elif kind == "ParticipantRegistered":
        insert_rows(db, PARTICIPANTS, [_participant(r)], replace=True)
    elif kind == "SegmentOpened":
        _derive_opening(db, r)
    elif kind in (RECOMMENDATION_T, PLEDGE_T):
        row = db.execute(
            f"select segment_open from {ITEMS} where hearing = ? and seq = ?",  # noqa: S608
            [c.hearing, c.target_seq],
        ).fetchone()
        _replace(db, r, _item_rows(r, row[0] if row else None))
    elif kind == "SummationDelivered":
        _replace(db, r, _summation_rows(r))


def _derive_hearing(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    hearing = r["hearing"]
    upsert_rows(
        db, HEARINGS, [{"hearing": hearing, "title": r["title"], "date": r["date"]}], pk="hearing"
    )
    db.execute(f"delete from {GROUPS} where hearing = ?", [hearing])  # noqa: S608
    insert_rows(
        db,
        GROUPS,
        [
            {"hearing": hearing, "group_id": gid, "position": i, "label": label}
            for i, (gid, label) in enumerate(stakeholder_groups(r).items())
        ],
    )
    # A corrected programme may drop a segment: it keeps its row, without a place.
    db.execute(f"update {SEGMENTS} set position = null where hearing = ?", [hearing])  # noqa: S608
    upsert_rows(
        db,
        SEGMENTS,
        [
            {"hearing": hearing, "segment": item["id"], "position": i, "kind": item["kind"],
             "title": item["title"]}
            for i, item in enumerate(r["programme"])
        ],
        pk=("hearing", "segment"),
    )  # fmt: skip


def _participant(r: Mapping[str, Any]) -> dict[str, Any]:
    organization = r.get("organization")
    return {
        "hearing": r["hearing"],
        "participant": r["participant"],
        "seq": r["seq"],
        "name": r["name"],
        "organization": None if organization == WITHHELD else organization,
        "stakeholder_group": r.get("stakeholder_group"),
        "protected": 1 if r.get("protected") else 0,
    }


def _derive_opening(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    """The segment an opening opened (a corrected opening leaves the segment it named)."""
    db.execute(
        f"update {SEGMENTS} set opened_seq = null, moderator = null"  # noqa: S608
        " where hearing = ? and opened_seq = ?",
        [r["hearing"], r["seq"]],
    )
    upsert_rows(
        db,
        SEGMENTS,
        [{"hearing": r["hearing"], "segment": r["segment"], "opened_seq": r["seq"],
         "moderator": r.get("moderator")}],
        pk=("hearing", "segment"),
    )  # fmt: skip


def _insert(db: sqlite_utils.Database, records: list[dict[str, list[dict[str, Any]]]]) -> None:
    """New records' rows, ``[{table: rows}]``: one batch per table."""
    for table in records[0]:
        insert_rows(db, table, [row for rows in records for row in rows[table]])


def _replace(db: sqlite_utils.Database, r: Mapping[str, Any], rows: dict[str, Any]) -> None:
    """A corrected record's rows, in place of those it had."""
    for table in rows:
        db.execute(f"delete from {table} where hearing = ? and seq = ?", [r["hearing"], r["seq"]])  # noqa: S608
    _insert(db, [rows])


def _item_rows(r: Mapping[str, Any], open_segment: Any) -> dict[str, list[dict[str, Any]]]:
    hearing, seq, given = r["hearing"], r["seq"], r.get("segment")
    key = {"hearing": hearing, "seq": seq}
    return {
        ITEMS: [
            {**key, "kind": RECOMMENDATION if r["type"] == RECOMMENDATION_T else PLEDGE,
             "at": r["at"], "by": r["by"], "text": r["text"], "level": r.get("level"),
             "segment": given or open_segment, "segment_given": given,
             "segment_open": open_segment}
        ],
        OBJECTIVES: [
            {**key, "objective": int(o)} for o in sorted(set(r.get("gcm_objectives") or ()))
        ],
        AREAS: [{**key, "area": int(a)} for a in sorted(set(r.get("sg_report_areas") or ()))],
        PARTNERS: [
            {**key, "position": i, "partner": p} for i, p in enumerate(r.get("partners") or ())
        ],
    }  # fmt: skip


def _summation_rows(r: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    key = {"hearing": r["hearing"], "seq": r["seq"]}
    return {
        SUMMATIONS: [
            {**key, "at": r["at"], "by": r["by"], "segment": r["segment"],
             "summarises": r["summarises"]}
        ],
        KEY_POINTS: [
            {**key, "position": i, "point": p} for i, p in enumerate(r["key_points"])
        ],
    }  # fmt: skip
