"""The transcript of one hearing as a plain document, read from the read model.

``build_document`` returns nested dicts and lists of JSON values: the
``json`` format writes it out as it is, and the ``markdown`` and ``text``
formats are views of it.  Every list comes from an ``ORDER BY``, so the same
read model always gives the same document.

Protected participants appear only as ``Protected speaker N``: the host hands
the projection their pseudonym in place of their id and name (numbered as
:func:`hearing_core.pseudonyms` numbers them), and withholds their
organization; their words are stored sealed and revealed here, with
``reveal``, for whoever holds the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlite_utils

from hearing_core import WITHHELD

#: ``reveal(hearing, field, value)``: sealed words opened for the reader (ReportRequest.reveal).
Reveal = Callable[[str, str, Any], Any]

#: Fields that may hold a protected speaker's (sealed) words.
WORD_FIELDS = frozenset({"text", "translations", "key_points"})

#: The label of participants with no stakeholder group (presiding officers, UN and State officials).
OFFICIAL = "Official"

#: Fields whose values are participant ids: documents show who, never the id.
PERSON_FIELDS = frozenset({"speaker", "by", "moderator"})

Doc = dict[str, Any]


def clock(value: str | None) -> str | None:
    """The local time of day of an ISO 8601 time as recorded: ``HH:MM:SS``."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).strftime("%H:%M:%S")
    except ValueError:
        return value


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class _People:
    """Who is who in one hearing: display names, with protected speakers shielded."""

    def __init__(self, db: sqlite_utils.Database, hearing: str, groups: dict[str, str]) -> None:
        self.groups = groups
        self.by_id: dict[str, Doc] = {}
        self.by_seq: dict[int, str] = {}
        rows = db.execute(
            "select participant, seq, name, organization, stakeholder_group, protected"
            " from transcript_participants where hearing = ? order by seq, participant",
            [hearing],
        ).fetchall()
        for pid, seq, name, organization, group, is_protected in rows:
            self.by_seq[seq] = pid
            if is_protected:
                organization = None  # the name is already their pseudonym
            elif name is None:
                name = "(name not on record)"
            self.by_id[pid] = {
                "participant": None if is_protected else pid,
                "name": name,
                "organization": organization,
                "stakeholder_group": group,
                "stakeholder_group_label": self.group_label(group),
                "protected": bool(is_protected),
            }

    def group_label(self, group: str | None) -> str:
        if group is None:
            return OFFICIAL
        return self.groups.get(group, group)

    def person(self, pid: str | None) -> Doc | None:
        if pid is None:
            return None
        found = self.by_id.get(pid)
        if found is not None:
            return dict(found)
        return {
            "participant": pid,
            "name": pid,
            "organization": None,
            "stakeholder_group": None,
            "stakeholder_group_label": "Not registered",
            "protected": False,
        }

    def name(self, pid: Any) -> Any:
        if not isinstance(pid, str):
            return pid
        person = self.person(pid)
        return None if person is None else person["name"]


def _shown(item: Doc, language: str | None) -> Doc:
    """The text to show for an intervention, in ``language`` where translated."""
    delivered = item["language"]
    translations = item["translations"] or {}
    if language is not None and language != delivered and language in translations:
        return {"language": language, "text": translations[language], "original": False}
    return {"language": delivered, "text": item["text"], "original": True}


def _no_reveal(hearing: str, field: str, value: Any) -> Any:
    return value


