"""The ``Hearing`` aggregate: every action of a hearing is an immutable event.

Commands validate against the state built from earlier events and refuse
what cannot have happened by raising :class:`~hearing_core.errors.RecordError`
(a refused command records nothing).  Each event's ``apply`` only changes
state; it never validates, so old records always replay.

Every event carries ``digest``: the SHA-256 chain digest over its record and
the digest before it (see :mod:`hearing_core.chain`), computed when the
event is triggered and stored with it.
"""

from __future__ import annotations

import re
import uuid
from array import array
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
from eventsourcing.domain import Aggregate

from hearing_core import gist as gists
from hearing_core import rules
from hearing_core.catalogue import required_fields
from hearing_core.chain import GENESIS_DIGEST, to_json_value
from hearing_core.errors import RecordError
from hearing_core.event_types import Command, actor_fields, bind_to, declare, spec, specs
from hearing_core.rules import check_timezone, default_taxonomy
from hearing_core.values import Participant, ProgrammeItem, SegmentState, StakeholderGroup, TimeSpan

__all__ = [
    "ACTOR_FIELDS",
    "HEARING_NAMESPACE",
    "SLUG",
    "Hearing",
    "build_record",
    "check_timezone",
    "default_taxonomy",
    "event_record",
    "hearing_id",
]

#: Namespace of hearing ids: a hearing's id is uuid5(NAMESPACE, slug), stable across stores.
HEARING_NAMESPACE = uuid.UUID("5d7c1a4e-3f0b-5a8e-9c61-2b8f0e4d7a19")


#: What a hearing's slug looks like (as in the catalogue's schemas).
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def hearing_id(slug: str) -> uuid.UUID:
    """The stable aggregate id of the hearing with this slug (refused if it is no slug)."""
    if not SLUG.fullmatch(slug):
        raise RecordError(f"{slug!r} is not a hearing slug (lower case letters, digits, -)")
    return uuid.uuid5(HEARING_NAMESPACE, slug)


#: One byte per event type name, for :class:`TypeLog` (codes given as names are first met).
_TYPE_NAMES: list[str] = []
_TYPE_CODES: dict[str, int] = {}


def _type_code(name: str) -> int:
    code = _TYPE_CODES.get(name)
    if code is None:
        _TYPE_NAMES.append(name)
        code = _TYPE_CODES[name] = len(_TYPE_NAMES) - 1
    return code


class TypeLog:
    """The event type at every position of a hearing, one byte each (``log[seq - 1]``).

    A hearing remembers what is at each position (to check corrections against
    it) for as long as it is recorded: kept as one byte, not a list entry, its
    state stays small however long the hearing grows (issue 9: a hearing of 2M
    events took hundreds of MB as lists and dicts).
    """

    __slots__ = ("_codes",)

    def __init__(self, codes: bytearray | None = None) -> None:
        self._codes = codes if codes is not None else bytearray()

    def append(self, name: str) -> None:
        self._codes.append(_type_code(name))

    def __len__(self) -> int:
        return len(self._codes)

    def __getitem__(self, index: int) -> str:
        return _TYPE_NAMES[self._codes[index]]

    def __iter__(self) -> Iterator[str]:
        return (_TYPE_NAMES[c] for c in self._codes)

    def copy(self) -> TypeLog:
        return TypeLog(bytearray(self._codes))


