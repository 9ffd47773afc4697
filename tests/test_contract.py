"""Projection contract v2: protection once, sealed words, resolved corrections, owned tables,
pages, and the containment of plugins (issue 9 point 7, issue 10)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hearing_core import (
    IDENTIFYING_FIELDS,
    WITHHELD,
    WORDS,
    Correction,
    Projection,
    RecordedEvent,
    Table,
    handles,
    insert_rows,
    pseudonyms,
)
from hearing_core.readmodels import PluginError, ReadModels
from hearing_core.shielding import Protection
from hearing_core.testing import (
    TEST_KEYS,
    HearingBuilder,
    dump_tables,
    render,
    run_models,
    sample_events,
)

NAME = "Zainab Quixotic-Secret"
WORDS_SAID = "my unmistakable confidential testimony"


class People(Projection):
    """Keeps what it is given of registrations and interventions (v2, shielded)."""

    name = "people"
    tables: ClassVar[dict[str, Any]] = {
        "people_registered": Table(
            {"hearing": str, "seq": int, "participant": str, "name": str, "organization": str},
            pk=("hearing", "seq"),
        ),
        "people_turns": Table(
            {"hearing": str, "seq": int, "speaker": str, "text": str, "note": str},
            pk=("hearing", "seq"),
            indexes=(("hearing", "speaker"),),
        ),
    }
    formats = ("json",)

    @handles("ParticipantRegistered")
    def registered(self, events: list[RecordedEvent], db: Any) -> None:
        db["people_registered"].insert_all(
            {
                "hearing": e.hearing,
                "seq": e.seq,
                "participant": e["participant"],
                "name": e["name"],
                "organization": e.get("organization"),
            }
            for e in events
        )

    @handles("InterventionDelivered")
    def turns(self, events: list[RecordedEvent], db: Any) -> None:
        db["people_turns"].insert_all(
            {"hearing": e.hearing, "seq": e.seq, "speaker": e["speaker"], "text": e.get("text")}
            for e in events
        )

    @handles("CorrectionIssued")
    def corrections(self, corrections: list[Correction], db: Any) -> None:
        for c in corrections:
            c.apply(db["people_registered"])
            c.apply(db["people_turns"], extra={"note": f"corrected by #{c.seq}: {c.reason}"})

    def render(self, db: Any, request: Any) -> str:
        rows = db.execute(
            "select seq, speaker, text from people_turns where hearing = ? order by seq",
            [request.hearing],
        ).fetchall()
        turns = [
            {"seq": s, "speaker": who, "text": request.reveal(request.hearing, "text", text)}
            for s, who, text in rows
        ]
        return json.dumps(turns) + "\n"


def protected_later() -> HearingBuilder:
    """a (not protected) and b (protected), then a's registration corrected to protected."""
    return (
        HearingBuilder("h1")
        .participant("a", group="migrants", name="Ana Open", organization="Org A")  # 2
        .participant("b", group="academia", name=NAME, protected=True)  # 3
        .open("session-1")  # 4
        .speak("a", text="words of a")  # 5
        .speak("b", text=WORDS_SAID)  # 6
        .correct(2, "protect her", protected=True)  # 7
    )


def all_text(models: ReadModels) -> str:
    """Every row of every projection table (the host's own ``_`` tables are never published)."""
    tables = [t for t in models.db.table_names() if not t.startswith("_")]
    rows = {t: dump_tables(models.db, t) for t in tables}
    return json.dumps(rows, ensure_ascii=False)


# --- protection, once -----------------------------------------------------------------------


def test_protection_by_a_later_correction_numbers_in_order_of_protection() -> None:
    """The reproduced bug of issue 10: one numbering everywhere, a is 'Protected speaker 2'."""
    b = protected_later()
    assert pseudonyms(b.records) == {"b": "Protected speaker 1", "a": "Protected speaker 2"}
    models = run_models(People(), b.events)
    rows = models.db.execute("select seq, participant, name from people_registered").fetchall()
    assert sorted(rows) == [(2, "Protected speaker 2", "Protected speaker 2"),
                            (3, "Protected speaker 1", "Protected speaker 1")]  # fmt: skip
    speakers = models.db.execute("select speaker from people_turns order by seq").fetchall()
    assert speakers == [("Protected speaker 2",), ("Protected speaker 1",)]
    text = all_text(models)
    assert "Ana Open" not in text and "Org A" not in text and NAME not in text


