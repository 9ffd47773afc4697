"""Rendering a :class:`~hearing_summary.model.Summary` as Markdown or JSON.

Markdown: every piece of recorded text goes through :func:`_md` (controls
stripped, whitespace folded onto one line, Markdown escaped), so no text
can open a heading, a list, a link or HTML.  JSON: recorded text has its
controls stripped; keys come in a fixed order and output is indented, so
the same summary always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hearing_core import escape_markdown, strip_controls
from hearing_summary.model import Correction, Item, Maker, Segment, Summary, Summation

DIGEST_DEFINITION = (
    "Every recommendation, grouped by the area of the Secretary-General's report (A/76/642) "
    "it addresses, in the order it was made (a recommendation that addresses several areas "
    "appears under each; one that addresses none is listed after the areas), followed by "
    "the key points of the moderators' summations in the order they were delivered."
)

#: Section -> the groupings it shows (``all`` shows every one).
SECTION_PARTS: Mapping[str, tuple[str, ...]] = {
    "digest": ("digest",),
    "by-session": ("by_session",),
    "by-objective": ("by_objective",),
    "by-area": ("by_area",),
    "by-group": ("by_group",),
    "pledges": ("pledges_by_level", "pledges_with_partners"),
    "summations": ("summations",),
}


def _parts(section: str) -> list[str]:
    if section == "all":
        return [p for parts in SECTION_PARTS.values() for p in parts]
    return list(SECTION_PARTS[section])


# --- Markdown ------------------------------------------------------------------------


def _md(text: str) -> str:
    """Recorded text made inert for Markdown, on one line."""
    return escape_markdown(" ".join(strip_controls(str(text)).split()))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _maker_md(m: Maker) -> str:
    who = _md(m.name)
    if m.organization:
        who += ", " + _md(m.organization)
    return who + (" (official)" if m.official else f" ({_md(m.group_label or '')})")


def _numbers(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in values)


def _label(word: str, numbers: Sequence[int]) -> str:
    return f"{word}{'' if len(numbers) == 1 else 's'} {_numbers(numbers)}"


def _value_md(value: Any) -> str:
    return _md(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _changes_md(c: Correction) -> str:
    if c.changes is None or c.previous is None:
        return "details withheld (protected participant)"
    return "; ".join(
        f"{_md(k)} {_value_md(c.previous.get(k))} → {_value_md(v)}"
        for k, v in sorted(c.changes.items())
    )


def _reason_md(c: Correction) -> str:
    return "" if c.reason is None else f" Reason: {_md(c.reason)}"


def _item_lines(item: Item, indent: str = "  ", bullet: str = "-") -> list[str]:
    details = []
    if item.kind == "recommendation":
        details.append(
            f"{_label('SG-report area', item.areas)}." if item.areas else "No SG-report area."
        )
    else:
        details.append(f"Level: {_md(item.level or '')}.")
    if item.objectives:
        details.append(f"{_label('GCM objective', item.objectives)}.")
    if item.partners:
        details.append("Partners: " + "; ".join(_md(p) for p in item.partners) + ".")
    lines = [
        f"{bullet} {_md(item.text)} (seq {item.seq})",
        f"{indent}{_maker_md(item.maker)}. {' '.join(details)}",
    ]
    for c in item.corrections:
        lines.append(f"{indent}*Corrected by seq {c.seq}: {_changes_md(c)}.{_reason_md(c)}*")
    return lines


def _items_md(items: Sequence[Item], heading: str | None = None) -> list[str]:
    out: list[str] = []
    if heading is not None:
        out += [f"**{heading} ({len(items)})**", ""]
    for item in items:
        out += _item_lines(item)
    if items:
        out.append("")
    return out


def _recs_and_pledges_md(recs: Sequence[Item], pledges: Sequence[Item]) -> list[str]:
    if not recs and not pledges:
        return ["No recommendations or pledges.", ""]
    out: list[str] = []
    if recs:
        out += _items_md(recs, "Recommendations")
    if pledges:
        out += _items_md(pledges, "Pledges")
    return out


def _digest_md(s: Summary) -> list[str]:
    out = [
        "## Digest: key recommendations for the opening plenary",
        "",
        f"*How this digest is made.* {DIGEST_DEFINITION}",
        "",
    ]
    for area, title, items in s.by_area():
        out += [f"### Area {area}: {_md(title)}" if area else f"### {_md(title)}", ""]
        if not items:
            out += ["No recommendations.", ""]
        for n, item in enumerate(items, 1):
            out += _item_lines(item, indent=" " * (len(str(n)) + 2), bullet=f"{n}.")
        if items:
            out.append("")
    out += ["### Moderators' key points", ""]
    if not s.summations:
        out += ["No summations.", ""]
    for sm in s.summations:
        out += [
            f"**{_md(s.segment_title(sm.summarises))}**, summed up by {_maker_md(sm.maker)}:",
            "",
        ]
        out += [f"- {_md(p)}" for p in sm.key_points] + [""]
    return out


def _session_md(s: Summary) -> list[str]:
    out = ["## By session", ""]
    for segment, recs, pledges in s.by_session():
        out += [f"### {_md(segment.title)}", ""]
        out += _moderation_md(s, segment)
        out += _recs_and_pledges_md(recs, pledges)
    return out


def _moderation_md(s: Summary, segment: Segment) -> list[str]:
    lines = []
    if segment.moderator is not None:
        lines.append(f"Moderator: {_maker_md(segment.moderator)}.")
    for sm in s.summarised_by(segment.id):
        lines.append(f"Summed up by {_maker_md(sm.maker)} (seq {sm.seq}).")
    return [" ".join(lines), ""] if lines else []


def _objective_md(s: Summary) -> list[str]:
    out = ["## By GCM objective", ""]
    empty = []
    for n, title, recs, pledges in s.by_objective():
        if not recs and not pledges:
            empty.append(f"{n} {_md(title)}")
            continue
        out += [f"### Objective {n}: {_md(title)}", ""]
        out += _recs_and_pledges_md(recs, pledges)
    if empty:
        out += ["Objectives with no recommendation or pledge: " + "; ".join(empty) + ".", ""]
    return out


def _area_md(s: Summary) -> list[str]:
    out = ["## By SG-report area", ""]
    for area, title, items in s.by_area():
        out += [f"### Area {area}: {_md(title)}" if area else f"### {_md(title)}", ""]
        out += _items_md(items) if items else ["No recommendations.", ""]
    return out


def _group_md(s: Summary) -> list[str]:
    out = ["## By stakeholder group", ""]
    empty = []
    for group, recs, pledges in s.by_group():
        if not recs and not pledges:
            empty.append(_md(group.label))
            continue
        out += [f"### {_md(group.label)}", ""]
        out += _recs_and_pledges_md(recs, pledges)
    if empty:
        out += ["No recommendations or pledges from: " + "; ".join(empty) + ".", ""]
    return out


def _pledges_md(s: Summary, parts: Sequence[str]) -> list[str]:
    out = ["## Pledges", ""]
    if "pledges_by_level" in parts:
        for level, items in s.pledges_by_level():
            out += [f"### {_md(level.capitalize())} ({len(items)})", ""]
            out += _items_md(items) if items else ["No pledges at this level.", ""]
    if "pledges_with_partners" in parts:
        items = s.pledges_with_partners()
        out += [f"### With partners ({len(items)})", ""]
        out += _items_md(items) if items else ["No pledge names a partner.", ""]
    return out


def _summation_md(s: Summary, sm: Summation) -> list[str]:
    out = [
        f"### Summation of {_md(s.segment_title(sm.summarises))} (seq {sm.seq})",
        "",
        f"By {_maker_md(sm.maker)}, in {_md(s.segment_title(sm.segment))}.",
        "",
    ]
    out += [f"- {_md(p)}" for p in sm.key_points] + [""]
    for c in sm.corrections:
        out += [f"*Corrected by seq {c.seq}: {_changes_md(c)}.{_reason_md(c)}*", ""]
    return out


def _corrections_md(s: Summary) -> list[str]:
    out = ["## Corrections applied", ""]
    if not s.corrections:
        return [*out, "No correction bears on this summary.", ""]
    out += [
        "This summary shows the record as corrected (`--uncorrected` shows it as first "
        "recorded). Corrections of what it shows:",
        "",
    ]
    for c in s.corrections:
        if c.target == "participant":
            what = f"the registration of {_md(c.subject or 'a participant')} (seq {c.corrects})"
        elif c.target == "hearing":
            what = f"the hearing's schedule (seq {c.corrects})"
        elif c.target == "segment":
            what = f"the opening of a segment (seq {c.corrects})"
        else:
            what = f"{c.target} seq {c.corrects}"
        out.append(f"- Seq {c.seq} corrected {what}: {_changes_md(c)}.{_reason_md(c)}")
    return [*out, ""]


def _headline_md(s: Summary) -> list[str]:
    title = _md(s.title) if s.title else _md(s.hearing)
    levels = ", ".join(f"{_md(level)} {len(items)}" for level, items in s.pledges_by_level())
    return [
        "# Summary of recommendations and pledges",
        "",
        f"**{title}**" + (f", {_md(s.date)}" if s.date else "") + f" (hearing {_md(s.hearing)})",
        "",
        f"{_plural(len(s.recommendations), 'recommendation')} and "
        f"{_plural(len(s.pledges), 'pledge')} from {_plural(s.makers, 'participant')}; "
        f"{_plural(len(s.summations), 'moderator summation')}. Pledges by level: {levels}.",
        "",
    ]


def render_markdown(s: Summary, section: str) -> str:
    parts = _parts(section)
    out = _headline_md(s)
    if "digest" in parts:
        out += _digest_md(s)
    if "by_session" in parts:
        out += _session_md(s)
    if "by_objective" in parts:
        out += _objective_md(s)
    if "by_area" in parts:
        out += _area_md(s)
    if "by_group" in parts:
        out += _group_md(s)
    if "pledges_by_level" in parts or "pledges_with_partners" in parts:
        out += _pledges_md(s, parts)
    if "summations" in parts:
        out += ["## Moderators' summations", ""]
        if not s.summations:
            out += ["No summations.", ""]
        for sm in s.summations:
            out += _summation_md(s, sm)
    out += _corrections_md(s)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


# --- JSON ----------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """Recorded values with controls stripped from every string."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _maker_json(m: Maker | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "participant": m.participant,
        "name": m.name,
        "organization": m.organization,
        "protected": m.protected,
        "stakeholder_group": m.group,
        "group_label": m.group_label,
    }


