"""Tamper evidence: recompute the digest chains from the stored bytes and say where they break.

Verification is a pure function over the raw stored rows (originator id,
version, topic, state bytes).  It never asks eventsourcing's mapper to
resolve a topic and never imports anything the store names: a row's topic
must be one of the project's own event types (:data:`EVENT_TOPICS`), its
state is decoded with the archive's JSON transcoder only, and every stored
column that carries meaning is either covered by the hearing's digest or
checked against what the digest covers:

- ``topic`` names the event type the digest covers (``type``);
- ``originator_id`` is ``hearing_id`` of the hearing the digest covers;
- ``originator_version`` is the position the digest covers (``seq``);
- the state's keys are exactly the event type's fields, and the ``hearing``
  a ``HearingScheduled`` stores is the hearing its row belongs to.

Each hearing's event stores ``digest = sha256(previous digest + canonical record)``;
the first break is reported with its kind:

``missing``    a position has no event (a row was deleted)
``reordered``  the event at this position was recorded at another position
``inserted``   an extra event sits here; the chain resumes after it
``changed``    the content no longer matches its digest (a field was edited)
``unreadable`` the stored row can no longer be decoded
``foreign``    the row names something outside the project's own event types

Without a hearing, :func:`verify_archive` also recomputes the *archive chain*
(one link per stored event in log order over the raw row, written by
:mod:`hearing_core.recorders`), so removing a hearing, or the tail of one
recorded before another, is caught without any seal.

A *seal* (``hearing:count:head-digest``, or ``@archive:count:head-link`` for
the whole archive) published at some moment lets anyone check later that the
record still begins with what was sealed, so even a rewrite that recomputes
every digest and link, or a truncation of the archive's end, is caught.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

import attrs

from hearing_core.archive import AGGREGATE_TOPIC, EVENT_TOPICS, HearingArchive
from hearing_core.chain import GENESIS_DIGEST, chain_digest, link_digest
from hearing_core.domain import Hearing, build_record, hearing_id
from hearing_core.errors import HearingCoreError

#: Decodes a row's state bytes into a mapping (the archive's transcoder: JSON, no imports).
Decoder = Callable[[bytes], Any]


def state_keys(topic: str) -> frozenset[str]:
    """The keys an event type's stored state holds: its fields, less those kept in columns."""
    cls = EVENT_TOPICS[topic]
    return frozenset(f.name for f in dataclasses.fields(cls)) - {
        "originator_id",
        "originator_version",
    }


#: State keys that are not part of the record the digest covers (checked apart).
_NOT_IN_RECORD = ("originator_topic", "digest")


@attrs.frozen
class StoredRow:
    """One stored event exactly as the store holds it: nothing decoded, nothing resolved."""

    originator_id: str  # 32 lower-case hex digits
    version: int
    topic: str
    state: bytes
    position: int | None = None  # the archive position, when read in log order


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


@attrs.frozen
class _Decoded:
    """A row read back: its record and stored digest, or why it cannot be."""

    version: int
    record: dict[str, Any] | None
    digest: str | None
    problem: Break | None = None


def _decode(row: StoredRow, slug: str, decode: Decoder) -> _Decoded:
    """Check one row's columns against what its digest covers and rebuild its record."""
    position = row.version

    def refused(kind: str, detail: str) -> _Decoded:
        return _Decoded(row.version, None, None, Break(position, kind, detail))

    cls = EVENT_TOPICS.get(row.topic)
    if cls is None:
        return refused(
            "foreign", f"stored topic {row.topic!r} is not one of the hearing event types"
        )
    if row.originator_id != hearing_id(slug).hex:
        return refused("foreign", f"stored under id {row.originator_id}, not {slug!r}'s")
    try:
        state = decode(row.state)
    except Exception:  # a row edited into something undecodable is evidence, not a crash
        return refused("unreadable", "the stored event can no longer be decoded")
    if not isinstance(state, dict):
        return refused("unreadable", "the stored state is not a mapping")
    expected = state_keys(row.topic)
    if set(state) != expected:
        extra = sorted(set(state) - expected)
        lacking = sorted(expected - set(state))
        said = [f"unexpected key(s) {', '.join(extra)}" if extra else ""]
        said.append(f"missing key(s) {', '.join(lacking)}" if lacking else "")
        return refused(
            "changed",
            f"the stored {cls.__name__} has {'; '.join(s for s in said if s)}",
        )
    if cls is Hearing.HearingScheduled:
        if state["originator_topic"] != AGGREGATE_TOPIC:
            return refused(
                "foreign",
                f"stored originator_topic {state['originator_topic']!r} is not the hearing's",
            )
        if state["hearing"] != slug:
            return refused("changed", f"the stored hearing {state['hearing']!r} is not {slug!r}")
    fields = {k: v for k, v in state.items() if k not in _NOT_IN_RECORD}
    try:
        record = build_record(slug, cls.__name__, row.version, fields)
    except Exception:
        return refused("unreadable", "the stored event can no longer be decoded")
    digest = state["digest"]
    return _Decoded(row.version, record, digest if isinstance(digest, str) else None)


