"""The summary of one hearing, read from the read model into plain objects.

Everything here is ordered explicitly (by seq, programme position, taxonomy
position, objective or area number), so the renderers only walk lists and
the same read model always gives the same report.  The read model knows
protected participants by their pseudonym only (the host's); their sealed
words are revealed here, with the report's ``reveal``, for whoever holds the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import sqlite_utils

from hearing_core import GCM_OBJECTIVES, PLEDGE_LEVELS, SG_REPORT_AREAS
from hearing_summary.projection import PLEDGE, RECOMMENDATION

OFFICIALS_LABEL = "Officials (no stakeholder group)"
NO_SEGMENT_TITLE = "Outside any programme segment"
NO_AREA_TITLE = "Not linked to an SG-report area"

#: ``reveal(hearing, field, value)``: sealed words opened for the reader (ReportRequest.reveal).
Reveal = Callable[[str, str, Any], Any]


def _as_stored(hearing: str, field: str, value: Any) -> Any:
    return value


@attrs.frozen
class Maker:
    """Who made a recommendation, pledge or summation, as reports may show them."""

    participant: str | None  # None when protected: the id may spell the name
    name: str  # the pseudonym when protected
    organization: str | None
    protected: bool
    group: str | None
    group_label: str | None  # None for officials

    @property
    def official(self) -> bool:
        return self.group is None


@attrs.frozen
class Correction:
    """A correction that bears on the summary, ready to show (protected details withheld)."""

    seq: int
    at: str
    corrects: int
    target: str
    subject: str | None  # for a participant's registration: who, as reports may show them
    changes: Mapping[str, Any] | None  # None when withheld
    previous: Mapping[str, Any] | None
    reason: str | None

    @property
    def withheld(self) -> bool:
        return self.changes is None


@attrs.frozen
class Item:
    """A recommendation or a pledge, as corrected."""

    seq: int
    kind: str
    at: str
    maker: Maker
    text: str
    segment: str | None
    objectives: tuple[int, ...]
    areas: tuple[int, ...]
    level: str | None
    partners: tuple[str, ...]
    corrections: tuple[Correction, ...]


@attrs.frozen
class Summation:
    seq: int
    at: str
    maker: Maker
    segment: str
    summarises: str
    key_points: tuple[str, ...]
    corrections: tuple[Correction, ...]


@attrs.frozen
class Segment:
    id: str | None  # None: items recorded while no segment was open
    title: str
    kind: str | None
    moderator: Maker | None


@attrs.frozen
class Group:
    id: str | None  # None: officials
    label: str


@attrs.frozen
class Summary:
    hearing: str
    title: str | None
    date: str | None
    segments: tuple[Segment, ...]
    groups: tuple[Group, ...]
    recommendations: tuple[Item, ...]
    pledges: tuple[Item, ...]
    summations: tuple[Summation, ...]
    corrections: tuple[Correction, ...]

    def segment_title(self, segment: str | None) -> str:
        for s in self.segments:
            if s.id == segment:
                return s.title
        return NO_SEGMENT_TITLE if segment is None else segment

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(sorted((*self.recommendations, *self.pledges), key=lambda i: i.seq))

    # --- groupings (each a list of (key, title, items) in a fixed order) ------------

    def by_session(self) -> list[tuple[Segment, list[Item], list[Item]]]:
        out = []
        for s in self.segments:
            recs = [i for i in self.recommendations if i.segment == s.id]
            pledges = [i for i in self.pledges if i.segment == s.id]
            if s.id is not None or recs or pledges:
                out.append((s, recs, pledges))
        return out

    def by_objective(self) -> list[tuple[int, str, list[Item], list[Item]]]:
        return [
            (
                n,
                title,
                [i for i in self.recommendations if n in i.objectives],
                [i for i in self.pledges if n in i.objectives],
            )
            for n, title in sorted(GCM_OBJECTIVES.items())
        ]

    def by_area(self) -> list[tuple[int | None, str, list[Item]]]:
        out: list[tuple[int | None, str, list[Item]]] = [
            (n, title, [i for i in self.recommendations if n in i.areas])
            for n, title in sorted(SG_REPORT_AREAS.items())
        ]
        unlinked = [i for i in self.recommendations if not i.areas]
        if unlinked:
            out.append((None, NO_AREA_TITLE, unlinked))
        return out

    def by_group(self) -> list[tuple[Group, list[Item], list[Item]]]:
        return [
            (
                g,
                [i for i in self.recommendations if i.maker.group == g.id],
                [i for i in self.pledges if i.maker.group == g.id],
            )
            for g in self.groups
        ]

    def pledges_by_level(self) -> list[tuple[str, list[Item]]]:
        levels = list(PLEDGE_LEVELS)
        levels += sorted({i.level for i in self.pledges if i.level and i.level not in levels})
        return [(level, [i for i in self.pledges if i.level == level]) for level in levels]

    def pledges_with_partners(self) -> list[Item]:
        return [i for i in self.pledges if i.partners]

    def summarised_by(self, segment: str | None) -> list[Summation]:
        return [s for s in self.summations if s.summarises == segment]

    @property
    def makers(self) -> int:
        """How many distinct makers of recommendations and pledges."""
        return len({(i.maker.participant, i.maker.name) for i in self.items})


def load(db: sqlite_utils.Database, hearing: str, reveal: Reveal = _as_stored) -> Summary:
    """Read one hearing's summary from the read model, protected words opened by ``reveal``."""
    q = _Query(db, hearing)
    head = q.one("select title, date from summary_hearings where hearing = ?")
    makers = q.makers()
    corrections = q.corrections(makers, reveal)
    by_target: dict[int, list[Correction]] = {}
    for c in corrections:
        by_target.setdefault(c.corrects, []).append(c)

    groups = [
        Group(g, label)
        for g, label in q.all(
            "select group_id, label from summary_groups where hearing = ? order by position, group_id"
        )
    ]
    known = {g.id for g in groups}
    used = q.all(
        "select distinct stakeholder_group from summary_participants "
        "where hearing = ? and stakeholder_group is not null order by stakeholder_group"
    )
    groups += [Group(g, g) for (g,) in used if g not in known]
    groups.append(Group(None, OFFICIALS_LABEL))

    segments = [
        Segment(sid, title or sid, kind, makers.get(moderator) if moderator else None)
        for sid, title, kind, moderator in q.all(
            "select segment, title, kind, moderator from summary_segments where hearing = ? "
            "order by position is null, position, segment"
        )
    ]
    segments.append(Segment(None, NO_SEGMENT_TITLE, None, None))

    objectives = q.lists(
        "select seq, objective from summary_item_objectives "
        "where hearing = ? order by seq, objective"
    )
    areas = q.lists("select seq, area from summary_item_areas where hearing = ? order by seq, area")
    partners = q.lists(
        "select seq, partner from summary_item_partners where hearing = ? order by seq, position"
    )
    items = [
        Item(
            seq,
            kind,
            at,
            makers.get(by) or _unknown(by),
            reveal(hearing, "text", text),
            segment,
            tuple(objectives.get(seq, ())),
            tuple(areas.get(seq, ())),
            level,
            tuple(partners.get(seq, ())),
            tuple(by_target.get(seq, ())),
        )
        for seq, kind, at, by, text, level, segment in q.all(
            "select seq, kind, at, by, text, level, segment from summary_items "
            "where hearing = ? order by seq"
        )
    ]
    points = q.lists(
        "select seq, point from summary_key_points where hearing = ? order by seq, position"
    )
    summations = tuple(
        Summation(
            seq,
            at,
            makers.get(by) or _unknown(by),
            segment,
            summarises,
            tuple(reveal(hearing, "key_points", points.get(seq, []))),
            tuple(by_target.get(seq, ())),
        )
        for seq, at, by, segment, summarises in q.all(
            "select seq, at, by, segment, summarises from summary_summations "
            "where hearing = ? order by seq"
        )
    )
    return Summary(
        hearing=hearing,
        title=head[0] if head else None,
        date=head[1] if head else None,
        segments=tuple(segments),
        groups=tuple(groups),
        recommendations=tuple(i for i in items if i.kind == RECOMMENDATION),
        pledges=tuple(i for i in items if i.kind == PLEDGE),
        summations=summations,
        corrections=tuple(corrections),
    )


