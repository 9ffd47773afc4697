"""What a pledges report shows, read from the read model: plain data, no formatting.

:func:`load` gathers the pledges of one hearing (or of the whole archive),
each with its maker (a protected one known by the host's pseudonym only),
its progress reports in log order and its corrections, and the counts by
status.  Protected participants' sealed words are opened here by ``reveal``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hearing_pledges.projection import STATUSES

if TYPE_CHECKING:
    import sqlite_utils

#: How each current status is called in the reports.
STATUS_LABELS: Mapping[str, str] = {
    "planned": "planned",
    "in_progress": "in progress",
    "fulfilled": "fulfilled",
    "withdrawn": "withdrawn",
    "made": "no report yet",
}

#: ``reveal(hearing, field, value)``: sealed words opened for the reader (ReportRequest.reveal).
Reveal = Callable[[str, str, Any], Any]


def _as_stored(hearing: str, field: str, value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Person:
    """A participant as reports show them: protected ones only by pseudonym."""

    participant: str | None  # None for a protected participant (their id could identify them)
    name: str
    protected: bool
    group: str | None  # the stakeholder group id, None for officials
    group_label: str | None


@dataclass(frozen=True)
class Correction:
    """A correction of a pledge, a progress report or the maker's registration."""

    hearing: str
    seq: int
    position: int
    at: str
    corrects: int
    target: str  # "pledge", "progress" or "registration"
    fields: tuple[str, ...]
    changes: Mapping[str, Any] | None  # None when withheld (a protected participant)
    previous: Mapping[str, Any] | None
    reason: str | None

    @property
    def withheld(self) -> bool:
        return self.changes is None


@dataclass(frozen=True)
class ProgressReport:
    """One ``PledgeProgressReported``, as corrected."""

    hearing: str  # where it was recorded
    seq: int
    position: int
    at: str
    status: str
    note: str | None
    by: Person | None
    pledge_hearing: str
    pledge_seq: int
    corrections: tuple[Correction, ...] = ()


