"""Large imports: many hearings interleaved, more than the importer keeps in memory at once."""

from __future__ import annotations

from typing import Any

import pytest

from hearing_core.archive import WORKING_SET, HearingArchive
from hearing_core.chain import GENESIS_DIGEST, chain_digest
from hearing_core.errors import RecordError
from hearing_core.testing import HearingBuilder


def _interleaved(hearings: int) -> list[dict[str, Any]]:
    """Round-robin the records of many small hearings, so each comes back after eviction."""
    streams = []
    for i in range(hearings):
        b = HearingBuilder(f"h{i:03d}").participant("a", group="migrants").open("session-1")
        b.speak("a", text=f"words {i}").pledge("a").close_segment()
        records = b.records
        for r in records:
            r.pop("digest")
        streams.append(records)
    out = []
    for step in range(max(len(s) for s in streams)):
        out.extend(s[step] for s in streams if step < len(s))
    return out


def test_interleaved_import_of_more_hearings_than_the_working_set(archive: HearingArchive) -> None:
    records = _interleaved(WORKING_SET * 3)
    assert archive.import_records(("big", i, r) for i, r in enumerate(records, 1)) == len(records)
    assert len(archive.hearings()) == WORKING_SET * 3
    for summary in archive.hearings():
        previous = GENESIS_DIGEST
        stored = list(archive.records(summary.slug))
        assert [r["seq"] for r in stored] == list(range(1, len(stored) + 1))
        for r in stored:
            previous = chain_digest(previous, r)
            assert r["digest"] == previous


def test_refusal_late_in_a_long_interleaved_import_writes_nothing(archive: HearingArchive) -> None:
    records = _interleaved(WORKING_SET * 2)
    records.append(dict(records[-1], segment="nowhere"))  # an evicted hearing's closed segment
    with pytest.raises(RecordError) as refused:
        archive.import_records(("big", i, r) for i, r in enumerate(records, 1))
    assert refused.value.line == len(records)
    assert archive.max_position() == 0
    assert archive.hearings() == []


@pytest.mark.postgres
def test_import_outlasts_the_idle_in_transaction_timeout_between_batches(
    postgres_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's transaction waits while the next batch is checked; on a starved CPU that
    took longer than eventsourcing's idle-in-transaction limit (5 s) and PostgreSQL ended it.
    Here the limit is 1 s and the importer pauses 2 s between two batches."""
    import time

    from hearing_core import archive as archive_module

    monkeypatch.setattr(
        HearingArchive,
        "env",
        {**HearingArchive.env, "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "1"},
    )
    monkeypatch.setattr(archive_module, "BATCH", 2)
    records = _interleaved(2)

    def slow() -> Any:
        for i, r in enumerate(records, 1):
            if i == 4:  # the first batch is written and its transaction is open
                time.sleep(2)
            yield "slow", i, r

    app = archive_module.open_archive(postgres_store_url)
    try:
        assert app.import_records(slow()) == len(records)
        assert app.max_position() == len(records)
    finally:
        app.close()
