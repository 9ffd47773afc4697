"""The digest's canonical encoding never changes: the fast encoder is byte-identical to the
definition (``json.dumps`` sorted, compact, UTF-8) over the whole record space."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearing_core.chain import canonical_bytes, chain_digest, link_digest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"


def definition(record: dict[str, Any]) -> bytes:
    """The canonical encoding as it was first published."""
    body = {k: v for k, v in record.items() if k != "digest"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# Text over the whole of Unicode but lone surrogates (which neither encoder can write
# as UTF-8), weighted towards what encoders treat specially.
_SPECIAL = st.sampled_from(
    [
        *map(chr, range(0x20)),
        *("\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\uffff", '"', "\\", "/"),
        *("\U0001f600", "\U00010000", "\U0010ffff", "é", "\u202e", "\u0627"),
    ]
)
_CHAR = st.one_of(_SPECIAL, st.characters(exclude_categories=("Cs",)))
TEXT = st.text(_CHAR, max_size=30)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(),  # big ones too: they take the standard encoder
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
RECORDS = st.dictionaries(TEXT, VALUES, max_size=8)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=RECORDS)
def test_canonical_encoding_is_the_definition_byte_for_byte(record: dict[str, Any]) -> None:
    assert canonical_bytes(record) == definition(record)


@pytest.mark.parametrize(
    "value",
    [
        "".join(map(chr, range(0x80))),  # every control escape and ASCII
        "\u2028\u2029",
        "\U0001f600\U00010000\U0010ffff",
        "\ufeff\uffff\x85\u202e",
        2**63 - 1,
        -(2**63),
        2**63,
        2**64 - 1,
        2**64,
        -(2**63) - 1,
        10**40,
        0,
        -1,
        1e-7,
        1e16,
        -0.0,
        5e-324,
        1.0,
        0.1,
        True,
        None,
        [1, [2, {"b": 1, "a": 2}]],
        {"é": 1, "e": 2, "\U0001f600": 3, "\uffff": 4, "Z": 5, "a": 6},
    ],
)
def test_edge_cases(value: Any) -> None:
    record = {"type": "X", "z": value, "é": [value], "nested": {"v": value}, "digest": "x"}
    assert canonical_bytes(record) == definition(record)


def test_lone_surrogates_are_refused_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        definition({"a": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes({"a": "\ud800"})


def test_every_sample_digest_still_verifies() -> None:
    previous = "0" * 64
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert canonical_bytes(record) == definition(record)
        previous = chain_digest(previous, record)
        assert previous == record["digest"]


def link_definition(
    previous: str, originator_id: str, version: int, topic: str, state: bytes
) -> str:
    """The archive link as first published: the header written by ``json.dumps``."""
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(b"\n")
    h.update(json.dumps([originator_id, version, topic], separators=(",", ":")).encode("ascii"))
    h.update(b"\n")
    h.update(state)
    return h.hexdigest()


@settings(max_examples=500, deadline=None)
@given(
    originator_id=st.one_of(st.uuids().map(lambda u: u.hex), TEXT),
    version=st.one_of(st.integers(min_value=0, max_value=2**63), st.integers()),
    topic=st.one_of(st.just("hearing_core.domain:Hearing.InterventionDelivered"), TEXT),
    state=st.binary(max_size=40),
)
def test_archive_links_are_the_definition(
    originator_id: str, version: int, topic: str, state: bytes
) -> None:
    previous = "0" * 64
    assert link_digest(previous, originator_id, version, topic, state) == link_definition(
        previous, originator_id, version, topic, state
    )


@pytest.mark.parametrize(
    "text", ["".join(map(chr, range(0x80))), '"', "\\", "\x7f", "é", "\u2028", "\U0001f600", ""]
)
def test_archive_link_edge_cases(text: str) -> None:
    for args in ((text, 1, "t"), ("a" * 32, 1, text), (text, -(2**70), text)):
        assert link_digest("0" * 64, *args, b"x") == link_definition("0" * 64, *args, b"x")
