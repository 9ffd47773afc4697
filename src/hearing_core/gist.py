"""One-line gists of records, for ``hearing log`` and the demo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAX = 70


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def gist(record: Mapping[str, Any]) -> str:
    """A short human summary of what the event says."""
    t = record["type"]
    if t == "HearingScheduled":
        return f"{record['title']} ({record['date']}, {len(record['programme'])} segments)"
    if t == "ParticipantRegistered":
        who = "[protected]" if record.get("protected") else record["name"]
        group = record.get("stakeholder_group") or "official"
        return f"{record['participant']}: {who} ({group})"
    if t == "SegmentOpened":
        mod = f", moderated by {record['moderator']}" if record.get("moderator") else ""
        return f"{record['segment']} opens{mod}"
    if t == "SegmentClosed":
        return f"{record['segment']} closes"
    if t == "InterventionDelivered":
        return f"{record['speaker']} ({record['role']}, {record['language']}) until {record['ended_at'][11:19]}"
    if t in ("PledgeMade", "RecommendationMade"):
        return f"{record['by']}: {_clip(record['text'])}"
    if t == "SummationDelivered":
        return f"{record['by']} sums up {record['summarises']} ({len(record['key_points'])} points)"
    if t == "HearingClosed":
        return "hearing closed"
    if t == "PledgeProgressReported":
        where = f"{record['pledge_hearing']}#" if record.get("pledge_hearing") else "#"
        return f"pledge {where}{record['pledge']} is {record['status']}"
    if t == "CorrectionIssued":
        fields = ", ".join(sorted(record["changes"]))
        return f"corrects #{record['corrects']} ({fields}): {_clip(record['reason'])}"
    return ""
