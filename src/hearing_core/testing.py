"""Test kit for plugin authors: build hearings fluently, run projections in memory.

    from hearing_core.testing import HearingBuilder, run_projection, ProjectionContract

    events = (
        HearingBuilder("h1")
        .participant("ana", group="migrants")
        .open("session-1")
        .speak("ana", minutes=5, text="Hello")
        .close_segment()
        .close()
        .events
    )
    db = run_projection(MyProjection(), events)

Every built event goes through the real domain rules, so a builder cannot
produce a record the store would refuse, and is sealed as the store would
seal it: ``.events`` are what the host reads from a store (a protected
participant's name and words are envelopes, under keys kept in
:data:`TEST_KEYS`), ``.records`` what an input file would hold (plain).
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import sqlite_utils
from rich.console import Console

from hearing_core.applying import apply_record, schedule
from hearing_core.catalogue import validate_record
from hearing_core.domain import Hearing, event_record
from hearing_core.event_view import RecordedEvent
from hearing_core.keystore import KeyStore
from hearing_core.projection import Projection, Report, ReportRequest
from hearing_core.protection import is_envelope, reveal_record, seal_for
from hearing_core.readmodels import ReadModels
from hearing_core.taxonomy import DEFAULT_STAKEHOLDER_GROUPS

#: The keys of every protected participant a builder made, and of the sample hearing.
TEST_KEYS = KeyStore(Path(":memory:"))

__all__ = [
    "TEST_KEYS",
    "HearingBuilder",
    "ProjectionContract",
    "as_text",
    "dump_tables",
    "render",
    "request",
    "run_models",
    "run_projection",
    "sample_events",
    "sample_records",
]


class HearingBuilder:
    """Builds a valid hearing record step by step; ``.events`` gives RecordedEvents.

    Times advance automatically (one minute per action unless told otherwise),
    starting at ``start`` on the hearing's day.  The default programme has
    ``opening``, ``session-1``, ``session-2`` and ``closing``.
    """

    def __init__(
        self,
        slug: str = "test-hearing",
        *,
        start: str = "2022-05-16T10:00:00-04:00",
        languages: Sequence[str] = ("en", "fr", "es", "ar"),
        segments: Sequence[str] = ("opening", "session-1", "session-2", "closing"),
        stakeholder_groups: dict[str, str] | None = None,
        first_position: int = 1,
    ) -> None:
        self.slug = slug
        self.clock = datetime.fromisoformat(start)
        self.open_segment: str | None = None
        self._position = first_position
        plan = self.clock
        programme = []
        for sid in segments:
            kind = sid.split("-")[0] if sid.split("-")[0] in ("opening", "closing") else "session"
            programme.append(
                {
                    "id": sid,
                    "kind": kind,
                    "title": sid.replace("-", " ").title(),
                    "planned_start": plan.isoformat(),
                    "planned_end": (plan + timedelta(minutes=60)).isoformat(),
                }
            )
            plan += timedelta(minutes=60)
        groups = stakeholder_groups or dict(DEFAULT_STAKEHOLDER_GROUPS)
        self.hearing: Hearing = schedule(
            {
                "type": "HearingScheduled",
                "hearing": slug,
                "at": (self.clock - timedelta(days=1)).isoformat(),
                "title": f"Test hearing {slug}",
                "venue": "Test room",
                "date": self.clock.date().isoformat(),
                "timezone": "America/New_York",
                "languages": list(languages),
                "programme": programme,
                "stakeholder_groups": [{"id": k, "label": v} for k, v in groups.items()],
            }
        )

    # --- actions -----------------------------------------------------------------------

    def add(self, record: dict[str, Any]) -> HearingBuilder:
        """Append any record (``hearing`` and ``at`` are filled in when missing)."""
        record = {"hearing": self.slug, "at": self._tick(), **record}
        validate_record(record)  # the same checks an import makes
        apply_record(self.hearing, self._seal(record))
        TEST_KEYS.commit_staged()
        return self

    def _seal(self, record: dict[str, Any]) -> dict[str, Any]:
        """Seal a protected participant's fields, as the archive does before recording."""
        return seal_for(self.hearing, record, TEST_KEYS)

    def _tick(self, minutes: float = 1) -> str:
        now = self.clock
        self.clock = now + timedelta(minutes=minutes)
        return now.isoformat()

    def participant(
        self,
        pid: str,
        *,
        group: str | None = None,
        name: str | None = None,
        organization: str | None = None,
        region: str | None = None,
        country: str | None = None,
        protected: bool = False,
    ) -> HearingBuilder:
        record: dict[str, Any] = {
            "type": "ParticipantRegistered",
            "participant": pid,
            "name": name or pid.title(),
            "stakeholder_group": group,
        }
        for key, value in (
            ("organization", organization),
            ("region", region),
            ("country", country),
        ):
            if value is not None:
                record[key] = value
        if protected:
            record["protected"] = True
        return self.add(record)

    def open(self, segment: str, *, moderator: str | None = None) -> HearingBuilder:
        self.open_segment = segment
        record: dict[str, Any] = {"type": "SegmentOpened", "segment": segment}
        if moderator:
            record["moderator"] = moderator
        return self.add(record)

    def speak(
        self,
        speaker: str,
        *,
        minutes: float = 3,
        role: str = "panellist",
        language: str = "en",
        text: str | None = None,
        translations: dict[str, str] | None = None,
    ) -> HearingBuilder:
        start = self._tick(minutes)
        record: dict[str, Any] = {
            "type": "InterventionDelivered",
            "at": start,
            "speaker": speaker,
            "segment": self._segment(),
            "role": role,
            "language": language,
            "ended_at": self.clock.isoformat(),
        }
        if text is not None:
            record["text"] = text
        if translations:
            record["translations"] = translations
        return self.add(record)

    def pledge(
        self,
        by: str,
        text: str = "A pledge",
        *,
        objectives: Sequence[int] = (1,),
        level: str = "national",
        partners: Sequence[str] = (),
    ) -> HearingBuilder:
        record: dict[str, Any] = {
            "type": "PledgeMade",
            "by": by,
            "text": text,
            "gcm_objectives": list(objectives),
            "level": level,
            "segment": self._segment(),
        }
        if partners:
            record["partners"] = list(partners)
        return self.add(record)

    def recommend(
        self,
        by: str,
        text: str = "A recommendation",
        *,
        areas: Sequence[int] = (1,),
        objectives: Sequence[int] = (1,),
    ) -> HearingBuilder:
        return self.add(
            {
                "type": "RecommendationMade",
                "by": by,
                "text": text,
                "sg_report_areas": list(areas),
                "gcm_objectives": list(objectives),
                "segment": self._segment(),
            }
        )

    def summarise(
        self, by: str, summarises: str, points: Sequence[str] = ("A point",)
    ) -> HearingBuilder:
        return self.add(
            {
                "type": "SummationDelivered",
                "by": by,
                "segment": self._segment(),
                "summarises": summarises,
                "key_points": list(points),
            }
        )

    def close_segment(self) -> HearingBuilder:
        segment = self._segment()
        self.open_segment = None
        return self.add({"type": "SegmentClosed", "segment": segment})

    def close(self) -> HearingBuilder:
        return self.add({"type": "HearingClosed"})

    def correct(self, seq: int, reason: str = "correction", **changes: Any) -> HearingBuilder:
        return self.add(
            {"type": "CorrectionIssued", "corrects": seq, "changes": changes, "reason": reason}
        )

    def _segment(self) -> str:
        if self.open_segment is None:
            raise ValueError("open a segment first")
        return self.open_segment

    # --- results ---------------------------------------------------------------------

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records so far, in plain text (as an input file would hold them)."""
        return [reveal_record(r, TEST_KEYS) for r in self.stored]

    @property
    def stored(self) -> list[dict[str, Any]]:
        """The records so far as a store holds them (protected fields sealed)."""
        return [event_record(e, self.slug) for e in self.hearing.pending_events]

    @property
    def events(self) -> list[RecordedEvent]:
        """The events so far as the host reads them from a store (protected fields sealed)."""
        return [RecordedEvent(self._position + i, r) for i, r in enumerate(self.stored)]


def sample_records(*, reveal: bool = True) -> list[dict[str, Any]]:
    """The shipped sample hearing (IMRF 2022), as a store would give it to projections.

    With ``reveal`` (the default) the protected speaker's fields are decrypted
    with the sample's own key file, as they are for a key holder.
    """
    from hearing_core.catalogue import catalogue_dir
    from hearing_core.protection import reveal_record

    path = catalogue_dir() / "samples" / "imrf-2022-msh.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    _load_sample_keys()
    if not reveal:
        return records
    return [reveal_record(r, TEST_KEYS) for r in records]


def _load_sample_keys() -> None:
    from hearing_core.catalogue import catalogue_dir

    TEST_KEYS.load(catalogue_dir() / "samples" / "imrf-2022-msh.keys.json")


def sample_events(*, reveal: bool = False) -> list[RecordedEvent]:
    """The sample hearing as the host reads it from a store (sealed; keys in :data:`TEST_KEYS`)."""
    return [RecordedEvent(r["seq"], r) for r in sample_records(reveal=reveal)]


def run_models(
    projection: Projection,
    events: Iterable[RecordedEvent],
    path: str | Path = ":memory:",
    *,
    keys: KeyStore | None = TEST_KEYS,
) -> ReadModels:
    """Feed stored events to a projection through the real host; return its read models.

    Raises the projection's failure as an AssertionError, so a test shows it.
    """
    models = ReadModels(path, [projection], keys=keys)
    for name, error in models.failures.items():
        raise AssertionError(f"{name} could not be opened: {error}")
    failures = models.feed(events)
    if failures:
        f = failures[0]
        raise AssertionError(f"{f.projection} failed at position {f.position}: {f.error}")
    return models


def run_projection(
    projection: Projection, events: Iterable[RecordedEvent], path: str | Path = ":memory:"
) -> sqlite_utils.Database:
    """Feed stored events to a projection through the real host; return its database."""
    return run_models(projection, events, path).db


def request(hearing: str, fmt: str, **options: Any) -> ReportRequest:
    """A report request whose ``reveal`` opens sealed words with :data:`TEST_KEYS`."""
    from hearing_core.readmodels import revealer

    return ReportRequest(hearing, fmt, options, reveal=revealer(TEST_KEYS))


def render(
    projection: Projection,
    events: Iterable[RecordedEvent],
    hearing: str,
    fmt: str | None = None,
    **options: Any,
) -> Any:
    """Run a projection over events and render one report (content only), as the host does:
    read-only, with sealed words revealed by :data:`TEST_KEYS`."""
    models = run_models(projection, events)
    request = ReportRequest(hearing, fmt or projection.formats[0], options)
    result = models.render(projection, request)
    return result.content if isinstance(result, Report) else result


def as_text(result: Any, width: int = 120) -> str:
    """A rendered report as plain text: rich renderables are printed without colour."""
    content = result.content if isinstance(result, Report) else result
    if isinstance(content, str):
        return content
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False).print(content)
    return buffer.getvalue()


def dump_tables(db: sqlite_utils.Database, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables starting with ``prefix``, sorted: for comparing read models."""
    out = {}
    for table in sorted(db.table_names()):
        if table.startswith(prefix):
            rows = db.execute(f"select * from [{table}]").fetchall()  # noqa: S608 (table names from the db)
            out[table] = sorted(rows, key=repr)
    return out