def _item_json(s: Summary, i: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": i.seq,
        "at": i.at,
        "maker": _maker_json(i.maker),
        "text": i.text,
        "segment": i.segment,
        "segment_title": s.segment_title(i.segment),
        "gcm_objectives": list(i.objectives),
    }
    if i.kind == "recommendation":
        out["sg_report_areas"] = list(i.areas)
    else:
        out["level"] = i.level
        out["partners"] = list(i.partners)
    out["corrected_by"] = [c.seq for c in i.corrections]
    return out


def _seqs(items: Iterable[Item | Summation]) -> list[int]:
    return [i.seq for i in items]


def _json_parts(s: Summary, parts: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "digest" in parts:
        out["digest"] = {
            "definition": DIGEST_DEFINITION,
            "areas": [
                {"area": a, "title": t, "recommendations": _seqs(items)}
                for a, t, items in s.by_area()
                if a is not None
            ],
            "without_area": _seqs(i for i in s.recommendations if not i.areas),
            "key_points": [
                {
                    "summation": sm.seq,
                    "summarises": sm.summarises,
                    "summarises_title": s.segment_title(sm.summarises),
                    "by": sm.maker.name,
                    "points": list(sm.key_points),
                }
                for sm in s.summations
            ],
        }
    if "by_session" in parts:
        out["by_session"] = [
            {
                "segment": seg.id,
                "title": seg.title,
                "kind": seg.kind,
                "moderator": _maker_json(seg.moderator),
                "recommendations": _seqs(recs),
                "pledges": _seqs(pledges),
                "summarised_by": _seqs(s.summarised_by(seg.id)),
            }
            for seg, recs, pledges in s.by_session()
        ]
    if "by_objective" in parts:
        out["by_objective"] = [
            {"objective": n, "title": t, "recommendations": _seqs(r), "pledges": _seqs(p)}
            for n, t, r, p in s.by_objective()
        ]
    if "by_area" in parts:
        out["by_area"] = [
            {"area": a, "title": t, "recommendations": _seqs(items)} for a, t, items in s.by_area()
        ]
    if "by_group" in parts:
        out["by_group"] = [
            {
                "group": g.id,
                "label": g.label,
                "officials": g.id is None,
                "recommendations": _seqs(r),
                "pledges": _seqs(p),
            }
            for g, r, p in s.by_group()
        ]
    if "pledges_by_level" in parts:
        out["pledges_by_level"] = [
            {"level": level, "pledges": _seqs(items)} for level, items in s.pledges_by_level()
        ]
    if "pledges_with_partners" in parts:
        out["pledges_with_partners"] = _seqs(s.pledges_with_partners())
    return out


def render_json(s: Summary, section: str) -> str:
    parts = _parts(section)
    doc: dict[str, Any] = {
        "hearing": {"slug": s.hearing, "title": s.title, "date": s.date},
        "section": section,
        "counts": {
            "recommendations": len(s.recommendations),
            "pledges": len(s.pledges),
            "summations": len(s.summations),
            "makers": s.makers,
            "pledges_by_level": {level: len(items) for level, items in s.pledges_by_level()},
            "pledges_with_partners": len(s.pledges_with_partners()),
        },
        "recommendations": [_item_json(s, i) for i in s.recommendations],
        "pledges": [_item_json(s, i) for i in s.pledges],
        "summations": [
            {
                "seq": sm.seq,
                "at": sm.at,
                "maker": _maker_json(sm.maker),
                "segment": sm.segment,
                "segment_title": s.segment_title(sm.segment),
                "summarises": sm.summarises,
                "summarises_title": s.segment_title(sm.summarises),
                "key_points": list(sm.key_points),
                "corrected_by": [c.seq for c in sm.corrections],
            }
            for sm in s.summations
        ],
        **_json_parts(s, parts),
        "corrections": [
            {
                "seq": c.seq,
                "at": c.at,
                "corrects": c.corrects,
                "target": c.target,
                "subject": c.subject,
                "withheld": c.withheld,
                "changes": c.changes,
                "previous": c.previous,
                "reason": c.reason,
            }
            for c in s.corrections
        ],
    }
    return json.dumps(_clean(doc), ensure_ascii=False, indent=2) + "\n"