def _unknown(participant: str) -> Maker:
    # Not reachable through the domain rules (makers must be registered); kept honest anyway.
    return Maker(participant, participant, None, False, None, None)


class _Query:
    def __init__(self, db: sqlite_utils.Database, hearing: str) -> None:
        self.db = db
        self.hearing = hearing

    def all(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.execute(sql, [self.hearing]).fetchall()]

    def one(self, sql: str) -> tuple[Any, ...] | None:
        rows = self.all(sql)
        return rows[0] if rows else None

    def lists(self, sql: str) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        for key, value in self.all(sql):
            out.setdefault(key, []).append(value)
        return out

    def makers(self) -> dict[str, Maker]:
        labels = dict(self.all("select group_id, label from summary_groups where hearing = ?"))
        out = {}
        for pid, name, organization, group, protected in self.all(
            "select participant, name, organization, stakeholder_group, protected "
            "from summary_participants where hearing = ? order by seq"
        ):
            label = None if group is None else labels.get(group, group)
            if protected:  # known by the pseudonym only, which is also their ``name``
                out[pid] = Maker(None, name, None, True, group, label)
            else:
                out[pid] = Maker(pid, name, organization, False, group, label)
        return out

    def corrections(self, makers: Mapping[str, Maker], reveal: Reveal) -> list[Correction]:
        registered = dict(
            self.all("select seq, participant from summary_participants where hearing = ?")
        )
        out = []
        for seq, at, corrects, target, changes, previous, reason in self.all(
            "select seq, at, corrects, target, changes, previous, reason "
            "from summary_corrections where hearing = ? order by seq"
        ):
            maker = makers.get(registered.get(corrects, ""))
            subject = maker.name if target == "participant" and maker else None
            if maker is not None and target == "participant" and maker.protected:
                # Any detail of a protected participant's registration could identify them.
                out.append(Correction(seq, at, corrects, target, subject, None, None, None))
                continue
            out.append(
                Correction(
                    seq,
                    at,
                    corrects,
                    target,
                    subject,
                    self._revealed(json.loads(changes), reveal),
                    self._revealed(json.loads(previous), reveal),
                    reason,
                )
            )
        return out

    def _revealed(self, values: Mapping[str, Any], reveal: Reveal) -> dict[str, Any]:
        """Corrected values as shown: a protected maker's sealed words opened by ``reveal``."""
        return {field: reveal(self.hearing, field, value) for field, value in values.items()}