class ProjectionContract:
    """Reusable pytest tests every projection should pass; subclass and fill in.

        class TestMyProjection(ProjectionContract):
            hearing = "h1"
            def make_projection(self): return MyProjection()
            def make_events(self): return HearingBuilder("h1")....events

    It checks that the projection declares itself validly; that feeding its
    events through the real host gives no failure; that every format renders
    (with each of ``options``), also ``--as-of`` halfway and ``--uncorrected``;
    that rebuilding gives the same tables and reports as feeding in steps and
    resuming never doubles rows; that no protected participant's name,
    organization or words are in its tables (unless it declares ``needs``)
    or its reports (their words only when revealed), and every pseudonym it
    shows is the core's; that another hearing in the same read model changes
    none of this hearing's reports; and, with ``golden`` set, that reports
    equal the files there (``HEARING_UPDATE_GOLDEN=1`` writes them).
    Give ``make_events`` a protected participant who speaks, and a
    correction, so these checks have something to bite on.
    """

    hearing: ClassVar[str] = "test-hearing"
    #: Report options to render every format with, besides none: ``({"language": "fr"},)``.
    options: ClassVar[Sequence[Mapping[str, Any]]] = ()
    #: A folder of golden reports, ``<hearing>.<format>[.<n>]`` (n: index into ``options``).
    golden: ClassVar[Path | None] = None

    def make_projection(self) -> Projection:
        raise NotImplementedError

    def make_events(self) -> list[RecordedEvent]:
        raise NotImplementedError

    def make_other_events(self, first_position: int) -> list[RecordedEvent]:
        """Events of another hearing, to check the two do not bleed into each other."""
        return (
            HearingBuilder("other-hearing", first_position=first_position)
            .participant("zed", group="migrants", name="Zed Other", organization="Other Org")
            .participant("yan", group="academia", name="Yan Other", protected=True)
            .open("session-1")
            .speak("zed", text="other words")
            .speak("yan", text="other protected words")
            .correct(2, "other correction", organization="Other Org 2")
            .close_segment()
            .events
        )

    # --- helpers --------------------------------------------------------------------

    def _requests(self, projection: Projection) -> list[tuple[str, ReportRequest]]:
        out = []
        for fmt in projection.formats:
            out.append((fmt, ReportRequest(self.hearing, fmt, {})))
            for i, options in enumerate(self.options):
                out.append((f"{fmt}.{i}", ReportRequest(self.hearing, fmt, dict(options))))
        return out

    def _reports(self, projection: Projection, models: ReadModels) -> dict[str, str]:
        out = {}
        for name, request in self._requests(projection):
            try:
                out[name] = as_text(models.render(projection, request))
            except Exception as e:
                raise AssertionError(f"{projection.name}: report {name!r} failed: {e}") from e
        return out

    def _feed(self, events: Sequence[RecordedEvent], path: str | Path = ":memory:") -> ReadModels:
        projection = self.make_projection()
        models = ReadModels(path, [projection], keys=TEST_KEYS)
        assert not models.failures, f"{projection.name} could not be opened: {models.failures}"
        failures = models.feed(events)
        assert not failures, f"feeding {projection.name} failed: {failures}"
        return models

    def _secrets(self, events: Sequence[RecordedEvent]) -> tuple[dict[str, str], dict[str, str]]:
        """Protected identities and words in the events, in plain text: (identities, words)."""
        from hearing_core.shielding import Protection

        plain = [reveal_record(e.record, TEST_KEYS) for e in events]
        protection = Protection.of(plain)
        identities: dict[str, str] = {}
        words: dict[str, str] = {}
        for stored, r in zip(events, plain, strict=True):
            hearing = r["hearing"]
            if r["type"] == "ParticipantRegistered" and protection.is_protected(
                hearing, r["participant"]
            ):
                for field in ("name", "organization"):
                    if isinstance(r.get(field), str) and len(r[field]) > 3:
                        identities[r[field]] = f"{field} of {r['participant']}"
            actor = r.get("speaker", r.get("by"))
            if protection.is_protected(hearing, actor):
                # Words the log holds sealed.  Words said before a later correction protected
                # the speaker are plain text in the log itself (docs/security.md, "Protection
                # applies from registration"), and read models may hold them as the log does.
                for field in ("text", "key_points", "translations", "note"):
                    if not any(map(is_envelope, _strings(stored.record.get(field)))):
                        continue
                    for text in _strings(r.get(field)):
                        if len(text) > 3:
                            words[text] = f"{field} of {actor} at seq {r['seq']}"
        return identities, words

    # --- the checks -----------------------------------------------------------------

    def test_declares_itself(self) -> None:
        from hearing_core.plugins import validate_projection

        problem = validate_projection(self.make_projection())
        assert problem is None, problem

    def test_every_format_renders(self) -> None:
        projection = self.make_projection()
        assert projection.formats, f"{projection.name}: declare at least one format"
        reports = self._reports(projection, self._feed(self.make_events()))
        for name, report in reports.items():
            assert report.strip(), f"{projection.name}: report {name!r} is empty"

    def test_as_of_and_uncorrected_render(self) -> None:
        events = [e for e in self.make_events() if e.hearing == self.hearing]
        projection = self.make_projection()
        halfway = events[: len(events) // 2]
        uncorrected = [e for e in events if e.type != "CorrectionIssued"]
        for label, subset in (("--as-of halfway", halfway), ("--uncorrected", uncorrected)):
            from hearing_core.shielding import Protection

            models = ReadModels(
                ":memory:",
                [projection],
                keys=TEST_KEYS,
                protection=Protection.of(e.record for e in events),
            )
            failures = models.feed(subset)
            assert not failures, f"{projection.name} {label}: {failures}"
            for name, request in self._requests(projection):
                try:
                    models.render(projection, request)
                except Exception as e:
                    raise AssertionError(f"{projection.name} {label}: {name!r}: {e}") from e

    def test_incremental_equals_rebuild(self) -> None:
        events = self.make_events()
        projection = self.make_projection()
        whole = self._feed(events)
        prefix = projection.name + "_"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "views.db"
            for cut in (len(events) // 3, 2 * len(events) // 3, len(events)):
                self._feed(events[:cut], path).close()
            stepwise = ReadModels(path, [self.make_projection()], keys=TEST_KEYS)
            assert dump_tables(stepwise.db, prefix) == dump_tables(whole.db, prefix), (
                f"{projection.name}: fed in three steps, the tables differ from one rebuild"
            )
            assert self._reports(projection, stepwise) == self._reports(projection, whole), (
                f"{projection.name}: fed in three steps, the reports differ from one rebuild"
            )
            stepwise.close()

    def test_resumes_without_doubling(self) -> None:
        events = self.make_events()
        prefix = self.make_projection().name + "_"
        with tempfile.TemporaryDirectory() as tmp:
            models = self._feed(events, Path(tmp) / "views.db")
            once = dump_tables(models.db, prefix)
            assert not models.feed(events)  # the same events again: all at or below the position
            assert dump_tables(models.db, prefix) == once, "fed twice, rows changed"
            models.close()

    def test_no_protected_plaintext_in_tables_or_reports(self) -> None:
        from hearing_core.projection import IDENTITIES, WORDS

        events = self.make_events()
        projection = self.make_projection()
        models = self._feed(events)
        identities, words = self._secrets(events)
        tables = json.dumps(dump_tables(models.db, projection.name + "_"), ensure_ascii=False)
        for secret, what in identities.items():
            if IDENTITIES not in projection.needs:
                assert secret not in tables, f"{projection.name}: its tables hold the {what}"
        for secret, what in words.items():
            if WORDS not in projection.needs:
                assert secret not in tables, f"{projection.name}: its tables hold the {what}"
        for name, report in self._reports(projection, models).items():
            for secret, what in identities.items():
                assert secret not in report, f"{projection.name}: report {name!r} shows the {what}"

    def test_pseudonyms_are_the_cores(self) -> None:
        import re

        from hearing_core.corrections import pseudonyms

        events = self.make_events()
        projection = self.make_projection()
        plain = [reveal_record(e.record, TEST_KEYS) for e in events if e.hearing == self.hearing]
        core = set(pseudonyms(plain).values())
        for name, report in self._reports(projection, self._feed(events)).items():
            shown = set(re.findall(r"Protected speaker \d+", report))
            assert shown <= core, (
                f"{projection.name}: report {name!r} shows {sorted(shown - core)}, "
                f"the core's pseudonyms are {sorted(core)}"
            )

    def test_another_hearing_does_not_bleed_in(self) -> None:
        events = self.make_events()
        projection = self.make_projection()
        alone = self._reports(projection, self._feed(events))
        last = max(e.position for e in events)
        others = self.make_other_events(last + 1)
        assert all(e.hearing != self.hearing for e in others), "make_other_events: another slug"
        mixed = sorted([*events, *others], key=lambda e: e.position)
        together = self._reports(projection, self._feed(mixed))
        for name in alone:
            assert together[name] == alone[name], (
                f"{projection.name}: report {name!r} changes when another hearing is in the "
                "read model"
            )

    def test_golden_reports(self) -> None:
        if self.golden is None:
            return
        import os

        projection = self.make_projection()
        reports = self._reports(projection, self._feed(self.make_events()))
        for name, report in reports.items():
            path = Path(self.golden) / f"{self.hearing}.{name}"
            if os.environ.get("HEARING_UPDATE_GOLDEN") == "1":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(report, encoding="utf-8")
            assert path.exists(), f"no golden report {path} (HEARING_UPDATE_GOLDEN=1 writes it)"
            assert report == path.read_text(encoding="utf-8"), f"{name!r} differs from {path}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    return []
