"""Popolo: the hearing's people, organizations, events and speeches as JSON.

The output is one JSON object with the Popolo collections ``persons``,
``organizations``, ``memberships``, ``events`` and ``speeches`` (the shape of
a Popolo export), keys sorted, so the same records give the same text.

Ids are scoped by the hearing's slug and typed, so they cannot collide:

* the hearing ``<slug>``, a segment ``<slug>/segment/<id>``;
* a person ``<slug>/person/<participant>``, a protected one
  ``<slug>/protected-speaker/<N>`` (never their participant id or name);
* a stakeholder group ``<slug>/stakeholder-group/<id>``, an organization
  ``<slug>/organization/<hash of its name>`` (organizations have no id in the log);
* a speech ``<slug>/speech/<seq>``.

Every object is checked against the Popolo draft-03 schemas shipped in
``standards/popolo`` by :func:`validate` (``$ref`` resolved locally).
Speeches carry ``date`` (the schema's field) and also ``start_date``,
``end_date`` and ``language``, which the schemas allow (they close no object).
Event dates drop fractional seconds: the Popolo date pattern has none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft3Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT3

from hearing_core.exports._common import (
    HearingView,
    Person,
    clean_unicode,
    read_hearing,
    short_hash,
    without_fraction,
)
from hearing_core.exports.registry import Exporter, text_exporter
from hearing_core.hookspecs import hookimpl

#: Which Popolo schema each collection's items follow.
COLLECTIONS: Mapping[str, str] = {
    "persons": "person",
    "organizations": "organization",
    "memberships": "membership",
    "events": "event",
    "speeches": "speech",
}

SCHEMA_BASE = "http://www.popoloproject.com/schemas/"


def standards_dir() -> Path:
    """Where the shipped copies of the Popolo schemas live."""
    return Path(str(resources.files("hearing_core.exports") / "standards" / "popolo"))


@cache
def _registry() -> Registry[Any]:
    resources_: list[tuple[str, Resource[Any]]] = []
    for path in sorted((standards_dir() / "schemas").glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = DRAFT3.create_resource(contents)
        resources_.append((SCHEMA_BASE + path.name, resource))
    return Registry().with_resources(resources_)


@cache
def validator(name: str) -> Draft3Validator:
    """A draft-03 validator for one Popolo schema (``person``, ``speech``...), offline."""
    registry = _registry()
    contents = registry.contents(SCHEMA_BASE + f"{name}.json")
    return Draft3Validator(
        contents, registry=registry, format_checker=Draft3Validator.FORMAT_CHECKER
    )


def validate(document: str | Mapping[str, Any]) -> list[str]:
    """Every schema complaint about a Popolo export (empty when all objects are valid)."""
    doc = json.loads(document) if isinstance(document, str) else document
    out = []
    for collection, name in COLLECTIONS.items():
        check = validator(name)
        for n, item in enumerate(doc.get(collection, [])):
            for error in check.iter_errors(item):
                where = ".".join(str(p) for p in error.absolute_path)
                out.append(f"{collection}[{n}]{'.' + where if where else ''}: {error.message}")
    return out


# --- ids -----------------------------------------------------------------------------


def person_id(view: HearingView, person: Person) -> str:
    if person.protected:
        return f"{view.slug}/protected-speaker/{person.pseudonym_number}"
    return f"{view.slug}/person/{person.participant}"


def group_id(view: HearingView, group: str) -> str:
    return f"{view.slug}/stakeholder-group/{group}"


def organization_id(view: HearingView, name: str) -> str:
    return f"{view.slug}/organization/{short_hash(name)}"


def segment_id(view: HearingView, segment: str) -> str:
    return f"{view.slug}/segment/{segment}"


# --- building ------------------------------------------------------------------------


def _compact(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out keys without a value (Popolo allows null, but absent reads better)."""
    return {k: v for k, v in obj.items() if v is not None}


def _persons(view: HearingView) -> list[Person]:
    people = list(view.persons.values())
    for i in view.interventions:  # a speaker the log never registered still speaks
        if i.speaker not in view.persons and all(p.participant != i.speaker for p in people):
            people.append(view.person(i.speaker))
    return people


def _organizations(view: HearingView) -> list[dict[str, Any]]:
    out = [
        {
            "id": group_id(view, gid),
            "name": label,
            "classification": "stakeholder group",
        }
        for gid, label in view.stakeholder_groups.items()
    ]
    seen: set[str] = set()
    for person in view.persons.values():
        if person.organization and person.organization not in seen:
            seen.add(person.organization)
            out.append(
                {
                    "id": organization_id(view, person.organization),
                    "name": person.organization,
                    "classification": "organization",
                }
            )
    return out


