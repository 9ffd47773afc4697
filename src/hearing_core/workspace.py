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

from rich.console import RenderableType

from hearing_core.archive import HearingArchive
from hearing_core.errors import HearingCoreError
from hearing_core.keystore import KeyStore, Tombstone
from hearing_core.plugins import PluginHost, load_plugins
from hearing_core.projection import ALL_HEARINGS, Projection, Report, ReportRequest
from hearing_core.protection import key_id_of
from hearing_core.readmodels import Failure, PluginError, ReadModels
from hearing_core.recorded import RecordedEvent
from hearing_core.rules import moment
from hearing_core.shielding import Protection
from hearing_core.store import resolve


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
    ) -> None:
        self.location = resolve(store)
        self.views_path = Path(views) if views else self.location.default_views_path()
        self.keys_path = Path(keys) if keys else self.location.default_keys_path()
        self.plugins_dir = plugins_dir
        self._host = host

    @cached_property
    def archive(self) -> HearingArchive:
        return HearingArchive(self.location, KeyStore(self.keys_path))

    @property
    def host(self) -> PluginHost:
        if self._host is None:
            self._host = load_plugins(self.plugins_dir)
        return self._host

    @cached_property
    def readmodels(self) -> ReadModels:
        return ReadModels(
            self.views_path,
            self.host.projections.values(),
            source=self.archive.identity(),
            keys=self.archive.keys,
        )

    def close(self) -> None:
        """Close the store, the key file and the read models (those that were opened)."""
        if "readmodels" in self.__dict__:
            self.readmodels.close()
        if "archive" in self.__dict__:
            self.archive.keys.close()
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

        head = archive.max_position()
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
        """The last position of a hearing at ``as_of``.

        ``as_of`` is a position (``17``), a time with offset
        (``2022-05-16T11:00:00-04:00``), or a clock time on the hearing's day
        in its own time zone (``11:00``).
        """
        if as_of is None or isinstance(as_of, int):
            return as_of
        moment = self._moment(slug, as_of) if isinstance(as_of, str) else as_of
        if isinstance(moment, int):
            return moment
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
        return last

    def _moment(self, slug: str, text: str) -> int | datetime:
        if text.isdigit():
            return int(text)

        def day() -> tuple[str, str]:
            hearing = self.archive.hearing(slug, version=1)
            return hearing.date, hearing.timezone

        try:
            return moment(text, day)
        except ValueError:
            raise HearingCoreError(
                f"--as-of {text!r} is neither a position, an ISO 8601 time nor HH:MM"
            ) from None
