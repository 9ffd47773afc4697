"""The transcript projection: its read-model tables and how events fill them.

Every event of a hearing is kept, as currently corrected, in
``transcript_records``; the query tables (hearings, groups, segments,
participants, items) are derived from those records one event at a time.
A ``CorrectionIssued`` merges its changes into the record it corrects, notes
each changed field in ``transcript_corrections`` (with the old and new
values and the reason), and re-derives that hearing's query tables from its
records, so a corrected registration, programme or intervention shows
everywhere it is used, exactly as if the corrected record had been read
from the start.

Protected participants' names and organizations are never written to the
read model (nor the old or new values of corrections to them), so the
read model itself can be shown to an auditor.
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

#: Participant fields that identify a person: never stored for protected participants.
IDENTITY_FIELDS = ("name", "organization")

#: Event type -> the ``kind`` of its row in ``transcript_items``.
ITEM_KINDS = {
    "InterventionDelivered": "intervention",
    "PledgeMade": "pledge",
    "RecommendationMade": "recommendation",
    "SummationDelivered": "summation",
}

RECORDS = "transcript_records"
HEARINGS = "transcript_hearings"
GROUPS = "transcript_groups"
SEGMENTS = "transcript_segments"
PARTICIPANTS = "transcript_participants"
ITEMS = "transcript_items"
CORRECTIONS = "transcript_corrections"


_PKS: dict[str, tuple[str, ...]] = {
    RECORDS: ("hearing", "seq"),
    HEARINGS: ("hearing",),
    GROUPS: ("hearing", "group_id"),
    SEGMENTS: ("hearing", "segment"),
    PARTICIPANTS: ("hearing", "participant"),
    ITEMS: ("hearing", "seq"),
    CORRECTIONS: ("hearing", "seq", "field"),
}


def _json(value: Any) -> str | None:
    """A value as compact, stable JSON (None stays NULL)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _scrub(record: dict[str, Any]) -> dict[str, Any]:
    """A record with a protected participant's identity removed."""
    if record.get("type") == "ParticipantRegistered" and record.get("protected"):
        return {**record, **dict.fromkeys(IDENTITY_FIELDS)}
    return record


def _scrub_correction(correction: Mapping[str, Any]) -> dict[str, Any]:
    """A correction of a protected participant's registration, identity values removed."""
    changes = {k: (None if k in IDENTITY_FIELDS else v) for k, v in correction["changes"].items()}
    return {**correction, "changes": changes}


