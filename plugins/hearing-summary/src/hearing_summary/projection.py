"""The ``summary`` projection: its read-model tables and how each event changes them.

Every event the summary uses is kept, as corrected so far, in
``summary_records``; the query tables (items, objectives, areas, partners,
summations, key points, participants, segments, groups) are derived from
those records.  A ``CorrectionIssued`` merges its changes into the stored
record of the event it corrects, derives that event's rows again, and
leaves a row in ``summary_corrections`` saying what changed and why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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

SECTIONS = (
    "all",
    "digest",
    "by-session",
    "by-objective",
    "by-area",
    "by-group",
    "pledges",
    "summations",
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# Writes are plain SQL: one statement per change, where sqlite-utils' upsert would
# first look the table up (replay runs this for every event).


def _upsert(
    db: sqlite_utils.Database, table: str, row: Mapping[str, Any], key: tuple[str, ...]
) -> None:
    """Insert a row, or update the given columns of the row with the same key."""
    columns = list(row)
    updates = [c for c in columns if c not in key]
    action = (
        "do update set " + ", ".join(f"[{c}] = excluded.[{c}]" for c in updates)
        if updates
        else "do nothing"
    )
    db.execute(
        f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "  # noqa: S608
        f"values ({', '.join('?' for _ in columns)}) "
        f"on conflict ({', '.join(f'[{c}]' for c in key)}) {action}",
        [row[c] for c in columns],
    )


def _insert(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        columns = list(row)
        db.execute(
            f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "  # noqa: S608
            f"values ({', '.join('?' for _ in columns)})",
            [row[c] for c in columns],
        )


class SummaryProjection(Projection):
    """Recommendations, pledges and summations, grouped for the hearing's summary."""

    name: ClassVar[str] = "summary"
    demo = {
        "title": "Summary: digest for the opening plenary",
        "format": "markdown",
        "options": {"section": "digest"},
        "order": 2,
    }
    # Written against contract v1: sees protected participants' identities and words in
    # clear, so its tables are personal data until it is ported to v2 (docs/plugins.md).
    needs: ClassVar[frozenset[str]] = frozenset({"identities", "words"})
    version: ClassVar[int] = 1
    description: ClassVar[str] = (
        "Recommendations and pledges by session, GCM objective, SG-report area and "
        "stakeholder group; pledges by level; moderators' summations; a digest for the "
        "opening plenary"
    )
    types: ClassVar[frozenset[str]] = frozenset({*TARGETS, "SegmentClosed", "CorrectionIssued"})
    formats: ClassVar[tuple[str, ...]] = ("markdown", "json")
    tables: ClassVar[Mapping[str, Mapping[str, type]]] = {
        "summary_hearings": {"hearing": str, "title": str, "date": str, "open_segment": str},
        "summary_records": {
            "hearing": str,
            "seq": int,
            "type": str,
            "record": str,
            "open_segment": str,
        },
        "summary_groups": {"hearing": str, "group_id": str, "position": int, "label": str},
        "summary_segments": {
            "hearing": str,
            "segment": str,
            "position": int,
            "kind": str,
            "title": str,
            "opened_seq": int,
            "moderator": str,
        },
        "summary_participants": {
            "hearing": str,
            "participant": str,
            "seq": int,
            "name": str,
            "organization": str,
            "stakeholder_group": str,
            "protected": int,
            "pseudonym": str,
        },
        "summary_items": {
            "hearing": str,
            "seq": int,
            "kind": str,
            "at": str,
            "by": str,
            "text": str,
            "level": str,
            "segment": str,
            "segment_given": str,
            "segment_open": str,
        },
        "summary_item_objectives": {"hearing": str, "seq": int, "objective": int},
        "summary_item_areas": {"hearing": str, "seq": int, "area": int},
        "summary_item_partners": {"hearing": str, "seq": int, "position": int, "partner": str},
        "summary_summations": {
            "hearing": str,
            "seq": int,
            "at": str,
            "by": str,
            "segment": str,
            "summarises": str,
        },
        "summary_key_points": {"hearing": str, "seq": int, "position": int, "point": str},
        "summary_corrections": {
            "hearing": str,
            "seq": int,
            "at": str,
            "corrects": int,
            "target": str,
            "changes": str,
            "previous": str,
            "reason": str,
        },
    }
    #: Each table's primary key.
    keys: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "summary_hearings": ("hearing",),
        "summary_records": ("hearing", "seq"),
        "summary_groups": ("hearing", "group_id"),
        "summary_segments": ("hearing", "segment"),
        "summary_participants": ("hearing", "participant"),
        "summary_items": ("hearing", "seq"),
        "summary_item_objectives": ("hearing", "seq", "objective"),
        "summary_item_areas": ("hearing", "seq", "area"),
        "summary_item_partners": ("hearing", "seq", "position"),
        "summary_summations": ("hearing", "seq"),
        "summary_key_points": ("hearing", "seq", "position"),
        "summary_corrections": ("hearing", "seq"),
    }

    def create_tables(self, db: sqlite_utils.Database) -> None:
        for table, columns in self.tables.items():
            db.table(table).create(dict(columns), pk=self.keys[table], if_not_exists=True)

    # --- events --------------------------------------------------------------------

    def handle(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        hearing = event.hearing
        if event.type == "CorrectionIssued":
            self._correct(event, db)
            return
        if event.type == "SegmentClosed":
            db.execute(
                "update summary_hearings set open_segment = null where hearing = ?", [hearing]
            )
            return
        record = {k: v for k, v in event.record.items() if k != "digest"}
        open_segment = None
        if event.type in (RECOMMENDATION_T, PLEDGE_T):
            row = db.execute(
                "select open_segment from summary_hearings where hearing = ?", [hearing]
            ).fetchone()
            open_segment = row[0] if row else None
        _upsert(
            db,
            "summary_records",
            {
                "hearing": hearing,
                "seq": event.seq,
                "type": event.type,
                "record": _json(record),
                "open_segment": open_segment,
            },
            ("hearing", "seq"),
        )
        if event.type == "SegmentOpened":
            _upsert(
                db,
                "summary_hearings",
                {"hearing": hearing, "open_segment": record["segment"]},
                ("hearing",),
            )
        _derive(db, hearing, event.seq, event.type, record, open_segment)

    def _correct(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        hearing = event.hearing
        row = db.execute(
            "select type, record, open_segment from summary_records where hearing = ? and seq = ?",
            [hearing, event["corrects"]],
        ).fetchone()
        if row is None:
            return  # a correction of something the summary does not show (e.g. a time)
        target_type, stored, open_segment = row
        record = json.loads(stored)
        changes = dict(event["changes"])
        previous = {k: record.get(k) for k in changes}
        record.update(changes)
        db.execute(
            "update summary_records set record = ? where hearing = ? and seq = ?",
            [_json(record), hearing, event["corrects"]],
        )
        _derive(db, hearing, event["corrects"], target_type, record, open_segment)
        _upsert(
            db,
            "summary_corrections",
            {
                "hearing": hearing,
                "seq": event.seq,
                "at": event["at"],
                "corrects": event["corrects"],
                "target": TARGETS[target_type],
                "changes": _json(changes),
                "previous": _json(previous),
                "reason": event["reason"],
            },
            ("hearing", "seq"),
        )

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
        summary = load(db, request.hearing)
        if request.format == "json":
            return render_json(summary, section)
        return render_markdown(summary, section)


def _derive(
    db: sqlite_utils.Database,
    hearing: str,
    seq: int,
    event_type: str,
    record: Mapping[str, Any],
    open_segment: str | None,
) -> None:
    """(Re)build the query rows that come from one (corrected) record."""
    if event_type == "HearingScheduled":
        _derive_hearing(db, hearing, record)
    elif event_type == "ParticipantRegistered":
        _derive_participant(db, hearing, seq, record)
    elif event_type == "SegmentOpened":
        db.execute(
            "update summary_segments set opened_seq = null, moderator = null "
            "where hearing = ? and opened_seq = ?",
            [hearing, seq],
        )
        _upsert(
            db,
            "summary_segments",
            {
                "hearing": hearing,
                "segment": record["segment"],
                "opened_seq": seq,
                "moderator": record.get("moderator"),
            },
            ("hearing", "segment"),
        )
    elif event_type in (RECOMMENDATION_T, PLEDGE_T):
        _derive_item(db, hearing, seq, event_type, record, open_segment)
    elif event_type == "SummationDelivered":
        _derive_summation(db, hearing, seq, record)


def _derive_hearing(db: sqlite_utils.Database, hearing: str, record: Mapping[str, Any]) -> None:
    _upsert(
        db,
        "summary_hearings",
        {"hearing": hearing, "title": record["title"], "date": record["date"]},
        ("hearing",),
    )
    groups = record.get("stakeholder_groups")
    if groups is None:
        groups = [{"id": k, "label": v} for k, v in DEFAULT_STAKEHOLDER_GROUPS.items()]
    db.execute("delete from summary_groups where hearing = ?", [hearing])
    _insert(
        db,
        "summary_groups",
        [
            {"hearing": hearing, "group_id": g["id"], "position": i, "label": g["label"]}
            for i, g in enumerate(groups)
        ],
    )
    # A corrected programme may drop a segment: it keeps its row, without a place.
    db.execute("update summary_segments set position = null where hearing = ?", [hearing])
    for i, item in enumerate(record["programme"]):
        _upsert(
            db,
            "summary_segments",
            {
                "hearing": hearing,
                "segment": item["id"],
                "position": i,
                "kind": item["kind"],
                "title": item["title"],
            },
            ("hearing", "segment"),
        )


def _derive_participant(
    db: sqlite_utils.Database, hearing: str, seq: int, record: Mapping[str, Any]
) -> None:
    _upsert(
        db,
        "summary_participants",
        {
            "hearing": hearing,
            "participant": record["participant"],
            "seq": seq,
            "name": record["name"],
            "organization": record.get("organization"),
            "stakeholder_group": record.get("stakeholder_group"),
            "protected": 1 if record.get("protected") else 0,
        },
        ("hearing", "participant"),
    )
    # Pseudonyms follow the order of protected registrations, as hearing_core.pseudonyms does.
    rows = db.execute(
        "select participant, protected from summary_participants where hearing = ? order by seq",
        [hearing],
    ).fetchall()
    n = 0
    for participant, protected in rows:
        pseudonym = None
        if protected:
            n += 1
            pseudonym = f"Protected speaker {n}"
        db.execute(
            "update summary_participants set pseudonym = ? where hearing = ? and participant = ?",
            [pseudonym, hearing, participant],
        )


def _derive_item(
    db: sqlite_utils.Database,
    hearing: str,
    seq: int,
    event_type: str,
    record: Mapping[str, Any],
    open_segment: str | None,
) -> None:
    for table in (
        "summary_items",
        "summary_item_objectives",
        "summary_item_areas",
        "summary_item_partners",
    ):
        db.execute(f"delete from {table} where hearing = ? and seq = ?", [hearing, seq])  # noqa: S608
    given = record.get("segment")
    _insert(
        db,
        "summary_items",
        [
            {
                "hearing": hearing,
                "seq": seq,
                "kind": RECOMMENDATION if event_type == RECOMMENDATION_T else PLEDGE,
                "at": record["at"],
                "by": record["by"],
                "text": record["text"],
                "level": record.get("level"),
                "segment": given or open_segment,
                "segment_given": given,
                "segment_open": open_segment,
            }
        ],
    )
    _insert(
        db,
        "summary_item_objectives",
        [
            {"hearing": hearing, "seq": seq, "objective": int(o)}
            for o in sorted(set(record.get("gcm_objectives") or ()))
        ],
    )
    _insert(
        db,
        "summary_item_areas",
        [
            {"hearing": hearing, "seq": seq, "area": int(a)}
            for a in sorted(set(record.get("sg_report_areas") or ()))
        ],
    )
    _insert(
        db,
        "summary_item_partners",
        [
            {"hearing": hearing, "seq": seq, "position": i, "partner": p}
            for i, p in enumerate(record.get("partners") or ())
        ],
    )


def _derive_summation(
    db: sqlite_utils.Database, hearing: str, seq: int, record: Mapping[str, Any]
) -> None:
    for table in ("summary_summations", "summary_key_points"):
        db.execute(f"delete from {table} where hearing = ? and seq = ?", [hearing, seq])  # noqa: S608
    _insert(
        db,
        "summary_summations",
        [
            {
                "hearing": hearing,
                "seq": seq,
                "at": record["at"],
                "by": record["by"],
                "segment": record["segment"],
                "summarises": record["summarises"],
            }
        ],
    )
    _insert(
        db,
        "summary_key_points",
        [
            {"hearing": hearing, "seq": seq, "position": i, "point": p}
            for i, p in enumerate(record["key_points"])
        ],
    )