def _memberships(view: HearingView) -> list[dict[str, Any]]:
    out = []
    for person in view.persons.values():
        pid = person_id(view, person)
        if person.organization:
            out.append(
                {
                    "id": f"{pid}/membership/organization",
                    "person_id": pid,
                    "organization_id": organization_id(view, person.organization),
                }
            )
        if person.stakeholder_group:
            out.append(
                _compact(
                    {
                        "id": f"{pid}/membership/stakeholder-group",
                        "person_id": pid,
                        "organization_id": group_id(view, person.stakeholder_group),
                        "role": "stakeholder",
                        "label": person.group_label,
                    }
                )
            )
    return out


def _status(view: HearingView, opened: str | None, closed: str | None) -> str:
    if closed is not None:
        return "held"
    if opened is not None:
        return "in progress"
    return "not held" if view.closed_at is not None else "scheduled"


def _events(view: HearingView) -> list[dict[str, Any]]:
    opened = [s.opened_at for s in view.segments if s.opened_at]
    hearing = _compact(
        {
            "id": view.slug,
            "name": view.title,
            "classification": "hearing",
            "location": view.venue,
            "start_date": without_fraction(opened[0]) if opened else view.date,
            "end_date": without_fraction(view.closed_at) if view.closed_at else None,
            "status": _status(view, opened[0] if opened else None, view.closed_at),
            "identifiers": [{"identifier": view.slug, "scheme": "hearing_core"}],
        }
    )
    out = [hearing]
    listed = {s.id for s in view.programme}
    for s in (*view.programme, *(s for s in view.segments if s.id not in listed)):
        start = s.opened_at or s.planned_start
        end = s.closed_at or (s.planned_end if s.opened_at is None else None)
        out.append(
            _compact(
                {
                    "id": segment_id(view, s.id),
                    "name": s.title,
                    "classification": s.kind,
                    "parent_id": view.slug,
                    "location": view.venue,
                    "start_date": without_fraction(start) if start else None,
                    "end_date": without_fraction(end) if end else None,
                    "status": _status(view, s.opened_at, s.closed_at),
                }
            )
        )
    return out


def _speeches(view: HearingView) -> list[dict[str, Any]]:
    out = []
    for position, i in enumerate(view.interventions, start=1):
        person = view.person(i.speaker)
        out.append(
            {
                "id": f"{view.slug}/speech/{i.seq}",
                "creator_id": person_id(view, person),
                "attribution_text": person.name,
                "role": i.role,
                "type": "speech",
                "position": position,
                "date": i.at,
                "start_date": i.at,
                "end_date": i.ended_at,
                "text": i.text,
                "language": i.language,
                "event_id": segment_id(view, i.segment),
            }
        )
    return out


def _unicode_safe(value: Any) -> Any:
    if isinstance(value, str):
        return clean_unicode(value)
    if isinstance(value, list):
        return [_unicode_safe(v) for v in value]
    if isinstance(value, dict):
        return {clean_unicode(k): _unicode_safe(v) for k, v in value.items()}
    return value


def popolo_document(
    records: Iterable[Mapping[str, Any]], *, uncorrected: bool = False
) -> dict[str, Any]:
    """The Popolo collections of a hearing, as JSON values."""
    view = read_hearing(records, uncorrected=uncorrected)
    doc = {
        "persons": [{"id": person_id(view, p), "name": p.name} for p in _persons(view)],
        "organizations": _organizations(view),
        "memberships": _memberships(view),
        "events": _events(view),
        "speeches": _speeches(view),
    }
    return _unicode_safe(doc)  # type: ignore[no-any-return]


def to_popolo(records: Iterable[Mapping[str, Any]], *, uncorrected: bool = False) -> str:
    """The hearing as Popolo JSON text (keys sorted, two-space indent, trailing newline)."""
    doc = popolo_document(records, uncorrected=uncorrected)
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


@hookimpl
def register_exporters(register: Callable[[Exporter], None]) -> None:
    register(
        text_exporter(
            "popolo",
            "Popolo persons, organizations, memberships, events and speeches (JSON)",
            lambda records, request: to_popolo(records, uncorrected=request.uncorrected),
        )
    )
