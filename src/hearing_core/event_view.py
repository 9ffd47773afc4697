"""The read-only view of a recorded event that reports and plugins receive.

Records handed to plugins are deeply immutable: every mapping inside is a
:class:`FrozenDict` and every list a :class:`FrozenList`, so in one process a
plugin that tries to change a record it was given gets a ``TypeError``
instead of changing what every later projection sees.  Both are subclasses
of ``dict`` and ``list``, so ``json.dumps``, ``isinstance`` checks and
``dict(record)`` / ``list(values)`` (which give ordinary, mutable copies)
keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

import attrs


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"a recorded event is read-only ({type(self).__name__})")


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses every change; copy it with ``dict(value)`` to edit."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=repr)))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: object) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


class FrozenList(list[Any]):
    """A ``list`` that refuses every change; copy it with ``list(value)`` to edit."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: object) -> FrozenList:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))


#: Values that are immutable as they are (checked by exact type first: the common case).
_IMMUTABLE = frozenset({str, int, float, bool, type(None), FrozenDict, FrozenList})


def freeze(value: Any) -> Any:
    """A deeply immutable copy of a JSON-like value (mappings and lists all the way down)."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if kind is list:
        return FrozenList([freeze(v) for v in value])
    if isinstance(value, FrozenDict | FrozenList):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return FrozenList(freeze(v) for v in value)
    return value


def _freeze_record(record: Mapping[str, Any]) -> Mapping[str, Any]:
    frozen: Mapping[str, Any] = freeze(record)
    return frozen


@attrs.frozen
class RecordedEvent:
    """One event of the record, as projections see it.

    ``record`` is the event's interchange record (see ``docs/events.md``):
    plain JSON values, the same on every store, deeply read-only.
    ``position`` is its place in the whole archive's log (increasing,
    possibly with gaps); ``seq`` its place in its own hearing's record
    (1, 2, 3, ...).
    """

    position: int
    record: Mapping[str, Any] = attrs.field(converter=_freeze_record)
    #: The record's type, kept at hand: dispatch asks for it several times an event.
    _type: str = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_type", str(self.record["type"]))

    @property
    def type(self) -> str:
        return self._type

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
