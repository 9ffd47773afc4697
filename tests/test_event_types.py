"""The event-type registry: every schema in events/schema has one complete spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from hearing_core.catalogue import schemas
from hearing_core.domain import Hearing
from hearing_core.event_types import EventSpec, spec, specs

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "events" / "schema"
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
COMMON = {"type", "hearing", "seq", "at", "digest"}
NOT_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic", "digest"}


def problems_of(name: str, schema: dict[str, Any], example: dict[str, Any] | None) -> list[str]:
    """What is missing or wrong in the spec of ``name`` (empty when it is complete)."""
    found = specs().get(name)
    if found is None:
        return [f"{name}: no spec (declare the class with @declare(...) in domain.py)"]
    out = []
    properties = set(schema["properties"])
    fields = {f for f in found.event_class.__dataclass_fields__ if f not in NOT_FIELDS}
    if found.event_class is not getattr(Hearing, name, None):
        out.append(f"{name}: the spec's class is not Hearing.{name}")
    if fields - {"hearing"} != properties - COMMON:
        out.append(f"{name}: class fields {sorted(fields)} differ from the schema's")
    if not callable(found.rule):
        out.append(f"{name}: no state rule")
    if not callable(found.gist):
        out.append(f"{name}: no gist")
    if not found.label.strip():
        out.append(f"{name}: no export label")
    if not isinstance(found.sealed, tuple):
        out.append(f"{name}: sealed fields must be a tuple (() when none)")
    if found.actor is not None and found.actor not in properties:
        out.append(f"{name}: actor field {found.actor!r} is not in the schema")
    out += [
        f"{name}: sealed field {f!r} is not in the schema"
        for f in found.sealed
        if f not in properties
    ]
    if found.sealed and found.actor is None:
        out.append(f"{name}: sealed fields but no actor field saying whose they are")
    if example is not None and not found.gist(example):
        out.append(f"{name}: the gist of the sample's record is empty")
    return out


def _examples() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        out.setdefault(record["type"], record)
    return out


def test_every_schema_has_a_complete_spec() -> None:
    examples = _examples()
    found = []
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        found += problems_of(schema["title"], schema, examples.get(schema["title"]))
    assert not found, "incomplete event-type specs:\n" + "\n".join(found)


def test_no_spec_without_a_schema() -> None:
    assert set(specs()) == set(schemas())


def test_the_check_names_what_is_missing() -> None:
    schema = schemas()["InterventionDelivered"]
    broken = attrs.evolve(spec("InterventionDelivered"), sealed=("txt",), actor="who", label=" ")
    real = specs()["InterventionDelivered"]
    try:
        specs()["InterventionDelivered"] = broken  # type: ignore[index]
        found = problems_of("InterventionDelivered", schema, None)
    finally:
        specs()["InterventionDelivered"] = real  # type: ignore[index]
    assert "InterventionDelivered: no export label" in found
    assert "InterventionDelivered: actor field 'who' is not in the schema" in found
    assert "InterventionDelivered: sealed field 'txt' is not in the schema" in found
    assert problems_of("Unheard", schema, None) == [
        "Unheard: no spec (declare the class with @declare(...) in domain.py)"
    ]


def test_sealed_fields_must_be_declared() -> None:
    """An empty tuple is a decision; leaving sealed out is an error at declaration."""
    facts = attrs.asdict(spec("SegmentOpened"), recurse=False)
    del facts["sealed"]
    with pytest.raises(TypeError, match="sealed"):
        EventSpec(**facts)


def test_old_tables_are_views_of_the_registry() -> None:
    from hearing_core.applying import _RULES, AFTER_CLOSE, PROCEEDINGS
    from hearing_core.domain import ACTOR_FIELDS
    from hearing_core.exports._common import DEBATE_TYPES, TARGET_KINDS
    from hearing_core.protection import SEALED_FIELDS

    assert dict(ACTOR_FIELDS) == {
        "ParticipantRegistered": "participant",
        "InterventionDelivered": "speaker",
        "PledgeMade": "by",
        "RecommendationMade": "by",
        "SummationDelivered": "by",
        "PledgeProgressReported": "by",
    }
    assert dict(SEALED_FIELDS) == {
        "ParticipantRegistered": ("participant", ("name", "organization")),
        "InterventionDelivered": ("speaker", ("text", "translations")),
        "PledgeMade": ("by", ("text",)),
        "RecommendationMade": ("by", ("text",)),
        "SummationDelivered": ("by", ("key_points",)),
        "PledgeProgressReported": ("by", ("note",)),
    }
    assert frozenset({"CorrectionIssued", "PledgeProgressReported"}) == AFTER_CLOSE
    assert "SegmentOpened" in PROCEEDINGS and "ParticipantRegistered" not in PROCEEDINGS
    assert len(PROCEEDINGS) == 7
    assert set(_RULES) == set(specs()) - {"HearingScheduled"}
    assert (
        frozenset(
            {
                "HearingScheduled",
                "ParticipantRegistered",
                "SegmentOpened",
                "SegmentClosed",
                "InterventionDelivered",
                "HearingClosed",
            }
        )
        == DEBATE_TYPES
    )
    assert TARGET_KINDS["InterventionDelivered"] == "Intervention"
    assert set(TARGET_KINDS) == set(specs())


# --- adding a type through the steps of docs/architecture.md ------------------------------

QUESTION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://hearing-core.invalid/events/schema/QuestionAsked.v1.json",
    "title": "QuestionAsked",
    "description": "A participant asks the panel a question.",
    "x-version": 1,
    "type": "object",
    "required": ["type", "hearing", "at", "by", "text"],
    "additionalProperties": False,
    "properties": {
        **{
            k: v
            for k, v in json.loads((SCHEMAS / "SegmentClosed.v1.json").read_text(encoding="utf-8"))[
                "properties"
            ].items()
            if k in ("type", "hearing", "seq", "at", "digest")
        },
        "type": {"const": "QuestionAsked"},
        "by": {"type": "string", "description": "participant id of who asks"},
        "text": {"type": "string", "maxLength": 20000, "description": "the question"},
    },
}


@pytest.fixture
def question_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Any]]:
    """Steps 1-4 of 'Adding an event type', done for a throwaway type, undone afterwards."""
    import shutil

    import hearing_core.catalogue as catalogue
    import hearing_core.catalogue_doc as catalogue_doc
    from hearing_core.errors import RecordError
    from hearing_core.event_types import declare, unregister

    def clear() -> None:
        for cached in (catalogue.schemas, catalogue.required_fields, catalogue._validator):
            cached.cache_clear()

    # 1. the schema
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    (events / "schema" / "QuestionAsked.v1.json").write_text(
        json.dumps(QUESTION_SCHEMA, indent=2), encoding="utf-8"
    )
    monkeypatch.setattr(catalogue, "catalogue_dir", lambda: events)
    monkeypatch.setattr(catalogue_doc, "catalogue_dir", lambda: events)
    clear()

    # 2. the state rule
    def question(hearing: Any, record: Any) -> dict[str, Any]:
        if record["by"] not in hearing.participants:
            raise RecordError(f"{record['by']!r} is not a registered participant", field="by")
        return {"by": record["by"], "text": record["text"]}

    # 3. the gist
    def question_gist(record: Any) -> str:
        return f"{record['by']} asks a question"

    # 4. the class and its spec (made here as domain.py would make it inside Hearing)
    class QuestionAsked(Hearing.Event):  # type: ignore[name-defined,misc]
        by: str
        text: str

    QuestionAsked.__module__ = "hearing_core.domain"
    QuestionAsked.__qualname__ = "Hearing.QuestionAsked"
    monkeypatch.setattr(Hearing, "QuestionAsked", QuestionAsked, raising=False)
    declare(
        rule=question,
        actor="by",
        sealed=("text",),
        after_close=False,
        proceeding=True,
        gist=question_gist,
        label="Question",
        in_debate=False,
    )(QuestionAsked)
    try:
        yield QuestionAsked
    finally:
        unregister("QuestionAsked")
        monkeypatch.undo()
        clear()


def test_a_throwaway_type_through_the_documented_steps(
    question_type: type[Any], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from hearing_core.catalogue_doc import render
    from hearing_core.cli import cli
    from hearing_core.exports._common import TARGET_KINDS
    from hearing_core.protection import SEALED_FIELDS
    from hearing_core.testing import HearingBuilder

    assert problems_of("QuestionAsked", QUESTION_SCHEMA, None) == []
    assert "## QuestionAsked" in render()
    assert SEALED_FIELDS["QuestionAsked"] == ("by", ("text",))
    assert TARGET_KINDS["QuestionAsked"] == "Question"

    b = HearingBuilder("asked").participant("asker", group="civil_society", protected=True)
    b.open("opening").add({"type": "QuestionAsked", "by": "asker", "text": "Why not now?"})
    b.close_segment().close()
    lines = [{k: v for k, v in r.items() if k != "digest"} for r in b.records]
    path = tmp_path / "asked.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), env={"HEARING_PLUGINS": ""})

    store = str(tmp_path / "asked.db")
    assert run("--store", store, "import", str(path)).exit_code == 0
    exported = [
        json.loads(x) for x in run("--store", store, "export", "asked").stdout.split("\n")[:-1]
    ]
    asked = next(r for r in exported if r["type"] == "QuestionAsked")
    assert asked["text"].startswith("enc1:")  # sealed: the speaker is protected
    assert "Why not now?" not in path.with_suffix(".db").read_bytes().decode("latin-1")
    assert "asker asks a question" in run("--store", store, "log", "asked").stdout

    # the close and the hearing's day apply, from the spec
    assert lines[3]["type"] == "QuestionAsked"
    late = {**lines[3], "at": "2022-05-16T11:30:00-04:00", "seq": len(lines) + 1}
    path.write_text(json.dumps(late) + "\n", encoding="utf-8")
    result = run("--store", store, "import", str(path))
    assert result.exit_code == 1
    assert "is closed; only CorrectionIssued and PledgeProgressReported may follow" in result.stderr

    # `hearing record question-asked`, made from the schema and the spec: no CLI code
    live = str(tmp_path / "live.db")
    path.write_text("".join(json.dumps(r) + "\n" for r in lines[:3]), encoding="utf-8")
    assert run("--store", live, "import", str(path)).exit_code == 0
    shown = run("record", "question-asked", "--help")
    assert shown.exit_code == 0, shown.output
    assert "A participant asks the panel a question." in shown.stdout
    assert "--by TEXT" in shown.stdout and "Participant id of who asks." in shown.stdout
    ask = ("--store", live, "record", "question-asked", "asked", "--by", "asker")
    missing = run(*ask)
    assert missing.exit_code == 2 and "Missing option '--text'" in missing.stderr
    done = run(*ask, "--text", "And later?", "--at", lines[3]["at"], "--json")
    assert done.exit_code == 0, done.stderr
    stored = json.loads(done.stdout)
    assert (stored["type"], stored["seq"], stored["by"]) == ("QuestionAsked", 4, "asker")
    assert stored["text"].startswith("enc1:")  # sealed on the live path too