def verify_rows(
    slug: str, rows: Iterable[StoredRow], decode: Decoder, *, remember: tuple[int, ...] = ()
) -> Verification:
    """Recompute one hearing's chain over its stored rows (in version order).

    Pure: reads only the rows given.  ``remember`` lists positions whose chain
    digest to keep (a seal's count).
    """
    decoded = [_decode(row, slug, decode) for row in rows]
    if not decoded:
        raise HearingCoreError(f"no hearing {slug!r} in the store")
    kept: dict[int, str] = {}
    previous = GENESIS_DIGEST
    for index, row in enumerate(decoded):
        position = index + 1
        if row.version != position:
            kind = "missing" if row.version > position else "reordered"
            detail = f"expected the event at position {position}, found {row.version}"
            return Verification(slug, len(decoded), previous, Break(position, kind, detail))
        if row.problem is not None:
            return Verification(slug, len(decoded), previous, row.problem)
        assert row.record is not None
        expected = chain_digest(previous, row.record)
        if row.digest != expected:
            problem = _diagnose(decoded, index, previous, row.record, row.digest)
            return Verification(slug, len(decoded), previous, problem)
        previous = expected
        if position in remember:
            kept[position] = expected
    return Verification(slug, len(decoded), previous, digests_at=kept)


def hearing_rows(archive: HearingArchive, slug: str) -> list[StoredRow]:
    """The hearing's stored rows, raw, in version order."""
    return [
        StoredRow(_hex(s.originator_id), s.originator_version, s.topic, bytes(s.state))
        for s in archive.recorder.select_events(hearing_id(slug))
    ]


def verify_hearing(
    archive: HearingArchive, slug: str, *, remember: tuple[int, ...] = ()
) -> Verification:
    """Recompute one hearing's chain from its stored bytes; return where it breaks, if anywhere.

    ``remember`` lists positions whose chain digest to keep (a seal's count).
    """
    rows = hearing_rows(archive, slug)
    if not rows:
        raise HearingCoreError(f"no hearing {slug!r} in {archive.location.display}")
    return verify_rows(slug, rows, archive.mapper.transcoder.decode, remember=remember)


#: The name an archive seal carries where a hearing seal carries the hearing's slug
#: (not a slug: slugs have no ``@``).
ARCHIVE = "@archive"


@attrs.frozen
class SealedCorrection:
    """A correction recorded after a seal that changes an event the seal covers."""

    hearing: str
    position: int  # the correction's position in its hearing
    corrects: int  # the position it corrects (sealed)
    reason: str


@attrs.frozen
class ArchiveVerification:
    """The outcome of verifying the whole archive: each hearing, and the archive chain."""

    events: int
    head: str
    hearings: list[Verification]
    #: What is wrong with the archive as a whole (an empty store, a broken archive chain,
    #: rows of no hearing), if anything.
    problem: str | None = None
    #: The archive chain's link after the event a seal counts, when asked for.
    head_at_seal: str | None = None
    #: Corrections recorded after the seal's events that change sealed events.
    corrections: list[SealedCorrection] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None and all(h.ok for h in self.hearings)

    @property
    def seal(self) -> str:
        return f"{ARCHIVE}:{self.events}:{self.head}"


