"""The read-only view of a recorded event that reports and plugins receive."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs


def _freeze(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(record))


@attrs.frozen
class RecordedEvent:
    """One event of the record, as projections see it.

    ``record`` is the event's interchange record (see ``docs/events.md``):
    plain JSON values, the same on every store.  ``position`` is its place in
    the whole archive's log (increasing, possibly with gaps); ``seq`` its
    place in its own hearing's record (1, 2, 3, ...).
    """

    position: int
    record: Mapping[str, Any] = attrs.field(converter=_freeze)

    @property
    def type(self) -> str:
        return str(self.record["type"])

    @property
    def hearing(self) -> str:
        return str(self.record["hearing"])

    @property
    def seq(self) -> int:
        return int(self.record["seq"])

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.record["at"])

    def __getitem__(self, field: str) -> Any:
        return self.record[field]

    def get(self, field: str, default: Any = None) -> Any:
        """A field of the record, or ``default`` when the event does not carry it."""
        return self.record.get(field, default)
