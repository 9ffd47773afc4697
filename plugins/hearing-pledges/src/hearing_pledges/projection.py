"""The ``pledges`` projection: its read-model tables and how each event changes them.

Every pledge of the archive is a row of ``pledges_pledges`` keyed by the
hearing it was made in and its ``seq`` there; every progress report is a row
of ``pledges_progress`` keyed by the hearing it was recorded in and its own
``seq``, pointing at its pledge (``pledge_hearing``, ``pledge_seq``).  The
pledge row also carries its current status (the status of the last report
on it, in log order, or ``made`` when none), refreshed whenever a report on
it is recorded or corrected.

A ``CorrectionIssued`` updates the row of the event it corrects and leaves a
row in ``pledges_corrections`` saying what changed and why.  The names of
protected participants are never stored: their rows carry the pseudonym.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from hearing_core import DEFAULT_STAKEHOLDER_GROUPS, Projection, RecordedEvent

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

#: Fields of each corrected kind of event that this projection keeps (and so updates).
PLEDGE_FIELDS = ("at", "by", "text", "gcm_objectives", "level", "partners", "segment")
PROGRESS_FIELDS = ("at", "status", "note", "by", "pledge", "pledge_hearing")
REGISTRATION_FIELDS = ("name", "stakeholder_group", "protected")
#: Fields stored as JSON text.
JSON_FIELDS = frozenset({"gcm_objectives", "partners"})


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


def _one(db: sqlite_utils.Database, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    row = db.execute(sql, params).fetchone()
    return None if row is None else tuple(row)


class PledgesProjection(Projection):
    """Pledges and their follow-up across hearings: progress reports and current status."""

    name: ClassVar[str] = "pledges"
    # Written against contract v1: sees protected participants' identities and words in
    # clear, so its tables are personal data until it is ported to v2 (docs/plugins.md).
    needs: ClassVar[frozenset[str]] = frozenset({"identities", "words"})
    version: ClassVar[int] = 1
    description: ClassVar[str] = (
        "Every pledge of the archive with its progress reports (wherever recorded), its "
        "current status and its corrections"
    )
    types: ClassVar[frozenset[str]] = frozenset(
        {
            "HearingScheduled",
            "ParticipantRegistered",
            "SegmentOpened",
            "SegmentClosed",
            "PledgeMade",
            "PledgeProgressReported",
            "CorrectionIssued",
        }
    )
    formats: ClassVar[tuple[str, ...]] = ("markdown", "json", "csv")
    tables: ClassVar[Mapping[str, Mapping[str, type]]] = {
        "pledges_hearings": {
            "hearing": str,
            "seq": int,
            "position": int,
            "title": str,
            "date": str,
            "open_seq": int,
        },
        "pledges_groups": {"hearing": str, "group_id": str, "position": int, "label": str},
        "pledges_segments": {
            "hearing": str,
            "segment": str,
            "position": int,
            "kind": str,
            "title": str,
        },
        "pledges_openings": {"hearing": str, "seq": int, "segment": str},
        "pledges_participants": {
            "hearing": str,
            "participant": str,
            "seq": int,
            "name": str,
            "stakeholder_group": str,
            "protected": int,
            "protected_seq": int,
            "pseudonym": str,
        },
        "pledges_pledges": {
            "hearing": str,
            "seq": int,
            "position": int,
            "at": str,
            "by": str,
            "text": str,
            "gcm_objectives": str,
            "level": str,
            "partners": str,
            "segment": str,
            "opening_seq": int,
            "status": str,
            "status_at": str,
            "status_hearing": str,
            "status_seq": int,
            "reports": int,
        },
        "pledges_progress": {
            "hearing": str,
            "seq": int,
            "position": int,
            "at": str,
            "pledge_hearing": str,
            "pledge_seq": int,
            "status": str,
            "note": str,
            "by": str,
        },
        "pledges_corrections": {
            "hearing": str,
            "seq": int,
            "position": int,
            "at": str,
            "corrects": int,
            "target": str,
            "participant": str,
            "changes": str,
            "previous": str,
            "reason": str,
        },
    }
    #: Each table's primary key.
    keys: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "pledges_hearings": ("hearing",),
        "pledges_groups": ("hearing", "group_id"),
        "pledges_segments": ("hearing", "segment"),
        "pledges_openings": ("hearing", "seq"),
        "pledges_participants": ("hearing", "participant"),
        "pledges_pledges": ("hearing", "seq"),
        "pledges_progress": ("hearing", "seq"),
        "pledges_corrections": ("hearing", "seq"),
    }

    def create_tables(self, db: sqlite_utils.Database) -> None:
        for table, columns in self.tables.items():
            db.table(table).create(dict(columns), pk=self.keys[table], if_not_exists=True)
        db.execute(
            "create index if not exists pledges_progress_pledge "
            "on pledges_progress (pledge_hearing, pledge_seq, position)"
        )

    # --- events --------------------------------------------------------------------

    def handle(self, event: RecordedEvent, db: sqlite_utils.Database) -> None:
        kind = event.type
        if kind == "HearingScheduled":
            _upsert(
                db,
                "pledges_hearings",
                {"hearing": event.hearing, "seq": event.seq, "position": event.position},
                ("hearing",),
            )
            _derive_schedule(db, event.hearing, event.record)
        elif kind == "ParticipantRegistered":
            _register(db, event)
        elif kind == "SegmentOpened":
            _upsert(
                db,
                "pledges_openings",
                {"hearing": event.hearing, "seq": event.seq, "segment": event["segment"]},
                ("hearing", "seq"),
            )
            db.execute(
                "update pledges_hearings set open_seq = ? where hearing = ?",
                [event.seq, event.hearing],
            )
        elif kind == "SegmentClosed":
            db.execute(
                "update pledges_hearings set open_seq = null where hearing = ?", [event.hearing]
            )
        elif kind == "PledgeMade":
            _pledge(db, event)
        elif kind == "PledgeProgressReported":
            _progress(db, event)
        elif kind == "CorrectionIssued":
            _correct(db, event)

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
        view = load(db, hearing, status)
        if request.format == "json":
            return render_json(view)
        if request.format == "csv":
            return render_csv(view)
        return render_markdown(view)


# --- hearings ----------------------------------------------------------------------------


def _derive_schedule(db: sqlite_utils.Database, hearing: str, record: Mapping[str, Any]) -> None:
    """Title, date, stakeholder-group labels and programme of a schedule."""
    db.execute(
        "update pledges_hearings set title = ?, date = ? where hearing = ?",
        [record.get("title"), record.get("date"), hearing],
    )
    groups = record.get("stakeholder_groups")
    if groups is None:
        groups = [{"id": k, "label": v} for k, v in DEFAULT_STAKEHOLDER_GROUPS.items()]
    _set_groups(db, hearing, groups)
    _set_programme(db, hearing, record.get("programme") or ())


def _set_groups(db: sqlite_utils.Database, hearing: str, groups: Any) -> None:
    db.execute("delete from pledges_groups where hearing = ?", [hearing])
    for i, group in enumerate(groups):
        _upsert(
            db,
            "pledges_groups",
            {"hearing": hearing, "group_id": group["id"], "position": i, "label": group["label"]},
            ("hearing", "group_id"),
        )


def _set_programme(db: sqlite_utils.Database, hearing: str, programme: Any) -> None:
    # A corrected programme may drop a segment: it keeps its row, without a place.
    db.execute("update pledges_segments set position = null where hearing = ?", [hearing])
    for i, item in enumerate(programme):
        _upsert(
            db,
            "pledges_segments",
            {
                "hearing": hearing,
                "segment": item["id"],
                "position": i,
                "kind": item.get("kind"),
                "title": item.get("title"),
            },
            ("hearing", "segment"),
        )


# --- participants ------------------------------------------------------------------------


def _register(db: sqlite_utils.Database, event: RecordedEvent) -> None:
    protected = bool(event.get("protected"))
    _upsert(
        db,
        "pledges_participants",
        {
            "hearing": event.hearing,
            "participant": event["participant"],
            "seq": event.seq,
            # A protected participant's name never enters the read model.
            "name": None if protected else event["name"],
            "stakeholder_group": event.get("stakeholder_group"),
            "protected": 1 if protected else 0,
            "protected_seq": event.seq if protected else None,
        },
        ("hearing", "participant"),
    )
    if protected:
        _number_pseudonyms(db, event.hearing)


def _number_pseudonyms(db: sqlite_utils.Database, hearing: str) -> None:
    """ "Protected speaker N": N counts protections in the order they appear in the record,
    at registration or by a later correction (as ``hearing_core.pseudonyms`` does)."""
    rows = db.execute(
        "select participant from pledges_participants where hearing = ? and protected = 1 "
        "order by protected_seq, participant",
        [hearing],
    ).fetchall()
    for n, (participant,) in enumerate(rows, start=1):
        db.execute(
            "update pledges_participants set pseudonym = ? where hearing = ? and participant = ?",
            [f"Protected speaker {n}", hearing, participant],
        )


# --- pledges and progress ----------------------------------------------------------------


def _pledge(db: sqlite_utils.Database, event: RecordedEvent) -> None:
    opened = _one(db, "select open_seq from pledges_hearings where hearing = ?", [event.hearing])
    _upsert(
        db,
        "pledges_pledges",
        {
            "hearing": event.hearing,
            "seq": event.seq,
            "position": event.position,
            "at": event["at"],
            "by": event["by"],
            "text": event["text"],
            "gcm_objectives": _json(list(event["gcm_objectives"])),
            "level": event["level"],
            "partners": _json(list(event.get("partners") or ())),
            "segment": event.get("segment"),
            "opening_seq": opened[0] if opened else None,
        },
        ("hearing", "seq"),
    )
    _refresh_status(db, event.hearing, event.seq)


def _progress(db: sqlite_utils.Database, event: RecordedEvent) -> None:
    pledge_hearing = event.get("pledge_hearing") or event.hearing
    _upsert(
        db,
        "pledges_progress",
        {
            "hearing": event.hearing,
            "seq": event.seq,
            "position": event.position,
            "at": event["at"],
            "pledge_hearing": pledge_hearing,
            "pledge_seq": event["pledge"],
            "status": event["status"],
            "note": event.get("note"),
            "by": event.get("by"),
        },
        ("hearing", "seq"),
    )
    _refresh_status(db, pledge_hearing, event["pledge"])


def _refresh_status(db: sqlite_utils.Database, hearing: str, seq: int) -> None:
    """A pledge's current status: that of the last report on it in log order, or ``made``."""
    count = db.execute(
        "select count(*) from pledges_progress where pledge_hearing = ? and pledge_seq = ?",
        [hearing, seq],
    ).fetchone()[0]
    last = _one(
        db,
        "select status, at, hearing, seq from pledges_progress "
        "where pledge_hearing = ? and pledge_seq = ? "
        "order by position desc, hearing desc, seq desc limit 1",
        [hearing, seq],
    )
    status, at, where, report = last if last else (MADE, None, None, None)
    db.execute(
        "update pledges_pledges set status = ?, status_at = ?, status_hearing = ?, "
        "status_seq = ?, reports = ? where hearing = ? and seq = ?",
        [status, at, where, report, count, hearing, seq],
    )


