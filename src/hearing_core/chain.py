"""Records: the JSON form of events, shared by import, export, digests and plugins.

A *record* is a plain ``dict`` of JSON values, one interchange line::

    {"type": "SegmentOpened", "hearing": "imrf-2022-msh", "seq": 4,
     "at": "2022-05-16T10:00:00-04:00", "segment": "opening", "digest": "..."}

The digest chain is computed over the canonical encoding of a record (sorted
keys, no whitespace, UTF-8) without its own ``digest`` key, prefixed by the
digest of the hearing's previous event, so it covers every field and the order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
import orjson

_SCALARS = frozenset({str, int, float, bool, type(None)})

#: The digest that precedes a hearing's first event.
GENESIS_DIGEST = "0" * 64

#: Keys every record has, in the order they are written.
COMMON_KEYS = ("type", "hearing", "seq", "at")


def to_json_value(value: Any) -> Any:
    """Turn event field values (datetimes, attrs objects, tuples) into JSON values."""
    kind = type(value)
    if kind in _SCALARS:  # most values: skip the checks below
        return value
    # The exact built-in types first (what event fields hold), as the general tests
    # below would take them, without their ABC and attrs look-ups.
    if kind is datetime:
        return value.isoformat()
    if kind is tuple or kind is list:
        return [to_json_value(v) for v in value]
    if kind is dict:
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    if attrs.has(type(value)):
        return {
            f.name: to_json_value(getattr(value, f.name))
            for f in attrs.fields(type(value))
            if getattr(value, f.name) is not None
        }
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return value


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The canonical encoding of a record, without its digest: what the chain hashes.

    The definition is ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` in UTF-8, and it never changes (published digests must
    keep verifying).  orjson's sorted-key encoding is byte-identical to it for
    strings (every escape included), booleans, null and integers within 64 bits,
    and ~6x faster, so it is used there; floats (whose text the two write
    differently: ``1e-07`` against ``1e-7``), integers beyond 64 bits and
    anything but plain dicts, lists, tuples and scalars take the standard
    encoder.  ``tests/test_chain.py`` proves the identity.
    """
    if type(record) is dict and "digest" not in record:
        body: dict[str, Any] = record  # a record built to be hashed: nothing to leave out
    else:
        body = {k: v for k, v in record.items() if k != "digest"}
    if float_free(body):
        try:
            return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # an integer beyond 64 bits, or text that is not UTF-8
            pass
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


_SCALAR_TYPES = (str, int, bool, type(None))


def float_free(value: Any) -> bool:
    """Whether a value is plain JSON without a float: exact dicts, lists and tuples of
    strings, integers, booleans and null (no field of the catalogue is a fraction)."""
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list and kind is not tuple:
        return kind in _SCALAR_TYPES
    for item in value:  # exact type tests: this runs twice for every record imported
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if not ((kind is dict or kind is list or kind is tuple) and float_free(item)):
            return False
    return True


def chain_digest(previous: str, record: Mapping[str, Any]) -> str:
    """SHA-256 of the previous digest followed by the record's canonical encoding."""
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(b"\n")
    h.update(canonical_bytes(record))
    return h.hexdigest()


def ordered(record: Mapping[str, Any], field_order: Iterable[str]) -> dict[str, Any]:
    """Return the record with common keys first, then fields in catalogue order, digest last."""
    out = {k: record[k] for k in COMMON_KEYS if k in record}
    for k in field_order:
        if k in record and k not in out and k != "digest":
            out[k] = record[k]
    for k in record:  # anything the catalogue does not list keeps its place at the end
        if k not in out and k != "digest":
            out[k] = record[k]
    if "digest" in record:
        out["digest"] = record["digest"]
    return out


def dumps_line(record: Mapping[str, Any]) -> str:
    """One interchange line (no trailing newline)."""
    return json.dumps(record, ensure_ascii=False)


def link_digest(previous: str, originator_id: str, version: int, topic: str, state: bytes) -> str:
    """One link of the archive chain: SHA-256 over the previous link and a stored row's raw bytes.

    ``previous`` (64 hex digits, or :data:`GENESIS_DIGEST` before the first event), a newline,
    the JSON array ``[originator id (32 hex digits), version, topic]`` (ASCII, no spaces), a
    newline, then the state bytes exactly as stored.
    """
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(b"\n")
    h.update(_link_header(originator_id, version, topic))
    h.update(b"\n")
    h.update(state)
    return h.hexdigest()


#: Text ``json.dumps`` writes as it is between quotes: printable ASCII but ``"`` and ``\``.
_VERBATIM = re.compile(r"[ !#-\[\]-~]*")


def _link_header(originator_id: str, version: int, topic: str) -> bytes:
    """``json.dumps([originator_id, version, topic], separators=(",", ":"))`` in ASCII.

    Built by formatting when both strings are text JSON writes verbatim and the
    version a plain int (always, for stored rows): the same bytes without the
    encoder (``tests/test_chain.py`` proves it); anything else takes the encoder.
    """
    if (
        type(version) is int
        and type(originator_id) is str
        and type(topic) is str
        and _VERBATIM.fullmatch(originator_id)
        and _VERBATIM.fullmatch(topic)
    ):
        return f'["{originator_id}",{version},"{topic}"]'.encode("ascii")
    return json.dumps([originator_id, version, topic], separators=(",", ":")).encode("ascii")