def test_protection_by_correction_rebuilds_what_was_fed_before_it() -> None:
    """Fed in two runs, the first before the protecting correction: the same read model."""
    events = protected_later().events
    whole = run_models(People(), events)
    step = ReadModels(":memory:", [People()], keys=TEST_KEYS)
    assert not step.feed(events[:5])
    assert "Ana Open" in all_text(step)  # not protected yet
    assert not step.feed(events)
    assert dump_tables(step.db, "people_") == dump_tables(whole.db, "people_")
    assert "Ana Open" not in all_text(step)


def test_identifying_fields_are_withheld_with_one_text() -> None:
    b = HearingBuilder("h1").participant(
        "p", group="migrants", name=NAME, organization="Hidden Org", region="africa",
        country="KE", protected=True,
    )  # fmt: skip
    seen: list[dict[str, Any]] = []

    class Spy(Projection):
        name = "spy"
        tables: ClassVar[dict[str, Any]] = {}

        @handles("ParticipantRegistered")
        def registered(self, events: list[RecordedEvent], db: Any) -> None:
            seen.extend(dict(e.record) for e in events)

    run_models(Spy(), b.events)
    (record,) = seen
    assert IDENTIFYING_FIELDS == ("name", "organization", "region", "country")
    assert record["name"] == record["participant"] == "Protected speaker 1"
    assert [record[f] for f in IDENTIFYING_FIELDS[1:]] == [WITHHELD] * 3


# --- protected words stay sealed ------------------------------------------------------------


def test_words_stay_sealed_in_the_read_model_and_are_revealed_at_render() -> None:
    events = protected_later().events
    models = run_models(People(), events)
    assert WORDS_SAID not in all_text(models)
    assert "enc1:" in all_text(models)
    shown = json.loads(render(People(), events, "h1"))
    assert [t["text"] for t in shown] == ["words of a", WORDS_SAID]
    # Without the key (a forgotten speaker, or a reader without the key file): withheld.
    blind = ReadModels(":memory:", [People()], keys=None)
    assert not blind.feed(events)
    from hearing_core.projection import ReportRequest

    out = json.loads(str(blind.render(People(), ReportRequest("h1", "json"))))
    assert [t["text"] for t in out] == ["words of a", WITHHELD]


def test_a_projection_that_declares_words_sees_them_and_its_tables_are_personal() -> None:
    class Words(People):
        name = "words"
        needs = frozenset({WORDS})
        tables: ClassVar[dict[str, Any]] = {
            "words_" + t.split("_", 1)[1]: spec for t, spec in People.tables.items()
        }

        @handles("ParticipantRegistered")
        def registered(self, events: list[RecordedEvent], db: Any) -> None:
            pass

        @handles("InterventionDelivered")
        def turns(self, events: list[RecordedEvent], db: Any) -> None:
            db["words_turns"].insert_all(
                {"hearing": e.hearing, "seq": e.seq, "speaker": e["speaker"], "text": e["text"]}
                for e in events
            )

        @handles("CorrectionIssued")
        def corrections(self, corrections: list[Correction], db: Any) -> None:
            pass

    models = ReadModels(":memory:", [Words(), People()], keys=TEST_KEYS)
    assert not models.feed(protected_later().events)
    rows = models.db.execute("select speaker, text from words_turns order by seq").fetchall()
    assert rows == [("Protected speaker 2", "words of a"), ("Protected speaker 1", WORDS_SAID)]
    assert models.personal_tables() == ["words_registered", "words_turns"]
    assert models.public_tables() == ["people_registered", "people_turns"]
    assert models.forget_personal() == ["words_registered", "words_turns"]
    assert "words_turns" not in models.db.table_names()
    assert WORDS_SAID not in all_text(models)


