"""What every export reads from a hearing's records: one view, built once.

The exports are pure functions of the records (a list of dicts in log order).
This module folds the records into a :class:`HearingView` - as corrected, or as
originally recorded - with protected participants already shielded, so that an
exporter never has to look at a protected person's name, organization, region
or country (or even their participant id: a protected person is known only by
their pseudonym and its number).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hearing_core.corrections import AppliedCorrection, apply_corrections
from hearing_core.event_types import labels, names_where
from hearing_core.projection import stakeholder_groups
from hearing_core.shielding import IDENTIFYING_FIELDS, PERSON_FIELDS, WITHHELD, Protection

#: How a role is shown to a reader.
ROLE_LABELS: Mapping[str, str] = {
    "chair": "Chair",
    "keynote": "Keynote speaker",
    "moderator": "Moderator",
    "panellist": "Panellist",
    "floor": "Speaker from the floor",
    "rapporteur": "Rapporteur",
}

#: English names of the languages a hearing is most likely to use (the six UN languages).
LANGUAGE_NAMES: Mapping[str, str] = {
    "ar": "Arabic",
    "zh": "Chinese",
    "en": "English",
    "fr": "French",
    "ru": "Russian",
    "es": "Spanish",
    "pt": "Portuguese",
    "de": "German",
    "sw": "Swahili",
    "fa": "Persian",
    "he": "Hebrew",
    "ur": "Urdu",
}

#: Primary language subtags written right to left.
RTL_LANGUAGES = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "syr", "ug", "ur", "yi"}
)

#: Fields whose values are participant ids (as hearing_core.shielding names them).
ID_FIELDS = frozenset(f for fields in PERSON_FIELDS.values() for f in fields) - {"participant"}

#: Fields whose values are segment ids.
SEGMENT_FIELDS = frozenset({"segment", "summarises"})

FIELD_LABELS: Mapping[str, str] = {
    "at": "Time",
    "ended_at": "End time",
    "speaker": "Speaker",
    "by": "Made by",
    "moderator": "Moderator",
    "segment": "Segment",
    "summarises": "Segment summarised",
    "role": "Role",
    "language": "Language",
    "text": "Text",
    "translations": "Translations",
    "name": "Name",
    "organization": "Organization",
    "stakeholder_group": "Stakeholder group",
    "region": "Region",
    "country": "Country",
    "protected": "Identity protected",
    "gcm_objectives": "GCM objectives",
    "sg_report_areas": "SG report areas",
    "key_points": "Key points",
    "partners": "Partners",
    "level": "Level",
    "title": "Title",
    "venue": "Venue",
    "date": "Date",
    "timezone": "Time zone",
    "languages": "Languages",
    "programme": "Programme",
    "stakeholder_groups": "Stakeholder groups",
}

#: How each event type is named to a reader (a view of the event-type registry).
TARGET_KINDS: Mapping[str, str] = labels()

#: The record types the hearing's proceedings are built from (pledges, recommendations,
#: summations and progress reports are not part of the debate the exports render); a view
#: of the event-type registry.
DEBATE_TYPES = names_where(lambda s: s.in_debate)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, lone surrogates,
# U+FFFE/U+FFFF) and the C1 controls HTML calls parse errors.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FRACTION = re.compile(r"\.\d+(?=(Z|[+-]\d{2}:\d{2})$)")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def clean(text: str) -> str:
    """Text safe to put in XML or HTML: characters neither allows become U+FFFD."""
    return _NOT_TEXT.sub("\ufffd", text)


def clean_unicode(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates become U+FFFD (for JSON output)."""
    return _SURROGATE.sub("\ufffd", text)


def paragraphs(text: str | None) -> list[str]:
    """The non-blank lines of a text, each a paragraph, trailing space trimmed."""
    if not text:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_language_tag(language: str) -> str:
    if not _LANGUAGE_TAG.match(language):
        raise ValueError(f"{language!r} is not a BCP 47 language tag such as 'en' or 'fr'")
    return language


def primary_subtag(language: str) -> str:
    return language.split("-", 1)[0].lower()


def is_rtl(language: str) -> bool:
    return primary_subtag(language) in RTL_LANGUAGES


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language) or LANGUAGE_NAMES.get(primary_subtag(language), language)