# --- corrections -------------------------------------------------------------------------


def _correct(db: sqlite_utils.Database, event: RecordedEvent) -> None:
    hearing, target = event.hearing, int(event["corrects"])
    changes: dict[str, Any] = dict(event["changes"])
    if _one(db, "select 1 from pledges_pledges where hearing = ? and seq = ?", [hearing, target]):
        _correct_pledge(db, event, changes)
    elif _one(
        db, "select 1 from pledges_progress where hearing = ? and seq = ?", [hearing, target]
    ):
        _correct_progress(db, event, changes)
    elif _one(
        db, "select 1 from pledges_participants where hearing = ? and seq = ?", [hearing, target]
    ):
        _correct_registration(db, event, changes)
    elif _one(
        db, "select 1 from pledges_openings where hearing = ? and seq = ?", [hearing, target]
    ):
        if "segment" in changes:
            db.execute(
                "update pledges_openings set segment = ? where hearing = ? and seq = ?",
                [changes["segment"], hearing, target],
            )
    elif _one(
        db, "select 1 from pledges_hearings where hearing = ? and seq = ?", [hearing, target]
    ):
        _correct_schedule(db, hearing, changes)
    # Anything else (an intervention's time, say) is no concern of the pledges.


def _record_correction(
    db: sqlite_utils.Database,
    event: RecordedEvent,
    target: str,
    changes: Mapping[str, Any],
    previous: Mapping[str, Any],
    participant: str | None = None,
) -> None:
    _upsert(
        db,
        "pledges_corrections",
        {
            "hearing": event.hearing,
            "seq": event.seq,
            "position": event.position,
            "at": event["at"],
            "corrects": event["corrects"],
            "target": target,
            "participant": participant,
            "changes": _json(dict(changes)),
            "previous": _json(dict(previous)),
            "reason": event["reason"],
        },
        ("hearing", "seq"),
    )