class ActorLog:
    """Who acted in each event that names a participant, by position: 4 bytes a position."""

    __slots__ = ("_at", "_ids", "_index")

    def __init__(self) -> None:
        self._at = array("I")  # position -> 1 + index into _ids; 0: nobody
        self._ids: list[str] = []
        self._index: dict[str, int] = {}

    def __setitem__(self, seq: int, participant: str) -> None:
        code = self._index.get(participant)
        if code is None:
            self._ids.append(participant)
            code = self._index[participant] = len(self._ids)
        if len(self._at) == seq:  # the usual case: the next position
            self._at.append(code)
            return
        if len(self._at) < seq:
            self._at.extend([0] * (seq + 1 - len(self._at)))
        self._at[seq] = code

    def get(self, seq: int, default: str | None = None) -> str | None:
        code = self._at[seq] if 0 <= seq < len(self._at) else 0
        return self._ids[code - 1] if code else default

    def __getitem__(self, seq: int) -> str:
        found = self.get(seq)
        if found is None:
            raise KeyError(seq)
        return found

    def copy(self) -> ActorLog:
        clone = ActorLog()
        clone._at = array("I", self._at)
        clone._ids = list(self._ids)
        clone._index = dict(self._index)
        return clone


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_SPAN = -(2**63)


def _microseconds(delta: timedelta) -> int:
    """``delta // timedelta(microseconds=1)``, exactly, in half the time (no division)."""
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class SpanLog:
    """Start and end of every intervention, by position, as exact instants: 16 bytes a position.

    Read back in UTC; only the instants matter (corrections compare them).
    """

    __slots__ = ("_us",)

    def __init__(self) -> None:
        self._us = array("q")

    def __setitem__(self, seq: int, span: tuple[datetime, datetime]) -> None:
        if len(self._us) <= 2 * seq + 1:
            self._us.extend([_NO_SPAN] * (2 * seq + 2 - len(self._us)))
        self._us[2 * seq] = _microseconds(span[0] - _EPOCH)
        self._us[2 * seq + 1] = _microseconds(span[1] - _EPOCH)

    def __getitem__(self, seq: int) -> tuple[datetime, datetime]:
        if not 0 <= 2 * seq < len(self._us) or self._us[2 * seq] == _NO_SPAN:
            raise KeyError(seq)
        return (
            _EPOCH + self._us[2 * seq] * _MICROSECOND,
            _EPOCH + self._us[2 * seq + 1] * _MICROSECOND,
        )

    def copy(self) -> SpanLog:
        clone = SpanLog()
        clone._us = array("q", self._us)
        return clone


