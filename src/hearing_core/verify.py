"""Tamper evidence: recompute a hearing's digest chain and say where it breaks.

Each event stores ``digest = sha256(previous digest + canonical record)``.
Verification reads the stored rows again, recomputes the chain from the
content alone and reports the first position where the stored record and
the chain disagree, and how:

``missing``    a position has no event (a row was deleted)
``reordered``  the event at this position was recorded at another position
``inserted``   an extra event sits here; the chain resumes after it
``changed``    the content no longer matches its digest (a field was edited)
``unreadable`` the stored row can no longer be decoded

A *seal* (``hearing:count:head-digest``) published at some moment lets
anyone check later that the record still ends where it ended then, so even
a rewrite that recomputes every digest is caught.
"""

from __future__ import annotations

from typing import Any

import attrs

from hearing_core.archive import HearingArchive
from hearing_core.domain import build_record, hearing_id
from hearing_core.errors import HearingCoreError
from hearing_core.records import GENESIS_DIGEST, chain_digest


@attrs.frozen
class Break:
    """The first place a hearing's chain breaks."""

    position: int
    kind: str
    detail: str


@attrs.frozen
class Verification:
    """The outcome of verifying one hearing."""

    hearing: str
    events: int
    head: str
    problem: Break | None = None
    #: Chain digest after each position asked for (to check seals published earlier).
    digests_at: dict[int, str] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def seal(self) -> str:
        return f"{self.hearing}:{self.events}:{self.head}"


def _rows(
    archive: HearingArchive, slug: str
) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """(version, record without digest, stored digest) for each stored row, in version order."""
    out: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for stored in archive.recorder.select_events(hearing_id(slug)):
        try:
            event = archive.mapper.to_domain_event(stored)
            fields = {
                k: v
                for k, v in vars(event).items()
                if k not in ("originator_id", "originator_version", "originator_topic", "digest")
            }
            record = build_record(slug, type(event).__name__, stored.originator_version, fields)
            out.append((stored.originator_version, record, getattr(event, "digest", None)))
        except Exception:  # a row edited into something undecodable is evidence, not a crash
            out.append((stored.originator_version, None, None))
    return out


def verify_hearing(
    archive: HearingArchive, slug: str, *, remember: tuple[int, ...] = ()
) -> Verification:
    """Recompute one hearing's chain; return where it breaks, if anywhere.

    ``remember`` lists positions whose chain digest to keep (a seal's count).
    """
    rows = _rows(archive, slug)
    kept: dict[int, str] = {}
    if not rows:
        raise HearingCoreError(f"no hearing {slug!r} in {archive.location.display}")
    previous = GENESIS_DIGEST
    for index, (version, record, stored) in enumerate(rows):
        position = index + 1
        if version != position:
            kind = "missing" if version > position else "reordered"
            return Verification(
                slug,
                len(rows),
                previous,
                Break(
                    position, kind, f"expected the event at position {position}, found {version}"
                ),
            )
        if record is None:
            return Verification(
                slug,
                len(rows),
                previous,
                Break(position, "unreadable", "the stored event can no longer be decoded"),
            )
        expected = chain_digest(previous, record)
        if stored != expected:
            return Verification(
                slug, len(rows), previous, _diagnose(rows, index, previous, record, stored)
            )
        previous = expected
        if position in remember:
            kept[position] = expected
    return Verification(slug, len(rows), previous, digests_at=kept)


def _diagnose(
    rows: list[tuple[int, dict[str, Any] | None, str | None]],
    index: int,
    previous: str,
    record: dict[str, Any],
    stored: str | None,
) -> Break:
    position = index + 1
    # Was this content recorded at another position, after another stored row (rows swapped)?
    # Rows move by a few places at a time (swaps, shifts), so try nearby positions only.
    nearby = set(range(max(1, position - 3), position + 4)) - {position}
    for before_index, (_, _, before_digest) in enumerate(rows):
        if before_digest is None:
            continue
        for other in nearby | {before_index + 2}:
            if (
                other != position
                and chain_digest(before_digest, {**record, "seq": other}) == stored
            ):
                return Break(position, "reordered", f"this event was recorded at position {other}")
    # Does the chain resume if this row is skipped (an extra row was slipped in)?
    if index + 1 < len(rows):
        _, following, following_digest = rows[index + 1]
        if following is not None:
            shifted = {**following, "seq": position}
            if chain_digest(previous, shifted) == following_digest:
                return Break(position, "inserted", "an event that was never recorded sits here")
    return Break(position, "changed", f"the {record['type']} here does not match its digest")


def parse_seal(seal: str) -> tuple[str | None, int | None, str]:
    """``hearing:count:digest`` (or a bare digest) -> (hearing, count, digest)."""
    parts = seal.strip().split(":")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1]), parts[2]
    if len(parts) == 1:
        return None, None, parts[0]
    raise HearingCoreError(f"{seal!r} is not a seal (hearing:count:digest)")


def check_seal(result: Verification, seal: str) -> str | None:
    """Why ``result`` does not match a seal published earlier, or None if it does.

    A seal of ``count`` events holds while the first ``count`` events are
    unchanged; events recorded since (say, corrections) do not break it.
    """
    slug, count, digest = parse_seal(seal)
    if slug is not None and slug != result.hearing:
        return f"the seal is for hearing {slug!r}, not {result.hearing!r}"
    if count is None:
        return None if digest == result.head else "the record's head digest differs from the seal"
    if count > result.events:
        return f"the seal covers {count} events; the record now has only {result.events}"
    if result.digests_at.get(count, result.head if count == result.events else None) != digest:
        return f"the first {count} events differ from the sealed record"
    return None
