"""One-line gists of records, for ``hearing log`` and the demo.

Each event type's gist function is named in its spec (see
:mod:`hearing_core.event_types`); :func:`gist` picks it by the record's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAX = 70

Record = Mapping[str, Any]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def gist(record: Record) -> str:
    """A short human summary of what the event says ("" for a type nobody declared)."""
    from hearing_core.event_types import specs

    found = specs().get(record["type"])
    return found.gist(record) if found is not None else ""


def scheduled(record: Record) -> str:
    return f"{record['title']} ({record['date']}, {len(record['programme'])} segments)"


def registered(record: Record) -> str:
    who = "[protected]" if record.get("protected") else record["name"]
    group = record.get("stakeholder_group") or "official"
    return f"{record['participant']}: {who} ({group})"


def segment_opened(record: Record) -> str:
    mod = f", moderated by {record['moderator']}" if record.get("moderator") else ""
    return f"{record['segment']} opens{mod}"


def segment_closed(record: Record) -> str:
    return f"{record['segment']} closes"


def intervention(record: Record) -> str:
    return f"{record['speaker']} ({record['role']}, {record['language']}) until {record['ended_at'][11:19]}"


def said_by(record: Record) -> str:
    """Who said it and what (pledges, recommendations)."""
    return f"{record['by']}: {_clip(record['text'])}"


def summation(record: Record) -> str:
    return f"{record['by']} sums up {record['summarises']} ({len(record['key_points'])} points)"


def hearing_closed(record: Record) -> str:
    return "hearing closed"


def pledge_progress(record: Record) -> str:
    where = f"{record['pledge_hearing']}#" if record.get("pledge_hearing") else "#"
    return f"pledge {where}{record['pledge']} is {record['status']}"


def correction(record: Record) -> str:
    fields = ", ".join(sorted(record["changes"]))
    return f"corrects #{record['corrects']} ({fields}): {_clip(record['reason'])}"
