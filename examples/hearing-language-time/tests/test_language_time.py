"""The example plugin's own tests, written with hearing_core's test kit."""

from __future__ import annotations

import json

from hearing_core import RecordedEvent
from hearing_core.testing import HearingBuilder, ProjectionContract, render
from hearing_language_time import LanguageTime


def two_turns() -> HearingBuilder:
    """ana speaks French for 4 minutes (seq 5), bo English for 2 (seq 6)."""
    return (
        HearingBuilder("h1")
        .participant("ana", group="migrants")
        .participant("bo", group="academia")
        .open("session-1")
        .speak("ana", minutes=4, language="fr")
        .speak("bo", minutes=2, language="en")
        .close_segment()
    )


class TestLanguageTimeContract(ProjectionContract):
    hearing = "h1"

    def make_projection(self) -> LanguageTime:
        return LanguageTime()

    def make_events(self) -> list[RecordedEvent]:
        return two_turns().correct(6, reason="misheard", language="fr").close().events


def test_seconds_turns_and_share() -> None:
    report = json.loads(render(LanguageTime(), two_turns().events, "h1", "json"))
    assert report["languages"] == [
        {"language": "fr", "turns": 1, "seconds": 240, "share": 0.6667},
        {"language": "en", "turns": 1, "seconds": 120, "share": 0.3333},
    ]
    assert report["corrections"] == []


def test_a_correction_moves_a_turn_and_is_noted() -> None:
    events = two_turns().correct(6, reason="misheard", language="fr").events
    report = json.loads(render(LanguageTime(), events, "h1", "json"))
    assert report["languages"] == [{"language": "fr", "turns": 2, "seconds": 360, "share": 1.0}]
    assert report["corrections"] == [{"seq": 6, "note": "language corrected by #8: misheard"}]
    assert "- turn 6: language corrected by #8: misheard" in render(LanguageTime(), events, "h1")