#: The topic of a hearing's first event, and of a correction.
_SCHEDULED = next(t for t, cls in EVENT_TOPICS.items() if cls is Hearing.HearingScheduled)
_CORRECTION = next(t for t, cls in EVENT_TOPICS.items() if cls is Hearing.CorrectionIssued)

#: Rows read at a time when walking the whole log.
_PAGE = 1000


def _state(row: StoredRow, decode: Decoder) -> dict[str, Any]:
    """A row's decoded state, or an empty mapping if it cannot be decoded."""
    try:
        state = decode(row.state)
    except Exception:
        return {}
    return state if isinstance(state, dict) else {}


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def _id_of(slug: str) -> str | None:
    try:
        return hearing_id(slug).hex
    except HearingCoreError:
        return None


def chain_rows(archive: HearingArchive) -> Iterator[tuple[StoredRow, str | None]]:
    """Every stored row, raw, in log order, with its stored archive link, page by page."""
    recorder: Any = archive.recorder
    after = 0
    while True:
        page = recorder.select_chain(after, _PAGE)
        for nid, oid, version, topic, state, link in page:
            yield StoredRow(oid, version, topic, state, nid), link
        if len(page) < _PAGE:
            return
        after = page[-1][0]


def _correction(
    row: StoredRow, decode: Decoder, sealed: int, hearing: str
) -> SealedCorrection | None:
    """The row as a correction of a sealed event (one of the first ``sealed``), if it is one."""
    if row.topic != _CORRECTION:
        return None
    state = _state(row, decode)
    corrects = state.get("corrects")
    if not isinstance(corrects, int) or not 1 <= corrects <= sealed:
        return None
    return SealedCorrection(hearing, row.version, corrects, str(state.get("reason", "")))


def corrections_since(archive: HearingArchive, slug: str, count: int) -> list[SealedCorrection]:
    """Corrections recorded in ``slug`` after its first ``count`` events that change those."""
    decode = archive.mapper.transcoder.decode
    found = (_correction(r, decode, count, slug) for r in hearing_rows(archive, slug)[count:])
    return [c for c in found if c is not None]


def verify_archive(archive: HearingArchive, *, remember: int | None = None) -> ArchiveVerification:
    """Verify the archive chain over every stored row in log order, then every hearing.

    The hearings are found from the stored rows themselves: each originator id
    in the log must be the id of the hearing its first stored event names.
    An empty store, a row whose link does not follow from the rows before it,
    links after the last event, and rows under an id no hearing was scheduled
    under are failures.  ``remember``: a seal's count of events, to keep the
    link after that many events and list the corrections recorded since that
    change events it covers.
    """
    decode = archive.mapper.transcoder.decode
    recorder: Any = archive.recorder
    first_at: dict[str, int] = {}  # originator id -> archive position of its first row
    counts: dict[str, int] = {}
    slugs: dict[str, str | None] = {}
    head, events, last, problem = GENESIS_DIGEST, 0, 0, None
    head_at_seal: str | None = None
    sealed: dict[str, int] = {}
    later: list[StoredRow] = []  # corrections after the seal, to check once slugs are known
    for row, stored_link in chain_rows(archive):
        events += 1
        position = row.position or 0
        head = link_digest(head, row.originator_id, row.version, row.topic, row.state)
        if problem is None and stored_link != head:
            why = (
                "it has no archive link"
                if stored_link is None
                else "its link does not follow from the events before it (events before it "
                "were removed, reordered or changed)"
            )
            problem = (
                f"the archive chain breaks at event {events} in log order (archive position "
                f"{position}, event {row.version} of id {row.originator_id}): {why}"
            )
        oid = row.originator_id
        if oid not in first_at:
            first_at[oid] = position
            slugs[oid] = None
        counts[oid] = counts.get(oid, 0) + 1
        if row.version == 1 and row.topic == _SCHEDULED:
            slug = _state(row, decode).get("hearing")
            slugs[oid] = slug if isinstance(slug, str) else None
        if events == remember:
            head_at_seal, sealed = head, dict(counts)
        elif remember is not None and events > remember and row.topic == _CORRECTION:
            later.append(row)
        last = position
    if problem is None and (left := recorder.links_after(last)):
        problem = (
            f"{left} archive link(s) follow the last stored event: events at the end of the "
            "log were removed"
        )
    if events == 0:
        problem = f"the store {archive.location.display} holds no events" + (
            f" (but {problem})" if problem else ""
        )
    results = []
    for oid, slug in slugs.items():
        label = f"id {oid}"  # a hearing's name only once its id is known to be its own
        if slug is None:
            detail = (
                f"{counts[oid]} event(s) from archive position {first_at[oid]} are stored under "
                "an id no readable HearingScheduled was recorded for"
            )
            results.append(
                Verification(label, counts[oid], GENESIS_DIGEST, Break(1, "missing", detail))
            )
        elif _id_of(slug) != oid:
            detail = f"the stored hearing {slug!r} is not the hearing of id {oid}"
            results.append(
                Verification(label, counts[oid], GENESIS_DIGEST, Break(1, "changed", detail))
            )
        else:
            results.append(verify_hearing(archive, slug))
    corrections = []
    for row in later:
        slug = slugs.get(row.originator_id)
        found = _correction(row, decode, sealed.get(row.originator_id, 0), slug or "?")
        if found is not None:
            corrections.append(found)
    return ArchiveVerification(events, head, results, problem, head_at_seal, corrections)


