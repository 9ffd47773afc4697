"""Value objects of the hearing domain: frozen, validated attrs classes.

Events carry :class:`ProgrammeItem` and :class:`StakeholderGroup`; the
aggregate's state is made of :class:`Participant`, :class:`SegmentState`,
:class:`TimeSpan` and friends.  All are immutable; a change is a new object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from hearing_core.taxonomy import REGIONS, SEGMENT_KINDS


def _aware(instance: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must carry a UTC offset")


def _to_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _to_optional_datetime(value: datetime | str | None) -> datetime | None:
    return None if value is None else _to_datetime(value)


@attrs.frozen
class TimeSpan:
    """A stretch of time from ``start`` to ``end`` (``end`` may be unknown yet)."""

    start: datetime = attrs.field(converter=_to_datetime, validator=_aware)
    end: datetime | None = attrs.field(
        default=None, converter=_to_optional_datetime, validator=_aware
    )

    def __attrs_post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError("a time span cannot end before it starts")

    @property
    def seconds(self) -> float | None:
        """Length in seconds, or None while the span is open."""
        return None if self.end is None else (self.end - self.start).total_seconds()


@attrs.frozen
class ProgrammeItem:
    """One segment of a hearing's published programme."""

    id: str
    kind: str = attrs.field(validator=attrs.validators.in_(SEGMENT_KINDS))
    title: str
    planned_start: datetime = attrs.field(converter=_to_datetime, validator=_aware)
    planned_end: datetime = attrs.field(converter=_to_datetime, validator=_aware)

    def __attrs_post_init__(self) -> None:
        if self.planned_end < self.planned_start:
            raise ValueError(f"programme item '{self.id}' ends before it starts")

    @property
    def planned(self) -> TimeSpan:
        return TimeSpan(self.planned_start, self.planned_end)


@attrs.frozen
class StakeholderGroup:
    """One entry of a hearing's stakeholder taxonomy."""

    id: str
    label: str


@attrs.frozen
class Participant:
    """Someone registered to take part, with their stakeholder group (None for officials)."""

    id: str
    name: str
    stakeholder_group: str | None
    organization: str | None = None
    region: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(tuple(REGIONS)))
    )
    country: str | None = None
    protected: bool = False


@attrs.frozen
class SegmentState:
    """A programme segment as it stands in the record: planned, and when it actually ran."""

    item: ProgrammeItem
    actual: TimeSpan | None = None
    moderator: str | None = None

    @property
    def is_open(self) -> bool:
        return self.actual is not None and self.actual.end is None

    @property
    def is_closed(self) -> bool:
        return self.actual is not None and self.actual.end is not None