def _stored(value: Any, field: str) -> Any:
    return _json(list(value or ())) if field in JSON_FIELDS else value


def _loaded(value: Any, field: str) -> Any:
    return json.loads(value) if field in JSON_FIELDS and value is not None else value


def _correct_pledge(
    db: sqlite_utils.Database, event: RecordedEvent, changes: Mapping[str, Any]
) -> None:
    hearing, seq = event.hearing, int(event["corrects"])
    fields = [f for f in PLEDGE_FIELDS if f in changes]
    if not fields:
        return
    columns = ", ".join(f"[{f}]" for f in fields)
    row = _one(
        db,
        f"select {columns} from pledges_pledges where hearing = ? and seq = ?",  # noqa: S608
        [hearing, seq],
    )
    assert row is not None
    previous = {f: _loaded(v, f) for f, v in zip(fields, row, strict=True)}
    db.execute(
        f"update pledges_pledges set {', '.join(f'[{f}] = ?' for f in fields)} "  # noqa: S608
        "where hearing = ? and seq = ?",
        [*(_stored(changes[f], f) for f in fields), hearing, seq],
    )
    _record_correction(db, event, "pledge", {f: changes[f] for f in fields}, previous)


def _correct_progress(
    db: sqlite_utils.Database, event: RecordedEvent, changes: Mapping[str, Any]
) -> None:
    hearing, seq = event.hearing, int(event["corrects"])
    fields = [f for f in PROGRESS_FIELDS if f in changes]
    if not fields:
        return
    row = _one(
        db,
        "select at, status, note, by, pledge_seq, pledge_hearing from pledges_progress "
        "where hearing = ? and seq = ?",
        [hearing, seq],
    )
    assert row is not None
    before = dict(zip(PROGRESS_FIELDS, row, strict=True))
    previous = {f: before[f] for f in fields}
    after = {**before, **{f: changes[f] for f in fields}}
    after["pledge_hearing"] = after["pledge_hearing"] or hearing
    db.execute(
        "update pledges_progress set at = ?, status = ?, note = ?, by = ?, pledge_seq = ?, "
        "pledge_hearing = ? where hearing = ? and seq = ?",
        [*(after[f] for f in PROGRESS_FIELDS), hearing, seq],
    )
    # The status of the pledge it was about, and of the one it is about now.
    _refresh_status(db, before["pledge_hearing"], before["pledge"])
    if (after["pledge_hearing"], after["pledge"]) != (before["pledge_hearing"], before["pledge"]):
        _refresh_status(db, after["pledge_hearing"], after["pledge"])
    _record_correction(db, event, "progress", {f: changes[f] for f in fields}, previous)


