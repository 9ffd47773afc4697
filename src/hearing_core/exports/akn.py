"""Akoma Ntoso 3.0: the hearing as a ``debate`` document (OASIS LegalDocML).

The document is built as an lxml tree (never by joining strings), so every
piece of text from the record is escaped by the serializer.  Its parts:

* ``meta/identification``: FRBR work, expression (English, the hearing's
  working language; speeches keep their own ``xml:lang``) and manifestation.
  The expression's version is the date of the last record the debate is
  built from (corrections included when applied); the original reading is
  marked ``-as-recorded`` and ``contains="originalVersion"``, so the two
  readings are always different expressions of the one work.
* ``meta/references``: a ``TLCPerson`` per participant (a protected one by
  pseudonym only), a ``TLCOrganization`` per organization and per stakeholder
  group, a ``TLCRole`` per role used.
* ``meta/notes``: one note per correction applied (none when uncorrected).
* ``debateBody``: a ``debateSection`` per segment that was opened, in
  programme order, each intervention a ``speech by="#person" as="#role"``.

The shipped OASIS schema (``standards/akoma-ntoso-3.0``) checks the shape;
:func:`dangling_references` checks what it does not, that every ``by``, ``as``
and ``refersTo`` points at an ``eId`` in the references.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from hearing_core.exports._common import (
    ROLE_LABELS,
    HearingView,
    Intervention,
    Person,
    clean,
    language_name,
    long_date,
    paragraphs,
    read_hearing,
    short_hash,
)
from hearing_core.exports.registry import Exporter, text_exporter
from hearing_core.hookspecs import hookimpl

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_A = f"{{{AKN_NS}}}"
_LANG = f"{{{XML_NS}}}lang"

#: The eId of the organization credited with the record (the FRBR author).
RECORDER = "recorder"

#: The FRBR country (jurisdiction) of a United Nations hearing.
COUNTRY = "un"

_EID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def standards_dir() -> Path:
    """Where the shipped copies of the Akoma Ntoso 3.0 schema live."""
    return Path(str(resources.files("hearing_core.exports") / "standards" / "akoma-ntoso-3.0"))


@cache
def schema() -> etree.XMLSchema:
    """The official Akoma Ntoso 3.0 XSD, loaded offline (it imports ``./xml.xsd``)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    doc = etree.parse(str(standards_dir() / "akomantoso30.xsd"), parser)
    return etree.XMLSchema(doc)


def validate(xml: str | bytes) -> list[str]:
    """The schema's complaints about a document (empty when it is valid)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    root = etree.fromstring(data, parser)
    checker = schema()
    if checker.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]


def dangling_references(xml: str | bytes) -> list[str]:
    """Every ``by``/``as``/``to``/``refersTo``/``href="#..."`` that names no ``eId``."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    root = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    ids = {str(v) for v in root.xpath("//@eId")}
    out = []
    for el in root.iter(etree.Element):
        for attr in ("by", "as", "to", "refersTo", "href", "source"):
            value = el.get(attr)
            if value is None:
                continue
            for ref in value.split() if attr == "refersTo" else [value]:
                if ref.startswith("#") and ref[1:] not in ids:
                    out.append(f"{etree.QName(el).localname}/@{attr}={ref}")
                elif attr in ("by", "as", "to", "source") and not ref.startswith("#"):
                    out.append(f"{etree.QName(el).localname}/@{attr}={ref} (not a #reference)")
    return out


# --- ids ---------------------------------------------------------------------------


def _eid(text: str) -> str:
    return _EID_UNSAFE.sub("_", text)


def person_eid(person: Person) -> str:
    """A person's eId: ``person-<participant>``, or ``protected-speaker-N`` (never their id)."""
    if person.protected:
        return f"protected-speaker-{person.pseudonym_number}"
    return f"person-{_eid(person.participant)}"


def group_eid(group: str) -> str:
    return f"group-{_eid(group)}"


def organization_eid(name: str) -> str:
    return f"org-{short_hash(name)}"


def role_eid(role: str) -> str:
    return f"role-{_eid(role)}"


# --- building ----------------------------------------------------------------------


#: Keyword spellings of attribute names that are not Python identifiers.
_ATTR_NAMES = {"xml_lang": _LANG, "class_": "class"}


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """A child element; its text and attribute values are cleaned and escaped by lxml."""
    el = etree.SubElement(parent, _A + tag)
    for key, value in attrs.items():
        el.set(_ATTR_NAMES.get(key, key), clean(value))
    if text is not None:
        el.text = clean(text)
    return el


