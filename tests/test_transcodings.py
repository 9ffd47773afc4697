"""The archive's transcoder writes the bytes eventsourcing's own JSON transcoder writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearing_core.archive import open_archive
from hearing_core.transcodings import OneEncoderJSONTranscoder
from hearing_core.values import ProgrammeItem, StakeholderGroup

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"

_TEXT = st.text(
    st.one_of(
        st.sampled_from(["\x00", "\x1f", "\x7f", "\u2028", "\u2029", '"', "\\", "\U0001f600"]),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=12,
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _TEXT)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_TEXT, inner, max_size=4)
    ),
    max_leaves=16,
)
_TIMES = st.datetimes(timezones=st.just(UTC) | st.just(timezone(timedelta(hours=-4))))


def _pair() -> tuple[JSONTranscoder, OneEncoderJSONTranscoder]:
    theirs, mine = JSONTranscoder(), OneEncoderJSONTranscoder()
    for transcoder in (theirs, mine):
        from eventsourcing.persistence import DatetimeAsISO, UUIDAsHex

        from hearing_core.transcodings import AttrsTranscoding

        transcoder.register(UUIDAsHex())
        transcoder.register(DatetimeAsISO())
        transcoder.register(AttrsTranscoding(ProgrammeItem))
        transcoder.register(AttrsTranscoding(StakeholderGroup))
    return theirs, mine


THEIRS, MINE = _pair()


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(state=st.dictionaries(_TEXT, st.one_of(_VALUES, _TIMES), max_size=8))
def test_same_bytes_as_eventsourcings_transcoder(state: dict[str, Any]) -> None:
    assert MINE.encode(state) == THEIRS.encode(state)
    assert MINE.encode(state) == THEIRS.encode(state)  # the one encoder, used again


def test_same_bytes_for_every_event_of_the_sample(tmp_path: Path) -> None:
    archive = open_archive(str(tmp_path / "s.db"))
    assert isinstance(archive.mapper.transcoder, OneEncoderJSONTranscoder)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    archive.import_records(("sample", n, json.loads(line)) for n, line in enumerate(lines, 1))
    reference = JSONTranscoder()
    archive.register_transcodings(reference)
    slug = json.loads(lines[0])["hearing"]
    hearing = archive.hearing(slug)
    events = archive.repository.event_store.get(hearing.id)
    count = 0
    for event in events:
        state = dict(vars(event))
        state.pop("originator_id")
        state.pop("originator_version")
        assert archive.mapper.transcoder.encode(state) == reference.encode(state)
        count += 1
    assert count == len(lines)


def test_a_failed_encode_leaves_the_encoder_sound() -> None:
    unknown = object()
    with pytest.raises(TypeError):
        MINE.encode({"a": [unknown]})
    state = {"a": [1, {"b": datetime(2022, 5, 16, tzinfo=UTC)}], "c": "x"}
    assert MINE.encode(state) == THEIRS.encode(state)
