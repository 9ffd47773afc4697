"""The state rules of each event type: check a schema-valid record against the hearing.

The record has already passed the catalogue's JSON Schema (shape and
vocabularies); here are the rules that need the hearing's state: registered
speakers, open segments, the taxonomy in force, corrections that still make
sense.  Each event type's rule is named in its spec (see
:mod:`hearing_core.event_types`); it returns the event's domain fields or
raises :class:`RecordError` naming the field, and records nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hearing_core.catalogue import validate_field
from hearing_core.errors import RecordError
from hearing_core.event_types import spec
from hearing_core.taxonomy import DEFAULT_STAKEHOLDER_GROUPS
from hearing_core.values import ProgrammeItem, StakeholderGroup

if TYPE_CHECKING:
    from hearing_core.domain import Hearing

Record = Mapping[str, Any]


def parse_time(record: Record, field: str) -> datetime:
    """A record's time field as a datetime; it must carry a UTC offset."""
    try:
        value = datetime.fromisoformat(record[field])
    except ValueError:
        raise RecordError(
            f"{record[field]!r} is not an ISO 8601 date and time", field=field
        ) from None
    if value.utcoffset() is None:
        raise RecordError("must carry a UTC offset", field=field)
    return value


#: The forms a person may give a time in (``--at``, ``--ended-at``, ``--as-of``).
TIME_FORMS = "HH:MM on the hearing's day (its time zone), or ISO 8601 with offset, e.g. 2022-05-16T11:00:00-04:00"


def moment(text: str, hearing_day: Callable[[], tuple[str, str]]) -> datetime:
    """A time as a person types it: ``HH:MM[:SS]`` (optionally with an offset) on the
    hearing's day, in its time zone unless an offset is given, or an ISO 8601 date and
    time.  ``hearing_day()`` gives the hearing's date and time zone, asked only for a
    clock time.  Raises ``ValueError`` naming the accepted forms; the result may lack
    an offset when the text did (callers refuse that with their own words).
    """
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        clock = None
    if clock is not None and "T" not in text:
        day, timezone = hearing_day()
        tz = clock.tzinfo or ZoneInfo(timezone)
        return datetime.combine(date.fromisoformat(day), clock.replace(tzinfo=None), tzinfo=tz)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not in the expected form: {TIME_FORMS}") from None