class TranscriptProjection(Projection):
    """A hearing's transcript, segment by segment, with corrections applied and noted."""

    name: ClassVar[str] = "transcript"
    # Written against contract v1: sees protected participants' identities and words in
    # clear, so its tables are personal data until it is ported to v2 (docs/plugins.md).
    needs: ClassVar[frozenset[str]] = frozenset({"identities", "words"})
    version: ClassVar[int] = 1
    description: ClassVar[str] = (
        "Every intervention by segment, with speaker, organization, stakeholder group, role, "
        "language and times; pledges, recommendations and summations in place; corrections noted."
    )
    types: ClassVar[frozenset[str]] = frozenset(
        {
            "HearingScheduled",
            "ParticipantRegistered",
            "SegmentOpened",
            "SegmentClosed",
            *ITEM_KINDS,
            "HearingClosed",
            "CorrectionIssued",
        }
    )
    formats: ClassVar[tuple[str, ...]] = ("markdown", "text", "json")
    tables: ClassVar[Mapping[str, Mapping[str, type]]] = {
        RECORDS: {"hearing": str, "seq": int, "type": str, "record": str},
        HEARINGS: {
            "hearing": str,
            "title": str,
            "venue": str,
            "date": str,
            "timezone": str,
            "languages": str,
            "closed_at": str,
        },
        GROUPS: {"hearing": str, "group_id": str, "label": str, "position": int},
        SEGMENTS: {
            "hearing": str,
            "segment": str,
            "position": int,
            "kind": str,
            "title": str,
            "planned_start": str,
            "planned_end": str,
            "opened_seq": int,
            "opened_at": str,
            "moderator": str,
            "closed_seq": int,
            "closed_at": str,
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
        ITEMS: {
            "hearing": str,
            "seq": int,
            "kind": str,
            "segment": str,
            "person": str,
            "role": str,
            "language": str,
            "started_at": str,
            "ended_at": str,
            "text": str,
            "translations": str,
            "gcm_objectives": str,
            "sg_report_areas": str,
            "level": str,
            "partners": str,
            "summarises": str,
            "key_points": str,
        },
        CORRECTIONS: {
            "hearing": str,
            "seq": int,
            "position": int,
            "field": str,
            "corrects": int,
            "corrects_type": str,
            "previous": str,
            "value": str,
            "withheld": int,
            "at": str,
            "reason": str,
        },
    }

    # --- tables ---------------------------------------------------------------------

    def create_tables(self, db: sqlite_utils.Database) -> None:
        for table, columns in self.tables.items():
            db.table(table).create(dict(columns), pk=_PKS[table], if_not_exists=True)
        db.execute(
            "create index if not exists transcript_items_segment"
            " on transcript_items (hearing, segment, seq)"
        )
        db.execute(
            "create index if not exists transcript_corrections_corrects "
            "on transcript_corrections (hearing, corrects)"
        )

    # --- events ---------------------------------------------------------------------

    def handle(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        record = {k: v for k, v in event.record.items() if k != "digest"}
        if event.type == "CorrectionIssued":
            self._correct(db, record)
            return
        stored = _scrub(record)
        self._store(db, stored)
        _derive(db, stored)

    def _store(self, db: sqlite_utils.Database, record: Mapping[str, Any]) -> None:
        db.execute(
            "insert or replace into transcript_records (hearing, seq, type, record)"
            " values (?, ?, ?, ?)",
            [record["hearing"], record["seq"], record["type"], _json(record)],
        )

    def _correct(self, db: sqlite_utils.Database, correction: Mapping[str, Any]) -> None:
        hearing, target_seq = correction["hearing"], correction["corrects"]
        changes: Mapping[str, Any] = correction["changes"]
        row = db.execute(
            "select type, record from transcript_records where hearing = ? and seq = ?",
            [hearing, target_seq],
        ).fetchone()
        if row is None:
            return  # it corrects an event the transcript does not show (a pledge's follow-up)
        target_type: str = row[0]
        target: dict[str, Any] = json.loads(row[1])
        merged = {**target, **changes}
        shielded = target_type == "ParticipantRegistered" and bool(merged.get("protected"))
        self._store(db, _scrub_correction(correction) if shielded else correction)
        for position, (field, value) in enumerate(changes.items()):
            withheld = shielded and field in IDENTITY_FIELDS
            db.execute(
                "insert or replace into transcript_corrections (hearing, seq, position, field,"
                " corrects, corrects_type, previous, value, withheld, at, reason)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    hearing,
                    correction["seq"],
                    position,
                    field,
                    target_seq,
                    target_type,
                    None if withheld else _json(target.get(field)),
                    None if withheld else _json(value),
                    int(withheld),
                    correction["at"],
                    correction["reason"],
                ],
            )
        if shielded:
            # Newly protected (or still protected): forget every identity value on record.
            db.execute(
                "update transcript_corrections set previous = null, value = null, withheld = 1"
                " where hearing = ? and corrects = ? and field in (?, ?)",
                [hearing, target_seq, *IDENTITY_FIELDS],
            )
            earlier = db.execute(
                "select record from transcript_records"
                " where hearing = ? and type = 'CorrectionIssued' and seq < ? order by seq",
                [hearing, correction["seq"]],
            ).fetchall()
            for (text,) in earlier:
                other = json.loads(text)
                if other.get("corrects") == target_seq:
                    self._store(db, _scrub_correction(other))
            merged = _scrub(merged)
        db.execute(
            "update transcript_records set record = ? where hearing = ? and seq = ?",
            [_json(merged), hearing, target_seq],
        )
        if target_type == "CorrectionIssued":
            # As in hearing_core.apply_corrections: a corrected correction keeps its
            # effect on its own target; only what it says about itself changes.
            if "reason" in changes:
                db.execute(
                    "update transcript_corrections set reason = ? where hearing = ? and seq = ?",
                    [changes["reason"], hearing, target_seq],
                )
            if "at" in changes:
                db.execute(
                    "update transcript_corrections set at = ? where hearing = ? and seq = ?",
                    [changes["at"], hearing, target_seq],
                )
            return
        _rederive(db, hearing)

    # --- reports --------------------------------------------------------------------

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        from hearing_transcript.document import build_document
        from hearing_transcript.render import render_json, render_markdown, render_text

        language = request.option("language") or None
        document = build_document(db, request.hearing, language)
        if request.format == "json":
            return render_json(document, request.hearing)
        if request.format == "text":
            return render_text(document, request.hearing)
        if request.format == "markdown":
            return render_markdown(document, request.hearing)
        raise ValueError(f"unknown format {request.format!r}")


# --- deriving the query tables from (corrected) records ----------------------------------


def _rederive(db: sqlite_utils.Database, hearing: str) -> None:
    """Rebuild one hearing's query tables from its records, in record order."""
    db.execute("delete from transcript_hearings where hearing = ?", [hearing])
    db.execute("delete from transcript_groups where hearing = ?", [hearing])
    db.execute("delete from transcript_segments where hearing = ?", [hearing])
    db.execute("delete from transcript_participants where hearing = ?", [hearing])
    db.execute("delete from transcript_items where hearing = ?", [hearing])
    rows = db.execute(
        "select record from transcript_records where hearing = ? and type != 'CorrectionIssued'"
        " order by seq",
        [hearing],
    ).fetchall()
    for (text,) in rows:
        _derive(db, json.loads(text))


def _derive(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    """Apply one (corrected, scrubbed) record to the query tables."""
    kind = r["type"]
    hearing = r["hearing"]
    if kind == "HearingScheduled":
        _derive_scheduled(db, r)
    elif kind == "ParticipantRegistered":
        db.execute(
            "insert or replace into transcript_participants (hearing, participant, seq, name,"
            " organization, stakeholder_group, region, country, protected)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                hearing,
                r["participant"],
                r["seq"],
                r.get("name"),
                r.get("organization"),
                r.get("stakeholder_group"),
                r.get("region"),
                r.get("country"),
                int(bool(r.get("protected"))),
            ],
        )
    elif kind == "SegmentOpened":
        _ensure_segment(db, hearing, r["segment"])
        db.execute(
            "update transcript_segments set opened_seq = ?, opened_at = ?, moderator = ?"
            " where hearing = ? and segment = ?",
            [r["seq"], r["at"], r.get("moderator"), hearing, r["segment"]],
        )
    elif kind == "SegmentClosed":
        _ensure_segment(db, hearing, r["segment"])
        db.execute(
            "update transcript_segments set closed_seq = ?, closed_at = ?"
            " where hearing = ? and segment = ?",
            [r["seq"], r["at"], hearing, r["segment"]],
        )
    elif kind == "HearingClosed":
        db.execute(
            "update transcript_hearings set closed_at = ? where hearing = ?", [r["at"], hearing]
        )
    elif kind in ITEM_KINDS:
        db.execute(
            "insert or replace into transcript_items (hearing, seq, kind, segment, person, role,"
            " language,"
            " started_at, ended_at, text, translations, gcm_objectives, sg_report_areas, level,"
            " partners, summarises, key_points)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                hearing,
                r["seq"],
                ITEM_KINDS[kind],
                r.get("segment"),
                r.get("speaker", r.get("by")),
                r.get("role"),
                r.get("language"),
                r["at"],
                r.get("ended_at"),
                r.get("text"),
                _json(r.get("translations") or None),
                _json(r.get("gcm_objectives")),
                _json(r.get("sg_report_areas")),
                r.get("level"),
                _json(r.get("partners") or None),
                r.get("summarises"),
                _json(r.get("key_points")),
            ],
        )