def _fields(event: Any) -> dict[str, Any]:
    """The domain fields of an event (what its record holds besides the common keys)."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "digest"}
    return {k: v for k, v in vars(event).items() if k not in skip}


class Hearing(Aggregate, created_event_name="HearingScheduled"):
    """One hearing's record, from ``HearingScheduled`` to ``HearingClosed`` and corrections."""

    class Event(Aggregate.Event):
        """Base of the hearing's events (besides the creation event)."""

        digest: str

        @property
        def at(self) -> datetime:
            return self.timestamp

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            _after_any_event(self, aggregate)
            return aggregate

    @declare(
        rule=rules.scheduled,
        actor=None,
        sealed=(),
        after_close=False,
        proceeding=False,
        gist=gists.scheduled,
        label="Schedule of the hearing",
        in_debate=True,
        command=None,  # `hearing record schedule` reads the record from a file
    )
    class HearingScheduled(Aggregate.Created):
        """The hearing is scheduled with a programme and a stakeholder taxonomy."""

        digest: str
        hearing: str
        title: str
        venue: str
        date: str
        timezone: str
        languages: tuple[str, ...]
        programme: tuple[ProgrammeItem, ...]
        stakeholder_groups: tuple[StakeholderGroup, ...]

        @property
        def at(self) -> datetime:
            return self.timestamp

    @declare(
        rule=rules.registered,
        actor="participant",
        sealed=("name", "organization"),
        after_close=False,
        proceeding=False,
        gist=gists.registered,
        label="Registration",
        in_debate=True,
        command=Command(
            name="register", arguments=("participant",), names={"stakeholder_group": "group"}
        ),
    )
    class ParticipantRegistered(Event):
        participant: str
        name: str
        stakeholder_group: str | None
        organization: str | None = None
        region: str | None = None
        country: str | None = None
        protected: bool | None = None

        def apply(self, aggregate: Hearing) -> None:
            aggregate.participants[self.participant] = Participant(
                id=self.participant,
                name=self.name,
                stakeholder_group=self.stakeholder_group,
                organization=self.organization,
                region=self.region,
                country=self.country,
                protected=bool(self.protected),
            )

    @declare(
        rule=rules.segment_opened,
        actor=None,
        sealed=(),
        after_close=False,
        proceeding=True,
        gist=gists.segment_opened,
        label="Opening of a segment",
        in_debate=True,
        command=Command(name="open", arguments=("segment",)),
    )
    class SegmentOpened(Event):
        segment: str
        moderator: str | None = None

        def apply(self, aggregate: Hearing) -> None:
            state = aggregate.segments[self.segment]
            aggregate.segments[self.segment] = SegmentState(
                state.item, TimeSpan(self.timestamp), self.moderator
            )
            aggregate.open_segment = self.segment

    @declare(
        rule=rules.segment_closed,
        actor=None,
        sealed=(),
        after_close=False,
        proceeding=True,
        gist=gists.segment_closed,
        label="Closing of a segment",
        in_debate=True,
        command=Command(name="close-segment", arguments=("segment",)),
    )
    class SegmentClosed(Event):
        segment: str

        def apply(self, aggregate: Hearing) -> None:
            state = aggregate.segments[self.segment]
            assert state.actual is not None
            aggregate.segments[self.segment] = SegmentState(
                state.item, TimeSpan(state.actual.start, self.timestamp), state.moderator
            )
            aggregate.open_segment = None

    @declare(
        rule=rules.intervention,
        actor="speaker",
        sealed=("text", "translations"),
        after_close=False,
        proceeding=True,
        gist=gists.intervention,
        label="Intervention",
        in_debate=True,
        command=Command(
            name="intervene",
            arguments=("speaker",),
            names={"translations": "translation"},
            metavars={"translations": "LANG=TEXT"},
            defaults={"language": "en"},
        ),
    )
    class InterventionDelivered(Event):
        speaker: str
        segment: str
        role: str
        language: str
        ended_at: datetime
        text: str | None = None
        translations: dict[str, str] | None = None

        def apply(self, aggregate: Hearing) -> None:
            aggregate.spans[self.originator_version] = (self.timestamp, self.ended_at)
            aggregate.spoken_languages.add(self.language)
            aggregate.spoken_languages.update(self.translations or ())

    @declare(
        rule=rules.pledge,
        actor="by",
        sealed=("text",),
        after_close=False,
        proceeding=True,
        gist=gists.said_by,
        label="Pledge",
        in_debate=False,
        command=Command(
            name="pledge",
            arguments=("by",),
            names={"gcm_objectives": "objectives", "partners": "partner"},
        ),
    )
    class PledgeMade(Event):
        by: str
        text: str
        gcm_objectives: tuple[int, ...]
        level: str
        partners: tuple[str, ...] | None = None
        segment: str | None = None

    @declare(
        rule=rules.recommendation,
        actor="by",
        sealed=("text",),
        after_close=False,
        proceeding=True,
        gist=gists.said_by,
        label="Recommendation",
        in_debate=False,
        command=Command(
            name="recommend",
            arguments=("by",),
            names={"sg_report_areas": "areas", "gcm_objectives": "objectives"},
        ),
    )
    class RecommendationMade(Event):
        by: str
        text: str
        sg_report_areas: tuple[int, ...]
        gcm_objectives: tuple[int, ...]
        segment: str | None = None

    @declare(
        rule=rules.summation,
        actor="by",
        sealed=("key_points",),
        after_close=False,
        proceeding=True,
        gist=gists.summation,
        label="Summation",
        in_debate=False,
        command=Command(name="summarise", arguments=("by",), names={"key_points": "point"}),
    )
    class SummationDelivered(Event):
        by: str
        segment: str
        summarises: str
        key_points: tuple[str, ...]

    @declare(
        rule=rules.hearing_closed,
        actor=None,
        sealed=(),
        after_close=False,
        proceeding=True,
        gist=gists.hearing_closed,
        label="Closing of the hearing",
        in_debate=True,
        command=Command(name="close"),
    )
    class HearingClosed(Event):
        def apply(self, aggregate: Hearing) -> None:
            aggregate.closed_at = self.timestamp

    @declare(
        rule=rules.pledge_progress,
        actor="by",  # optional: a report need not name a registered reporter
        sealed=("note",),
        after_close=True,
        proceeding=False,
        gist=gists.pledge_progress,
        label="Report of progress on a pledge",
        in_debate=False,
        command=Command(name="progress", arguments=("pledge",)),
    )
    class PledgeProgressReported(Event):
        pledge: int
        status: str
        pledge_hearing: str | None = None
        note: str | None = None
        by: str | None = None

    @declare(
        rule=rules.correction,
        actor=None,
        sealed=(),
        after_close=True,
        proceeding=False,
        gist=gists.correction,
        label="Correction",
        in_debate=False,
        command=Command(
            name="correct",
            arguments=("corrects",),
            names={"corrects": "position", "changes": "set"},
            metavars={"changes": "FIELD=JSON"},
        ),
    )
    class CorrectionIssued(Event):
        corrects: int
        changes: dict[str, Any]
        reason: str

        def apply(self, aggregate: Hearing) -> None:
            corrected = aggregate.event_types[self.corrects - 1]
            if corrected == "InterventionDelivered" and {"at", "ended_at"} & set(self.changes):
                start, end = aggregate.spans[self.corrects]
                aggregate.spans[self.corrects] = (
                    datetime.fromisoformat(self.changes["at"]) if "at" in self.changes else start,
                    datetime.fromisoformat(self.changes["ended_at"])
                    if "ended_at" in self.changes
                    else end,
                )
            if corrected == "HearingScheduled":
                aggregate.apply_schedule_correction(self.changes)
            if corrected == "ParticipantRegistered":
                # Keep the participant in step, so later checks see the corrected group.
                pid = aggregate.actors[self.corrects]
                known = {"name", "organization", "stakeholder_group", "region", "country"}
                updates = {k: v for k, v in self.changes.items() if k in known}
                if "protected" in self.changes:
                    updates["protected"] = bool(self.changes["protected"])
                aggregate.participants[pid] = attrs.evolve(aggregate.participants[pid], **updates)

    # --- state -------------------------------------------------------------------

    def __init__(
        self,
        hearing: str,
        title: str,
        date: str,
        timezone: str,
        languages: tuple[str, ...],
        programme: tuple[ProgrammeItem, ...],
        stakeholder_groups: tuple[StakeholderGroup, ...],
    ) -> None:
        self.slug = hearing
        self.title = title
        self.date = date
        self.timezone = timezone
        self.languages = tuple(languages)
        self.taxonomy = {g.id: g.label for g in stakeholder_groups}
        self.segments: dict[str, SegmentState] = {item.id: SegmentState(item) for item in programme}
        self.participants: dict[str, Participant] = {}
        #: Languages spoken or translated into so far.
        self.spoken_languages: set[str] = set()
        #: Who acted in each event that names a participant, by position.
        self.actors = ActorLog()
        #: Start and end of every intervention, by position (for checking corrections).
        self.spans = SpanLog()
        self.open_segment: str | None = None
        self.closed_at: datetime | None = None
        #: The type of every event, by position (seq - 1).
        self.event_types = TypeLog()
        self.head_digest = GENESIS_DIGEST

    #: Maps each event class name to its class (a view of the event-type registry).
    EVENT_TYPES: ClassVar[Mapping[str, type[Any]]]

    @classmethod
    def scheduled(cls, event_class: type[Any], **kwargs: Any) -> Hearing:
        """A new hearing, created by ``event_class`` (the registry's ``HearingScheduled``)
        with ``kwargs`` (its id, timestamp, digest and fields).

        eventsourcing's way for an aggregate to be created with an event class of its
        choosing: a class method of the aggregate calling the protected ``_create``.
        """
        return cls._create(event_class, **kwargs)

    def apply_schedule_correction(self, changes: Mapping[str, Any]) -> None:
        """Bring the state in step with a corrected schedule (programme, taxonomy, ...)."""
        for name in ("title", "date", "timezone"):
            if name in changes:
                setattr(self, name, changes[name])
        if "languages" in changes:
            self.languages = tuple(changes["languages"])
        if "stakeholder_groups" in changes:
            self.taxonomy = {g["id"]: g["label"] for g in changes["stakeholder_groups"]}
        if "programme" in changes:
            segments = {}
            for item in changes["programme"]:
                old = self.segments.get(item["id"])
                new_item = ProgrammeItem(**item)
                segments[item["id"]] = (
                    attrs.evolve(old, item=new_item) if old else SegmentState(new_item)
                )
            self.segments = segments

    def __deepcopy__(self, memo: dict[int, Any]) -> Hearing:
        """A copy for the repository's cache: containers are copied, their items are not.

        Every value the state holds (attrs value objects, tuples, strings,
        datetimes, events) is immutable, so copying one level deep is a full
        copy, and far cheaper than ``copy.deepcopy`` walking every object.
        """
        clone = object.__new__(type(self))
        for name, value in vars(self).items():
            copies = isinstance(value, dict | list | set | TypeLog | ActorLog | SpanLog)
            setattr(clone, name, value.copy() if copies else value)
        return clone

    def make_record(self, type_name: str, seq: int, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The record (JSON form) of an event of this hearing, without its digest."""
        return build_record(self.slug, type_name, seq, kwargs)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


def build_record(slug: str, type_name: str, seq: int, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The record of an event from its fields; ``kwargs['timestamp']`` is its ``at``.

    Used both when an event is triggered (to compute its digest) and when it is
    read back (to export it), so the two always agree.
    """
    required = required_fields(type_name)
    at = kwargs["timestamp"]
    record: dict[str, Any] = {
        "type": type_name,
        "hearing": slug,
        "seq": seq,
        "at": at if type(at) in _JSON_SCALARS else to_json_value(at),
    }
    for key, value in kwargs.items():
        if key in _NOT_FIELDS:
            continue
        if value is None:
            # Optional fields are left out when empty; required ones (say a null group) stay.
            if key in required:
                record[key] = None
        else:  # most values are already JSON scalars: test that inline, not in a call
            record[key] = value if type(value) in _JSON_SCALARS else to_json_value(value)
    return record


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_NOT_FIELDS = frozenset({"timestamp", "digest", "hearing"})


def event_record(event: Any, slug: str) -> dict[str, Any]:
    """The full record of a stored event, digest included."""
    record = build_record(
        slug,
        type(event).__name__,
        event.originator_version,
        {"timestamp": event.timestamp, **_fields(event)},
    )
    record["digest"] = event.digest
    return record


#: The field that names the participant acting in events of each type (a view of the specs).
ACTOR_FIELDS: Mapping[str, str] = actor_fields()


def _after_any_event(event: Any, aggregate: Hearing) -> None:
    """Bookkeeping common to every event: type and actor by position, the digest head."""
    name = type(event).__name__
    aggregate.event_types.append(name)
    aggregate.head_digest = event.digest
    actor = spec(name).actor
    who = getattr(event, actor) if actor is not None else None
    if who is not None:  # an optional actor field may be left out (a progress report's `by`)
        aggregate.actors[event.originator_version] = who


class _EventClasses(Mapping[str, type[Any]]):
    """Type name -> domain event class, read from the registry."""

    def __getitem__(self, name: str) -> type[Any]:
        return specs()[name].event_class

    def __iter__(self) -> Any:
        return iter(specs())

    def __len__(self) -> int:
        return len(specs())


bind_to(Hearing)
Hearing.EVENT_TYPES = _EventClasses()