# --- corrections, resolved ------------------------------------------------------------------


def test_a_correction_says_what_it_changed_and_applies_in_one_call() -> None:
    b = (
        HearingBuilder("h1")
        .participant("a", group="migrants", name="Ana")  # 2
        .open("session-1")  # 3
        .speak("a", text="first")  # 4
        .correct(4, "typo", text="second")  # 5
        .correct(4, "typo again", text="third")  # 6
    )
    got: list[Correction] = []

    class Spy(People):
        @handles("CorrectionIssued")
        def corrections(self, corrections: list[Correction], db: Any) -> None:
            got.extend(corrections)
            super().corrections(corrections, db)

    models = run_models(Spy(), b.events)
    first, second = got
    assert (first.target_type, first.target_seq, first.seq) == ("InterventionDelivered", 4, 5)
    assert (dict(first.before), dict(first.after)) == ({"text": "first"}, {"text": "second"})
    assert (dict(second.before), dict(second.after)) == ({"text": "second"}, {"text": "third"})
    assert second.record["text"] == "third" and second.reason == "typo again"
    row = models.db.execute("select text, note from people_turns where seq = 4").fetchone()
    assert row == ("third", "corrected by #6: typo again")


def test_corrections_of_a_protected_registration_withhold_values_and_reason() -> None:
    b = (
        HearingBuilder("h1")
        .participant("p", group="migrants", name=NAME, organization="Old Org", protected=True)
        .correct(2, f"{NAME} asked", organization="New Org")
    )
    got: list[Correction] = []

    class Spy(People):
        @handles("CorrectionIssued")
        def corrections(self, corrections: list[Correction], db: Any) -> None:
            got.extend(corrections)

    run_models(Spy(), b.events)
    (c,) = got
    assert dict(c.before) == dict(c.after) == {"organization": WITHHELD}
    assert c.reason == WITHHELD and c.event["reason"] == WITHHELD
    assert c.record["name"] == "Protected speaker 1"


# --- tables, declared and owned -------------------------------------------------------------


class Audit(Projection):
    name = "audit"
    version = 1
    tables: ClassVar[dict[str, Any]] = {"audit_rows": Table({"hearing": str, "seq": int})}

    @handles("ParticipantRegistered")
    def rows(self, events: list[RecordedEvent], db: Any) -> None:
        db["audit_rows"].insert_all({"hearing": e.hearing, "seq": e.seq} for e in events)


class AuditExtra(Projection):
    name = "audit_extra"
    tables: ClassVar[dict[str, Any]] = {"audit_extra_rows": Table({"hearing": str, "seq": int})}

    @handles("ParticipantRegistered")
    def rows(self, events: list[RecordedEvent], db: Any) -> None:
        db["audit_extra_rows"].insert_all({"hearing": e.hearing, "seq": e.seq} for e in events)


def test_a_version_bump_drops_only_the_bumping_projections_tables(tmp_path: Path) -> None:
    """The reproduced bug of issue 10: bumping `audit` dropped `audit_extra`'s table."""
    path = tmp_path / "views.db"
    events = HearingBuilder("h1").participant("a", group="migrants").events
    models = ReadModels(path, [Audit(), AuditExtra()])
    assert not models.feed(events)
    models.close()

    class Audit2(Audit):
        version = 2

    models = ReadModels(path, [Audit2(), AuditExtra()])
    assert models.db.execute("select count(*) from audit_extra_rows").fetchone() == (1,)
    assert models.positions()["audit_extra"].position == 2
    assert models.db.execute("select count(*) from audit_rows").fetchone() == (0,)
    assert not models.feed(events)
    assert models.db.execute("select count(*) from audit_rows").fetchone() == (1,)
    assert models.owners() == {
        "audit_rows": ("audit", False),
        "audit_extra_rows": ("audit_extra", False),
    }


