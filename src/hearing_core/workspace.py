"""A workspace: one archive, its plugins and its read models, opened together.

The CLI and library users go through this facade; it keeps the wiring in
one place: where the read models live, when plugins load (lazily, once),
and how a report is answered now, as of a moment, or as originally recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cached_property
from pathlib import Path

import attrs
from rich.console import RenderableType

from hearing_core.archive import HearingArchive
from hearing_core.errors import HearingCoreError
from hearing_core.event_view import RecordedEvent
from hearing_core.keystore import KeyStore, Tombstone
from hearing_core.plugins import PluginHost, load_plugins
from hearing_core.projection import ALL_HEARINGS, Projection, Report, ReportRequest
from hearing_core.protection import key_id_of
from hearing_core.readmodels import Failure, PluginError, ReadModels
from hearing_core.rules import moment
from hearing_core.shielding import Protection
from hearing_core.store import check_role, resolve, store_identity


class Workspace:
    """An archive with its plugin host and read-model database."""

    def __init__(
        self,
        store: str | None = None,
        *,
        views: str | Path | None = None,
        keys: str | Path | None = None,
        plugins_dir: Path | None = None,
        host: PluginHost | None = None,
        create: bool = True,
    ) -> None:
        """Open the store named by ``store`` (or ``HEARING_STORE``, or the default).

        With ``create`` (the default, for writers), a missing store is created;
        without it, a missing store is a one-line :class:`StoreError` and nothing
        is written.  A read-model or key file given as the store, or the other
        way round, is refused either way.
        """
        self.location = resolve(store)
        if self.location.kind == "sqlite":  # refuse wrong files before creating anything
            self._set_paths(views, keys, None)
        #: The store's own id, which read models are tied to (None: an empty
        #: store of an earlier version, opened read-only).
        self.store_id = store_identity(self.location, create=create)
        self._set_paths(views, keys, self.store_id)
        self.plugins_dir = plugins_dir
        self._host = host

    def _set_paths(
        self, views: str | Path | None, keys: str | Path | None, store_id: str | None
    ) -> None:
        self.views_path = Path(views) if views else self.location.default_views_path(store_id)
        self.keys_path = Path(keys) if keys else self.location.default_keys_path(store_id)
        check_role(self.views_path, "views", self.location.path)
        check_role(self.keys_path, "keys", self.location.path)

    @cached_property
    def archive(self) -> HearingArchive:
        # The key file is tied to the store's id: another store's is refused, not misread.
        return HearingArchive(self.location, KeyStore.of_store(self.keys_path, self.store_id))

    @property
    def host(self) -> PluginHost:
        if self._host is None:
            self._host = load_plugins(self.plugins_dir)
        return self._host

    @cached_property
    def readmodels(self) -> ReadModels:
        source = self.store_id
        if source is not None:
            _adopt_legacy_source(self.views_path, self.archive.identity(), source)
        return ReadModels(
            self.views_path,
            self.host.projections.values(),
            source=source,
            keys=self.archive.keys,
        )

    def close(self) -> None:
        """Close the store, the key file and the read models (those that were opened)."""
        if "readmodels" in self.__dict__:
            self.readmodels.close()
        if "archive" in self.__dict__:
            self.archive.close()

    # --- keeping read models current -------------------------------------------------

    def pending(self) -> int:
        """How many archive positions the slowest projection is behind (an upper bound)."""
        return max(0, self.archive.max_position() - self.readmodels.start())

    def catch_up(self, progress: Callable[[int], None] | None = None) -> list[Failure]:
        """Feed every projection the events it has not seen yet (only the types they take).

        Projections that could not even be opened (a table another projection
        owns, ``create_tables`` raising) are listed as failures at position 0.
        """
        rm = self.readmodels
        archive = self.archive

        def read(
            after: int, upto: int | None, types: frozenset[str] | None
        ) -> Iterator[RecordedEvent]:
            return archive.follow(after, upto=upto, types=types)

        # The log's end, so that positions move past events of types nobody takes; when
        # something takes every type, reading to the end does that (one query fewer).
        head = None if rm.types() is None else archive.max_position()
        failures = rm.catch_up(read, head=head, lookup=archive.stored_record, progress=progress)
        opening = [Failure(name, 0, error) for name, error in sorted(rm.failures.items())]
        return opening + failures

    def replay(self, progress: Callable[[int], None] | None = None) -> list[Failure]:
        """Drop and rebuild every read model from the whole log."""
        self.readmodels.reset()
        return self.catch_up(progress)

    def forget(self, slug: str, participant: str) -> Tombstone:
        """Destroy a protected participant's key, then drop every personal read-model table.

        The key file keeps a tombstone (when, and that it was on purpose), returned here.
        Loads no plugins: shielded tables never held the person's name or words
        (pseudonyms and sealed envelopes only, opened at render time, which the
        destroyed key now withholds); personal tables, whichever plugin owns them and
        whether it is loaded, allowed or blocked, are dropped and rebuilt by their
        projection the next time it runs.  A running ``replay --follow`` notices.
        """
        hearing = self.archive.hearing(slug)
        person = hearing.participants.get(participant)
        if person is None:
            raise HearingCoreError(f"{participant!r} is not a participant of {slug!r}")
        key_id = key_id_of(person.name)
        if not person.protected or key_id is None:
            raise HearingCoreError(
                f"{participant!r} was not registered as protected: nothing of theirs is encrypted"
            )
        gone = self.archive.keys.destroy(key_id)  # refuses a key not held
        models = ReadModels(self.views_path, [], keys=self.archive.keys)
        try:
            models.forget_personal()
        finally:
            models.close()
        return gone

    # --- reports -----------------------------------------------------------------------

    def report(
        self,
        projection: str,
        request: ReportRequest,
        *,
        as_of: int | datetime | None = None,
        uncorrected: bool = False,
    ) -> str | RenderableType | Report:
        """Render a report now (from the read models), or as of a point, or uncorrected.

        A point-in-time or uncorrected report replays just that hearing's
        events, up to the point, into an in-memory read model: it never
        touches the saved read models and never replays the whole archive.
        """
        p = self.host.projection(projection)
        if as_of is None and not uncorrected:
            failures = self.catch_up()
            for f in failures:
                if f.projection == projection:
                    raise HearingCoreError(
                        f"projection {projection!r} is stalled at position {f.position}: {f.error}"
                    )
            return self._render(self.readmodels, p, request)
        if request.hearing == ALL_HEARINGS:
            raise HearingCoreError("a report as of a moment, or uncorrected, needs a hearing")
        upto = self.position_as_of(request.hearing, as_of)
        records = list(self.archive.records(request.hearing))
        # Protection holds for every reading: given by the whole record, not the excerpt.
        temporary = ReadModels(
            ":memory:", [p], keys=self.archive.keys, protection=Protection.of(records)
        )
        if temporary.failures:
            raise HearingCoreError(f"projection {projection!r}: {temporary.failures[p.name]}")
        by_seq = {(r["hearing"], r["seq"]): r for r in records}
        events = [
            RecordedEvent(r["seq"], r)
            for r in records
            if (upto is None or r["seq"] <= upto)
            and not (uncorrected and r["type"] == "CorrectionIssued")
        ]
        failures = temporary.catch_up(
            lambda after, upto, types: (e for e in events if e.position > after),
            head=events[-1].position if events else None,
            lookup=lambda h, s: by_seq.get((h, s)),
        )
        if failures:
            f = failures[0]
            raise HearingCoreError(
                f"projection {projection!r} failed at seq {f.position}: {f.error}"
            )
        return self._render(temporary, p, request)

    @staticmethod
    def _render(
        models: ReadModels, p: Projection, request: ReportRequest
    ) -> str | RenderableType | Report:
        try:
            return models.render(p, request)
        except PluginError as e:
            raise HearingCoreError(str(e)) from None

    def position_as_of(self, slug: str, as_of: int | datetime | str | None) -> int | None:
        """The last position of a hearing at ``as_of`` (None: no ``as_of``, the whole record).

        ``as_of`` is a position (``17``: a bare number is always a position), a
        time with offset (``2022-05-16T11:00:00-04:00``), or a clock time on the
        hearing's day in its own time zone (``11:00``).
        """
        point = self.as_of(slug, as_of)
        return None if point is None else point.position

    def as_of(self, slug: str, as_of: int | datetime | str | None) -> AsOf | None:
        """What ``--as-of`` selects in a hearing: its last position, and the moment asked.

        A position past the hearing's end, 0, or a time before it was scheduled
        is a one-line :class:`HearingCoreError` naming the hearing's range.
        """
        if as_of is None:
            return None
        length = self._length(slug)
        moment = self._moment(slug, as_of) if isinstance(as_of, str) else as_of
        if isinstance(moment, int):
            if not 1 <= moment <= length:
                raise HearingCoreError(
                    f"--as-of {moment}: a position of {slug!r} is 1 to {length}"
                    " (a bare number is a position; give a time as HH:MM)"
                )
            return AsOf(moment, None, f"position {moment}")
        if moment.utcoffset() is None:
            raise HearingCoreError("--as-of needs a time with a UTC offset, e.g. 11:00-04:00")
        last = 0
        for record in self.archive.records(slug):
            if datetime.fromisoformat(record["at"]) > moment:
                break
            last = record["seq"]
        if last == 0:
            raise HearingCoreError(
                f"hearing {slug!r} had not been scheduled by {moment.isoformat()}"
            )
        label = as_of if isinstance(as_of, str) else moment.isoformat()
        return AsOf(last, moment, label)

    def _length(self, slug: str) -> int:
        """How many events the hearing has (a one-line error if there is no such hearing)."""
        from hearing_core.domain import hearing_id
        from hearing_core.errors import UnknownHearingError

        head = self.archive.recorder.select_events(hearing_id(slug), desc=True, limit=1)
        if not head:
            raise UnknownHearingError(f"no hearing {slug!r} in {self.location.display}")
        return int(head[0].originator_version)

    def _moment(self, slug: str, text: str) -> int | datetime:
        text = text.strip()
        if text.isdigit():
            return int(text)

        def day() -> tuple[str, str]:
            hearing = self.archive.hearing(slug, version=1)
            return hearing.date, hearing.timezone

        try:
            return moment(text, day)
        except ValueError:
            raise HearingCoreError(
                f"--as-of {text!r} is neither a position (17), a clock time on the hearing's"
                " day (11:30) nor an ISO 8601 time with offset (2022-05-16T11:30:00-04:00)"
            ) from None


@attrs.frozen
class AsOf:
    """What ``--as-of`` selected: the hearing's last position then, the moment asked
    (None when a position was asked) and how to say it back ("position 11", "11:30")."""

    position: int
    moment: datetime | None
    label: str

    def describe(self) -> str:
        """ "as of position 11", or "as of 11:30 (position 56)"."""
        if self.moment is None:
            return f"as of {self.label}"
        return f"as of {self.label} (position {self.position})"


def _adopt_legacy_source(views: Path, legacy: str, store_id: str) -> None:
    """Read models that earlier versions tied to this store's path keep being used.

    They recorded ``<path as typed>#<first digest>``; if that is this store's, the
    file is re-tied to the store id instead of being rebuilt.
    """
    import sqlite3

    from hearing_core.readmodels import META

    if not views.exists():
        return
    conn = sqlite3.connect(views, timeout=10)
    try:
        row = conn.execute(f"SELECT value FROM {META} WHERE key = 'source'").fetchone()  # noqa: S608
        if row is not None and row[0] == legacy:
            with conn:
                conn.execute(f"UPDATE {META} SET value = ? WHERE key = 'source'", (store_id,))  # noqa: S608
    except sqlite3.OperationalError:
        pass  # no _meta table yet: nothing to adopt
    finally:
        conn.close()
