"""The event-type registry: one :class:`EventSpec` per event type, declared next to its class.

Everything the write side and the exports need to know about an event type
beyond its JSON Schema lives in its spec: the domain class, the rule that
checks a record against the hearing's state, the field naming the acting
participant, the fields sealed for a protected participant, whether it may
follow the close, whether it happens in the hearing room, its one-line gist
and its labels for exports.  Every field is mandatory (``sealed=()`` is a
decision; leaving it out is a ``TypeError``), and ``tests/test_event_types.py``
fails, naming what is missing, when a schema in ``events/schema`` has no
complete spec.

The old module-level tables (``ACTOR_FIELDS``, ``SEALED_FIELDS``,
``AFTER_CLOSE``, ``PROCEEDINGS``, ``TARGET_KINDS``, ``DEBATE_TYPES``) are
read-only views of this registry, so code that imports them keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs

from hearing_core.errors import RecordError

#: A record: the JSON form of one event (see :mod:`hearing_core.chain`).
Record = Mapping[str, Any]

#: A state rule: checks a schema-valid record against the hearing's state (``None`` for the
#: scheduling event, which has none yet) and returns the event's domain fields, or raises
#: :class:`~hearing_core.errors.RecordError` naming the field.
Rule = Callable[[Any, Record], dict[str, Any]]


@attrs.frozen(kw_only=True)
class Command:
    """How ``hearing record`` offers an event type; its options and help come from the schema.

    Every field of the schema besides the common ones becomes an option named after it
    (``ended_at`` -> ``--ended-at``) unless it is listed in ``arguments``.
    """

    #: The subcommand's name; ``None``: the type name in kebab case (``GuestNoted`` ->
    #: ``guest-noted``).
    name: str | None = None
    #: Fields taken as positional arguments, in order (after HEARING).
    arguments: tuple[str, ...] = ()
    #: Field -> option (or argument) name where it is not the field's own.
    names: Mapping[str, str] = attrs.field(factory=dict)
    #: Field -> how a repeatable KEY=VALUE option shows its value (e.g. ``LANG=TEXT``).
    metavars: Mapping[str, str] = attrs.field(factory=dict)
    #: Field -> the option's default.
    defaults: Mapping[str, Any] = attrs.field(factory=dict)

    def name_for(self, type_name: str) -> str:
        """The subcommand's name for an event type."""
        if self.name is not None:
            return self.name
        return "".join(f"-{c.lower()}" if c.isupper() else c for c in type_name).lstrip("-")


#: The default: every fact of the subcommand derived from the type's name and schema.
DERIVED = Command()


@attrs.frozen(kw_only=True)
class EventSpec:
    """What hearing_core knows about one event type besides its schema."""

    #: The domain event class (its name is the type name in records and schemas).
    event_class: type[Any]
    #: Checks a record against the hearing's state; returns the event's fields.
    rule: Rule
    #: The field naming the participant who acts in the event, if any.
    actor: str | None
    #: Fields stored encrypted when the actor is a protected participant (``()``: none).
    sealed: tuple[str, ...]
    #: Whether it may still be recorded after ``HearingClosed``.
    after_close: bool
    #: Whether it happens in the hearing room (so on the hearing's day, local time).
    proceeding: bool
    #: A short human summary of a record of this type (``hearing log``, the demo).
    gist: Callable[[Record], str]
    #: How exports name an event of this type (e.g. the target of a correction).
    label: str
    #: Whether exports build the hearing's debate from it (transcript, AKN, HTML).
    in_debate: bool
    #: How ``hearing record`` offers it (``None``: not offered; the default derives it all).
    command: Command | None = DERIVED

    @property
    def name(self) -> str:
        """The type name, as in records and schema file names."""
        return self.event_class.__name__


_SPECS: dict[str, EventSpec] = {}
_generation = 0  # bumped on every change, so views know when to recompute

T = TypeVar("T")


def register(spec: EventSpec) -> EventSpec:
    """Add an event type's spec (a type is registered once)."""
    if spec.name in _SPECS and _SPECS[spec.name] != spec:
        raise ValueError(f"event type {spec.name!r} is already registered")
    if spec.actor is None and spec.sealed:
        raise ValueError(f"{spec.name}: sealed fields need an actor field naming whose they are")
    global _generation
    _SPECS[spec.name] = spec
    _generation += 1
    return spec