def test_a_table_another_projection_owns_is_refused(tmp_path: Path) -> None:
    from hearing_core.plugins import PluginHost, validate_projection

    class Thief(Projection):
        name = "audit_extra"
        tables: ClassVar[dict[str, Any]] = {"audit_extra_rows": Table({"x": int})}

    class Clash(Projection):
        name = "audit"
        tables: ClassVar[dict[str, Any]] = {"audit_extra_rows": Table({"x": int})}

    import pluggy

    host = PluginHost(pluggy.PluginManager("x"))
    host._projections = {"audit_extra": Thief()}
    host.owners["audit_extra"] = "p"
    assert "belongs to 'audit_extra'" in str(validate_projection(Clash(), host))
    # and in the database, even when the owner is not loaded this time
    path = tmp_path / "views.db"
    ReadModels(path, [AuditExtra()]).close()
    models = ReadModels(path, [Clash()])
    assert "belongs to projection 'audit_extra'" in models.failures["audit"]
    assert models.projections == []


def test_declared_keys_and_indexes_are_created() -> None:
    models = run_models(People(), protected_later().events)
    table = models.db["people_turns"]
    assert table.pks == ["hearing", "seq"]  # type: ignore[union-attr]
    indexes = [i.columns for i in table.indexes if not i.name.startswith("sqlite_")]  # type: ignore[union-attr]
    assert indexes == [["hearing", "speaker"]]


# --- pages, one dispatch --------------------------------------------------------------------


def test_handlers_get_runs_in_log_order_and_types_come_from_them() -> None:
    calls: list[tuple[str, list[int]]] = []

    class Runs(Projection):
        name = "runs"
        tables: ClassVar[dict[str, Any]] = {}

        @handles("InterventionDelivered")
        def turns(self, events: list[RecordedEvent], db: Any) -> None:
            calls.append(("turns", [e.seq for e in events]))

        @handles("SegmentOpened", "SegmentClosed")
        def segments(self, events: list[RecordedEvent], db: Any) -> None:
            calls.append(("segments", [e.seq for e in events]))

    assert Runs.types == {"InterventionDelivered", "SegmentOpened", "SegmentClosed"}
    b = HearingBuilder("h1").participant("a", group="migrants").open("session-1")
    b = b.speak("a").speak("a").close_segment().open("session-2").speak("a")
    run_models(Runs(), b.events)
    assert calls == [
        ("segments", [3]),
        ("turns", [4, 5]),
        ("segments", [6, 7]),
        ("turns", [8]),
    ]


def test_v1_handle_still_works_one_event_at_a_time() -> None:
    class V1(Projection):
        name = "v1"
        types = frozenset({"InterventionDelivered"})
        tables: ClassVar[dict[str, Any]] = {"v1_turns": {"hearing": str, "seq": int}}

        def handle(self, event: RecordedEvent, db: Any) -> None:
            db["v1_turns"].insert({"hearing": event.hearing, "seq": event.seq})

    b = HearingBuilder("h1").participant("a", group="migrants").open("session-1").speak("a")
    assert dump_tables(run_models(V1(), b.events).db, "v1_") == {"v1_turns": [("h1", 4)]}


def test_only_the_types_projections_take_are_read_from_the_store(tmp_path: Path) -> None:
    from hearing_core.archive import open_archive

    archive = open_archive(str(tmp_path / "s.db"))
    for r in protected_later().records:
        archive.record({k: v for k, v in r.items() if k not in ("seq", "digest")})
    read = list(archive.follow(0, types=["SegmentOpened"]))
    assert [e.type for e in read] == ["SegmentOpened"]
    archive.close()


# --- containment (issue 9 point 7) ----------------------------------------------------------


def _attempt(action: Any) -> str:
    """Run ``action(event, db)`` as a projection's handler; return its failure."""

    class Bad(Projection):
        name = "bad"
        tables: ClassVar[dict[str, Any]] = {"bad_rows": Table({"x": int})}

        @handles("HearingScheduled")
        def scheduled(self, events: list[RecordedEvent], db: Any) -> None:
            action(events[0], db)

    models = ReadModels(":memory:", [Audit(), Bad()])
    failures = models.feed(HearingBuilder("h1").participant("a", group="migrants").events)
    (failure,) = failures
    assert failure.projection == "bad"
    assert models.positions()["audit"].position == 2  # the other projection carried on
    return failure.error


