"""The import's cheap text pre-scan never hides a refusal of the exact check."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearing_core.chain import float_free
from hearing_core.errors import RecordError
from hearing_core.text import ONE_LINE_FIELDS, check_text, plain_and_safe, plainly_safe

# Text biased toward the characters the checks care about, beside ordinary ones.
_TRICKY = "\x00\x07\t\n\r\x1b\x7f\x85\x9f\u200e\u200f\u061c\u202a\u202e\u2066\u2069\u2028\u2029\ud800\udfff"
_text = st.text(alphabet=st.sampled_from(_TRICKY) | st.characters(), max_size=12)
_keys = st.sampled_from([*sorted(ONE_LINE_FIELDS), "text", "note", "type", "x"])
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _refused(value: Any) -> bool:
    try:
        check_text(value)
    except RecordError:
        return True
    return False


@settings(max_examples=1000)
@given(_values)
def test_plainly_safe_implies_check_text_accepts(value: Any) -> None:
    if plainly_safe(value):
        assert not _refused(value)


@pytest.mark.parametrize(
    "value",
    [
        {"text": "a\x00b"},
        {"name": "a\nb"},
        {"speaker": {"name": "x\u2028"}},
        {"items": [{"title": "\u202eevil"}]},
        {"text": "\ud800"},
        {"text": "bidi \u2066isolate\u2069"},
    ],
)
def test_suspect_text_goes_to_the_exact_check(value: Any) -> None:
    assert not plainly_safe(value)


def test_ordinary_record_is_plainly_safe() -> None:
    record = {
        "type": "InterventionMade",
        "hearing": "h",
        "text": "Line one\nline two\twith tab, \u05e9\u05dc\u05d5\u05dd \u200f and \U0001f600",
        "name": "Ana Lu\u00eds",
        "tags": ["a\nb", 1, None, True],
    }
    assert plainly_safe(record)
    check_text(record)


# ASCII text takes the pre-scan's byte-table path: there it is exact, not just safe.
_ascii = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12)
_ascii_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _ascii,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=1000)
@given(_ascii_values)
def test_on_ascii_text_the_pre_scan_is_the_exact_check(value: Any) -> None:
    assert plainly_safe(value) == (not _refused(value))


@pytest.mark.parametrize(
    "value",
    [{"name": "a\tb"}, {"reason": "x\r"}, {"text": "a\x7fb"}, {"text": "a\x1bb"}, ["\x00"]],
)
def test_suspect_ascii_text_goes_to_the_exact_check(value: Any) -> None:
    assert not plainly_safe(value)


@settings(max_examples=1000)
@given(_values)
def test_plain_and_safe_is_float_free_and_plainly_safe(value: Any) -> None:
    """The import's one walk answers what the two checks it replaces would together."""
    assert plain_and_safe(value) == (float_free(value) and plainly_safe(value))
