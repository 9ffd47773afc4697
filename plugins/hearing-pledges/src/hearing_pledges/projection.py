"""The ``pledges`` projection (contract v2): its read-model tables and how events fill them.

Every pledge of the archive is a row of ``pledges_pledges`` keyed by the
hearing it was made in and its ``seq`` there; every progress report is a row
of ``pledges_progress`` keyed by the hearing it was recorded in and its own
``seq``, pointing at its pledge (``pledge_hearing``, ``pledge_seq``).  The
pledge row also carries its current status (the status of the last report
on it, in log order, or ``made`` when none), refreshed whenever a report on
it is recorded or corrected.

A correction arrives resolved by the host: it updates the row of the record
it corrects (:meth:`hearing_core.Correction.apply`) and leaves a row in
``pledges_corrections`` saying what changed and why.  Records arrive
shielded: a protected participant is known by their pseudonym only and their
words stay sealed until a report reveals them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from hearing_core import (
    Correction,
    Projection,
    RecordedEvent,
    Table,
    handles,
    insert_rows,
    stakeholder_groups,
    upsert_rows,
)

if TYPE_CHECKING:  # annotations only: importing the plugin stays cheap
    import sqlite_utils
    from rich.console import RenderableType

    from hearing_core import Report, ReportRequest

#: ``pledges_pledges.status`` of a pledge nobody has reported progress on.
MADE = "made"
#: Statuses a progress report may give (``PledgeProgressReported.status``).
REPORTED_STATUSES = ("planned", "in_progress", "fulfilled", "withdrawn")
#: Every current status, in the order reports count them.
STATUSES = (*REPORTED_STATUSES, MADE)

#: Fields of each corrected kind of record that this projection keeps, and their columns.
PLEDGE_COLUMNS = {f: f for f in ("at", "by", "text", "gcm_objectives", "level", "partners")} | {
    "segment": "segment"
}
PROGRESS_COLUMNS = {"at": "at", "status": "status", "note": "note", "by": "by",
                    "pledge": "pledge_seq", "pledge_hearing": "pledge_hearing"}  # fmt: skip
REGISTRATION_FIELDS = ("name", "stakeholder_group", "protected")
#: Corrected record type -> what ``pledges_corrections.target`` calls it, and its fields.
TARGETS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "PledgeMade": ("pledge", tuple(PLEDGE_COLUMNS)),
    "PledgeProgressReported": ("progress", tuple(PROGRESS_COLUMNS)),
    "ParticipantRegistered": ("registration", REGISTRATION_FIELDS),
}

HEARINGS = "pledges_hearings"
GROUPS = "pledges_groups"
SEGMENTS = "pledges_segments"
OPENINGS = "pledges_openings"
PARTICIPANTS = "pledges_participants"
PLEDGES = "pledges_pledges"
PROGRESS = "pledges_progress"
CORRECTIONS = "pledges_corrections"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class PledgesProjection(Projection):
    """Pledges and their follow-up across hearings: progress reports and current status."""

    name: ClassVar[str] = "pledges"
    version: ClassVar[int] = 2
    description: ClassVar[str] = (
        "Every pledge of the archive with its progress reports (wherever recorded), its "
        "current status and its corrections"
    )
    formats: ClassVar[tuple[str, ...]] = ("markdown", "json", "csv")
    tables: ClassVar[Mapping[str, Table]] = {
        HEARINGS: Table(
            {"hearing": str, "seq": int, "position": int, "title": str, "date": str,
             "open_seq": int},
            pk=("hearing",),
        ),
        GROUPS: Table(
            {"hearing": str, "group_id": str, "position": int, "label": str},
            pk=("hearing", "group_id"),
        ),
        SEGMENTS: Table(
            {"hearing": str, "segment": str, "position": int, "kind": str, "title": str},
            pk=("hearing", "segment"),
        ),
        OPENINGS: Table({"hearing": str, "seq": int, "segment": str}, pk=("hearing", "seq")),
        PARTICIPANTS: Table(
            {"hearing": str, "participant": str, "seq": int, "name": str,
             "stakeholder_group": str, "protected": int},
            pk=("hearing", "participant"),
        ),
        PLEDGES: Table(
            {"hearing": str, "seq": int, "position": int, "at": str, "by": str, "text": str,
             "gcm_objectives": str, "level": str, "partners": str, "segment": str,
             "opening_seq": int, "status": str, "status_at": str, "status_hearing": str,
             "status_seq": int, "reports": int},
            pk=("hearing", "seq"),
        ),
        PROGRESS: Table(
            {"hearing": str, "seq": int, "position": int, "at": str, "pledge_hearing": str,
             "pledge_seq": int, "status": str, "note": str, "by": str},
            pk=("hearing", "seq"),
            indexes=(("pledge_hearing", "pledge_seq", "position"),),
        ),
        CORRECTIONS: Table(
            {"hearing": str, "seq": int, "position": int, "at": str, "corrects": int,
             "target": str, "participant": str, "changes": str, "previous": str, "reason": str},
            pk=("hearing", "seq"),
        ),
    }  # fmt: skip

    # --- events --------------------------------------------------------------------

    @handles("HearingScheduled")
    def scheduled(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for e in events:
            upsert_rows(
                db,
                HEARINGS,
                [{"hearing": e.hearing, "seq": e.seq, "position": e.position}],
                pk="hearing",
            )
            _derive_schedule(db, e.record)

    @handles("ParticipantRegistered")
    def registered(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        insert_rows(db, PARTICIPANTS, [_participant(e.record) for e in events], replace=True)

    @handles("SegmentOpened", "SegmentClosed")
    def segments(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        for e in events:
            opened = e.type == "SegmentOpened"
            if opened:
                insert_rows(
                    db,
                    OPENINGS,
                    [{"hearing": e.hearing, "seq": e.seq, "segment": e["segment"]}],
                    replace=True,
                )
            db.execute(
                f"update {HEARINGS} set open_seq = ? where hearing = ?",  # noqa: S608
                [e.seq if opened else None, e.hearing],
            )

    @handles("PledgeMade")
    def pledges(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        # No segment opens or closes within a run of pledges: one look-up per hearing.
        hearings = sorted({e.hearing for e in events})
        opened = dict(
            db.execute(
                f"select hearing, open_seq from {HEARINGS} where hearing in"  # noqa: S608
                f" ({', '.join('?' for _ in hearings)})",
                hearings,
            ).fetchall()
        )
        # A pledge nobody has reported on yet (the usual case: reports come later in the
        # log) is "made" with no reports; only those with reports look them up.
        reported = set(
            db.execute(
                f"select distinct pledge_hearing, pledge_seq from {PROGRESS}"  # noqa: S608
                f" where pledge_hearing in ({', '.join('?' for _ in hearings)})",
                hearings,
            ).fetchall()
        )
        unreported = {"status": MADE, "status_at": None, "status_hearing": None,
                      "status_seq": None, "reports": 0}  # fmt: skip
        upsert_rows(
            db,
            PLEDGES,
            [
                {"hearing": e.hearing, "seq": e.seq, "position": e.position, "at": e["at"],
                 "by": e["by"], "text": e["text"],
                 "gcm_objectives": _json(list(e["gcm_objectives"])), "level": e["level"],
                 "partners": _json(list(e.get("partners") or ())), "segment": e.get("segment"),
                 "opening_seq": opened.get(e.hearing), **unreported}
                for e in events
            ],
            pk=("hearing", "seq"),
        )  # fmt: skip
        for e in events:
            if (e.hearing, e.seq) in reported:
                _refresh_status(db, e.hearing, e.seq)

    @handles("PledgeProgressReported")
    def progress(self, events: list[RecordedEvent], db: sqlite_utils.Database) -> None:
        rows = [
            {"hearing": e.hearing, "seq": e.seq, "position": e.position, "at": e["at"],
             "pledge_hearing": e.get("pledge_hearing") or e.hearing, "pledge_seq": e["pledge"],
             "status": e["status"], "note": e.get("note"), "by": e.get("by")}
            for e in events
        ]  # fmt: skip
        insert_rows(db, PROGRESS, rows, replace=True)
        for pledge in dict.fromkeys((r["pledge_hearing"], r["pledge_seq"]) for r in rows):
            _refresh_status(db, *pledge)

    @handles("CorrectionIssued")
    def corrections(self, corrections: list[Correction], db: sqlite_utils.Database) -> None:
        for c in corrections:
            if c.target_type == "HearingScheduled":
                _derive_schedule(db, c.record)
            elif c.target_type == "SegmentOpened":
                insert_rows(
                    db,
                    OPENINGS,
                    [{"hearing": c.hearing, "seq": c.target_seq, "segment": c.record["segment"]}],
                    replace=True,
                )
            elif c.target_type in TARGETS:
                _correct(db, c)
            # Anything else (an intervention's time, say) is no concern of the pledges.

    # --- reports -------------------------------------------------------------------

    def render(
        self, db: sqlite_utils.Database, request: ReportRequest
    ) -> str | RenderableType | Report:
        from hearing_core import ALL_HEARINGS, Report
        from hearing_pledges.model import load
        from hearing_pledges.render import render_csv, render_json, render_markdown

        status = request.option("status")
        if status is not None and status not in STATUSES:
            return Report(
                "",
                exit_code=2,
                message=f"unknown status {status!r}; choose one of {', '.join(STATUSES)}",
            )
        hearing = None if request.hearing == ALL_HEARINGS else request.hearing
        view = load(db, hearing, status, request.reveal)
        if request.format == "json":
            return render_json(view)
        if request.format == "csv":
            return render_csv(view)
        return render_markdown(view)


# --- rows from (corrected, shielded) records ----------------------------------------------


def _derive_schedule(db: sqlite_utils.Database, r: Mapping[str, Any]) -> None:
    """Title, date, stakeholder-group labels and programme of a schedule."""
    hearing = r["hearing"]
    db.execute(
        f"update {HEARINGS} set title = ?, date = ? where hearing = ?",  # noqa: S608
        [r.get("title"), r.get("date"), hearing],
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
            {"hearing": hearing, "segment": item["id"], "position": i, "kind": item.get("kind"),
             "title": item.get("title")}
            for i, item in enumerate(r.get("programme") or ())
        ],
        pk=("hearing", "segment"),
    )  # fmt: skip


def _participant(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hearing": r["hearing"],
        "participant": r["participant"],
        "seq": r["seq"],
        "name": r["name"],  # a protected participant's is their pseudonym
        "stakeholder_group": r.get("stakeholder_group"),
        "protected": 1 if r.get("protected") else 0,
    }


def _refresh_status(db: sqlite_utils.Database, hearing: str, seq: int) -> None:
    """A pledge's current status: that of the last report on it in log order, or ``made``."""
    count = db.execute(
        f"select count(*) from {PROGRESS} where pledge_hearing = ? and pledge_seq = ?",  # noqa: S608
        [hearing, seq],
    ).fetchone()[0]
    last = db.execute(
        f"select status, at, hearing, seq from {PROGRESS} "  # noqa: S608
        "where pledge_hearing = ? and pledge_seq = ? "
        "order by position desc, hearing desc, seq desc limit 1",
        [hearing, seq],
    ).fetchone()
    status, at, where, report = last if last else (MADE, None, None, None)
    db.execute(
        f"update {PLEDGES} set status = ?, status_at = ?, status_hearing = ?, "  # noqa: S608
        "status_seq = ?, reports = ? where hearing = ? and seq = ?",
        [status, at, where, report, count, hearing, seq],
    )