def build_document(
    db: sqlite_utils.Database,
    hearing: str,
    language: str | None = None,
    reveal: Reveal = _no_reveal,
) -> Doc | None:
    """The transcript of ``hearing`` from the read model, or None if it has no record.

    ``reveal`` opens protected speakers' sealed words (``ReportRequest.reveal``).
    """

    def words(field: str, value: Any) -> Any:
        return reveal(hearing, field, value) if value is not None else None

    row = db.execute(
        "select title, venue, date, timezone, languages, closed_at from transcript_hearings"
        " where hearing = ?",
        [hearing],
    ).fetchone()
    if row is None:
        return None
    title, venue, date, timezone, languages, hearing_closed_at = row
    group_rows = db.execute(
        "select group_id, label from transcript_groups where hearing = ?"
        " order by position, group_id",
        [hearing],
    ).fetchall()
    groups = {gid: label for gid, label in group_rows}
    people = _People(db, hearing, groups)

    segment_rows = db.execute(
        "select segment, kind, title, planned_start, planned_end, opened_seq, opened_at,"
        " moderator, closed_seq, closed_at from transcript_segments where hearing = ?"
        " order by position is null, position, segment",
        [hearing],
    ).fetchall()
    segment_titles = {r[0]: r[2] or r[0] for r in segment_rows}

    item_rows = db.execute(
        "select seq, kind, segment, person, role, language, started_at, ended_at, text,"
        " translations, gcm_objectives, sg_report_areas, level, partners, summarises, key_points"
        " from transcript_items where hearing = ? order by seq",
        [hearing],
    ).fetchall()
    items: list[Doc] = []
    item_by_seq: dict[int, Doc] = {}
    for (
        seq,
        kind,
        segment,
        person,
        role,
        lang,
        started,
        ended,
        text,
        translations,
        objectives,
        areas,
        level,
        partners,
        summarises,
        key_points,
    ) in item_rows:
        item: Doc = {"seq": seq, "kind": kind, "segment": segment}
        if kind == "intervention":
            item.update(
                speaker=people.person(person),
                role=role,
                language=lang,
                started_at=started,
                ended_at=ended,
                start=clock(started),
                end=clock(ended),
                text=words("text", text),
                translations=words("translations", _loads(translations)) or {},
            )
            item["shown"] = _shown(item, language)
        else:
            item.update(by=people.person(person), at=started, time=clock(started))
            if kind in ("pledge", "recommendation"):
                item["text"] = words("text", text)
                item["gcm_objectives"] = _loads(objectives) or []
            if kind == "pledge":
                item["level"] = level
                item["partners"] = _loads(partners) or []
            elif kind == "recommendation":
                item["sg_report_areas"] = _loads(areas) or []
            elif kind == "summation":
                item["summarises"] = summarises
                item["summarises_title"] = segment_titles.get(summarises, summarises)
                item["key_points"] = words("key_points", _loads(key_points)) or []
        item["_person"] = person
        items.append(item)
        item_by_seq[seq] = item

    # --- corrections: one note per CorrectionIssued, attached where it shows ---------
    opened = {r[5]: r for r in segment_rows if r[5] is not None}
    closed = {r[8]: r for r in segment_rows if r[8] is not None}

    def subject(corrects: int, corrects_type: str | None) -> str:
        if corrects_type == "ParticipantRegistered" and corrects in people.by_seq:
            return f"registration of {people.name(people.by_seq[corrects])}"
        if corrects in item_by_seq:
            it = item_by_seq[corrects]
            who = (it.get("speaker") or it.get("by") or {}).get("name")
            when = it.get("start") or it.get("time")
            return f"{it['kind']} by {who} at {when}"
        if corrects_type == "SegmentOpened" and corrects in opened:
            return f"opening of segment {segment_titles[opened[corrects][0]]}"
        if corrects_type == "SegmentClosed" and corrects in closed:
            return f"closing of segment {segment_titles[closed[corrects][0]]}"
        described = {
            "HearingScheduled": "hearing's schedule",
            "HearingClosed": "hearing's close",
            "CorrectionIssued": f"correction {corrects}",
        }
        if corrects_type in described:
            return described[corrects_type]
        return f"event {corrects}"

    correction_rows = db.execute(
        "select seq, field, corrects, corrects_type, previous, value, withheld, at, reason"
        " from transcript_corrections where hearing = ? order by seq, position, field",
        [hearing],
    ).fetchall()
    notes: list[Doc] = []
    by_seq: dict[int, Doc] = {}
    for (
        seq,
        field,
        corrects,
        corrects_type,
        previous,
        value,
        withheld,
        at,
        reason,
    ) in correction_rows:
        note = by_seq.get(seq)
        if note is None:
            note = {
                "seq": seq,
                "at": at,
                "corrects": corrects,
                "corrects_type": corrects_type,
                "subject": subject(corrects, corrects_type),
                "reason": None if reason == WITHHELD else reason,  # it may name them
                "withheld": False,
                "changes": [],
            }
            by_seq[seq] = note
            notes.append(note)
        was, now = _loads(previous), _loads(value)
        if field in PERSON_FIELDS:
            was, now = people.name(was), people.name(now)
        elif field in WORD_FIELDS:
            was, now = words(field, was), words(field, now)
        if withheld:
            note["withheld"] = True
            note["reason"] = None
            was = now = None
            withheld = 1
        note["changes"].append({"field": field, "was": was, "now": now, "withheld": bool(withheld)})

    def notes_on(*seqs: int | None) -> list[Doc]:
        wanted = {s for s in seqs if s is not None}
        return [n for n in notes if n["corrects"] in wanted]

    registration = {pid: seq for seq, pid in people.by_seq.items()}
    for item in items:
        pid = item.pop("_person")
        item["corrections"] = notes_on(item["seq"], registration.get(pid))

    # --- segments in programme order, each with its items ---------------------------
    by_segment: dict[str | None, list[Doc]] = {}
    for item in items:
        by_segment.setdefault(item["segment"], []).append(item)
    segments: list[Doc] = []
    for (
        sid,
        kind,
        stitle,
        planned_start,
        planned_end,
        opened_seq,
        opened_at,
        moderator,
        closed_seq,
        closed_at,
    ) in segment_rows:
        if opened_seq is None and sid not in by_segment:
            continue  # never opened (and nothing recorded in it)
        segments.append(
            {
                "id": sid,
                "kind": kind,
                "title": stitle or sid,
                "planned_start": planned_start,
                "planned_end": planned_end,
                "opened_at": opened_at,
                "closed_at": closed_at,
                "opened": clock(opened_at),
                "closed": clock(closed_at),
                "moderator": people.person(moderator),
                "corrections": notes_on(opened_seq, closed_seq, registration.get(moderator or "")),
                "items": by_segment.pop(sid, []),
            }
        )
    for sid in sorted(s for s in by_segment if s is not None):
        segments.append(_loose_segment(sid, sid, by_segment.pop(sid)))
    if None in by_segment:
        segments.append(_loose_segment(None, "Not tied to a segment", by_segment.pop(None)))

    return {
        "hearing": hearing,
        "title": title,
        "venue": venue,
        "date": date,
        "timezone": timezone,
        "languages": _loads(languages) or [],
        "language": language,
        "closed_at": hearing_closed_at,
        "stakeholder_groups": [{"id": gid, "label": label} for gid, label in groups.items()],
        "corrections": notes,
        "hearing_corrections": [
            n for n in notes if n["corrects_type"] in ("HearingScheduled", "HearingClosed")
        ],
        "segments": segments,
    }


def _loose_segment(sid: str | None, title: str, items: list[Doc]) -> Doc:
    return {
        "id": sid,
        "kind": None,
        "title": title,
        "planned_start": None,
        "planned_end": None,
        "opened_at": None,
        "closed_at": None,
        "opened": None,
        "closed": None,
        "moderator": None,
        "corrections": [],
        "items": items,
    }
