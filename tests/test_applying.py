"""The digest's record keeps a record's time text only where writing the parsed time again
would give the same text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearing_core.applying import json_time

_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30), timezones=_OFFSETS | st.just(UTC)
)


def _variants(moment: datetime) -> list[str]:
    """Texts of one moment in the forms ``fromisoformat`` takes, canonical or not."""
    text = moment.isoformat()
    head, offset = text[:-6], text[-6:]
    out = [text, moment.isoformat(timespec="microseconds"), moment.isoformat(sep=" ")]
    out.append(moment.isoformat(timespec="milliseconds"))
    out.append(moment.isoformat(timespec="minutes"))
    if offset == "+00:00":
        out.append(head + "-00:00")
    out.append(head + offset.replace(":", ""))
    return out


@settings(max_examples=500, deadline=None)
@given(_TIMES)
def test_json_time_is_isoformat_of_the_parsed_text(moment: datetime) -> None:
    for text in _variants(moment):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            continue
        assert json_time(text, parsed) == parsed.isoformat(), text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("2022-05-16T10:00:00-04:00", True),
        ("2022-05-16T10:00:00.123456+05:30", True),
        ("2022-05-16T10:00:00+00:00", True),
        ("2022-05-16T10:00:00.000000+00:00", False),  # isoformat leaves zero microseconds out
        ("2022-05-16T10:00:00-00:00", False),  # written back as +00:00
        ("2022-05-16 10:00:00+00:00", False),
        ("2022-05-16T10:00:00.123+00:00", False),
        ("2022-05-16T10:00+00:00", False),
        ("2022-05-16T10:00:00+0000", False),
        ("\uff12022-05-16T10:00:00+00:00", False),  # digits but not ASCII ones
    ],
)
def test_json_time_edge_cases(text: str, kept: bool) -> None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        assert not kept
        return
    assert json_time(text, parsed) == parsed.isoformat()
    assert (json_time(text, parsed) is text) == kept
