"""The compiled validator (jsonschema-rs) never accepts what the detailed one refuses.

Import asks the compiled validator first and the detailed one only when it doubts
a record, so the two must agree on every record the compiled one accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearing_core.catalogue import _passes_fast, _validator, schemas

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
RECORDS = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]

TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["abc\n", "a" * 65, "", "2022-05-16T10:00:00-04:00", "en", "x\u2028"]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=30),
    st.sampled_from([2.0, 1.5, 0.0, -1.0, 2**70, -(2**70)]),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    record = dict(draw(st.sampled_from(RECORDS)))
    for _ in range(draw(st.integers(1, 3))):
        keys = sorted({*record, *schemas()[record["type"]]["properties"], "extra"} - {"type"})
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()) and key in record:
            del record[key]
        elif (
            key in record and isinstance(record[key], list) and record[key] and draw(st.booleans())
        ):
            items = list(record[key])
            items[draw(st.integers(0, len(items) - 1))] = draw(VALUES)
            record[key] = items
        else:
            record[key] = draw(VALUES)
    return record


def _detailed_accepts(record: dict[str, Any]) -> bool:
    return next(iter(_validator(record["type"]).iter_errors(record)), None) is None


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=mutated())
def test_the_fast_path_accepts_only_what_the_detailed_path_accepts(
    record: dict[str, Any],
) -> None:
    if _passes_fast(record["type"], record):
        assert _detailed_accepts(record), record


def test_both_accept_every_sample_record() -> None:
    for record in RECORDS:
        assert _passes_fast(record["type"], record)
        assert _detailed_accepts(record)


def test_two_point_oh_is_left_to_the_detailed_path() -> None:
    record = next(dict(r) for r in RECORDS if r["type"] == "PledgeMade")
    record["gcm_objectives"] = [2.0]
    assert not _passes_fast("PledgeMade", record)
    assert not _detailed_accepts(record)