def _correct_registration(
    db: sqlite_utils.Database, event: RecordedEvent, changes: Mapping[str, Any]
) -> None:
    hearing, seq = event.hearing, int(event["corrects"])
    fields = [f for f in REGISTRATION_FIELDS if f in changes]
    if not fields:
        return  # an organization, a region...: not shown with pledges
    row = _one(
        db,
        "select participant, name, stakeholder_group, protected from pledges_participants "
        "where hearing = ? and seq = ?",
        [hearing, seq],
    )
    assert row is not None
    participant, name, group, protected = row
    previous: dict[str, Any] = {
        "name": name,
        "stakeholder_group": group,
        "protected": bool(protected),
    }
    previous = {f: previous[f] for f in fields}
    shown = {f: changes[f] for f in fields}
    becomes_protected = bool(protected) or bool(changes.get("protected"))
    if "stakeholder_group" in changes:
        db.execute(
            "update pledges_participants set stakeholder_group = ? where hearing = ? and seq = ?",
            [changes["stakeholder_group"], hearing, seq],
        )
    if becomes_protected:
        # Neither the old nor the new name is kept: not here, not in earlier corrections.
        if "name" in shown:
            shown["name"] = previous["name"] = None
        if not protected:
            db.execute(
                "update pledges_participants set protected = 1, protected_seq = ?, name = null "
                "where hearing = ? and seq = ?",
                [event.seq, hearing, seq],
            )
            _forget_names(db, hearing, participant)
            _number_pseudonyms(db, hearing)
    elif "name" in changes:
        db.execute(
            "update pledges_participants set name = ? where hearing = ? and seq = ?",
            [changes["name"], hearing, seq],
        )
    _record_correction(db, event, "registration", shown, previous, participant)


def _forget_names(db: sqlite_utils.Database, hearing: str, participant: str) -> None:
    """Blank the names in earlier corrections of a participant who is now protected."""
    rows = db.execute(
        "select seq, changes, previous from pledges_corrections "
        "where hearing = ? and target = 'registration' and participant = ?",
        [hearing, participant],
    ).fetchall()
    for seq, changes, previous in rows:
        blanked = []
        for text in (changes, previous):
            values = json.loads(text)
            if "name" in values:
                values["name"] = None
            blanked.append(_json(values))
        db.execute(
            "update pledges_corrections set changes = ?, previous = ? where hearing = ? and seq = ?",
            [*blanked, hearing, seq],
        )


def _correct_schedule(db: sqlite_utils.Database, hearing: str, changes: Mapping[str, Any]) -> None:
    for field in ("title", "date"):
        if field in changes:
            db.execute(
                f"update pledges_hearings set [{field}] = ? where hearing = ?",  # noqa: S608
                [changes[field], hearing],
            )
    if "stakeholder_groups" in changes:
        groups = changes["stakeholder_groups"]
        if groups is None:
            groups = [{"id": k, "label": v} for k, v in DEFAULT_STAKEHOLDER_GROUPS.items()]
        _set_groups(db, hearing, groups)
    if "programme" in changes:
        _set_programme(db, hearing, changes["programme"])
