"""Records read straight from the stored JSON: what replay reads, without domain events.

``event_record(mapper.to_domain_event(stored), slug)`` decodes the stored JSON
with the transcoder's object hook (datetimes and value objects as Python
objects), builds the domain event, then turns its fields back into JSON values.
For the events replay reads, almost every value is a JSON scalar or a datetime
that goes back to the very text it was stored as; :func:`fast_record` does the
same with one parse (orjson) and no domain event, value for value and in the
same key order, and hands nested lists and mappings already frozen (see
:mod:`hearing_core.event_view`).  Anything unusual (a value object, an unknown
transcoding) goes the transcoder's own way, inside this module, value by value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

from hearing_core.catalogue import required_fields
from hearing_core.chain import to_json_value
from hearing_core.event_view import FrozenDict, FrozenList, freeze

#: Values that are JSON as they are.  Not floats: no field of the catalogue is a number
#: with a fraction, and orjson reads an integer too big for 64 bits as a float where the
#: mapper keeps it exact, so a float anywhere sends the event the mapper's way.
_SCALARS = frozenset({str, int, bool, type(None)})

#: How a transcoded value's key appears in the stored bytes.
TYPE_KEY = b'"_type_"'

#: State keys that are not fields of the record (as ``domain._fields`` and ``build_record``).
_NOT_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "digest", "hearing"}
)


@cache
def _required(type_name: str) -> frozenset[str]:
    return required_fields(type_name)


class Unusual(Exception):
    """The stored state is not one :func:`fast_record` reads: take the mapper's way."""


def plain_transcoder(transcoder: object) -> JSONTranscoder | None:
    """The transcoder, if :func:`fast_record` may read what it stored (else None)."""
    if not isinstance(transcoder, JSONTranscoder):
        return None
    if type(transcoder.names.get("datetime_iso")) is not DatetimeAsISO:
        return None
    return transcoder


def fast_record(
    type_name: str,
    slug: str,
    seq: int,
    state: Mapping[str, Any],
    transcoder: JSONTranscoder,
    typed: int,
) -> FrozenDict:
    """The record ``event_record`` gives for an event of ``type_name`` stored as ``state``
    (the parsed JSON), deeply frozen; raises :class:`Unusual` (or whatever the
    transcoder's decoding raises) where only the mapper's way can say.

    ``typed`` is how many transcoded values the stored bytes name (``TYPE_KEY``): the
    mapper decodes every one of them, even one a later duplicate key replaces, while
    orjson keeps only the last; when fewer are met here, the mapper must judge.
    """
    if "_type_" in state or "class_version" in state:
        raise Unusual
    met = [0]
    digest = state["digest"]
    if type(digest) is not str:
        raise Unusual
    required = _required(type_name)
    record: dict[str, Any] = {
        "type": type_name,
        "hearing": slug,
        "seq": seq,
        "at": _value(state["timestamp"], transcoder, met),
    }
    for key, value in state.items():
        if key in _NOT_FIELDS:
            continue
        if type(value) not in _SCALARS:
            value = _value(value, transcoder, met)
        # Optional fields are left out when empty; required ones (say a null group) stay.
        if value is not None or key in required:
            record[key] = value
    if met[0] != typed:
        raise Unusual
    record["digest"] = digest
    return FrozenDict(record)


def _value(value: Any, transcoder: JSONTranscoder, met: list[int]) -> Any:
    """A stored value as the record holds it: JSON, nested lists and mappings frozen."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict and len(value) == 2 and value.get("_type_") == "datetime_iso":
        data = value.get("_data_")
        if type(data) is str:
            met[0] += 1
            return datetime.fromisoformat(data).isoformat()
    if kind is list and all(type(v) in _SCALARS for v in value):
        return FrozenList(value)
    return freeze(to_json_value(_hooked(value, transcoder, met)))


def _hooked(value: Any, transcoder: JSONTranscoder, met: list[int]) -> Any:
    """What the transcoder's JSON object hook makes of a parsed value (innermost first)."""
    kind = type(value)
    if kind is dict:
        out = {k: _hooked(v, transcoder, met) for k, v in value.items()}
        if len(out) == 2 and "_type_" in out and "_data_" in out:
            met[0] += 1
            return transcoder.names[out["_type_"]].decode(out["_data_"])
        return out
    if kind is list:
        return [_hooked(v, transcoder, met) for v in value]
    if kind is float:
        raise Unusual
    return value


__all__ = ["TYPE_KEY", "Unusual", "fast_record", "plain_transcoder"]