def _diagnose(
    rows: Sequence[_Decoded],
    index: int,
    previous: str,
    record: dict[str, Any],
    stored: str | None,
) -> Break:
    position = index + 1
    # Was this content recorded at another position, after another stored row (rows swapped)?
    # Rows move by a few places at a time (swaps, shifts), so try nearby positions only.
    nearby = set(range(max(1, position - 3), position + 4)) - {position}
    for before_index, before in enumerate(rows):
        if before.digest is None:
            continue
        for other in nearby | {before_index + 2}:
            if (
                other != position
                and chain_digest(before.digest, {**record, "seq": other}) == stored
            ):
                return Break(position, "reordered", f"this event was recorded at position {other}")
    # Does the chain resume if this row is skipped (an extra row was slipped in)?
    if index + 1 < len(rows):
        following = rows[index + 1]
        if following.record is not None:
            shifted = {**following.record, "seq": position}
            if chain_digest(previous, shifted) == following.digest:
                return Break(position, "inserted", "an event that was never recorded sits here")
    return Break(position, "changed", f"the {record['type']} here does not match its digest")


_HEX64 = re.compile(r"[0-9a-f]{64}")


def parse_seal(seal: str) -> tuple[str | None, int | None, str]:
    """``hearing:count:digest``, ``@archive:count:head`` or a bare digest -> (name, count, digest).

    Anything else is refused as "not a seal" (one line, naming what was given).
    """
    parts = seal.strip().split(":")
    well_formed = len(parts) == 3 and parts[1].isdigit() and _HEX64.fullmatch(parts[2])
    if well_formed and (parts[0] == ARCHIVE or _id_of(parts[0]) is not None):
        return parts[0], int(parts[1]), parts[2]
    if len(parts) == 1 and _HEX64.fullmatch(parts[0]):
        return None, None, parts[0]
    raise HearingCoreError(
        f"{seal!r} is not a seal: expected HEARING:COUNT:DIGEST or {ARCHIVE}:COUNT:DIGEST "
        "(DIGEST 64 hex digits)"
    )


def check_archive_seal(result: ArchiveVerification, seal: str) -> str | None:
    """Why the archive does not match an archive seal published earlier, or None if it does.

    The seal holds while the first ``count`` events in log order are those sealed;
    events recorded since do not break it (corrections among them are listed apart).
    """
    name, count, digest = parse_seal(seal)
    if name != ARCHIVE or count is None:
        return "this is a hearing's seal: give the HEARING, or an archive seal (@archive:...)"
    if count > result.events:
        return f"the seal covers {count} events; the archive now has only {result.events}"
    if count == 0 or result.head_at_seal != digest:
        return f"the first {count} events of the archive differ from the sealed archive"
    return None


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
