"""One standalone, accessible HTML5 page of the hearing's record.

No script, nothing fetched: the CSS is inline and every link is within the
page.  The page is built as a small tree of nodes and serialized by
:func:`_render`, which passes every text and attribute value through
:func:`html.escape` - there is no way to put a record's text into the page
unescaped.  Interventions keep their own language (``lang``, and ``dir="rtl"``
for right-to-left scripts); names are isolated with ``<bdi>``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from hearing_core.exports._common import (
    ROLE_LABELS,
    Change,
    Contribution,
    CorrectionNote,
    HearingView,
    Intervention,
    Person,
    Segment,
    check_language_tag,
    clean,
    is_rtl,
    language_name,
    long_date,
    paragraphs,
    primary_subtag,
    read_hearing,
)
from hearing_core.exports.registry import Exporter, text_exporter
from hearing_core.hookspecs import hookimpl
from hearing_core.taxonomy import GCM_OBJECTIVES, SG_REPORT_AREAS

# --- a tiny HTML tree that always escapes -----------------------------------------------


@dataclass(frozen=True)
class _Node:
    tag: str
    attrs: tuple[tuple[str, str], ...]
    children: tuple[_Node | _Stylesheet | str, ...]


@dataclass(frozen=True)
class _Stylesheet:
    """A page's CSS, the one text written unescaped: only ever a module's constant."""

    css: str


Child = Union[_Node, _Stylesheet, str, None, Sequence["Child"]]  # noqa: UP007 - recursive

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_VOID = frozenset({"meta", "br", "hr", "img", "link"})
# Elements whose content starts on a new line (their children are blocks).
_CONTAINERS = frozenset(
    {
        "html",
        "head",
        "body",
        "header",
        "main",
        "footer",
        "nav",
        "section",
        "article",
        "aside",
        "div",
        "dl",
        "ol",
        "ul",
        "details",
        "figure",
        "table",
        "thead",
        "tbody",
        "tr",
    }
)
_INLINE = frozenset(
    {"a", "abbr", "bdi", "br", "code", "del", "em", "ins", "small", "span", "strong", "time"}
)


def h(tag: str, attrs: Mapping[str, str | None] | None = None, *children: Child) -> _Node:
    """An element; ``None`` attribute values and children are left out."""
    if not _NAME.match(tag):
        raise ValueError(f"bad tag name {tag!r}")
    pairs = []
    for name, value in (attrs or {}).items():
        if not _NAME.match(name):
            raise ValueError(f"bad attribute name {name!r}")
        if value is not None:
            pairs.append((name, value))
    return _Node(tag, tuple(pairs), tuple(_flatten(children)))


def _flatten(children: Iterable[Child]) -> Iterable[_Node | _Stylesheet | str]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, _Node | _Stylesheet | str):
            yield child
        else:
            yield from _flatten(child)


def _escape(text: str) -> str:
    return html.escape(clean(text), quote=True)


def _render(node: _Node, out: list[str]) -> None:
    out.append(f"<{node.tag}")
    for name, value in node.attrs:
        out.append(f' {name}="{_escape(value)}"')
    out.append(">")
    if node.tag in _VOID:
        out.append("\n")
        return
    if node.tag in _CONTAINERS:
        out.append("\n")
    for child in node.children:
        if isinstance(child, str):
            out.append(_escape(child))
        elif isinstance(child, _Stylesheet):
            out.append(f"\n{child.css}\n")
        else:
            _render(child, out)
    out.append(f"</{node.tag}>")
    if node.tag not in _INLINE:
        out.append("\n")


# The page's only CSS: a constant, never mixed with record text.
_CSS = """
:root { color-scheme: light; }
body { margin: 0; color: #1b1b1b; background: #fff; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic",
  "Noto Sans CJK SC", sans-serif; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; }