def short_hash(text: str) -> str:
    """A short stable id for free text (organization names have no ids of their own)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def without_fraction(value: str) -> str:
    """An ISO date-time without fractional seconds (Popolo's date pattern has none)."""
    return _FRACTION.sub("", value)


def long_date(value: str) -> str:
    """``2022-05-16`` -> ``16 May 2022``; anything unparsable is returned as is."""
    try:
        d = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class Person:
    """A participant as an export may show them."""

    participant: str  # the id in the log: never to be published when ``protected``
    name: str  # the display name: the pseudonym when protected
    organization: str | None  # None when protected
    stakeholder_group: str | None
    group_label: str | None
    protected: bool
    pseudonym_number: int | None  # N of "Protected speaker N"
    registered: bool = True


@dataclass(frozen=True)
class Segment:
    id: str
    kind: str
    title: str
    planned_start: str | None
    planned_end: str | None
    opened_at: str | None
    closed_at: str | None
    moderator: str | None  # participant id


@dataclass(frozen=True)
class Intervention:
    seq: int
    at: str
    ended_at: str
    speaker: str  # participant id: look it up in ``HearingView.persons``
    segment: str
    role: str
    language: str
    text: str | None
    translations: Mapping[str, str]
    corrections: tuple[CorrectionNote, ...]


@dataclass(frozen=True)
class Contribution:
    """A pledge, recommendation or summation, placed in its segment by time as it was made."""

    seq: int
    at: str
    kind: str  # "pledge", "recommendation" or "summation"
    by: str  # participant id: look it up in ``HearingView.persons``
    segment: str | None
    text: str | None  # pledges and recommendations
    key_points: tuple[str, ...]  # summations
    summarises: str | None  # summations: the segment summed up
    gcm_objectives: tuple[int, ...]
    sg_report_areas: tuple[int, ...]  # recommendations
    level: str | None  # pledges
    partners: tuple[str, ...]  # pledges
    corrections: tuple[CorrectionNote, ...]


#: The record types that are contributions, and their kind.
CONTRIBUTION_KINDS: Mapping[str, str] = {
    "PledgeMade": "pledge",
    "RecommendationMade": "recommendation",
    "SummationDelivered": "summation",
}


@dataclass(frozen=True)
class Change:
    """One field changed by a correction, ready to show (identifying values withheld)."""

    field: str
    label: str
    previous: str
    new: str
    withheld: bool
    long: bool  # a text or list of texts: better shown in full than inline


@dataclass(frozen=True)
class CorrectionNote:
    seq: int
    at: str
    corrects: int
    target: str  # what was corrected, e.g. "Intervention by Protected speaker 1"
    changes: tuple[Change, ...]
    reason: str


@dataclass(frozen=True)
class HearingView:
    slug: str
    title: str
    venue: str
    date: str
    timezone: str
    languages: tuple[str, ...]
    stakeholder_groups: Mapping[str, str]  # id -> label, in the hearing's order
    persons: Mapping[str, Person]  # participant id -> person, in registration order
    programme: tuple[Segment, ...]  # every programme item, in programme order
    segments: tuple[Segment, ...]  # the segments that were opened (or hold interventions)
    interventions: tuple[Intervention, ...]  # log order
    corrections: tuple[CorrectionNote, ...]  # empty when read as originally recorded
    closed_at: str | None
    corrected: bool
    last_at: str  # ``at`` of the last record the view is built from (see DEBATE_TYPES)
    contributions: tuple[Contribution, ...] = ()  # pledges, recommendations, summations; log order

    def person(self, participant: str) -> Person:
        found = self.persons.get(participant)
        if found is not None:
            return found
        return Person(
            participant=participant,
            name=participant,
            organization=None,
            stakeholder_group=None,
            group_label=None,
            protected=False,
            pseudonym_number=None,
            registered=False,
        )

    def segment(self, segment_id: str) -> Segment | None:
        for s in self.programme:
            if s.id == segment_id:
                return s
        for s in self.segments:
            if s.id == segment_id:
                return s
        return None

    def segment_title(self, segment_id: str) -> str:
        s = self.segment(segment_id)
        return s.title if s is not None else segment_id

    def interventions_in(self, segment_id: str) -> list[Intervention]:
        return [i for i in self.interventions if i.segment == segment_id]

    def contributions_in(self, segment_id: str | None) -> list[Contribution]:
        """The pledges, recommendations and summations made in a segment (None: in none)."""
        return [c for c in self.contributions if c.segment == segment_id]

    def zone(self) -> tzinfo | None:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def local(self, value: str) -> datetime | None:
        """A record's date-time in the hearing's time zone (None if unparsable)."""
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        zone = self.zone()
        if zone is not None and moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return moment

    def clock(self, value: str) -> str:
        """A time as a reader wants it: ``12:25:30``, with the date if not the hearing's day."""
        moment = self.local(value)
        if moment is None:
            return value
        text = moment.strftime("%H:%M" if moment.second == 0 else "%H:%M:%S")
        if moment.date().isoformat() != self.date:
            text = f"{long_date(moment.date().isoformat())}, {text}"
        return text


def _hearing_records(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # A record without ``seq`` (allowed on import) is at its position in the log.
    out = [r if "seq" in r else {**r, "seq": n} for n, r in enumerate(records, start=1)]
    if not out:
        raise ValueError("no records: an export needs at least the HearingScheduled record")
    if out[0].get("type") != "HearingScheduled":
        raise ValueError("the first record must be the hearing's HearingScheduled record")
    slugs = {r.get("hearing") for r in out}
    if len(slugs) != 1:
        raise ValueError(f"records of more than one hearing: {sorted(map(str, slugs))}")
    return out


def read_hearing(records: Iterable[Mapping[str, Any]], *, uncorrected: bool = False) -> HearingView:
    """Fold a hearing's records (log order) into the view the exports render."""
    everything = _hearing_records(records)
    # Who is protected and their pseudonym: the core's rule (hearing_core.shielding), from the
    # whole record, so protection given by a later correction holds in every reading.
    protection = Protection.of(everything)
    hearing = everything[0]["hearing"]
    readings: list[tuple[dict[str, Any], tuple[AppliedCorrection, ...]]]
    if uncorrected:
        readings = [(dict(r), ()) for r in everything if r["type"] != "CorrectionIssued"]
    else:
        readings = [
            (dict(c.record), tuple(c.corrections))
            for c in apply_corrections(everything)
            if c.record["type"] != "CorrectionIssued"
        ]

    scheduled = readings[0][0]
    groups = stakeholder_groups(scheduled)

    persons: dict[str, Person] = {}
    opened: dict[str, str] = {}
    closed: dict[str, str] = {}
    moderators: dict[str, str] = {}
    interventions: list[tuple[dict[str, Any], tuple[AppliedCorrection, ...]]] = []
    contributions: list[tuple[dict[str, Any], tuple[AppliedCorrection, ...]]] = []
    closed_at: str | None = None
    for r, applied in readings:
        kind = r["type"]
        if kind == "ParticipantRegistered":
            pid = r["participant"]
            group = r.get("stakeholder_group")
            pseudonym = protection.pseudonym(hearing, pid)
            if pseudonym is not None:
                persons[pid] = Person(
                    participant=pid,
                    name=pseudonym,
                    organization=None,
                    stakeholder_group=group,
                    group_label=groups.get(group, group) if group else None,
                    protected=True,
                    pseudonym_number=protection.number(hearing, pid),
                )
            else:
                persons[pid] = Person(
                    participant=pid,
                    name=r["name"],
                    organization=r.get("organization"),
                    stakeholder_group=group,
                    group_label=groups.get(group, group) if group else None,
                    protected=False,
                    pseudonym_number=None,
                )
        elif kind == "SegmentOpened":
            opened.setdefault(r["segment"], r["at"])
            if r.get("moderator"):
                moderators.setdefault(r["segment"], r["moderator"])
        elif kind == "SegmentClosed":
            closed[r["segment"]] = r["at"]
        elif kind == "InterventionDelivered":
            interventions.append((r, applied))
        elif kind in CONTRIBUTION_KINDS:
            contributions.append((r, applied))
        elif kind == "HearingClosed":
            closed_at = r["at"]

    programme = tuple(
        Segment(
            id=item["id"],
            kind=item["kind"],
            title=item["title"],
            planned_start=item.get("planned_start"),
            planned_end=item.get("planned_end"),
            opened_at=opened.get(item["id"]),
            closed_at=closed.get(item["id"]),
            moderator=moderators.get(item["id"]),
        )
        for item in scheduled["programme"]
    )
    known = {s.id for s in programme}
    used = {r["segment"] for r, _ in interventions}
    segments = [s for s in programme if s.id in opened or s.id in used]
    for r, _ in interventions:  # a segment outside the programme still gets its section
        if r["segment"] not in known:
            known.add(r["segment"])
            segments.append(
                Segment(r["segment"], "session", r["segment"], None, None, None, None, None)
            )

    view = HearingView(
        slug=scheduled["hearing"],
        title=scheduled["title"],
        venue=scheduled["venue"],
        date=scheduled["date"],
        timezone=scheduled["timezone"],
        languages=tuple(scheduled["languages"]),
        stakeholder_groups=groups,
        persons=persons,
        programme=programme,
        segments=tuple(segments),
        interventions=(),
        corrections=(),
        closed_at=closed_at,
        corrected=not uncorrected,
        last_at=[
            r["at"]
            for r in everything
            if r["type"] in DEBATE_TYPES or (r["type"] == "CorrectionIssued" and not uncorrected)
        ][-1],
    )
    notes: dict[int, CorrectionNote] = {}
    if not uncorrected:
        for r, applied in readings:
            for a in applied:
                notes[a.seq] = _note(view, r, a)
    items = tuple(
        Intervention(
            seq=r["seq"],
            at=r["at"],
            ended_at=r["ended_at"],
            speaker=r["speaker"],
            segment=r["segment"],
            role=r["role"],
            language=r["language"],
            text=r.get("text"),
            translations=dict(sorted((r.get("translations") or {}).items())),
            corrections=tuple(notes[a.seq] for a in applied),
        )
        for r, applied in interventions
    )
    made = tuple(
        Contribution(
            seq=r["seq"],
            at=r["at"],
            kind=CONTRIBUTION_KINDS[r["type"]],
            by=r["by"],
            segment=r.get("segment"),
            text=r.get("text"),
            key_points=tuple(r.get("key_points") or ()),
            summarises=r.get("summarises"),
            gcm_objectives=tuple(r.get("gcm_objectives") or ()),
            sg_report_areas=tuple(r.get("sg_report_areas") or ()),
            level=r.get("level"),
            partners=tuple(r.get("partners") or ()),
            corrections=tuple(notes[a.seq] for a in applied),
        )
        for r, applied in contributions
    )
    return replace(
        view,
        interventions=items,
        contributions=made,
        corrections=tuple(notes[k] for k in sorted(notes)),
    )


def _target(view: HearingView, record: Mapping[str, Any]) -> str:
    kind = str(record["type"])
    label = TARGET_KINDS.get(kind, kind)
    if kind == "ParticipantRegistered":
        return f"{label} of {view.person(record['participant']).name}"
    if kind == "InterventionDelivered":
        return f"{label} by {view.person(record['speaker']).name} at {view.clock(record['at'])}"
    if kind in ("PledgeMade", "RecommendationMade", "SummationDelivered"):
        return f"{label} by {view.person(record['by']).name}"
    if kind in ("SegmentOpened", "SegmentClosed"):
        return f"{label}: {view.segment_title(record['segment'])}"
    return label


def _value(view: HearingView, field: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if field in ID_FIELDS and isinstance(value, str):
        return view.person(value).name
    if field in SEGMENT_FIELDS and isinstance(value, str):
        return view.segment_title(value)
    if field == "stakeholder_group" and isinstance(value, str):
        return view.stakeholder_groups.get(value, value)
    if field == "role" and isinstance(value, str):
        return ROLE_LABELS.get(value, value)
    if field == "language" and isinstance(value, str):
        return language_name(value)
    if field in ("at", "ended_at", "planned_start", "planned_end") and isinstance(value, str):
        return view.clock(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, int | str) for v in value):
        return "; ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return "\n".join(f"{language_name(k)}: {v}" for k, v in sorted(value.items()))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _note(
    view: HearingView, record: Mapping[str, Any], applied: AppliedCorrection
) -> CorrectionNote:
    protected_registration = (
        record["type"] == "ParticipantRegistered" and view.person(record["participant"]).protected
    )
    changes = []
    for field in sorted(applied.changes):
        withheld = protected_registration and field in IDENTIFYING_FIELDS
        changes.append(
            Change(
                field=field,
                label=FIELD_LABELS.get(field, field.replace("_", " ").capitalize()),
                previous=WITHHELD if withheld else _value(view, field, applied.previous.get(field)),
                new=WITHHELD if withheld else _value(view, field, applied.changes[field]),
                withheld=withheld,
                long=field in ("text", "translations", "key_points", "programme"),
            )
        )
    # The reason for correcting a protected person's registration may well name them.
    reason = WITHHELD if protected_registration else applied.reason
    return CorrectionNote(
        seq=applied.seq,
        at=applied.at,
        corrects=int(record.get("seq", 0)),
        target=_target(view, record),
        changes=tuple(changes),
        reason=reason,
    )