def check_timezone(name: str, field: str = "timezone") -> None:
    """Refuse a time zone name the IANA database does not know."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecordError(f"unknown time zone {name!r}", field=field) from None


def default_taxonomy() -> tuple[StakeholderGroup, ...]:
    """The GCM stakeholder groups, as the taxonomy of a hearing that declares none."""
    return tuple(StakeholderGroup(k, v) for k, v in DEFAULT_STAKEHOLDER_GROUPS.items())


def scheduled(hearing: None, record: Record) -> dict[str, Any]:
    """The rule of ``HearingScheduled``: a known time zone, a real date, a sound programme."""
    if record.get("seq", 1) != 1:
        raise RecordError(
            f"a new hearing's record starts at seq 1, not {record['seq']}", field="seq"
        )
    check_timezone(record["timezone"])
    _check_date(record["date"], "date")
    programme = _programme(record["programme"], "programme")
    groups = (
        tuple(StakeholderGroup(**g) for g in record["stakeholder_groups"])
        if "stakeholder_groups" in record
        else default_taxonomy()
    )
    if len({g.id for g in groups}) != len(groups):
        raise RecordError("duplicate stakeholder group id", field="stakeholder_groups")
    return {
        "hearing": record["hearing"],
        "title": record["title"],
        "venue": record["venue"],
        "date": record["date"],
        "timezone": record["timezone"],
        "languages": tuple(record["languages"]),
        "programme": tuple(programme),
        "stakeholder_groups": groups,
    }


def _programme(items: list[dict[str, Any]], field: str) -> list[ProgrammeItem]:
    """Programme items as value objects: unique ids, times with offsets, ends after starts."""
    programme = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item["id"] in seen:
            raise RecordError(f"duplicate segment id {item['id']!r}", field=f"{field}.{i}.id")
        seen.add(item["id"])
        for key in ("planned_start", "planned_end"):
            try:
                parse_time(item, key)
            except RecordError as e:
                raise RecordError(e.message, field=f"{field}.{i}.{key}") from None
        try:
            programme.append(ProgrammeItem(**item))
        except ValueError as e:
            raise RecordError(str(e), field=f"{field}.{i}") from None
    return programme


def _keeps(used: set[str], kept: list[str], what: str, field: str) -> None:
    """A corrected list must keep every entry the record already uses."""
    missing = sorted(used - set(kept))
    if missing:
        raise RecordError(f"{missing[0]!r} {what}", field=field)


def _check_date(text: str, field: str) -> None:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise RecordError(f"{text!r} is not a calendar date (YYYY-MM-DD)", field=field) from None


# --- rules that need the hearing's state ----------------------------------------------


def _participant(hearing: Hearing, record: Record, field: str) -> None:
    pid = record[field]
    if pid not in hearing.participants:
        raise RecordError(f"{pid!r} is not a registered participant", field=field)


def _group(hearing: Hearing, group: str | None, field: str) -> None:
    if group is not None and group not in hearing.taxonomy:
        raise RecordError(f"{group!r} is not a stakeholder group of this hearing", field=field)


def _language(hearing: Hearing, code: str, field: str) -> None:
    if code not in hearing.languages:
        langs = ", ".join(hearing.languages)
        raise RecordError(f"{code!r} is not a language of this hearing ({langs})", field=field)


def _known_segment(hearing: Hearing, segment: str, field: str) -> None:
    if segment not in hearing.segments:
        raise RecordError(f"{segment!r} is not a segment of the programme", field=field)


def _open_segment(hearing: Hearing, segment: str, field: str) -> None:
    _known_segment(hearing, segment, field)
    if hearing.open_segment != segment:
        state = "closed" if hearing.segments[segment].is_closed else "not open"
        raise RecordError(f"segment {segment!r} is {state}", field=field)


def registered(hearing: Hearing, r: Record) -> dict[str, Any]:
    if r["participant"] in hearing.participants:
        raise RecordError(
            f"participant {r['participant']!r} is already registered", field="participant"
        )
    _group(hearing, r["stakeholder_group"], "stakeholder_group")
    keys = ("participant", "name", "stakeholder_group", "organization", "region", "country")
    fields = {k: r.get(k) for k in keys}
    fields["protected"] = True if r.get("protected") else None
    return fields


def segment_opened(hearing: Hearing, r: Record) -> dict[str, Any]:
    _known_segment(hearing, r["segment"], "segment")
    state = hearing.segments[r["segment"]]
    if state.actual is not None:
        raise RecordError(f"segment {r['segment']!r} was already opened", field="segment")
    if hearing.open_segment is not None:
        raise RecordError(f"segment {hearing.open_segment!r} is still open", field="segment")
    if r.get("moderator") is not None:
        _participant(hearing, r, "moderator")
    return {"segment": r["segment"], "moderator": r.get("moderator")}


def segment_closed(hearing: Hearing, r: Record) -> dict[str, Any]:
    _known_segment(hearing, r["segment"], "segment")
    if not hearing.segments[r["segment"]].is_open:
        state = "already closed" if hearing.segments[r["segment"]].is_closed else "not open"
        raise RecordError(f"segment {r['segment']!r} is {state}", field="segment")
    return {"segment": r["segment"]}


def intervention(hearing: Hearing, r: Record) -> dict[str, Any]:
    _participant(hearing, r, "speaker")
    _open_segment(hearing, r["segment"], "segment")
    _language(hearing, r["language"], "language")
    ended = parse_time(r, "ended_at")
    if ended < parse_time(r, "at"):
        raise RecordError("the intervention ends before it starts", field="ended_at")
    for code in r.get("translations", {}):
        _language(hearing, code, f"translations.{code}")
    return {
        "speaker": r["speaker"],
        "segment": r["segment"],
        "role": r["role"],
        "language": r["language"],
        "ended_at": ended,
        "text": r.get("text"),
        "translations": dict(r["translations"]) if r.get("translations") else None,
    }


def _segment_if_given(hearing: Hearing, r: Record) -> str | None:
    if r.get("segment") is not None:
        _open_segment(hearing, r["segment"], "segment")
    return r.get("segment")


def pledge(hearing: Hearing, r: Record) -> dict[str, Any]:
    _participant(hearing, r, "by")
    return {
        "by": r["by"],
        "text": r["text"],
        "gcm_objectives": tuple(r["gcm_objectives"]),
        "level": r["level"],
        "partners": tuple(r["partners"]) if r.get("partners") else None,
        "segment": _segment_if_given(hearing, r),
    }


def recommendation(hearing: Hearing, r: Record) -> dict[str, Any]:
    _participant(hearing, r, "by")
    return {
        "by": r["by"],
        "text": r["text"],
        "sg_report_areas": tuple(r["sg_report_areas"]),
        "gcm_objectives": tuple(r["gcm_objectives"]),
        "segment": _segment_if_given(hearing, r),
    }


def summation(hearing: Hearing, r: Record) -> dict[str, Any]:
    _participant(hearing, r, "by")
    _open_segment(hearing, r["segment"], "segment")
    _known_segment(hearing, r["summarises"], "summarises")
    return {
        "by": r["by"],
        "segment": r["segment"],
        "summarises": r["summarises"],
        "key_points": tuple(r["key_points"]),
    }


def hearing_closed(hearing: Hearing, r: Record) -> dict[str, Any]:
    if hearing.open_segment is not None:
        raise RecordError(f"segment {hearing.open_segment!r} is still open", field="type")
    return {}


def correction(hearing: Hearing, r: Record) -> dict[str, Any]:
    target = r["corrects"]
    if target > hearing.version:
        raise RecordError(
            f"there is no event at position {target} (the record has {hearing.version})",
            field="corrects",
        )
    corrected = hearing.event_types[target - 1]
    if corrected == "CorrectionIssued":
        raise RecordError(
            "a correction cannot be corrected; correct the original event again", field="corrects"
        )
    for name, value in r["changes"].items():
        if name in ("type", "hearing", "seq", "digest"):
            raise RecordError(f"{name!r} cannot be corrected", field=f"changes.{name}")
        validate_field(corrected, name, value)
    changes = dict(r["changes"])
    _check_corrected_values(hearing, corrected, target, changes)
    return {"corrects": target, "changes": changes, "reason": r["reason"]}


def _check_corrected_values(
    hearing: Hearing, corrected: str, target: int, changes: dict[str, Any]
) -> None:
    """The corrected event must still be one that could have happened."""
    for name, value in changes.items():
        field = f"changes.{name}"
        if name in ("speaker", "by", "moderator") and value is not None:
            _participant(hearing, {field: value}, field)
        elif name in ("segment", "summarises"):
            _known_segment(hearing, value, field)
        elif name == "language":
            _language(hearing, value, field)
        elif name == "translations":
            for code in value:
                _language(hearing, code, f"{field}.{code}")
        elif name == "stakeholder_group":
            _group(hearing, value, field)
        elif name == "participant":
            raise RecordError("a participant's id cannot be corrected", field=field)
        elif name == "protected" and value is not True:
            raise RecordError("protection, once given, cannot be lifted", field=field)
    if corrected == "HearingScheduled":
        _check_schedule_changes(hearing, changes)
    check_corrected_times(hearing, corrected, changes)
    if corrected == "InterventionDelivered" and {"at", "ended_at"} & set(changes):
        start, end = hearing.spans[target]
        start = datetime.fromisoformat(changes.get("at", start.isoformat()))
        end = datetime.fromisoformat(changes.get("ended_at", end.isoformat()))
        if end < start:
            raise RecordError(
                "the corrected intervention would end before it starts", field="changes.ended_at"
            )


def _check_schedule_changes(hearing: Hearing, changes: dict[str, Any]) -> None:
    """A corrected schedule must be valid and still fit everything recorded under it."""
    if "timezone" in changes:
        check_timezone(changes["timezone"], "changes.timezone")
    if "date" in changes:
        _check_date(changes["date"], "changes.date")
    if "hearing" in changes:
        raise RecordError("a hearing's slug cannot be corrected", field="changes.hearing")
    if "programme" in changes:
        ids = [item.id for item in _programme(changes["programme"], "changes.programme")]
        held = {sid for sid, state in hearing.segments.items() if state.actual is not None}
        _keeps(held, ids, "was already held; the programme must keep it", "changes.programme")
    if "stakeholder_groups" in changes:
        groups = [g["id"] for g in changes["stakeholder_groups"]]
        used = {p.stakeholder_group for p in hearing.participants.values() if p.stakeholder_group}
        _keeps(
            used,
            groups,
            "has participants; the taxonomy must keep it",
            "changes.stakeholder_groups",
        )
    if "languages" in changes:
        _keeps(
            set(hearing.spoken_languages),
            changes["languages"],
            "was already spoken; the languages must keep it",
            "changes.languages",
        )


def pledge_progress(hearing: Hearing, r: Record) -> dict[str, Any]:
    other = r.get("pledge_hearing")
    if other is None or other == hearing.slug:
        check_pledge_reference(hearing, r["pledge"])
    # A pledge in another hearing is checked by the archive, which can read that hearing.
    if r.get("by") is not None:
        _participant(hearing, r, "by")
    return {
        "pledge": r["pledge"],
        "status": r["status"],
        "pledge_hearing": None if other == hearing.slug else other,
        "note": r.get("note"),
        "by": r.get("by"),
    }


def check_pledge_reference(hearing: Hearing, seq: int) -> None:
    """Refuse a progress report that points at anything but a pledge of ``hearing``."""
    if not 1 <= seq <= len(hearing.event_types):
        raise RecordError(f"{hearing.slug!r} has no event at position {seq}", field="pledge")
    if hearing.event_types[seq - 1] != "PledgeMade":
        found = hearing.event_types[seq - 1]
        raise RecordError(
            f"position {seq} of {hearing.slug!r} is a {found}, not a pledge", field="pledge"
        )


#: How far past midnight a hearing's day may run over, in its own time zone.
OVERRUN = timedelta(hours=6)

#: Clock skew tolerated between a clerk's machine and ours.
CLOCK_SKEW = timedelta(minutes=5)


def on_the_day(hearing: Hearing, at: datetime) -> bool:
    day_start, day_end = _day_window(hearing.date, hearing.timezone)
    return day_start <= at < day_end


@lru_cache(maxsize=256)
def _day_window(day: str, timezone: str) -> tuple[datetime, datetime]:
    """A hearing's day in its own time zone, overrun included (asked once a record)."""
    day_start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=ZoneInfo(timezone))
    return day_start, day_start + timedelta(days=1) + OVERRUN


def check_corrected_times(hearing: Hearing, corrected: str, changes: Mapping[str, Any]) -> None:
    """Corrected times keep the rules recorded ones obey: none in the future, and
    proceedings on the hearing's day."""
    for name in ("at", "ended_at"):
        if name not in changes:
            continue
        moment = datetime.fromisoformat(changes[name])
        field = f"changes.{name}"
        if moment > datetime.now(UTC) + CLOCK_SKEW:
            raise RecordError(f"{changes[name]} is in the future", field=field)
        if name == "at" and spec(corrected).proceeding and not on_the_day(hearing, moment):
            raise RecordError(
                f"{changes[name]} is not on the hearing's day ({hearing.date}, {hearing.timezone})",
                field=field,
            )