def _work_uri(view: HearingView) -> str:
    return f"/akn/{COUNTRY}/debateRecord/hearing/{view.date}/{_eid(view.slug)}"


def _identification(meta: etree._Element, view: HearingView) -> None:
    work = _work_uri(view)
    version = view.last_at[:10]
    # The original reading is its own expression even on a day a correction was issued.
    expression = f"{work}/eng@{version}" + ("" if view.corrected else "-as-recorded")
    ident = _sub(meta, "identification", source=f"#{RECORDER}")
    w = _sub(ident, "FRBRWork")
    _sub(w, "FRBRthis", value=f"{work}/!main")
    _sub(w, "FRBRuri", value=work)
    _sub(w, "FRBRdate", date=view.date, name="hearing")
    _sub(w, "FRBRauthor", href=f"#{RECORDER}")
    _sub(w, "FRBRcountry", value=COUNTRY)
    _sub(w, "FRBRname", value=view.title)
    e = _sub(ident, "FRBRExpression")
    _sub(e, "FRBRthis", value=f"{expression}/!main")
    _sub(e, "FRBRuri", value=expression)
    _sub(e, "FRBRdate", date=version, name="as corrected" if view.corrected else "as recorded")
    _sub(e, "FRBRauthor", href=f"#{RECORDER}")
    _sub(e, "FRBRlanguage", language="en")
    m = _sub(ident, "FRBRManifestation")
    _sub(m, "FRBRthis", value=f"{expression}/!main.xml")
    _sub(m, "FRBRuri", value=f"{expression}.akn")
    _sub(m, "FRBRdate", date=version, name="generation")
    _sub(m, "FRBRauthor", href=f"#{RECORDER}")


def _references(meta: etree._Element, view: HearingView) -> None:
    refs = _sub(meta, "references", source=f"#{RECORDER}")
    _sub(
        refs,
        "TLCOrganization",
        eId=RECORDER,
        href=f"/akn/ontology/organizations/{COUNTRY}/hearing-record",
        showAs=f"Record of the hearing {view.slug}",
    )
    for person in view.persons.values():
        _tlc_person(refs, person)
    for person in _unregistered_speakers(view):
        _tlc_person(refs, person)
    for gid, label in view.stakeholder_groups.items():
        _sub(
            refs,
            "TLCOrganization",
            eId=group_eid(gid),
            href=f"/akn/ontology/organizations/{COUNTRY}/stakeholder-group/{_eid(gid)}",
            showAs=f"Stakeholder group: {label}",
        )
    for name in _organizations(view):
        _sub(
            refs,
            "TLCOrganization",
            eId=organization_eid(name),
            href=f"/akn/ontology/organizations/{COUNTRY}/organization/{short_hash(name)}",
            showAs=name,
        )
    for role in _roles(view):
        _sub(
            refs,
            "TLCRole",
            eId=role_eid(role),
            href=f"/akn/ontology/roles/{COUNTRY}/hearing/{_eid(role)}",
            showAs=ROLE_LABELS.get(role, role),
        )


def _tlc_person(refs: etree._Element, person: Person) -> None:
    eid = person_eid(person)
    _sub(
        refs,
        "TLCPerson",
        eId=eid,
        href=f"/akn/ontology/persons/{COUNTRY}/hearing/{eid}",
        showAs=person.name,
    )


def _unregistered_speakers(view: HearingView) -> list[Person]:
    seen: dict[str, Person] = {}
    for i in view.interventions:
        if i.speaker not in view.persons and i.speaker not in seen:
            seen[i.speaker] = view.person(i.speaker)
    return list(seen.values())


def _organizations(view: HearingView) -> list[str]:
    names: dict[str, None] = {}
    for person in view.persons.values():
        if person.organization:
            names.setdefault(person.organization)
    return list(names)


def _roles(view: HearingView) -> list[str]:
    used = {i.role for i in view.interventions}
    return [r for r in ROLE_LABELS if r in used] + sorted(used - set(ROLE_LABELS))


