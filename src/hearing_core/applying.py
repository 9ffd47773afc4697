"""Applying a record: check it against the hearing's state, then trigger its event.

The record has already passed the catalogue's JSON Schema and been sealed;
here are the checks common to every type (position, time order, the close)
and the type's own rule from its spec (see :mod:`hearing_core.event_types`
and :mod:`hearing_core.rules`), then the chain digest and the event.  A
refusal raises :class:`RecordError` naming the field, and nothing is recorded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from hearing_core.chain import GENESIS_DIGEST, chain_digest
from hearing_core.domain import Hearing, build_record, hearing_id
from hearing_core.errors import RecordError
from hearing_core.event_types import names_where, spec, specs
from hearing_core.rules import (
    CLOCK_SKEW,
    OVERRUN,
    check_pledge_reference,
    on_the_day,
    parse_time,
)

__all__ = [
    "AFTER_CLOSE",
    "CLOCK_SKEW",
    "OVERRUN",
    "PROCEEDINGS",
    "apply_record",
    "check_pledge_reference",
    "schedule",
]

Record = Mapping[str, Any]

#: Event types that may still be recorded after the hearing has closed (a view of the specs).
AFTER_CLOSE = names_where(lambda s: s.after_close)

#: Events that happen in the hearing room, so on the hearing's day (a view of the specs).
PROCEEDINGS = names_where(lambda s: s.proceeding)


class _Rules(Mapping[str, Callable[[Hearing, Record], dict[str, Any]]]):
    """The state rule of every type but the scheduling one (a view of the specs)."""

    def __getitem__(self, name: str) -> Callable[[Hearing, Record], dict[str, Any]]:
        if name == "HearingScheduled":
            raise KeyError(name)
        return spec(name).rule

    def __iter__(self) -> Any:
        return (n for n in specs() if n != "HearingScheduled")

    def __len__(self) -> int:
        return len(specs()) - 1


_RULES = _Rules()


def _check_digest(record: Record, digest: str) -> None:
    if "digest" in record and record["digest"] != digest:
        raise RecordError(
            "does not match the record's content and its predecessor (altered or out of order)",
            field="digest",
        )


def schedule(record: Record) -> Hearing:
    """Create a hearing from a ``HearingScheduled`` record."""
    at = parse_time(record, "at")
    the_spec = spec("HearingScheduled")
    fields = the_spec.rule(None, record)
    digest = chain_digest(
        GENESIS_DIGEST,
        build_record(fields["hearing"], "HearingScheduled", 1, {"timestamp": at, **fields}),
    )
    _check_digest(record, digest)
    return Hearing.scheduled(
        the_spec.event_class,
        id=hearing_id(record["hearing"]),
        timestamp=at,
        digest=digest,
        **fields,
    )


class _Clock:
    """Now plus the tolerated skew: the latest time a record may carry.

    Read from the wall clock again only when a time passes the limit last read or a
    second has gone by (a bulk import checks two times an event; reading the clock
    and adding the skew cost more than the comparison), so a time is refused exactly
    when it is later than the clock (plus the skew) at most a second ago.
    """

    limit = datetime.min.replace(tzinfo=UTC)
    read_at = -1.0

    @classmethod
    def in_future(cls, at: datetime) -> bool:
        if at <= cls.limit and time.monotonic() - cls.read_at < 1.0:
            return False
        cls.read_at = time.monotonic()
        cls.limit = datetime.now(UTC) + CLOCK_SKEW
        return at > cls.limit


def _check_when(hearing: Hearing, proceeding: bool, at: datetime, record: Record) -> None:
    """Refuse times in the future, and proceedings off the hearing's day."""
    if _Clock.in_future(at):
        raise RecordError(f"{record['at']} is in the future", field="at")
    if proceeding and not on_the_day(hearing, at):
        raise RecordError(
            f"{record['at']} is not on the hearing's day ({hearing.date}, {hearing.timezone})",
            field="at",
        )
    if "ended_at" in record:
        ended = parse_time(record, "ended_at")
        if _Clock.in_future(ended):
            raise RecordError(f"{record['ended_at']} is in the future", field="ended_at")


#: A time as ``datetime.isoformat`` writes the ones records carry (seconds, microseconds
#: unless zero, an offset in hours and minutes, ``+00:00`` for UTC, never ``-00:00``):
#: text in this form is what parsing and writing it again would give.
_CANONICAL_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.(?!000000)[0-9]{6})?"
    r"(?!-00:00)[+-][0-9]{2}:[0-9]{2}"
)


def json_time(text: Any, parsed: datetime) -> str:
    """``parsed.isoformat()``, where ``parsed`` was parsed from ``text``: the text itself
    when it is already in that form (most records), so the digest's record is built
    without writing the time again; ``tests/test_applying.py`` proves the two agree."""
    if type(text) is str and _CANONICAL_TIME.fullmatch(text):
        return text
    return parsed.isoformat()


def apply_record(hearing: Hearing, record: Record) -> None:
    """Check a (schema-valid, sealed) record against the hearing's state and record its event."""
    event_type = record["type"]
    if event_type == "HearingScheduled":
        raise RecordError(f"hearing {hearing.slug!r} is already scheduled", field="type")
    the_spec = spec(event_type)
    seq = hearing.version + 1
    if "seq" in record and record["seq"] != seq:
        raise RecordError(
            f"expected seq {seq} (the next position in {hearing.slug!r}), got {record['seq']}",
            field="seq",
        )
    if hearing.is_closed and not the_spec.after_close:
        allowed = " and ".join(sorted(AFTER_CLOSE))
        raise RecordError(
            f"hearing {hearing.slug!r} is closed; only {allowed} may follow", field="type"
        )
    at = parse_time(record, "at")
    _check_when(hearing, the_spec.proceeding, at, record)
    if at < hearing.modified_on:
        raise RecordError(
            f"time runs backwards: {record['at']} is before the previous event "
            f"({hearing.modified_on.isoformat()})",
            field="at",
        )
    fields = the_spec.rule(hearing, record)
    # The digest covers the times as isoformat writes them: the record's own text when
    # it is already that (the ended_at an intervention's rule parsed from the record too).
    timed = {"timestamp": json_time(record["at"], at), **fields}
    ended = fields.get("ended_at")
    if type(ended) is datetime:
        timed["ended_at"] = json_time(record.get("ended_at"), ended)
    expected = hearing.make_record(event_type, seq, timed)
    digest = chain_digest(hearing.head_digest, expected)
    _check_digest(record, digest)
    hearing.trigger_event(the_spec.event_class, timestamp=at, digest=digest, **fields)
