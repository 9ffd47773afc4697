"""The archive: an eventsourcing application holding many hearings' records.

This is the library API the CLI is a thin layer over: import, record,
list, read back and follow the log.  Every write goes through
:mod:`hearing_core.applying`, so import and the live path share one set of
rules, and every multi-event write is one transaction (all or nothing).
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, cast
from uuid import UUID

import attrs
import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import Environment, EnvType, get_topic

from hearing_core.applying import apply_record, check_pledge_reference, schedule
from hearing_core.bulk import BATCH, BulkWriter, bulk_writer
from hearing_core.catalogue import validate_record
from hearing_core.decoding import TYPE_KEY, fast_record, plain_transcoder
from hearing_core.domain import Hearing, event_record, hearing_id
from hearing_core.errors import RecordError, StoreError, UnknownHearingError
from hearing_core.event_types import generation
from hearing_core.event_view import RecordedEvent
from hearing_core.interchange import MAX_IMPORT_EVENTS
from hearing_core.keystore import KeyStore
from hearing_core.protection import reveal_record, seal_for
from hearing_core.store import (
    APP_NAME,
    StoreLocation,
    authoritative,
    opening,
    resolve,
    store_identity,
)
from hearing_core.transcodings import AttrsTranscoding, OneEncoderJSONTranscoder
from hearing_core.values import (
    Participant,
    ProgrammeItem,
    SegmentState,
    StakeholderGroup,
    TimeSpan,
)

#: The archive's recorder for each kind of store (the PostgreSQL one imports psycopg).
RECORDER_TOPICS = {
    "sqlite": "hearing_core.recorders:SQLiteArchiveRecorder",
    "postgres": "hearing_core.recorders_postgres:PostgresArchiveRecorder",
}

#: Fields sealed since a later version than their type: an archive written before holds them
#: in plain text under a digest covering the plain text, and must keep importing and verifying.
SEALED_LATER: Mapping[str, frozenset[str]] = {"PledgeProgressReported": frozenset({"note"})}


def _archived_before_sealing(
    record: Mapping[str, Any], sealed: Mapping[str, Any], refused: RecordError
) -> bool:
    """Whether a line was refused only because sealing a late-sealed field broke its digest."""
    late = SEALED_LATER.get(record["type"], frozenset())
    changed = {k for k in record if sealed.get(k) != record[k]}
    return refused.field == "digest" and "digest" in record and bool(changed) and changed <= late


#: How long the live path keeps retrying after losing races to other recorders.
RECORD_RETRY_SECONDS = 10.0

#: What a live recorder says when the write lock is held too long: an import is one
#: transaction (all or nothing) and holds the lock until its last line is checked.
_LOCKED = (
    "{store} is locked by another writer, most likely a `hearing import` (one transaction, "
    "all or nothing, holding the write lock until its last line is checked); nothing was "
    "written: record again when the import has finished, or import in smaller pieces "
    "(--max-events)"
)

#: Hearings an import keeps in memory at once; others are reloaded when they come up again.
WORKING_SET = 16

#: Events read per page when following the log.
PAGE_SIZE = 1000


class _EventTopics(Mapping[str, type[Any]]):
    """Topic -> class of every registered event type, read from the registry, so that a
    type declared later (docs/architecture.md's steps) is part of the closed set too."""

    def __init__(self) -> None:
        self._cached: tuple[int, dict[str, type[Any]]] = (-1, {})

    def _table(self) -> dict[str, type[Any]]:
        if self._cached[0] != generation():
            classes = Hearing.EVENT_TYPES.values()
            self._cached = (generation(), {get_topic(cls): cls for cls in classes})
        return self._cached[1]

    def __getitem__(self, topic: str) -> type[Any]:
        return self._table()[topic]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __contains__(self, topic: object) -> bool:
        return topic in self._table()

    def get(self, topic: str, default: Any = None) -> Any:
        return self._table().get(topic, default)


#: The only topics the store may name: the project's own event types, topic -> class.
EVENT_TOPICS: Mapping[str, type[Any]] = _EventTopics()

#: The only aggregate topic a ``HearingScheduled`` may carry (eventsourcing resolves it on replay).
AGGREGATE_TOPIC = get_topic(Hearing)


def stored_place(stored: StoredEvent) -> str:
    """Where a stored row is, for messages: its archive position when known, its version."""
    position = getattr(stored, "id", None)
    where = f"archive position {position}, " if position is not None else ""
    return f"{where}event {stored.originator_version} of {stored.originator_id}"


class ClosedTopicMapper(Mapper[UUID]):
    """eventsourcing's mapper, but a stored topic names one of the project's event types or
    nothing: the store's ``topic`` column (and a ``HearingScheduled``'s ``originator_topic``)
    is checked against a fixed set before anything resolves it, so no read of a store ever
    imports a module the store names."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        if stored_event.topic not in EVENT_TOPICS:
            raise StoreError(
                f"{stored_place(stored_event)}: stored topic {stored_event.topic!r} is not one "
                "of the hearing event types; the store was altered (run hearing verify)"
            )
        # A topic of the closed set resolves to that class, already imported.
        event = super().to_domain_event(stored_event)
        if isinstance(event, Hearing.HearingScheduled):
            if event.originator_topic != AGGREGATE_TOPIC:
                raise StoreError(
                    f"{stored_place(stored_event)}: stored originator_topic "
                    f"{event.originator_topic!r} is not the hearing's; the store was altered "
                    "(run hearing verify)"
                )
            # The slug it names must be the one its id is made from, or one hearing's
            # events would be read as another's.
            if not _names_its_id(event.hearing, stored_event.originator_id):
                raise StoreError(
                    f"{stored_place(stored_event)}: stored hearing {event.hearing!r} is not the "
                    "hearing of this id; the store was altered (run hearing verify)"
                )
        return event


def _names_its_id(slug: object, originator_id: object) -> bool:
    try:
        return isinstance(slug, str) and hearing_id(slug) == originator_id
    except RecordError:
        return False


@attrs.frozen
class HearingSummary:
    """One line of ``hearing hearings``."""

    slug: str
    title: str
    date: str
    events: int
    closed: bool


class HearingArchive(Application[UUID]):
    """Many hearings' records in one event store (SQLite file or PostgreSQL)."""

    name = APP_NAME
    #: Recently used hearings stay in memory; each get() fast-forwards from the store,
    #: so a cached hearing is never stale even with other recorders writing.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "100"}

    def __init__(self, location: StoreLocation, keys: KeyStore | None = None) -> None:
        self.location = location
        self.keys = keys if keys is not None else KeyStore(location.default_keys_path())
        # Checks and prepares the store (the recorder creates its tables and guards, when
        # this role owns them).
        with opening(location) as settings:
            super().__init__(env={**location.env, **authoritative(settings)})
        self._slugs: dict[UUID, str] = {}
        # Records are decoded straight from the stored JSON only when the mapper would
        # do nothing else than the transcoder's decoding (see _decoded).
        plain = getattr(self.mapper, "cipher", None) is None and (
            getattr(self.mapper, "compressor", None) is None
        )
        self._fast = plain_transcoder(self.mapper.transcoder) if plain else None
        self._reader: BulkWriter | None = None  # the open import's transaction, if any

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the store URL's settings, never the process environment's: a stray
        COMPRESSOR_TOPIC, CIPHER_TOPIC or cache setting must not change how the record
        is stored or read."""
        settings = dict(type(self).env)
        settings.update(env or {})
        # Our recorders write the archive chain in each insert's transaction.
        settings["APPLICATION_RECORDER_TOPIC"] = RECORDER_TOPICS[self.location.kind]
        return Environment(name, settings)

    def construct_mapper(self) -> Mapper[UUID]:
        """A mapper that resolves stored topics only from the project's own event types."""
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=ClosedTopicMapper
        )

    def construct_transcoder(self) -> Transcoder:
        """eventsourcing's JSON transcoder (the same bytes), its C encoder made once."""
        transcoder = self.factory.transcoder()
        if type(transcoder) is JSONTranscoder:
            transcoder = OneEncoderJSONTranscoder()
        if isinstance(transcoder, JSONTranscoder):
            self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for cls in (ProgrammeItem, StakeholderGroup, Participant, TimeSpan, SegmentState):
            transcoder.register(AttrsTranscoding(cls))

    # --- reading ------------------------------------------------------------------

    def hearing(self, slug: str, *, version: int | None = None) -> Hearing:
        """The hearing as it stands now, or as it stood at position ``version``."""
        try:
            return self.repository.get(hearing_id(slug), version=version)
        except AggregateNotFoundError:
            raise UnknownHearingError(f"no hearing {slug!r} in {self.location.display}") from None

    def exists(self, slug: str) -> bool:
        return bool(self.recorder.select_events(hearing_id(slug), lte=1))

    def records(
        self, slug: str, *, upto: int | None = None, reveal: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The hearing's records in order, up to and including position ``upto``.

        With ``reveal``, protected participants' fields are decrypted where
        their key exists and withheld where it was destroyed (for reports);
        without it, records are exactly as stored (for the archive).
        """
        if not self.exists(slug):
            raise UnknownHearingError(f"no hearing {slug!r} in {self.location.display}")
        for event in self.events.get(hearing_id(slug), lte=upto):
            record = event_record(event, slug)
            yield reveal_record(record, self.keys) if reveal else record

    def stored_record(self, slug: str, seq: int) -> dict[str, Any] | None:
        """One stored record of a hearing (as stored: sealed), or None."""
        for event in self.events.get(hearing_id(slug), gt=seq - 1, lte=seq):
            return event_record(event, slug)
        return None

    def hearings(self) -> list[HearingSummary]:
        """Every hearing in the store, in the order they were scheduled.

        One pass over the log's scheduling and closing events, then one indexed
        look-up per hearing for its length.
        """
        scheduled, closed = get_topic(Hearing.HearingScheduled), get_topic(Hearing.HearingClosed)
        found: dict[UUID | str, Any] = {}
        ended: set[UUID | str] = set()
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(
                start, PAGE_SIZE, topics=[scheduled, closed], inclusive_of_start=False
            )
            for n in page:
                if n.topic == closed:
                    ended.add(n.originator_id)
                else:
                    found[n.originator_id] = self.mapper.to_domain_event(n)
            if len(page) < PAGE_SIZE:
                break
            start = page[-1].id
        out = []
        for oid, event in found.items():
            head = self.recorder.select_events(oid, desc=True, limit=1)
            out.append(
                HearingSummary(
                    slug=event.hearing,
                    title=event.title,
                    date=event.date,
                    events=head[0].originator_version,
                    closed=oid in ended,
                )
            )
        return out

    def identity(self) -> str:
        """What identifies this archive's log: where it is, and its first event's digest."""
        first = self.recorder.select_notifications(None, 1)
        digest = ""
        if first:
            digest = getattr(self.mapper.to_domain_event(first[0]), "digest", "")
        return f"{self.location.display}#{digest}"

    def max_position(self) -> int:
        """The position of the newest event in the whole archive (0 when empty)."""
        return int(self.recorder.max_notification_id() or 0)

    def follow(
        self,
        after: int = 0,
        *,
        upto: int | None = None,
        page_size: int = PAGE_SIZE,
        reveal: bool = False,
        types: Iterable[str] | None = None,
    ) -> Iterator[RecordedEvent]:
        """Every event after archive position ``after``, in log order, page by page.

        ``reveal`` as for :meth:`records`.  With ``types``, only events of
        those types are read: the store filters them by topic, so nothing
        else is decoded or decrypted.
        """
        start = after
        topics: list[str] = []
        if types is not None:
            topics = [get_topic(getattr(Hearing, t)) for t in sorted(types) if hasattr(Hearing, t)]
            if not topics:
                return
        while True:
            page = self.recorder.select_notifications(
                start, page_size, stop=upto, topics=topics, inclusive_of_start=False
            )
            for n in page:
                record = self._decoded(n)
                if record is None:  # anything the short way does not cover: the mapper's way
                    event = self.mapper.to_domain_event(n)
                    record = event_record(event, self._slug(event))
                yield RecordedEvent(n.id, reveal_record(record, self.keys) if reveal else record)
            if len(page) < page_size:
                return
            start = page[-1].id

    def _decoded(self, stored: StoredEvent) -> Mapping[str, Any] | None:
        """The record of a stored event read straight from its JSON, or None for the mapper.

        What ``event_record(mapper.to_domain_event(stored), slug)`` gives, value for value
        and in the same key order, without building the domain event: a hearing's own
        events once its slug is known, stored by this project's transcoder (no cipher, no
        compressor, no class version).  The schedule (whose topic and slug are checked
        against the id), an unknown topic and anything unusual take the mapper's way,
        which checks and says what is wrong.
        """
        slug = self._slugs.get(stored.originator_id)  # type: ignore[arg-type]
        if slug is None or self._fast is None:
            return None
        cls = EVENT_TOPICS.get(stored.topic)
        if cls is None or cls is Hearing.HearingScheduled:
            return None
        try:
            state = orjson.loads(stored.state)
            if type(state) is not dict:
                return None
            typed = stored.state.count(TYPE_KEY)
            return fast_record(
                cls.__name__, slug, stored.originator_version, state, self._fast, typed
            )
        except Exception:  # the mapper's way raises what is wrong, if anything
            return None

    def close(self) -> None:
        """Close the store and the key file (which reopens if used again)."""
        self.keys.close()
        super().close()

    def _slug(self, event: Any) -> str:
        oid = event.originator_id
        slug = self._slugs.get(oid)
        if slug is None:
            if isinstance(event, Hearing.HearingScheduled):
                slug = event.hearing
            else:
                first = self.recorder.select_events(oid, lte=1)
                slug = self.mapper.to_domain_event(first[0]).hearing  # type: ignore[attr-defined]
            self._slugs[oid] = slug
        return slug

    # --- writing ------------------------------------------------------------------

    def import_records(
        self,
        records: Iterable[tuple[str, int, Mapping[str, Any]]],
        *,
        max_events: int | None = MAX_IMPORT_EVENTS,
    ) -> int:
        """Append ``(source, line, record)`` triples, all or nothing; return how many.

        Every record is checked against the state built by the records before
        it (in the store and in the same input); they are written in batches
        inside one transaction that commits only when the whole input has
        passed, so the first refusal raises :class:`RecordError` and nothing
        is saved, and memory stays flat however long the input.  More than
        ``max_events`` records (None: no ceiling) is a refusal too.
        """
        pending: OrderedDict[str, Hearing] = OrderedDict()
        chained = _DigestsEverywhere()
        batch: list[Any] = []
        count = 0
        try:
            with bulk_writer(self, self.location.kind) as writer:
                self._reader = writer
                for source, line, record in records:
                    if max_events is not None and count >= max_events:
                        raise RecordError(
                            f"more than {max_events:,} events, the ceiling of one import "
                            "(split the input, or raise the ceiling with --max-events)",
                            source=source,
                            line=line,
                        )
                    try:
                        hearing = self._apply(pending, record)
                    except RecordError as e:
                        raise e.located(source, line) from None
                    chained.check(source, line, record)
                    batch.append(hearing.pending_events[-1])
                    count += 1
                    if len(batch) >= BATCH:
                        self._flush(writer, batch, pending)
                self._flush(writer, batch, pending)
                # Keys before the events commit: a key without events is harmless,
                # events whose key was never kept would be unreadable for good.
                self.keys.commit_staged()
        finally:
            self._reader = None
            self.keys.discard_staged()
        return count

    @staticmethod
    def _flush(writer: BulkWriter, batch: list[Any], pending: OrderedDict[str, Hearing]) -> None:
        """Write a batch in log order; keep only the most recently used hearings in memory."""
        writer.write(batch)
        batch.clear()
        for hearing in pending.values():
            hearing.collect_events()
        while len(pending) > WORKING_SET:
            pending.popitem(last=False)  # reloaded through the import's transaction if needed

    def _save(self, *hearings: Hearing) -> None:
        """Save, keys of newly protected participants first (a key without events is harmless)."""
        try:
            self.keys.commit_staged()
            self.save(*hearings)
        finally:
            self.keys.discard_staged()

    def record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The live path: validate and append one record; return it as stored.

        If another recorder appends to the same hearing first, the record is
        checked again against the fresh state and retried; if it is no longer
        valid the refusal says why.
        """
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        attempt = 0
        while True:
            pending: dict[str, Hearing] = {}
            try:
                hearing = self._apply(pending, record)
            except BaseException:
                self.keys.discard_staged()
                raise
            new_event = hearing.pending_events[-1]
            try:
                self._save(hearing)
            except OperationalError as e:
                if "locked" not in str(e) and "lock timeout" not in str(e):
                    raise
                raise StoreError(_LOCKED.format(store=self.location.display)) from None
            except IntegrityError:
                # Another recorder got there first: check again on the fresh state,
                # after a short random pause so racing recorders spread out.
                attempt += 1
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"hearing {hearing.slug!r} is being recorded by others so fast that this "
                        f"record lost the race {attempt} times in {RECORD_RETRY_SECONDS:.0f} s; "
                        "nothing was written, try again"
                    ) from None
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # noqa: S311
                continue
            return event_record(new_event, hearing.slug)

    def _apply(self, pending: dict[str, Hearing], record: Mapping[str, Any]) -> Hearing:
        validate_record(record)
        slug = record["hearing"]
        if record["type"] == "HearingScheduled":
            if slug in pending or self._scheduled(slug):
                raise RecordError(f"hearing {slug!r} is already scheduled", field="hearing")
            pending[slug] = schedule(record)
            return pending[slug]
        if slug not in pending:
            pending[slug] = self._load(slug)
        elif isinstance(pending, OrderedDict):
            pending.move_to_end(slug)
        if record["type"] == "PledgeProgressReported":
            self._check_pledge_elsewhere(pending, record)
        hearing = pending[slug]
        sealed = self._seal(hearing, record)
        try:
            apply_record(hearing, sealed)
        except RecordError as refused:
            if not _archived_before_sealing(record, sealed, refused):
                raise
            apply_record(hearing, record)  # its digest covers the plain text: keep it as archived
        return hearing

    def _scheduled(self, slug: str) -> bool:
        """Whether the hearing exists, counting what the open import has written (if any)."""
        if self._reader is not None:
            return bool(self._reader.read(hearing_id(slug)))
        return self.exists(slug)

    def _load(self, slug: str) -> Hearing:
        """A hearing's current state, to apply a record to."""
        if self._reader is None:  # the live path: through the repository and its cache
            try:
                return cast("Hearing", self.repository.get(hearing_id(slug)))
            except AggregateNotFoundError:
                raise RecordError(
                    f"no hearing {slug!r} has been scheduled", field="hearing"
                ) from None
        events = self._reader.read(hearing_id(slug))
        if not events:
            raise RecordError(f"no hearing {slug!r} has been scheduled", field="hearing")
        hearing: Any = None
        for event in events:
            hearing = event.mutate(hearing)
        return cast("Hearing", hearing)

    def _seal(self, hearing: Hearing, record: Mapping[str, Any]) -> dict[str, Any]:
        """Encrypt a protected participant's fields before the event is made."""
        return seal_for(hearing, record, self.keys)

    def _check_pledge_elsewhere(
        self, pending: dict[str, Hearing], record: Mapping[str, Any]
    ) -> None:
        other = record.get("pledge_hearing")
        if other is None or other == record["hearing"]:
            return
        if other in pending:
            target = pending[other]
        else:
            try:
                target = self._load(other)
            except RecordError:
                raise RecordError(
                    f"no hearing {other!r} has been scheduled", field="pledge_hearing"
                ) from None
        check_pledge_reference(target, record["pledge"])