def _notes(meta: etree._Element, view: HearingView) -> None:
    if not view.corrections:
        return
    notes = _sub(meta, "notes", source=f"#{RECORDER}")
    for c in view.corrections:
        note = _sub(notes, "note", eId=f"correction-{c.seq}", class_="correction")
        _sub(
            note,
            "p",
            f"Correction issued {long_date(c.at)} (record {c.seq}) to record {c.corrects}: "
            f"{c.target}.",
        )
        for change in c.changes:
            _sub(note, "p", f"{change.label}: {change.previous} \u2192 {change.new}")
        _sub(note, "p", f"Reason: {c.reason}")


def _preface(doc: etree._Element, view: HearingView) -> None:
    preface = _sub(doc, "preface")
    title = _sub(preface, "p", class_="title")
    _sub(title, "docTitle", view.title)
    p = _sub(preface, "p")
    p.text = clean(f"{view.venue}, ")
    _sub(p, "docDate", long_date(view.date), date=view.date)
    status = _sub(preface, "p")
    status.text = (
        f"Record as corrected ({len(view.corrections)} corrections applied)."
        if view.corrected
        else "Record as originally made, without later corrections."
    )


def _speech(section: etree._Element, view: HearingView, i: Intervention, eid: str) -> None:
    person = view.person(i.speaker)
    refers = []
    if person.stakeholder_group:
        refers.append(f"#{group_eid(person.stakeholder_group)}")
    if person.organization:
        refers.append(f"#{organization_eid(person.organization)}")
    attrs = {
        "eId": eid,
        "by": f"#{person_eid(person)}",
        "as": f"#{role_eid(i.role)}",
        "startTime": i.at,
        "endTime": i.ended_at,
        "xml_lang": i.language,
    }
    if refers:
        attrs["refersTo"] = " ".join(refers)
    speech = _sub(section, "speech", **attrs)
    _sub(speech, "from", person.name)
    texts = paragraphs(i.text)
    for text in texts:
        _sub(speech, "p", text)
    if not texts:
        _sub(
            speech,
            "p",
            "No text was recorded for this intervention.",
            xml_lang="en",
            class_="no-text",
        )
    for language, translation in i.translations.items():
        for text in paragraphs(translation):
            _sub(
                speech,
                "p",
                text,
                xml_lang=language,
                class_="translation",
                title=f"{language_name(language)} translation",
            )


def _body(doc: etree._Element, view: HearingView) -> None:
    body = _sub(doc, "debateBody")
    for n, segment in enumerate(view.segments, start=1):
        section_eid = f"dbsect_{n}"
        section = _sub(body, "debateSection", eId=section_eid, name=segment.kind)
        _sub(section, "heading", segment.title)
        times = [
            (words, moment, kind)
            for words, moment, kind in (
                ("opened at", segment.opened_at, "startEvent"),
                ("closed at", segment.closed_at, "endEvent"),
            )
            if moment is not None
        ]
        if times:
            scene = _sub(section, "scene")
            scene.text = "Segment "
            previous: etree._Element | None = None
            for words, moment, kind in times:
                if previous is None:
                    scene.text += f"{words} "
                else:
                    previous.tail = f"; {words} "
                previous = _sub(scene, "recordedTime", view.clock(moment), time=moment, type=kind)
            if previous is not None:
                previous.tail = "."
        for m, i in enumerate(view.interventions_in(segment.id), start=1):
            _speech(section, view, i, f"{section_eid}__speech_{m}")
    if not view.segments:  # the schema wants at least one section
        section = _sub(body, "debateSection", eId="dbsect_1", name="no-segments")
        _sub(section, "heading", "No segment has been opened yet")


def to_akoma_ntoso(records: Iterable[Mapping[str, Any]], *, uncorrected: bool = False) -> str:
    """The hearing as an Akoma Ntoso 3.0 ``debate`` document (a UTF-8 XML string)."""
    view = read_hearing(records, uncorrected=uncorrected)
    root = etree.Element(_A + "akomaNtoso", nsmap={None: AKN_NS})
    doc = _sub(
        root,
        "debate",
        name="hearing",
        contains="singleVersion" if view.corrections else "originalVersion",
    )
    meta = _sub(doc, "meta")
    _identification(meta, view)
    _references(meta, view)
    _notes(meta, view)
    _preface(doc, view)
    _body(doc, view)
    xml = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return xml.decode("utf-8")


@hookimpl
def register_exporters(register: Callable[[Exporter], None]) -> None:
    register(
        text_exporter(
            "akn",
            "Akoma Ntoso 3.0 debate (XML)",
            lambda records, request: to_akoma_ntoso(records, uncorrected=request.uncorrected),
        )
    )