def test_a_plugin_cannot_switch_the_authorizer_off() -> None:
    assert "no 'set_authorizer'" in _attempt(lambda e, db: db.conn.set_authorizer(None))
    via_cursor = _attempt(lambda e, db: db.execute("select 1").connection.set_authorizer(None))
    assert "no 'set_authorizer'" in via_cursor


def test_a_plugin_cannot_attach_the_event_store(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    sqlite3.connect(store).execute("create table events (x)").connection.commit()
    error = _attempt(lambda e, db: db.execute(f"attach database '{store}' as store"))
    assert "not authorized" in error


def test_a_plugin_cannot_rewrite_the_schema() -> None:
    assert "not authorized" in _attempt(lambda e, db: db.execute("pragma writable_schema = 1"))
    refused = _attempt(
        lambda e, db: db.execute("update sqlite_master set sql = 'x' where name = 'audit_rows'")
    )
    assert "sqlite_master may not be modified" in refused  # SQLite's own rule, pragma denied


def test_a_plugin_cannot_make_triggers_views_or_temp_tables_over_others() -> None:
    for sql in (
        "create trigger t after insert on audit_rows begin delete from audit_rows; end",
        "create temp trigger t after insert on audit_rows begin delete from audit_rows; end",
        "create view bad_view as select * from audit_rows",
        "create temp table audit_rows (x)",
    ):
        assert "not authorized" in _attempt(lambda e, db, sql=sql: db.execute(sql)), sql


def test_a_plugin_cannot_write_another_projections_table_or_end_the_transaction() -> None:
    assert "not authorized" in _attempt(lambda e, db: db["audit_rows"].insert({"hearing": "x"}))
    assert "not authorized" in _attempt(lambda e, db: db.execute("commit"))
    assert "no 'commit'" in _attempt(lambda e, db: db.conn.commit())


# SQLite authorizes a statement when it is prepared, and the connection caches prepared
# statements by their text: a plugin running the very text the host (or another plugin,
# or its own handler) ran must still be authorized under its own rules.


def test_a_plugin_cannot_reuse_a_statement_the_host_ran() -> None:
    sql = "delete from audit_rows where hearing = 'nobody'"
    models = ReadModels(":memory:", [Audit(), _Runs("thief", sql)])
    models.db.execute(sql)  # prepared and cached for the host, which may write anything
    (failure,) = models.feed(HearingBuilder("h1").participant("a", group="migrants").events)
    assert failure.projection == "thief"
    assert "not authorized" in failure.error


def test_a_plugin_cannot_reuse_a_statement_another_plugin_ran() -> None:
    sql = "delete from a_owner_rows where x = -1"
    models = ReadModels(":memory:", [_Runs("a_owner", sql), _Runs("b_thief", sql)])
    # On each page the owner runs first (projections run by name): its statement is cached.
    (failure,) = models.feed(HearingBuilder("h1").participant("a", group="migrants").events)
    assert failure.projection == "b_thief"
    assert "not authorized" in failure.error
    assert models.positions()["a_owner"].position == 2


def test_render_cannot_reuse_a_statement_its_own_handler_ran() -> None:
    from hearing_core.projection import ReportRequest

    sql = "delete from owner_rows where x = -1"
    owner = _Runs("owner", sql, render_too=True)
    models = ReadModels(":memory:", [owner])
    assert not models.feed(HearingBuilder("h1").participant("a", group="migrants").events)
    with pytest.raises(PluginError, match="not authorized"):
        models.render(owner, ReportRequest("h1", "text"))


class _Runs(Projection):
    """Runs ``sql`` on each page it takes (and in ``render``, with ``render_too``)."""

    formats = ("text",)

    def __init__(self, name: str, sql: str, *, render_too: bool = False) -> None:
        self.name = name
        self.tables = {f"{name}_rows": Table({"x": int})}
        self.sql, self.render_too = sql, render_too

    @handles("HearingScheduled", "ParticipantRegistered")
    def run(self, events: list[RecordedEvent], db: Any) -> None:
        db.execute(self.sql)

    def render(self, db: Any, request: Any) -> str:
        if self.render_too:
            db.execute(self.sql)
        return "rendered\n"


def test_system_exit_in_a_handler_is_that_plugins_failure() -> None:
    def leave(e: RecordedEvent, db: Any) -> None:
        raise SystemExit(0)

    assert _attempt(leave) == "SystemExit: 0"

    def interrupt(e: RecordedEvent, db: Any) -> None:
        raise KeyboardInterrupt

    assert _attempt(interrupt) == "KeyboardInterrupt"


def test_records_are_deeply_immutable() -> None:
    def mutate(e: RecordedEvent, db: Any) -> None:
        e.record["programme"][0]["title"] = "changed"

    assert "read-only" in _attempt(mutate)
    assert "read-only" in _attempt(lambda e, db: e.record["languages"].append("xx"))


def test_create_tables_is_confined_to_its_own_tables() -> None:
    class Sneaky(Projection):
        name = "sneaky"
        tables: ClassVar[dict[str, Any]] = {"sneaky_rows": Table({"x": int})}

        def create_tables(self, db: Any) -> None:
            super().create_tables(db)
            db.execute("create table audit_rows (x)")

    models = ReadModels(":memory:", [Audit(), Sneaky()])
    assert "not authorized" in models.failures["sneaky"]
    assert [p.name for p in models.projections] == ["audit"]


@pytest.mark.parametrize(
    "body",
    [
        "db.execute('delete from people_turns')",
        "db['people_turns'].insert({'hearing': 'x', 'seq': 1})",
        "raise SystemExit(0)",
        "return ''",
    ],
)
def test_render_is_read_only_and_a_misbehaving_render_is_an_error(body: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def render(self, db, request):\n    {body}\n", namespace)

    class BadRender(People):
        render = namespace["render"]

    from hearing_core.projection import ReportRequest

    models = run_models(BadRender(), protected_later().events)
    with pytest.raises(PluginError, match="people"):
        models.render(BadRender(), ReportRequest("h1", "json"))
    assert models.db.execute("select count(*) from people_turns").fetchone() == (2,)


# --- the one protection function -------------------------------------------------------------


def test_protection_persists_between_runs(tmp_path: Path) -> None:
    events = protected_later().events
    path = tmp_path / "views.db"
    first = ReadModels(path, [People()], keys=TEST_KEYS)
    assert not first.feed(events[:3])
    first.close()
    again = ReadModels(path, [People()], keys=TEST_KEYS)
    assert again.protection.pseudonyms("h1") == {"b": "Protected speaker 1"}
    assert not again.feed(events)
    assert again.protection.pseudonyms("h1") == Protection.of(e.record for e in events).pseudonyms(
        "h1"
    )


# --- through the command line ---------------------------------------------------------------

BAD_PLUGIN = """
import pathlib
from hearing_core import Projection, Table, handles, hookimpl

pathlib.Path("imported-bad-plugin").write_text("imported")


class Bad(Projection):
    name = "bad"
    tables = {"bad_rows": Table({"hearing": str})}
    formats = ("text",)

    @handles("InterventionDelivered")
    def turns(self, events, db):
        raise SystemExit(0)

    def render(self, db, request):
        raise SystemExit(0)


@hookimpl
def register_projections(register):
    register(Bad())
"""


@pytest.fixture
def sample_store(tmp_path: Path) -> tuple[str, Path]:
    from click.testing import CliRunner

    from hearing_core.cli import cli

    sample = Path(__file__).resolve().parents[1] / "events" / "samples" / "imrf-2022-msh.jsonl"
    keys = sample.with_suffix(".keys.json")
    store = str(tmp_path / "s.db")
    result = CliRunner().invoke(
        cli,
        ["--store", store, "import", str(sample), "--keys-file", str(keys)],
        env={"HEARING_PLUGINS": ""},
    )
    assert result.exit_code == 0, result.output
    plugins = tmp_path / "dev"
    plugins.mkdir()
    (plugins / "bad.py").write_text(BAD_PLUGIN)
    return store, plugins


def test_system_exit_from_a_plugin_never_makes_a_report_or_gate_pass_silently(
    sample_store: tuple[str, Path],
) -> None:
    from click.testing import CliRunner

    from hearing_core.cli import cli

    store, plugins = sample_store
    runner = CliRunner()
    env = {"HEARING_PLUGINS": "bad,audit"}
    base = ["--store", store, "--plugins-dir", str(plugins)]
    bad = runner.invoke(cli, [*base, "report", "bad", "imrf-2022-msh"], env=env)
    assert bad.exit_code == 1
    assert "projection 'bad' is stalled at position" in bad.output
    assert "SystemExit: 0" in bad.output
    gate = runner.invoke(cli, [*base, "audit", "imrf-2022-msh", "--require-all-groups"], env=env)
    assert gate.exit_code == 1
    assert "absent stakeholder groups: other_stakeholders" in gate.stderr
    assert gate.stdout.strip()


@pytest.mark.parametrize(
    "args",
    [
        ["verify"],
        ["seal", "imrf-2022-msh"],
        ["export", "imrf-2022-msh", "--format", "jsonl"],
        ["forget", "imrf-2022-msh", "fl-maria", "--yes"],
    ],
)
def test_verify_seal_forget_and_jsonl_export_load_no_plugins(
    sample_store: tuple[str, Path], args: list[str]
) -> None:
    from click.testing import CliRunner

    from hearing_core.cli import cli

    store, plugins = sample_store
    runner = CliRunner()
    result = runner.invoke(cli, ["--store", store, "--plugins-dir", str(plugins), *args], env={})
    assert result.exit_code == 0, result.output
    assert not Path("imported-bad-plugin").exists()
    listed = runner.invoke(cli, ["--store", store, "--plugins-dir", str(plugins), "plugins"])
    assert listed.exit_code == 0
    assert Path("imported-bad-plugin").exists()  # the check above could have failed


def test_a_projection_added_later_gets_corrections_resolved_as_they_were(tmp_path: Path) -> None:
    """The host's state is ahead of a new (or version-bumped) projection: corrections it
    replays come from what the host resolved then, not from the state now."""
    b = (
        HearingBuilder("h1")
        .participant("a", group="migrants", name="Ana")
        .open("session-1")
        .speak("a", text="first")  # 4
        .correct(4, "typo", text="second")
        .correct(4, "typo again", text="third")
    )
    path = tmp_path / "views.db"
    first = ReadModels(path, [People()], keys=TEST_KEYS)
    assert not first.feed(b.events)
    first.close()

    class Later(People):
        name = "later"
        tables: ClassVar[dict[str, Any]] = {
            "later_" + t.split("_", 1)[1]: spec for t, spec in People.tables.items()
        }
        seen: ClassVar[list[tuple[str, str]]] = []

        @handles("ParticipantRegistered")
        def registered(self, events: list[RecordedEvent], db: Any) -> None:
            pass

        @handles("InterventionDelivered")
        def turns(self, events: list[RecordedEvent], db: Any) -> None:
            pass

        @handles("CorrectionIssued")
        def corrections(self, corrections: list[Correction], db: Any) -> None:
            Later.seen.extend((c.before["text"], c.after["text"]) for c in corrections)

    later = ReadModels(path, [People(), Later()], keys=TEST_KEYS)
    assert not later.feed(b.events)
    assert Later.seen == [("first", "second"), ("second", "third")]


def test_insert_rows_and_upsert_rows_write_as_sqlite_utils_does() -> None:
    """The host's batch writers give the same rows as insert_all/upsert_all (JSON for lists)."""
    import sqlite_utils

    from hearing_core.projection import insert_rows, upsert_rows

    ours, theirs = sqlite_utils.Database(memory=True), sqlite_utils.Database(memory=True)
    for db in (ours, theirs):
        db["t"].create({"hearing": str, "seq": int, "a": str, "b": str}, pk=("hearing", "seq"))
    first = [
        {"hearing": "h", "seq": 1, "a": "x", "b": [1, "é"]},
        {"hearing": "h", "seq": 2, "a": "y"},
    ]
    again = [{"hearing": "h", "seq": 1, "a": "z"}, {"hearing": "h", "seq": 3, "b": {"k": 1}}]
    insert_rows(ours, "t", first)
    theirs["t"].insert_all(first)
    upsert_rows(ours, "t", again, pk=("hearing", "seq"))
    theirs["t"].upsert_all(again, pk=("hearing", "seq"))
    insert_rows(ours, "t", [{"hearing": "h", "seq": 2, "a": "w"}], replace=True)
    theirs["t"].insert_all([{"hearing": "h", "seq": 2, "a": "w"}], replace=True)
    rows = "select * from t order by seq"
    assert ours.execute(rows).fetchall() == theirs.execute(rows).fetchall()
    # As with sqlite-utils, a column other rows of the batch set is NULL where a row leaves it out.
    assert ours.execute(rows).fetchall()[0] == ("h", 1, "z", None)
    assert ours.execute(rows).fetchall()[2] == ("h", 3, None, '{"k": 1}')


# --- failures and races found in review -------------------------------------------------


class _Pledges(Projection):
    """Counts pledges; ``types`` as a plain set, as a plugin may well write it."""

    name = "setpledges"
    version = 1
    types = {"PledgeMade"}  # type: ignore[assignment]
    tables: ClassVar[dict[str, Any]] = {"setpledges_rows": {"hearing": str, "seq": int}}

    def handle(self, event: Any, db: Any) -> None:
        db["setpledges_rows"].insert({"hearing": event.hearing, "seq": event.seq})


class _Choosy(Projection):
    """A projection whose ``wants`` raises: its failure, nobody else's."""

    name = "choosy"
    version = 1
    tables: ClassVar[dict[str, Any]] = {"choosy_rows": {"seq": int}}

    def wants(self, event_type: str) -> bool:
        raise RuntimeError("cannot decide")

    def handle(self, event: Any, db: Any) -> None:  # pragma: no cover - never reached
        db["choosy_rows"].insert({"seq": event.seq})


def test_a_set_of_types_works_and_a_raising_wants_fails_only_its_projection() -> None:
    events = sample_events()
    pledges = sum(e.type == "PledgeMade" for e in events)
    models = ReadModels(":memory:", [_Pledges(), _Choosy()], keys=TEST_KEYS)
    failures = models.feed(events)
    assert [(f.projection, f.error) for f in failures] == [
        ("choosy", "RuntimeError: cannot decide")
    ]
    assert models.db.execute("SELECT count(*) FROM setpledges_rows").fetchone()[0] == pledges > 0
    assert models.positions()["setpledges"].position == events[-1].position


class _Interventions(Projection):
    name = "interventions"
    version = 1
    tables: ClassVar[dict[str, Any]] = {"interventions_rows": {"hearing": str, "seq": int}}

    @handles("InterventionDelivered")
    def delivered(self, events: Any, db: Any) -> None:
        insert_rows(
            db, "interventions_rows", [{"hearing": e.hearing, "seq": e.seq} for e in events]
        )


def test_two_catch_ups_started_together_feed_each_event_once(tmp_path: Path) -> None:
    """B reads its positions, A catches up and commits, then B feeds: B must start where A
    stopped (as two processes sharing a read-model file may do)."""
    events = sample_events()
    path = tmp_path / "views.db"
    a = ReadModels(path, [_Interventions()], keys=TEST_KEYS)
    b = ReadModels(path, [_Interventions()], keys=TEST_KEYS)

    def read_b(after: int, upto: int | None, types: frozenset[str] | None) -> Any:
        assert a.feed(events) == []  # A runs between B's reading positions and B's writing
        return (e for e in events if e.position > after and (types is None or e.type in types))

    assert b.catch_up(read_b, head=events[-1].position) == []
    rows = a.db.execute("SELECT count(*), count(DISTINCT seq) FROM interventions_rows").fetchone()
    delivered = sum(e.type == "InterventionDelivered" for e in events)
    assert tuple(rows) == (delivered, delivered)
    assert b.positions()["interventions"].position == events[-1].position