class _DigestsEverywhere:
    """An input either carries the chain digest on every line of a hearing or on none.

    A digest that is present is checked against the recomputed chain when the
    record is applied; this catches the other half: lines whose digest was
    stripped would otherwise be silently re-chained, hiding what was changed.
    """

    def __init__(self) -> None:
        #: Per (source, hearing): whether its first line carried a digest, and that line.
        self._first: dict[tuple[str, str], tuple[bool, int]] = {}

    def check(self, source: str, line: int, record: Mapping[str, Any]) -> None:
        key = (source, record["hearing"])
        has = "digest" in record
        first = self._first.setdefault(key, (has, line))
        if first[0] == has:
            return
        if has:  # the hearing's earlier lines had none: the first of them is the culprit
            raise RecordError(
                f"no digest, but line {line} of hearing {record['hearing']!r} carries one: "
                "an export's lines carry digests on every line of a hearing or on none",
                field="digest",
                source=source,
                line=first[1],
            )
        raise RecordError(
            f"no digest, but line {first[1]} of hearing {record['hearing']!r} carries one: "
            "an export's lines carry digests on every line of a hearing or on none",
            field="digest",
            source=source,
            line=line,
        )


def open_archive(store: str | None = None) -> HearingArchive:
    """Open (creating if need be) the store named by ``store``, ``HEARING_STORE`` or the default.

    With the key file the CLI uses for it (for PostgreSQL, the one named by the store's id),
    and refusing, before anything is read, a key file that belongs to another store.
    """
    location = resolve(store)
    store_id = store_identity(location, create=True)
    return HearingArchive(
        location, KeyStore.of_store(location.default_keys_path(store_id), store_id)
    )