header.page, main, footer { max-width: 50rem; margin: 0 auto; padding: 0 1rem; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 1.5rem 0 .5rem; }
h2 { font-size: 1.4rem; line-height: 1.3; margin: 2.5rem 0 .5rem;
  border-bottom: 2px solid #c9d1d9; padding-bottom: .25rem; }
h3 { font-size: 1.1rem; margin: 0 0 .25rem; }
a { color: #0b5394; }
a:focus, summary:focus { outline: 3px solid #0b5394; outline-offset: 2px; }
.status, .segment-meta, .language-note, .protected-note, .no-text { color: #3b3b3b; }
.language-note, .protected-note, .no-text { font-style: italic; }
.intervention, .contribution { border: 1px solid #c9d1d9; border-radius: .5rem; padding: 1rem;
  margin: 1rem 0; }
.contribution { border-inline-start: 6px solid #6a3d9a; background: #fbf9fe; }
.contribution.pledge { border-inline-start-color: #1b7837; background: #f7fcf7; }
.contribution.summation { border-inline-start-color: #8a5a00; background: #fffcf3; }
.codes { margin: 0; padding-inline-start: 1.1rem; }
.key-points { margin: .5rem 0 0; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .125rem 1rem;
  margin: .5rem 0; font-size: .95rem; }
.meta div { display: contents; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; }
.text { border-inline-start: 4px solid #0b5394; padding-inline-start: .75rem; }
.text[dir="rtl"] { font-size: 1.1em; }
details { margin-top: .5rem; }
summary { cursor: pointer; color: #0b5394; }
.correction { background: #fff6db; border-inline-start: 4px solid #8a5a00;
  padding: .5rem .75rem; margin-top: .75rem; }
del { background: #ffe3e3; }
ins { background: #ddf4dd; }
footer { margin-top: 3rem; padding-bottom: 2rem; font-size: .9rem; color: #3b3b3b; }
""".strip()


# --- the page ---------------------------------------------------------------------------


def _time(view: HearingView, value: str) -> _Node:
    return h("time", {"datetime": value}, view.clock(value))


def _text(lines: Sequence[str], language: str | None, cls: str = "text") -> _Node:
    """Paragraphs of recorded text: in its language's direction, or ``auto`` when unknown."""
    if language is None:
        return h("div", {"class": cls, "dir": "auto"}, [h("p", {"dir": "auto"}, x) for x in lines])
    return h(
        "div",
        {"class": cls, "lang": language, "dir": "rtl" if is_rtl(language) else None},
        [h("p", None, line) for line in lines],
    )


def _change(change: Change, language: str | None = None) -> _Node:
    if change.withheld:
        return h("li", None, f"{change.label} changed (details withheld to protect the speaker).")
    if change.long:
        lines = paragraphs(change.previous)
        return h(
            "li",
            None,
            f"{change.label} corrected.",
            h(
                "details",
                None,
                h("summary", None, f"{change.label} as it was before"),
                _text(lines, language, "previous"),
            ),
        )
    return h(
        "li",
        None,
        f"{change.label} changed from ",
        h("bdi", None, h("del", None, change.previous)),
        " to ",
        h("bdi", None, h("ins", None, change.new)),
        ".",
    )


def _correction_note(note: CorrectionNote, language: str | None) -> _Node:
    return h(
        "aside",
        {"class": "correction", "aria-label": "Correction"},
        h(
            "p",
            None,
            h("strong", None, "Corrected"),
            " on ",
            h("time", {"datetime": note.at}, long_date(note.at)),
            " (",
            h("a", {"href": f"#correction-{note.seq}"}, f"correction {note.seq}"),
            ").",
        ),
        h("ul", None, [_change(c, language if c.field == "text" else None) for c in note.changes]),
        h("p", None, "Reason: ", h("bdi", None, note.reason)),
    )


def _row(term: str, *value: Child) -> _Node | None:
    if not any(v for v in value):
        return None
    return h("div", None, h("dt", None, term), h("dd", None, *value))


def _protected_note(person: Person) -> _Node | None:
    """The line under a protected speaker's heading (a pseudonym is shown, not a name)."""
    if not person.protected:
        return None
    return h(
        "p",
        {"class": "protected-note"},
        "This speaker's identity is protected: they are shown by a pseudonym.",
    )


def _who(person: Person) -> tuple[_Node | None, _Node | None]:
    """The speaker's organization and stakeholder group, as rows of a ``meta`` list."""
    organization = h("bdi", None, person.organization) if person.organization else None
    return _row("Organization", organization), _row("Stakeholder group", person.group_label)


def _intervention(view: HearingView, i: Intervention, language: str | None) -> _Node:
    person = view.person(i.speaker)
    heading_id = f"intervention-{i.seq}-speaker"
    original = paragraphs(i.text)
    original_name = language_name(i.language)
    body: list[Child] = []
    translated = language is not None and language != i.language and language in i.translations
    if language is None or not translated:
        if language is not None and primary_subtag(language) != primary_subtag(i.language):
            body.append(
                h(
                    "p",
                    {"class": "language-note"},
                    f"No {language_name(language)} translation: shown in the original "
                    f"({original_name}).",
                )
            )
        if original:
            body.append(_text(original, i.language))
        else:
            body.append(h("p", {"class": "no-text"}, "No text was recorded for this intervention."))
        for lang, translation in i.translations.items():
            if lang == language:
                continue
            body.append(
                h(
                    "details",
                    {"class": "translation"},
                    h("summary", None, f"{language_name(lang)} translation"),
                    _text(paragraphs(translation), lang),
                )
            )
    else:
        body.append(
            h(
                "p",
                {"class": "language-note"},
                f"{language_name(language)} translation; the original is in {original_name}.",
            )
        )
        body.append(_text(paragraphs(i.translations[language]), language))
        body.append(
            h(
                "details",
                {"class": "original"},
                h("summary", None, f"Original ({original_name})"),
                _text(original, i.language)
                if original
                else h("p", {"class": "no-text"}, "No text was recorded in the original language."),
            )
        )
    return h(
        "article",
        {"class": "intervention", "id": f"intervention-{i.seq}", "aria-labelledby": heading_id},
        h("h3", {"id": heading_id}, h("bdi", None, person.name)),
        _protected_note(person),
        h(
            "dl",
            {"class": "meta"},
            *_who(person),
            _row("Role", ROLE_LABELS.get(i.role, i.role)),
            _row("Time", _time(view, i.at), " \u2013 ", _time(view, i.ended_at)),
            _row("Language", original_name),
        ),
        body,
        [_correction_note(note, i.language) for note in i.corrections],
    )


def _segment(view: HearingView, segment: Segment, language: str | None) -> _Node:
    heading_id = f"title-{segment.id}"  # a prefix no section id has
    facts: list[Child] = []
    if segment.opened_at:
        facts += ["Opened ", _time(view, segment.opened_at)]
    if segment.closed_at:
        facts += ["; closed " if facts else "Closed ", _time(view, segment.closed_at)]
    if segment.moderator:
        facts += [
            ". Moderator: " if facts else "Moderator: ",
            h("bdi", None, view.person(segment.moderator).name),
        ]
    if facts:
        facts.append(".")
    # Interventions, pledges, recommendations and summations in the order they were made.
    entries: list[tuple[int, _Node]] = [
        (i.seq, _intervention(view, i, language)) for i in view.interventions_in(segment.id)
    ]
    entries += [(c.seq, _contribution(view, c)) for c in view.contributions_in(segment.id)]
    return h(
        "section",
        {"class": "segment", "id": f"segment-{segment.id}", "aria-labelledby": heading_id},
        h("h2", {"id": heading_id, "dir": "auto"}, segment.title),
        h("p", {"class": "segment-meta"}, *facts) if facts else None,
        [node for _, node in sorted(entries, key=lambda e: e[0])]
        or h("p", {"class": "no-text"}, "No intervention was recorded in this segment."),
    )


_KIND_LABELS = {"pledge": "Pledge", "recommendation": "Recommendation", "summation": "Summation"}


def _numbered(numbers: Sequence[int], names: Mapping[int, str]) -> list[Child]:
    """``15 (Provide access to basic services for migrants); 16 (...)`` as list items."""
    return [h("li", None, f"{n}: {names[n]}" if n in names else str(n)) for n in numbers]


def _contribution(view: HearingView, c: Contribution) -> _Node:
    person = view.person(c.by)
    heading_id = f"{c.kind}-{c.seq}-title"
    what = _KIND_LABELS[c.kind]
    if c.kind == "summation" and c.summarises:
        heading: list[Child] = [
            f"{what} of ",
            h("bdi", None, view.segment_title(c.summarises)),
            " by ",
            h("bdi", None, person.name),
        ]
    else:
        heading = [f"{what} by ", h("bdi", None, person.name)]
    body: list[Child] = []
    if c.text is not None:
        body.append(_text(paragraphs(c.text), None))
    if c.key_points:
        body.append(
            h("ul", {"class": "key-points"}, [h("li", {"dir": "auto"}, p) for p in c.key_points])
        )
    return h(
        "article",
        {
            "class": f"contribution {c.kind}",
            "id": f"{c.kind}-{c.seq}",
            "aria-labelledby": heading_id,
        },
        h("h3", {"id": heading_id}, *heading),
        _protected_note(person),
        h(
            "dl",
            {"class": "meta"},
            *_who(person),
            _row("Time", _time(view, c.at)),
            _row("Level", c.level.capitalize() if c.level else None),
            _row(
                "Partners",
                [
                    [h("bdi", None, p), "; " if n < len(c.partners) - 1 else None]
                    for n, p in enumerate(c.partners)
                ]
                if c.partners
                else None,
            ),
            _row(
                "GCM objectives",
                h("ul", {"class": "codes"}, _numbered(c.gcm_objectives, GCM_OBJECTIVES))
                if c.gcm_objectives
                else None,
            ),
            _row(
                "SG report areas",
                h("ul", {"class": "codes"}, _numbered(c.sg_report_areas, SG_REPORT_AREAS))
                if c.sg_report_areas
                else None,
            ),
        ),
        body,
        [_correction_note(note, None) for note in c.corrections],
    )


def _sections(view: HearingView) -> list[Segment]:
    """The opened segments, and any other a pledge, recommendation or summation was made in."""
    shown = list(view.segments)
    ids = {s.id for s in shown}
    for c in view.contributions:
        if c.segment is not None and c.segment not in ids:
            ids.add(c.segment)
            found = view.segment(c.segment)
            shown.append(
                found or Segment(c.segment, "session", c.segment, None, None, None, None, None)
            )
    return shown


def _loose(view: HearingView) -> _Node | None:
    """Pledges, recommendations and summations not made in any segment."""
    loose = view.contributions_in(None)
    if not loose:
        return None
    return h(
        "section",
        {"class": "segment", "id": "not-in-a-segment", "aria-labelledby": "title-not-in-a-segment"},
        h("h2", {"id": "title-not-in-a-segment"}, "Not tied to a segment"),
        [_contribution(view, c) for c in loose],
    )


def _corrections(view: HearingView) -> _Node | None:
    if not view.corrections:
        return None
    return h(
        "section",
        {"class": "corrections", "id": "corrections", "aria-labelledby": "corrections-title"},
        h("h2", {"id": "corrections-title"}, "Corrections"),
        h(
            "p",
            None,
            "Nothing in the record is edited: each correction names an earlier record, "
            "its new values and why. This page shows the record with them applied.",
        ),
        h(
            "ol",
            None,
            [
                h(
                    "li",
                    {"id": f"correction-{c.seq}"},
                    h(
                        "p",
                        None,
                        h("strong", None, h("bdi", None, c.target)),
                        f" (record {c.corrects}), corrected on ",
                        h("time", {"datetime": c.at}, long_date(c.at)),
                        f" (record {c.seq}):",
                    ),
                    h("ul", None, [_change(change) for change in c.changes]),
                    h("p", None, "Reason: ", h("bdi", None, c.reason)),
                )
                for c in view.corrections
            ],
        ),
    )


def _header(view: HearingView, language: str | None, audit_href: str | None = None) -> _Node:
    if view.corrected:
        status = (
            f"The record as corrected: {len(view.corrections)} correction"
            f"{'' if len(view.corrections) == 1 else 's'} applied (listed at the end)."
            if view.corrections
            else "The record as made; no correction has been issued."
        )
    else:
        status = "The record as originally made, without later corrections."
    if view.closed_at is None:
        status += " The hearing has not closed: the record is still open."
    shown = (
        "Interventions are shown in the language they were delivered in; translations "
        "follow where the record has them."
        if language is None
        else f"Interventions are shown in {language_name(language)} where the record has a "
        "translation, and otherwise in the language they were delivered in (marked)."
    )
    return h(
        "header",
        {"class": "page"},
        h("h1", {"dir": "auto"}, view.title),
        h(
            "p",
            None,
            h("bdi", None, view.venue),
            " \u00b7 ",
            h("time", {"datetime": view.date}, long_date(view.date)),
        ),
        h(
            "p",
            None,
            "Languages of the hearing: ",
            ", ".join(language_name(lang) for lang in view.languages),
            ".",
        ),
        h("p", {"class": "status"}, status),
        h("p", {"class": "status"}, shown),
        h(
            "nav",
            {"aria-label": "Segments"},
            h(
                "ol",
                None,
                [
                    h("li", None, h("a", {"href": f"#segment-{s.id}", "dir": "auto"}, s.title))
                    for s in _sections(view)
                ],
                h("li", None, h("a", {"href": "#not-in-a-segment"}, "Not tied to a segment"))
                if view.contributions_in(None)
                else None,
                h("li", None, h("a", {"href": "#corrections"}, "Corrections"))
                if view.corrections
                else None,
                h("li", None, h("a", {"href": audit_href}, "Stakeholder-balance audit"))
                if audit_href
                else None,
            ),
        ),
    )


def to_html(
    records: Iterable[Mapping[str, Any]],
    *,
    uncorrected: bool = False,
    language: str | None = None,
    audit_href: str | None = None,
) -> str:
    """The hearing's record as one standalone HTML5 page (no script, inline CSS).

    ``audit_href``: where the hearing's audit page is, relative to this one (``hearing
    publish`` writes the two side by side), to link it from the page's contents.
    """
    if language is not None:
        check_language_tag(language)
    view = read_hearing(records, uncorrected=uncorrected)
    return document(
        title=f"{view.title} \u2013 record of the hearing",
        generator="hearing_core",
        css=_CSS,
        body=[
            h("a", {"class": "skip", "href": "#main"}, "Skip to the record"),
            _header(view, language, audit_href),
            h(
                "main",
                {"id": "main"},
                [_segment(view, s, language) for s in _sections(view)]
                or h("p", None, "No segment has been opened yet."),
                _loose(view),
                _corrections(view),
            ),
            h(
                "footer",
                None,
                h(
                    "p",
                    None,
                    f"Record of the hearing \u201c{view.slug}\u201d, exported by hearing_core. "
                    "Protected participants are shown by pseudonym.",
                ),
            ),
        ],
    )


def document(*, title: str, generator: str, css: str, body: Sequence[Child]) -> str:
    """A standalone HTML5 page with the head every hearing_core page shares, then ``body``.

    ``css`` must be a module constant, never text from a record: it is not escaped.
    """
    page = h(
        "html",
        {"lang": "en", "dir": "ltr"},
        h(
            "head",
            None,
            h("meta", {"charset": "utf-8"}),
            h("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            h("meta", {"name": "generator", "content": generator}),
            h("title", None, title),
            h("style", None, _Stylesheet(css)),
        ),
        h("body", None, *body),
    )
    return serialize(page)


def serialize(page: _Node) -> str:
    """A whole ``<html>`` tree as a document, every text and attribute value escaped."""
    out = ["<!DOCTYPE html>\n"]
    _render(page, out)
    return "".join(out)


@hookimpl
def register_exporters(register: Callable[[Exporter], None]) -> None:
    register(
        text_exporter(
            "html",
            "a standalone, accessible transcript page (HTML5, no script)",
            lambda records, request: to_html(
                records, uncorrected=request.uncorrected, language=request.language
            ),
            languages=True,
        )
    )
