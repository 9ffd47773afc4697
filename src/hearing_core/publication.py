"""A publishable copy of the archive: a SQLite file for Datasette, its metadata and pages.

What is published is built from the hearings' records read *as if every protected speaker had
been forgotten*: every sealed value (a protected participant's name, organization, words) is
:data:`~hearing_core.protection.WITHHELD`, whatever keys the publisher holds, and protected
participants appear only by pseudonym (:func:`hearing_core.exports._common.read_hearing`).
Nothing is copied from the projections' read models, which keep plaintext for reports.

Then nothing is trusted: :class:`Protected` gathers every protected participant's name,
organization and words (revealed with their key where it still exists), every string of the
records is redacted of them (a moderator may have said a protected name aloud), and before
anything is moved into place every text cell, every page and the raw bytes of every file are
scanned for them.  A hit refuses the whole publication.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import sqlite_utils

from hearing_core.errors import HearingCoreError
from hearing_core.exports._common import HearingView
from hearing_core.protection import SEALED_FIELDS, WITHHELD, is_envelope

#: The database file and the folder of pages, inside the publication folder.
DATABASE = "archive.db"
METADATA = "metadata.json"
PAGES = "pages"

#: Shortest protected text searched for: shorter fragments ("Yes.", "Thank you") are not words
#: that identify anyone, and would refuse every publication.
MIN_WORDS = 12


class PublicationError(HearingCoreError):
    """Publishing was refused: protected data would have been written."""


# --- what must never be published ---------------------------------------------------------


@attrs.frozen
class Protected:
    """Every protected participant's identifying values and words, to search for and redact."""

    ids: frozenset[str]
    terms: tuple[str, ...]  # names, organizations, lines of their words; longest first

    def find(self, text: str) -> str | None:
        """The first protected term in ``text`` (case-insensitive), or None."""
        folded = text.casefold()
        for term in self.terms:
            if term.casefold() in folded:
                return term
        return None

    def names_an_id(self, text: str) -> bool:
        """Whether ``text`` holds a protected participant's id as a whole word."""
        return any(re.search(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", text) for pid in self.ids)

    def redact(self, text: str) -> str:
        """``text`` with every protected term replaced by :data:`WITHHELD`."""
        for term in self.terms:
            if term.casefold() in text.casefold():
                text = re.sub(re.escape(term), WITHHELD, text, flags=re.IGNORECASE)
        return text


def protected_data(revealed: Iterable[Mapping[str, Any]]) -> Protected:
    """What to keep out, from records revealed with the keys (withheld values are skipped)."""
    ids: set[str] = set()
    registration: dict[int, str] = {}
    records = list(revealed)
    for r in records:
        if r["type"] == "ParticipantRegistered":
            registration[int(r.get("seq", 0))] = r["participant"]
            if r.get("protected"):
                ids.add(r["participant"])
        elif (
            r["type"] == "CorrectionIssued"
            and r.get("changes", {}).get("protected")
            and (pid := registration.get(int(r.get("corrects", 0)))) is not None
        ):
            ids.add(pid)
    terms: set[str] = set()
    by_seq = {int(r.get("seq", 0)): r for r in records}
    for r in records:
        kind = r["type"]
        if kind == "CorrectionIssued":
            target = by_seq.get(int(r.get("corrects", 0)))
            if target is None or _actor(target) not in ids:
                continue
            fields = SEALED_FIELDS.get(target["type"], ("", ()))[1]
            values = [r["changes"].get(f) for f in fields]
            kind = str(target["type"])  # a correction's values are of the corrected record
        elif kind in SEALED_FIELDS and _actor(r) in ids:
            values = [r.get(f) for f in SEALED_FIELDS[kind][1]]
        else:
            continue
        for value in values:
            for text in _strings(value):
                terms.update(_terms(text, identifying=kind == "ParticipantRegistered"))
    return Protected(frozenset(ids), tuple(sorted(terms, key=lambda t: (-len(t), t))))


def _actor(record: Mapping[str, Any]) -> str | None:
    field = SEALED_FIELDS.get(record["type"], ("", ()))[0]
    value = record.get(field)
    return value if isinstance(value, str) else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def _terms(text: str, identifying: bool) -> Iterator[str]:
    if text == WITHHELD or is_envelope(text):
        return
    if identifying:  # a name or organization: the whole of it
        if len(text.strip()) >= 3:
            yield " ".join(text.split())
        return
    for line in text.splitlines():  # words: each line long enough to say something
        line = " ".join(line.split())
        if len(line) >= MIN_WORDS:
            yield line


# --- the records as published --------------------------------------------------------------


def withheld(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record (sealed values are envelopes) with every envelope :data:`WITHHELD`."""

    def strip(value: Any) -> Any:
        if isinstance(value, str):
            return WITHHELD if is_envelope(value) else value
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        return value

    return {k: strip(v) for k, v in record.items()}


def redacted(record: Mapping[str, Any], protected: Protected) -> dict[str, Any]:
    """Every string of a record with protected terms replaced (ids and types untouched)."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return protected.redact(value) if protected.find(value) else value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return {k: (v if k in ("type", "hearing") else clean(v)) for k, v in record.items()}


# --- the tables ----------------------------------------------------------------------------


def _seconds(start: str, end: str | None) -> int | None:
    if not end:
        return None
    try:
        return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except ValueError:
        return None


def _json(value: Any) -> str | None:
    if value is None or value == [] or value == {}:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def hearing_tables(
    view: HearingView,
    events: int,
    seal: str | None,
    audit: Mapping[str, Any] | None,
    pledge_status: Mapping[int, str],
) -> dict[str, list[dict[str, Any]]]:
    """One hearing's rows of every published table (see :data:`TABLES`)."""
    slug = view.slug
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def person_id(participant: str | None) -> str | None:
        if participant is None:
            return None
        person = view.person(participant)
        key = f"protected-{person.pseudonym_number}" if person.protected else participant
        return f"{slug}/{key}"

    def segment_id(segment: str | None) -> str | None:
        return None if segment is None else f"{slug}/{segment}"

    tables["hearings"].append(
        {
            "slug": slug,
            "title": view.title,
            "venue": view.venue,
            "date": view.date,
            "timezone": view.timezone,
            "languages": ", ".join(view.languages),
            "closed_at": view.closed_at,
            "events": events,
            "seal": seal,
        }
    )
    for position, (group, label) in enumerate(view.stakeholder_groups.items(), start=1):
        tables["stakeholder_groups"].append(
            {
                "id": f"{slug}/{group}",
                "hearing": slug,
                "group_id": group,
                "label": label,
                "position": position,
            }
        )
    for person in view.persons.values():
        tables["participants"].append(
            {
                "id": person_id(person.participant),
                "hearing": slug,
                "name": person.name,
                "organization": person.organization,
                "stakeholder_group": f"{slug}/{person.stakeholder_group}"
                if person.stakeholder_group
                else None,
                "protected": int(person.protected),
            }
        )
    for position, s in enumerate(view.programme, start=1):
        tables["segments"].append(
            {
                "id": segment_id(s.id),
                "hearing": slug,
                "segment": s.id,
                "position": position,
                "kind": s.kind,
                "title": s.title,
                "planned_start": s.planned_start,
                "planned_end": s.planned_end,
                "opened_at": s.opened_at,
                "closed_at": s.closed_at,
                "moderator": person_id(s.moderator),
            }
        )
    for i in view.interventions:
        tables["interventions"].append(
            {
                "id": f"{slug}/{i.seq}",
                "hearing": slug,
                "seq": i.seq,
                "segment": segment_id(i.segment),
                "speaker": person_id(i.speaker),
                "role": i.role,
                "language": i.language,
                "at": i.at,
                "ended_at": i.ended_at,
                "seconds": _seconds(i.at, i.ended_at),
                "text": i.text,
                "translations": _json(dict(i.translations)),
                "corrected": int(bool(i.corrections)),
            }
        )
    for c in view.contributions:
        common = {
            "id": f"{slug}/{c.seq}",
            "hearing": slug,
            "seq": c.seq,
            "segment": segment_id(c.segment),
            "by": person_id(c.by),
            "at": c.at,
        }
        if c.kind == "recommendation":
            tables["recommendations"].append(
                {
                    **common,
                    "text": c.text,
                    "gcm_objectives": _json(list(c.gcm_objectives)),
                    "sg_report_areas": _json(list(c.sg_report_areas)),
                }
            )
        elif c.kind == "pledge":
            tables["pledges"].append(
                {
                    **common,
                    "text": c.text,
                    "level": c.level,
                    "partners": "; ".join(c.partners) or None,
                    "gcm_objectives": _json(list(c.gcm_objectives)),
                    "status": pledge_status.get(c.seq),
                }
            )
        else:
            tables["summations"].append(
                {
                    **common,
                    "summarises": segment_id(c.summarises),
                    "key_points": "\n".join(c.key_points),
                }
            )
    for note in view.corrections:
        tables["corrections"].append(
            {
                "id": f"{slug}/{note.seq}",
                "hearing": slug,
                "seq": note.seq,
                "at": note.at,
                "corrects": note.corrects,
                "target": note.target,
                "changes": "\n".join(
                    f"{ch.label}: {ch.previous} -> {ch.new}" for ch in note.changes
                ),
                "reason": note.reason,
            }
        )
    if audit is not None:
        for position, g in enumerate(audit["groups"], start=1):
            tables["group_time"].append(
                {
                    "id": f"{slug}/{g['group']}",
                    "hearing": slug,
                    "stakeholder_group": f"{slug}/{g['group']}",
                    "position": position,
                    "turns": g["turns"],
                    "seconds": g["seconds"],
                    "time_share": g["time_share"],
                    "representation": g["representation"],
                }
            )
        for c in audit["coverage"]:
            for group, figures in c["groups"].items():
                tables["coverage"].append(
                    {
                        "id": f"{slug}/{c['segment']}/{group}",
                        "hearing": slug,
                        "segment": segment_id(c["segment"]),
                        "stakeholder_group": f"{slug}/{group}",
                        "turns": figures["turns"],
                        "seconds": figures["seconds"],
                    }
                )
    return tables


# --- the schema and its descriptions -------------------------------------------------------

HEARING = ("hearing", "The hearing (its slug): see hearings.")
SEGMENT = ("segment", "The segment of the programme it belongs to: see segments.")

#: Every published table: its description, its columns' descriptions, and its links.
TABLES: Mapping[str, Mapping[str, Any]] = {
    "hearings": {
        "title": "Hearings",
        "description": "One row per hearing in the archive.",
        "label": "title",
        "pk": "slug",
        "columns": {
            "slug": "The hearing's identifier in the record.",
            "title": "The hearing's title.",
            "venue": "Where it was held.",
            "date": "The day it was held (ISO 8601).",
            "timezone": "The time zone of the times recorded.",
            "languages": "The languages of the hearing.",
            "closed_at": "When the hearing was closed (empty while it is open).",
            "events": "How many events its record holds.",
            "seal": "The seal of its record (hearing:count:digest): `hearing verify --seal` checks it.",
        },
    },
    "stakeholder_groups": {
        "title": "Stakeholder groups",
        "description": "The hearing's taxonomy of stakeholder groups, in its order.",
        "label": "label",
        "columns": {
            "id": "hearing/group.",
            HEARING[0]: HEARING[1],
            "group_id": "The group's identifier in the record.",
            "label": "The group's name.",
            "position": "Its place in the taxonomy.",
        },
        "fks": {"hearing": "hearings"},
    },
    "participants": {
        "title": "Participants",
        "description": (
            "Everyone registered to take part. Protected participants appear only as "
            "'Protected speaker N', with no organization."
        ),
        "label": "name",
        "columns": {
            "id": "hearing/participant (hearing/protected-N for a protected participant).",
            HEARING[0]: HEARING[1],
            "name": "Their name, or their pseudonym when protected.",
            "organization": "Their organization (empty when protected).",
            "stakeholder_group": "Their stakeholder group (empty for officials).",
            "protected": "1 when their identity is protected.",
        },
        "fks": {"hearing": "hearings", "stakeholder_group": "stakeholder_groups"},
    },
    "segments": {
        "title": "Segments",
        "description": "The programme: each segment as planned, and when it opened and closed.",
        "label": "title",
        "columns": {
            "id": "hearing/segment.",
            HEARING[0]: HEARING[1],
            "segment": "The segment's identifier in the record.",
            "position": "Its place in the programme.",
            "kind": "opening, session, break, closing, ...",
            "title": "The segment's title.",
            "planned_start": "Planned start.",
            "planned_end": "Planned end.",
            "opened_at": "When it was opened.",
            "closed_at": "When it was closed.",
            "moderator": "Its moderator: see participants.",
        },
        "fks": {"hearing": "hearings", "moderator": "participants"},
    },
    "interventions": {
        "title": "Interventions",
        "description": (
            "Every intervention, as corrected. A protected speaker's words are withheld."
        ),
        "fts": ("text",),
        "columns": {
            "id": "hearing/position in the record.",
            HEARING[0]: HEARING[1],
            "seq": "Its position in the hearing's record.",
            SEGMENT[0]: SEGMENT[1],
            "speaker": "Who spoke: see participants.",
            "role": "chair, keynote, moderator, panellist, floor or rapporteur.",
            "language": "The language it was delivered in.",
            "at": "When it began.",
            "ended_at": "When it ended.",
            "seconds": "Its length in seconds.",
            "text": "What was said, in the language delivered.",
            "translations": "Translations, by language (JSON).",
            "corrected": "1 when a correction changed it (see corrections).",
        },
        "fks": {"hearing": "hearings", "segment": "segments", "speaker": "participants"},
    },
    "recommendations": {
        "title": "Recommendations",
        "description": "Recommendations made, with their GCM objectives and SG report areas.",
        "fts": ("text",),
        "columns": {
            "id": "hearing/position in the record.",
            HEARING[0]: HEARING[1],
            "seq": "Its position in the hearing's record.",
            SEGMENT[0]: SEGMENT[1],
            "by": "Who made it: see participants.",
            "at": "When.",
            "text": "The recommendation.",
            "gcm_objectives": "The Global Compact for Migration objectives it serves (JSON list).",
            "sg_report_areas": "The Secretary-General's report areas it addresses (JSON list).",
        },
        "fks": {"hearing": "hearings", "segment": "segments", "by": "participants"},
    },
    "pledges": {
        "title": "Pledges",
        "description": "Pledges made, with their level, partners and current status.",
        "fts": ("text",),
        "columns": {
            "id": "hearing/position in the record.",
            HEARING[0]: HEARING[1],
            "seq": "Its position in the hearing's record.",
            SEGMENT[0]: SEGMENT[1],
            "by": "Who made it: see participants.",
            "at": "When.",
            "text": "The pledge.",
            "level": "local, national, regional or global.",
            "partners": "Partners named.",
            "gcm_objectives": "The Global Compact for Migration objectives it serves (JSON list).",
            "status": "Latest progress reported: made (no report yet), planned, in_progress, "
            "fulfilled or withdrawn.",
        },
        "fks": {"hearing": "hearings", "segment": "segments", "by": "participants"},
    },
    "summations": {
        "title": "Summations",
        "description": "Summations of segments, with their key points.",
        "columns": {
            "id": "hearing/position in the record.",
            HEARING[0]: HEARING[1],
            "seq": "Its position in the hearing's record.",
            SEGMENT[0]: SEGMENT[1],
            "by": "Who delivered it: see participants.",
            "at": "When.",
            "summarises": "The segment summed up: see segments.",
            "key_points": "The key points, one per line.",
        },
        "fks": {
            "hearing": "hearings",
            "segment": "segments",
            "by": "participants",
            "summarises": "segments",
        },
    },
    "corrections": {
        "title": "Corrections",
        "description": (
            "Nothing in the record is edited: each correction names an earlier record, its "
            "new values and why. The other tables show the record with them applied."
        ),
        "columns": {
            "id": "hearing/position in the record.",
            HEARING[0]: HEARING[1],
            "seq": "The correction's position in the record.",
            "at": "When it was issued.",
            "corrects": "The position of the record it corrects.",
            "target": "What it corrects.",
            "changes": "Each field changed: before -> after (withheld for a protected person).",
            "reason": "Why.",
        },
        "fks": {"hearing": "hearings"},
    },
    "group_time": {
        "title": "Speaking time per stakeholder group",
        "description": (
            "The audit's figures per group: every group of the taxonomy, absent ones at zero. "
            "Officials are not counted."
        ),
        "columns": {
            "id": "hearing/group.",
            HEARING[0]: HEARING[1],
            "stakeholder_group": "The group: see stakeholder_groups.",
            "position": "Its place in the taxonomy.",
            "turns": "Interventions by the group's speakers.",
            "seconds": "Their speaking time in seconds.",
            "time_share": "Share of all stakeholder speaking time (0 to 1).",
            "representation": "balanced, over, under or absent (see the audit's definitions).",
        },
        "fks": {"hearing": "hearings", "stakeholder_group": "stakeholder_groups"},
    },
    "coverage": {
        "title": "Coverage: speaking time per segment and group",
        "description": "The audit's segment x group matrix: turns and seconds, zeros included.",
        "columns": {
            "id": "hearing/segment/group.",
            HEARING[0]: HEARING[1],
            SEGMENT[0]: "The segment: see segments.",
            "stakeholder_group": "The group: see stakeholder_groups.",
            "turns": "Interventions by the group in the segment.",
            "seconds": "Their speaking time in seconds.",
        },
        "fks": {
            "hearing": "hearings",
            "segment": "segments",
            "stakeholder_group": "stakeholder_groups",
        },
    },
}

#: The questions auditors ask, as Datasette canned queries.
QUERIES: Mapping[str, Mapping[str, str]] = {
    "groups_not_heard": {
        "title": "Stakeholder groups not heard",
        "description": "Every group of a hearing's taxonomy that never spoke in it.",
        "sql": (
            "select h.title as hearing, g.label as stakeholder_group\n"
            "from group_time t\n"
            "join hearings h on h.slug = t.hearing\n"
            "join stakeholder_groups g on g.id = t.stakeholder_group\n"
            "where t.turns = 0\n"
            "order by h.date, t.position"
        ),
    },
    "speaking_time_by_group_and_segment": {
        "title": "Speaking time by group and segment",
        "description": "Minutes and turns of each stakeholder group in each segment.",
        "sql": (
            "select c.hearing, s.title as segment, g.label as stakeholder_group,\n"
            "  c.turns, round(c.seconds / 60.0, 1) as minutes\n"
            "from coverage c\n"
            "join segments s on s.id = c.segment\n"
            "join stakeholder_groups g on g.id = c.stakeholder_group\n"
            "order by c.hearing, s.position, g.position"
        ),
    },
    "pledges_by_status": {
        "title": "Pledges by status",
        "description": "How many pledges are at each status (made: no progress reported yet).",
        "sql": (
            "select coalesce(status, 'unknown') as status, count(*) as pledges\n"
            "from pledges group by status order by pledges desc, status"
        ),
    },
    "participant_said": {
        "title": "Everything a participant said",
        "description": (
            "Every intervention, recommendation, pledge and summation of the participant with "
            "this name (a protected participant by their pseudonym, e.g. Protected speaker 1)."
        ),
        "sql": (
            "select 'intervention' as kind, i.hearing, i.seq, i.at, i.text\n"
            "  from interventions i join participants p on p.id = i.speaker where p.name = :name\n"
            "union all\n"
            "select 'recommendation', r.hearing, r.seq, r.at, r.text\n"
            "  from recommendations r join participants p on p.id = r.by where p.name = :name\n"
            "union all\n"
            "select 'pledge', l.hearing, l.seq, l.at, l.text\n"
            "  from pledges l join participants p on p.id = l.by where p.name = :name\n"
            "union all\n"
            "select 'summation', m.hearing, m.seq, m.at, m.key_points\n"
            "  from summations m join participants p on p.id = m.by where p.name = :name\n"
            "order by 2, 3"
        ),
    },
}


def write_database(path: Path, tables: Mapping[str, Sequence[dict[str, Any]]]) -> None:
    """Create the published database: tables with keys and links, then full-text search."""
    db = sqlite_utils.Database(path)
    try:
        for name, spec in TABLES.items():
            pk = spec.get("pk", "id")
            columns: dict[str, type] = {c: (int if c in _INTEGER else str) for c in spec["columns"]}
            if name == "group_time":
                columns["time_share"] = float
            db[name].create(  # type: ignore[union-attr]
                columns,
                pk=pk,
                foreign_keys=[
                    (c, t, TABLES[t].get("pk", "id")) for c, t in spec.get("fks", {}).items()
                ],
            )
        for name in TABLES:  # parents first: the order of TABLES
            rows = tables.get(name, [])
            if rows:
                db[name].insert_all(rows)  # type: ignore[union-attr]
        for name, spec in TABLES.items():
            if "fts" in spec:
                db[name].enable_fts(list(spec["fts"]), create_triggers=False)  # type: ignore[union-attr]
        db.execute("PRAGMA user_version = 1")
        db.conn.commit()
        db.vacuum()
    finally:
        db.close()


_INTEGER = frozenset(
    {"events", "position", "protected", "seq", "seconds", "turns", "corrects", "corrected"}
)


def metadata(
    hearings: Sequence[Mapping[str, Any]],
    pages: Sequence[tuple[str, str]],
    *,
    licence: str,
    licence_url: str | None,
    source: str,
    source_url: str | None,
) -> dict[str, Any]:
    """Datasette's metadata: titles, every table's and column's description, queries, links."""
    links = "".join(
        f'<li><a href="/{PAGES}/{html.escape(href)}">{html.escape(label)}</a></li>'
        for href, label in pages
    )
    names = "; ".join(str(h["title"]) for h in hearings)
    tables: dict[str, Any] = {}
    for name, spec in TABLES.items():
        entry: dict[str, Any] = {
            "title": spec["title"],
            "description": spec["description"],
            "columns": dict(spec["columns"]),
        }
        if "label" in spec:
            entry["label_column"] = spec["label"]
        if "fts" in spec:
            entry["fts_table"] = f"{name}_fts"
            entry["fts_pk"] = "rowid"
        tables[name] = entry
    return {
        "title": "Archive of the hearings",
        "description_html": (
            f"<p>The public record of {html.escape(names)}: interventions, recommendations, "
            "pledges and summations, the programme, and the stakeholder-balance audit. "
            "Protected speakers appear only by pseudonym and their words are withheld.</p>"
            f"<ul>{links}</ul>"
        ),
        "license": licence,
        **({"license_url": licence_url} if licence_url else {}),
        "source": source,
        **({"source_url": source_url} if source_url else {}),
        "databases": {
            DATABASE.removesuffix(".db"): {
                "title": "The hearings' record",
                "description": "Built by `hearing publish` from the event log.",
                "tables": tables,
                "queries": {name: dict(q) for name, q in QUERIES.items()},
            }
        },
    }


# --- the projections' own tables -----------------------------------------------------------


def publishable_tables(readmodels: Any) -> tuple[list[str], list[str]] | None:
    """(public, personal) projection tables, as the read-model database records them.

    None when the read models keep no record of table ownership (then no projection table is
    published: nothing says which of them hold personal data).
    """
    owners = getattr(readmodels, "owners", None)
    if not callable(owners):
        return None
    recorded: Mapping[str, tuple[str, bool]] = owners()
    public = sorted(t for t, (_, personal) in recorded.items() if not personal)
    personal = sorted(t for t, (_, personal) in recorded.items() if personal)
    return public, personal


#: An envelope anywhere in a cell (alone, or inside JSON): ``enc1:<key id>:<ciphertext>``.
_SEALED = re.compile(r"enc1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+={0,2}")


def copy_tables(
    source: sqlite_utils.Database, target: Path, tables: Sequence[str], protected: Protected
) -> int:
    """Copy projection tables into the publication, redacting every text cell; cells redacted."""
    db = sqlite_utils.Database(target)
    redactions = 0
    try:
        for name in tables:
            if name in TABLES or not source[name].exists():
                continue
            columns = source[name].columns_dict
            db[name].create(columns)  # type: ignore[union-attr]
            rows = []
            for row in source[name].rows:
                clean = {}
                for key, value in row.items():
                    if isinstance(value, str) and "enc1:" in value:
                        # Sealed words (contract v2 read models keep them sealed): a
                        # publication reads as if forgotten, so they are withheld.
                        value = _SEALED.sub(WITHHELD, value)
                    if isinstance(value, str) and (
                        protected.find(value) or protected.names_an_id(value)
                    ):
                        value = (
                            WITHHELD if protected.names_an_id(value) else protected.redact(value)
                        )
                        redactions += 1
                    clean[key] = value
                rows.append(clean)
            db[name].insert_all(rows)  # type: ignore[union-attr]
        db.conn.commit()
        db.vacuum()
    finally:
        db.close()
    return redactions


def projection_metadata(tables: Sequence[str], owners: Mapping[str, str]) -> dict[str, Any]:
    """Datasette metadata for copied projection tables (their plugins document the columns)."""
    return {
        name: {
            "title": f"{name} (read model of the {owners.get(name, '?')} projection)",
            "description": (
                f"A table of the {owners.get(name, '?')} projection's read model, which it "
                "declares free of personal data; see that plugin's documentation for its "
                "columns. Text naming a protected participant is withheld."
            ),
        }
        for name in tables
    }


# --- the last check ------------------------------------------------------------------------


def leaks(folder: Path, protected: Protected) -> list[str]:
    """Where anything protected appears in the files under ``folder`` (empty: none).

    Every text cell of every table of every SQLite file, every text file (HTML unescaped
    too), and the raw bytes of every file (for FTS index pages and anything missed).
    """
    found: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        where = path.relative_to(folder)
        for term in protected.terms:
            if term.encode("utf-8") in data:
                found.append(f"{where}: bytes")
                break
        if data.startswith(b"SQLite format 3\x00"):
            found += [f"{where}: {hit}" for hit in _database_leaks(path, protected)]
        else:
            text = data.decode("utf-8", "replace")
            plain = html.unescape(text)
            if protected.find(text) or protected.find(plain) or protected.names_an_id(plain):
                found.append(f"{where}: text")
    return found


def _database_leaks(path: Path, protected: Protected) -> Iterator[str]:
    db = sqlite_utils.Database(path)
    try:
        names = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        for name in names:
            for row in db.execute(f"select * from [{name}]"):  # noqa: S608 - names from the file
                for value in row:
                    if isinstance(value, str) and (
                        protected.find(value) or protected.names_an_id(value)
                    ):
                        yield f"table {name}"
                        break
                else:
                    continue
                break
    finally:
        db.close()