def _derive_scheduled(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    hearing = r["hearing"]
    db.execute(
        "insert or replace into transcript_hearings (hearing, title, venue, date, timezone,"
        " languages,"
        " closed_at) values (?, ?, ?, ?, ?, ?, null)",
        [hearing, r["title"], r["venue"], r["date"], r["timezone"], _json(r["languages"])],
    )
    groups = r.get("stakeholder_groups")
    if groups is None:  # a hearing that declares no taxonomy uses the GCM default
        groups = [{"id": k, "label": v} for k, v in DEFAULT_STAKEHOLDER_GROUPS.items()]
    db.execute("delete from transcript_groups where hearing = ?", [hearing])
    for position, group in enumerate(groups):
        db.execute(
            "insert or replace into transcript_groups (hearing, group_id, label, position)"
            " values (?, ?, ?, ?)",
            [hearing, group["id"], group["label"], position],
        )
    for position, item in enumerate(r["programme"]):
        _ensure_segment(db, hearing, item["id"])
        db.execute(
            "update transcript_segments set position = ?, kind = ?, title = ?, planned_start = ?,"
            " planned_end = ? where hearing = ? and segment = ?",
            [
                position,
                item["kind"],
                item["title"],
                item["planned_start"],
                item["planned_end"],
                hearing,
                item["id"],
            ],
        )


def _ensure_segment(db: sqlite_utils.Database, hearing: str, segment: str) -> None:
    db.execute(
        "insert or ignore into transcript_segments (hearing, segment) values (?, ?)",
        [hearing, segment],
    )