@dataclass(frozen=True)
class Pledge:
    """One pledge, as corrected, with its history and current status."""

    hearing: str
    seq: int
    position: int
    at: str
    maker: Person
    text: str
    objectives: tuple[int, ...]
    level: str
    partners: tuple[str, ...]
    segment: str | None
    segment_title: str | None
    status: str  # one of STATUSES ("made" when nothing was reported)
    status_at: str | None
    status_hearing: str | None
    status_seq: int | None
    history: tuple[ProgressReport, ...] = ()
    corrections: tuple[Correction, ...] = ()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class HearingPledges:
    """The pledges made in one hearing (those the filter keeps) and its counts (all)."""

    hearing: str
    title: str | None
    date: str | None
    counts: Mapping[str, int]
    pledges: tuple[Pledge, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class PledgesView:
    """A whole report: one hearing (``scope``) or the archive (``scope`` None)."""

    scope: str | None
    status: str | None  # the --status filter
    hearings: tuple[HearingPledges, ...]
    counts: Mapping[str, int]
    #: With a hearing: progress recorded there on pledges of other hearings, with the pledge.
    reported_here: tuple[tuple[ProgressReport, Pledge | None], ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count(statuses: Iterable[str]) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        out[status] += 1
    return out


class _People:
    """Participants by hearing, loaded once per hearing."""

    def __init__(self, db: sqlite_utils.Database, reveal: Reveal = _as_stored) -> None:
        self.db = db
        self.reveal = reveal
        self.by_hearing: dict[str, dict[str, Person]] = {}
        self.by_seq: dict[str, dict[int, str]] = {}

    def _load(self, hearing: str) -> dict[str, Person]:
        if hearing not in self.by_hearing:
            labels = dict(
                self.db.execute(
                    "select group_id, label from pledges_groups where hearing = ?", [hearing]
                ).fetchall()
            )
            people: dict[str, Person] = {}
            seqs: dict[int, str] = {}
            for pid, seq, name, group, protected in self.db.execute(
                "select participant, seq, name, stakeholder_group, protected "
                "from pledges_participants where hearing = ? order by seq",
                [hearing],
            ).fetchall():
                label = None if group is None else labels.get(group, group)
                if protected:  # known by the pseudonym only, which is also their ``name``
                    people[pid] = Person(None, name, True, group, label)
                else:
                    people[pid] = Person(pid, name, False, group, label)
                seqs[seq] = pid
            self.by_hearing[hearing] = people
            self.by_seq[hearing] = seqs
        return self.by_hearing[hearing]

    def get(self, hearing: str, participant: str) -> Person:
        person = self._load(hearing).get(participant)
        return person or Person(participant, participant, False, None, None)

    def revealed(self, hearing: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Corrected values as shown: a protected participant's sealed words opened."""
        return {field: self.reveal(hearing, field, value) for field, value in values.items()}


def _corrections(
    db: sqlite_utils.Database, people: _People, hearings: Iterable[str]
) -> dict[tuple[str, str, Any], list[Correction]]:
    """Corrections by what they correct: (target, hearing, corrected seq or participant id)."""
    out: dict[tuple[str, str, Any], list[Correction]] = {}
    for hearing in sorted(set(hearings)):
        for (
            seq,
            position,
            at,
            corrects,
            target,
            participant,
            changes,
            previous,
            reason,
        ) in db.execute(
            "select seq, position, at, corrects, target, participant, changes, previous, "
            "reason from pledges_corrections where hearing = ? order by position, seq",
            [hearing],
        ).fetchall():
            new = people.revealed(hearing, json.loads(changes))
            old = people.revealed(hearing, json.loads(previous))
            fields = tuple(new)
            if target == "registration":
                key: tuple[str, str, Any] = (target, hearing, participant)
                if people.get(hearing, participant).protected:
                    # Any detail of a protected participant's registration could identify them.
                    out.setdefault(key, []).append(
                        Correction(
                            hearing, seq, position, at, corrects, target, fields, None, None, None
                        )
                    )
                    continue
            else:
                key = (target, hearing, corrects)
            out.setdefault(key, []).append(
                Correction(hearing, seq, position, at, corrects, target, fields, new, old, reason)
            )
    return out


def _reports(
    db: sqlite_utils.Database,
    people: _People,
    where: str,
    params: list[Any],
) -> list[ProgressReport]:
    rows = db.execute(
        "select hearing, seq, position, at, status, note, by, pledge_hearing, pledge_seq "  # noqa: S608
        f"from pledges_progress where {where} order by position, hearing, seq",
        params,
    ).fetchall()
    corrections = _corrections(db, people, (r[0] for r in rows))
    return [
        ProgressReport(
            hearing=hearing,
            seq=seq,
            position=position,
            at=at,
            status=status,
            note=people.reveal(hearing, "note", note),
            by=None if by is None else people.get(hearing, by),
            pledge_hearing=pledge_hearing,
            pledge_seq=pledge_seq,
            corrections=tuple(corrections.get(("progress", hearing, seq), ())),
        )
        for hearing, seq, position, at, status, note, by, pledge_hearing, pledge_seq in rows
    ]


def _pledges(db: sqlite_utils.Database, people: _People, hearing: str | None) -> list[Pledge]:
    """Every pledge (of one hearing, or all), as corrected, with history and corrections."""
    rows = db.execute(
        "select p.hearing, p.seq, p.position, p.at, p.by, p.text, p.gcm_objectives, p.level, "
        "p.partners, coalesce(p.segment, o.segment), s.title, p.status, p.status_at, "
        "p.status_hearing, p.status_seq "
        "from pledges_pledges p "
        "left join pledges_openings o on o.hearing = p.hearing and o.seq = p.opening_seq "
        "left join pledges_segments s on s.hearing = p.hearing "
        "and s.segment = coalesce(p.segment, o.segment) "
        "where ? is null or p.hearing = ? order by p.hearing, p.seq",
        [hearing, hearing],
    ).fetchall()
    if hearing is None:
        reports = _reports(db, people, "1 = 1", [])
    else:
        reports = _reports(db, people, "pledge_hearing = ?", [hearing])
    history: dict[tuple[str, int], list[ProgressReport]] = {}
    for report in reports:
        history.setdefault((report.pledge_hearing, report.pledge_seq), []).append(report)
    corrections = _corrections(db, people, {r[0] for r in rows})
    out = []
    for (
        where,
        seq,
        position,
        at,
        by,
        text,
        objectives,
        level,
        partners,
        segment,
        segment_title,
        status,
        status_at,
        status_hearing,
        status_seq,
    ) in rows:
        notes = [
            *corrections.get(("pledge", where, seq), ()),
            *corrections.get(("registration", where, by), ()),
        ]
        out.append(
            Pledge(
                hearing=where,
                seq=seq,
                position=position,
                at=at,
                maker=people.get(where, by),
                text=people.reveal(where, "text", text),
                objectives=tuple(sorted(int(o) for o in json.loads(objectives or "[]"))),
                level=level,
                partners=tuple(json.loads(partners or "[]")),
                segment=segment,
                segment_title=segment_title,
                status=status or "made",
                status_at=status_at,
                status_hearing=status_hearing,
                status_seq=status_seq,
                history=tuple(history.get((where, seq), ())),
                corrections=tuple(sorted(notes, key=lambda c: (c.position, c.seq))),
            )
        )
    return out


def load(
    db: sqlite_utils.Database,
    hearing: str | None,
    status: str | None,
    reveal: Reveal = _as_stored,
) -> PledgesView:
    """The report's content: ``hearing`` None for the whole archive; ``status`` filters;
    ``reveal`` opens protected participants' sealed words."""
    people = _People(db, reveal)
    pledges = _pledges(db, people, hearing)
    if hearing is None:
        slugs = [
            r[0]
            for r in db.execute(
                "select hearing from pledges_hearings order by date, position, hearing"
            ).fetchall()
        ]
    else:
        slugs = [hearing]
    by_hearing: dict[str, list[Pledge]] = {}
    for pledge in pledges:
        by_hearing.setdefault(pledge.hearing, []).append(pledge)
    sections = []
    for slug in slugs:
        made = by_hearing.get(slug, [])
        kept = tuple(p for p in made if status is None or p.status == status)
        if hearing is None and not kept:
            continue  # the archive-wide report lists hearings with pledges (that pass the filter)
        row = db.execute(
            "select title, date from pledges_hearings where hearing = ?", [slug]
        ).fetchone()
        sections.append(
            HearingPledges(
                hearing=slug,
                title=row[0] if row else None,
                date=row[1] if row else None,
                counts=count(p.status for p in made),
                pledges=kept,
            )
        )
    reported_here: list[tuple[ProgressReport, Pledge | None]] = []
    if hearing is not None:
        elsewhere: dict[str, dict[int, Pledge]] = {}
        for report in _reports(
            db, people, "hearing = ? and pledge_hearing <> ?", [hearing, hearing]
        ):
            if report.pledge_hearing not in elsewhere:
                elsewhere[report.pledge_hearing] = {
                    p.seq: p for p in _pledges(db, people, report.pledge_hearing)
                }
            target = elsewhere[report.pledge_hearing].get(report.pledge_seq)
            if status is None or (target is not None and target.status == status):
                reported_here.append((report, target))
    return PledgesView(
        scope=hearing,
        status=status,
        hearings=tuple(sections),
        counts=count(p.status for p in pledges),
        reported_here=tuple(reported_here),
    )