# --- corrections -------------------------------------------------------------------------


def _correct(db: sqlite_utils.Database, c: Correction) -> None:
    """Apply a correction of a pledge, a progress report or a registration, and note it."""
    target, kept = TARGETS[c.target_type]
    fields = [f for f in kept if f in c.after]
    if not fields:
        return  # an organization, a region...: not shown with pledges
    participant = None
    if c.target_type == "PledgeMade":
        c.apply(db.table(PLEDGES), columns=PLEDGE_COLUMNS)
    elif c.target_type == "PledgeProgressReported":
        _correct_progress(db, c)
    else:
        participant = c.record["participant"]  # a protected participant's pseudonym
        insert_rows(db, PARTICIPANTS, [_participant(c.record)], replace=True)
    insert_rows(
        db,
        CORRECTIONS,
        [{"hearing": c.hearing, "seq": c.seq, "position": c.position, "at": c.at,
         "corrects": c.target_seq, "target": target, "participant": participant,
         "changes": _json({f: c.after[f] for f in fields}),
         "previous": _json({f: _shown(f, c.before.get(f)) for f in fields}), "reason": c.reason}],
        replace=True,
    )  # fmt: skip


def _shown(field: str, value: Any) -> Any:
    """A list field a pledge left out is shown as an empty list, as the pledge row keeps it."""
    return list(value or ()) if field in ("gcm_objectives", "partners") else value


def _correct_progress(db: sqlite_utils.Database, c: Correction) -> None:
    """Update the report; refresh the pledge it was about and the one it is about now."""

    def pledge() -> tuple[Any, ...]:
        row = db.execute(
            f"select pledge_hearing, pledge_seq from {PROGRESS} where hearing = ? and seq = ?",  # noqa: S608
            [c.hearing, c.target_seq],
        ).fetchone()
        return tuple(row) if row else ()

    before = pledge()
    c.apply(db.table(PROGRESS), columns=PROGRESS_COLUMNS)
    db.execute(
        f"update {PROGRESS} set pledge_hearing = hearing"  # noqa: S608
        " where hearing = ? and seq = ? and pledge_hearing is null",
        [c.hearing, c.target_seq],
    )
    for which in dict.fromkeys((before, pledge())):
        if which:
            _refresh_status(db, *which)
