"""The Popolo export: every object valid against the draft-03 schemas, counts as in the record."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft3Validator
from referencing import Registry
from referencing.jsonschema import DRAFT3

from hearing_core.exports import popolo, to_popolo
from hearing_core.testing import sample_records

SAMPLE = Path(__file__).parents[1] / "events/samples/imrf-2022-msh.jsonl"
POPOLO = Path(popolo.__file__).parent / "standards" / "popolo"
BASE = "http://www.popoloproject.com/schemas/"
COLLECTIONS = {
    "persons": "person",
    "organizations": "organization",
    "memberships": "membership",
    "events": "event",
    "speeches": "speech",
}


def sample() -> list[dict[str, Any]]:
    return sample_records()


def by_seq(records: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(r for r in records if r["seq"] == seq)


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft3Validator]:
    """Draft-03 validators over the shipped schemas; every $ref resolves to a local file."""
    schemas = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((POPOLO / "schemas").glob("*.json"))
    }
    registry: Registry[Any] = Registry().with_resources(
        (BASE + name, DRAFT3.create_resource(schema)) for name, schema in schemas.items()
    )

    def no_network(uri: str) -> Any:
        raise AssertionError(f"tried to fetch {uri}")

    registry = Registry(retrieve=no_network).combine(registry)  # type: ignore[call-arg]
    return {
        collection: Draft3Validator(
            schemas[f"{name}.json"],
            registry=registry,
            format_checker=Draft3Validator.FORMAT_CHECKER,
        )
        for collection, name in COLLECTIONS.items()
    }


def errors(validators: dict[str, Draft3Validator], doc: dict[str, Any]) -> list[str]:
    out = []
    for collection, check in validators.items():
        for n, item in enumerate(doc[collection]):
            out += [f"{collection}[{n}]: {e.message}" for e in check.iter_errors(item)]
    return out


def test_the_validators_are_real(validators: dict[str, Draft3Validator]) -> None:
    for name in ("person", "organization", "membership", "event", "speech"):
        example = json.loads((POPOLO / "examples" / f"{name}.json").read_text(encoding="utf-8"))
        collection = next(c for c, n in COLLECTIONS.items() if n == name)
        assert list(validators[collection].iter_errors(example)) == []
    bad = {
        "persons": [{"id": 7}],
        "organizations": [{"founding_date": "May 2022"}],
        "memberships": [{"person": {"name": ["not", "a", "string"]}}],  # through a $ref
        "events": [{"start_date": "16 May 2022"}],
        "speeches": [{"creator": {"identifiers": [{"scheme": "x"}]}}],  # nested $refs
    }
    found = errors(validators, bad)
    assert len(found) == 5, found
    assert len(popolo.validate(bad)) == 5


def test_sample_is_valid_popolo(validators: dict[str, Draft3Validator]) -> None:
    for uncorrected in (False, True):
        doc = json.loads(to_popolo(sample(), uncorrected=uncorrected))
        assert set(doc) == set(COLLECTIONS)
        assert errors(validators, doc) == []
        assert popolo.validate(doc) == []


def test_counts_match_the_sample() -> None:
    records = sample()
    doc = json.loads(to_popolo(records))
    types = Counter(r["type"] for r in records)
    registrations = [r for r in records if r["type"] == "ParticipantRegistered"]
    scheduled = by_seq(records, 1)
    assert len(doc["speeches"]) == types["InterventionDelivered"] == 44
    assert len(doc["persons"]) == types["ParticipantRegistered"] == 33
    # One event for the hearing and one per programme segment.
    assert len(doc["events"]) == 1 + len(scheduled["programme"])
    # Stakeholder groups plus the distinct organizations of unprotected participants.
    organizations = {r["organization"] for r in registrations if r.get("organization")}
    groups = doc["organizations"]
    assert len(groups) == len(scheduled["stakeholder_groups"]) + len(organizations)
    assert Counter(o["classification"] for o in groups) == {
        "stakeholder group": 14,
        "organization": len(organizations),
    }
    with_org = sum(1 for r in registrations if r.get("organization"))
    with_group = sum(1 for r in registrations if r["stakeholder_group"])
    assert len(doc["memberships"]) == with_org + with_group


def test_ids_are_unique_and_every_reference_resolves() -> None:
    doc = json.loads(to_popolo(sample()))
    for collection in COLLECTIONS:
        ids = [item["id"] for item in doc[collection]]
        assert len(ids) == len(set(ids)), collection
    persons = {p["id"] for p in doc["persons"]}
    organizations = {o["id"] for o in doc["organizations"]}
    events = {e["id"]: e for e in doc["events"]}
    for m in doc["memberships"]:
        assert m["person_id"] in persons and m["organization_id"] in organizations
    hearing = events["imrf-2022-msh"]
    assert hearing["classification"] == "hearing"
    assert hearing["start_date"] == "2022-05-16T10:00:00-04:00"
    assert hearing["end_date"] == "2022-05-16T18:00:00-04:00"
    segments = [e for e in doc["events"] if e["id"] != hearing["id"]]
    assert all(e["parent_id"] == hearing["id"] for e in segments)
    assert segments[0]["name"] == "Opening segment"
    assert segments[2]["start_date"] == "2022-05-16T13:00:00-04:00"  # lunch, as opened
    assert segments[2]["end_date"] == "2022-05-16T15:00:00-04:00"
    for s in doc["speeches"]:
        assert s["creator_id"] in persons
        assert events[s["event_id"]]["parent_id"] == hearing["id"]


def test_speeches_carry_the_intervention() -> None:
    records = sample()
    doc = json.loads(to_popolo(records))
    interventions = [r for r in records if r["type"] == "InterventionDelivered"]
    for speech, record in zip(doc["speeches"], interventions, strict=True):
        assert speech["start_date"] == speech["date"] == record["at"]
        assert speech["role"] == record["role"]
        assert speech["text"] == record["text"]
        assert speech["language"] == record["language"]
        assert speech["event_id"] == f"imrf-2022-msh/segment/{record['segment']}"
    assert [s["position"] for s in doc["speeches"]] == list(range(1, 45))
    arabic = [s for s in doc["speeches"] if s["language"] == "ar"]
    assert len(arabic) == 2


def test_corrections_apply_unless_uncorrected() -> None:
    corrected = json.loads(to_popolo(sample()))
    original = json.loads(to_popolo(sample(), uncorrected=True))
    speech = next(s for s in corrected["speeches"] if s["id"].endswith("/speech/71"))
    assert speech["end_date"] == "2022-05-16T12:25:30-04:00"
    speech = next(s for s in original["speeches"] if s["id"].endswith("/speech/71"))
    assert speech["end_date"] == "2022-05-16T12:27:30-04:00"
    names = {o["name"] for o in corrected["organizations"]}
    assert "Northern Coast Migrant Workers' Union" in names
    assert "Nothern Coast Migrant Workers' Union" not in names
    assert "Nothern Coast Migrant Workers' Union" in {o["name"] for o in original["organizations"]}


def test_protected_speaker_appears_by_pseudonym_only() -> None:
    text = to_popolo(sample())
    assert "Maria K." not in text and "fl-maria" not in text
    doc = json.loads(text)
    person = next(p for p in doc["persons"] if p["name"] == "Protected speaker 1")
    assert set(person) == {"id", "name"}
    memberships = [m for m in doc["memberships"] if m["person_id"] == person["id"]]
    assert [m["organization_id"] for m in memberships] == [
        "imrf-2022-msh/stakeholder-group/migrants"
    ]
    speeches = [s for s in doc["speeches"] if s["creator_id"] == person["id"]]
    assert len(speeches) == 1 and speeches[0]["attribution_text"] == "Protected speaker 1"


def test_output_is_stable_sorted_json() -> None:
    records = sample()
    before = copy.deepcopy(records)
    text = to_popolo(records)
    assert to_popolo(records) == text
    assert records == before
    assert text == json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def test_odd_text_survives_and_encodes() -> None:
    records = sample()
    by_seq(records, 36)["text"] = '<script>alert(1)</script> "quoted" \u0007 \ud800'
    text = to_popolo(records)
    text.encode("utf-8")  # no lone surrogate left
    doc = json.loads(text)
    assert doc["speeches"][0]["text"] == '<script>alert(1)</script> "quoted" \u0007 \ufffd'


def test_event_dates_fit_the_popolo_pattern(validators: dict[str, Draft3Validator]) -> None:
    records = [r for r in sample() if r["seq"] <= 36]  # hearing not closed, opening in progress
    by_seq(records, 35)["at"] = "2022-05-16T10:00:00.250000-04:00"
    doc = json.loads(to_popolo(records))
    assert errors(validators, doc) == []
    events = {e["id"]: e for e in doc["events"]}
    assert events["imrf-2022-msh/segment/opening"]["start_date"] == "2022-05-16T10:00:00-04:00"
    assert events["imrf-2022-msh/segment/opening"]["status"] == "in progress"
    assert "end_date" not in events["imrf-2022-msh"]
    assert events["imrf-2022-msh/segment/closing"]["status"] == "scheduled"