def unregister(name: str) -> None:
    """Remove a spec (for tests that add a throwaway type)."""
    global _generation
    _SPECS.pop(name, None)
    _generation += 1


def generation() -> int:
    """A number that changes whenever a type is registered or removed (for caches)."""
    return _generation


def specs() -> Mapping[str, EventSpec]:
    """Every registered spec, by type name (the domain's types are always there)."""
    if not _SPECS:
        import hearing_core.domain  # noqa: F401  (declares the domain's specs)
    return _SPECS


def spec(name: str) -> EventSpec:
    """The spec of an event type; a clear error for a type nobody declared."""
    found = specs().get(name)
    if found is None:
        raise RecordError(f"unknown event type {name!r}", field="type")
    return found


class _View(Mapping[str, T]):
    """A read-only mapping computed from the registry each time it is read."""

    def __init__(self, pick: Callable[[EventSpec], T | None]) -> None:
        self._pick = pick
        self._cached: tuple[int, dict[str, T]] = (-1, {})

    def _table(self) -> dict[str, T]:
        found = specs()
        if self._cached[0] != _generation:
            table = {n: v for n, s in found.items() if (v := self._pick(s)) is not None}
            self._cached = (_generation, table)
        return self._cached[1]

    def __getitem__(self, key: str) -> T:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __contains__(self, key: object) -> bool:
        return key in self._table()


class _Names:
    """A read-only set of type names computed from the registry each time it is read."""

    def __init__(self, test: Callable[[EventSpec], bool]) -> None:
        self._test = test
        self._cached: tuple[int, frozenset[str]] = (-1, frozenset())

    def _set(self) -> frozenset[str]:
        found = specs()
        if self._cached[0] != _generation:
            self._cached = (_generation, frozenset(n for n, s in found.items() if self._test(s)))
        return self._cached[1]

    def __contains__(self, name: object) -> bool:
        return name in self._set()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._set()))

    def __len__(self) -> int:
        return len(self._set())

    def __eq__(self, other: object) -> bool:
        return self._set() == other

    __hash__ = None  # type: ignore[assignment]


def actor_fields() -> Mapping[str, str]:
    """View: type -> field naming the acting participant (was ``domain.ACTOR_FIELDS``)."""
    return _View(lambda s: s.actor)


def sealed_fields() -> Mapping[str, tuple[str, tuple[str, ...]]]:
    """View: type -> (actor field, sealed fields), for types that seal any
    (was ``protection.SEALED_FIELDS``)."""
    return _View(lambda s: (s.actor, s.sealed) if s.sealed and s.actor else None)


def labels() -> Mapping[str, str]:
    """View: type -> how exports name it (was ``exports._common.TARGET_KINDS``)."""
    return _View(lambda s: s.label)


def names_where(test: Callable[[EventSpec], bool]) -> _Names:
    """View: the names of the types whose spec passes ``test`` (``AFTER_CLOSE`` and friends)."""
    return _Names(test)


C = TypeVar("C", bound=type)


def declare(
    *,
    rule: Rule,
    actor: str | None,
    sealed: tuple[str, ...],
    after_close: bool,
    proceeding: bool,
    gist: Callable[[Record], str],
    label: str,
    in_debate: bool,
    command: Command | None = DERIVED,
) -> Callable[[C], C]:
    """Class decorator: register the decorated event class with its spec (every fact required)."""

    def decorate(cls: C) -> C:
        register(
            EventSpec(
                event_class=cls,
                rule=rule,
                actor=actor,
                sealed=sealed,
                after_close=after_close,
                proceeding=proceeding,
                gist=gist,
                label=label,
                in_debate=in_debate,
                command=command,
            )
        )
        return cls

    return decorate


def bind_to(owner: type) -> None:
    """Point specs at the classes ``owner`` ends up with.

    eventsourcing's aggregate metaclass replaces an aggregate's created-event class
    with a subclass of it once the aggregate's body is done; the spec must name the
    class events are actually made from.
    """
    global _generation
    for name, found in list(_SPECS.items()):
        final = getattr(owner, name, None)
        if final is not None and final is not found.event_class:
            if not issubclass(final, found.event_class):
                raise ValueError(f"{owner.__name__}.{name} is not the declared {name}")
            _SPECS[name] = attrs.evolve(found, event_class=final)
            _generation += 1
