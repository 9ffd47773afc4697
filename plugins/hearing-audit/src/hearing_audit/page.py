"""The audit as one standalone HTML page with charts: ``hearing audit HEARING --format html``.

Built from exactly the dict ``--format json`` prints (:func:`hearing_audit.model.compute_audit`),
so the page and the JSON never disagree.  Each chart is drawn by matplotlib's SVG backend and
put in the page as an ``<img>`` with a ``data:`` URI: a browser shows it with no network and no
script, and SVG inside an ``<img>`` can neither run script nor fetch anything, whatever text a
label holds.  Text stays text in the SVG (``svg.fonttype = none``), so the browser shapes and
orders right-to-left labels itself.  The bytes are deterministic: a fixed ``svg.hashsalt``, no
date in the metadata, and nothing taken from the clock.

Every chart has a title, a text alternative and the table of its numbers beside it; the page
is built with :mod:`hearing_core.exports.html`'s tree, which escapes every text and attribute.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hearing_core.exports.html import Child, document, h

#: Colours (Okabe-Ito, distinguishable with every common colour-vision deficiency).
BLUE, ORANGE, GREEN, GREY, VERMILION = "#0072B2", "#E69F00", "#009E73", "#999999", "#D55E00"
INK = "#1b1b1b"

#: How a pledge's status is shown (the pledges plugin's own words).
PLEDGE_STATUS_LABELS = {
    "made": "no report yet",
    "planned": "planned",
    "in_progress": "in progress",
    "fulfilled": "fulfilled",
    "withdrawn": "withdrawn",
}

_LABEL_WIDTH = 38  # characters of a label shown on a chart axis; the table has it whole


@dataclass(frozen=True)
class PledgeRow:
    """One pledge as the page shows it (the maker by pseudonym when protected)."""

    seq: int
    by: str
    group: str | None
    status: str


@dataclass(frozen=True)
class Links:
    """Pages the audit page links to, relative to it (None: not published beside it)."""

    transcript: str | None = None
    archive: str | None = None


def pledge_rows(db: Any, hearing: str) -> list[PledgeRow] | None:
    """The hearing's pledges and their status, from the pledges plugin's read model.

    The audit does not follow pledges itself; the pledges plugin (shipped beside it) does, and
    its own loader reads its tables.  None when that plugin is not installed or has no tables.
    """
    try:
        from hearing_pledges.model import load
    except ImportError:
        return None
    if not db["pledges_pledges"].exists():
        return None
    view = load(db, hearing, None)
    return [
        PledgeRow(p.seq, p.maker.name, p.maker.group_label, p.status)
        for section in view.hearings
        for p in section.pledges
    ]


# --- figures ------------------------------------------------------------------------------


def minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def clock_minutes(seconds: float | None) -> str:
    """``420`` -> ``7:00``, ``12300`` -> ``3:25:00`` (as the audit's table), None -> a dash."""
    if seconds is None:
        return "\u2013"
    sign = "-" if seconds < 0 else ""
    whole = int(abs(round(seconds)))
    hours, rest = divmod(whole, 3600)
    if hours:
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{sign}{rest // 60}:{rest % 60:02d}"


def percent(share: float | None) -> str:
    return "\u2013" if share is None else f"{share * 100:.1f}%"


def short(label: str) -> str:
    """A label cut to fit a chart's axis (the full one is in the table beside it)."""
    text = " ".join(label.split())
    return text if len(text) <= _LABEL_WIDTH else text[: _LABEL_WIDTH - 1].rstrip() + "\u2026"


def local_clock(value: str | None) -> str:
    """``2022-05-16T10:30:00-04:00`` -> ``10:30`` (the clock of the offset it was recorded in)."""
    if not value:
        return "\u2013"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%H:%M" if moment.second == 0 else "%H:%M:%S")


def _day_minutes(value: str | None) -> float | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.hour * 60 + moment.minute + moment.second / 60


# --- charts (matplotlib, SVG) -------------------------------------------------------------

_RC: dict[str, Any] = {
    "svg.hashsalt": "hearing-audit",  # ids in the SVG from a fixed salt, not random
    "svg.fonttype": "none",  # text stays text: the browser shapes and orders it
    "font.family": ["sans-serif"],
    "font.size": 10.0,
    "axes.edgecolor": "#5a5a5a",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Any) -> str:
    """The figure as an SVG ``data:`` URI, byte-for-byte the same on every run."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        # Layout measures text with matplotlib's own font; a glyph it lacks (Arabic, say) is
        # still drawn by the browser, which renders the text itself.
        warnings.simplefilter("ignore")
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _charting() -> Any:
    import matplotlib

    settings: Any = _RC  # matplotlib types its keys as a Literal of every rcParam
    return matplotlib.rc_context(settings)


def _hbar(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    xlabel: str,
    *,
    zero_note: str | None = None,
    reference: tuple[float, str] | None = None,
) -> str:
    """Horizontal bars, one row per label (top to bottom); several series side by side."""
    n = max(len(labels), 1)
    with _charting():
        fig = _figure(7.2, 0.9 + 0.34 * n * max(1, len(series) * 0.7))
        ax = fig.add_subplot()
        rows = list(range(n))[::-1]
        height = 0.8 / max(len(series), 1)
        for k, (name, values, colour) in enumerate(series):
            offsets = [r + 0.4 - height * (k + 0.5) for r in rows]
            bars = ax.barh(offsets, values, height=height * 0.92, color=colour, label=name)
            ax.bar_label(bars, fmt="%g", padding=3, fontsize=8, color=INK)
        if zero_note is not None:
            for r, label_values in zip(
                rows, zip(*(s[1] for s in series), strict=True), strict=True
            ):
                if not any(label_values):
                    ax.annotate(
                        zero_note,
                        (0, r),
                        xytext=(22, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=8,
                        fontweight="bold",
                        color=VERMILION,
                    )
        if reference is not None:
            ax.axvline(reference[0], color=INK, linestyle="--", linewidth=1, label=reference[1])
        ax.set_yticks(rows, [short(label) for label in labels])
        ax.set_xlabel(xlabel)
        ax.margins(x=0.18)
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        if len(series) > 1 or reference is not None:
            ax.legend(loc="lower right", frameon=False, fontsize=8)
        return _svg(fig)


def _matrix(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]]) -> str:
    """A heat map of minutes: segments down, groups across; a zero cell is left white."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap

    data = np.array(values, dtype=float) if rows and columns else np.zeros((1, 1))
    with _charting():
        fig = _figure(11.0, 2.4 + 0.4 * max(len(rows), 1))
        ax = fig.add_subplot()
        scale = LinearSegmentedColormap.from_list("minutes", ["#ffffff", "#9ecae1", BLUE])
        ax.imshow(data, cmap=scale, aspect="auto", vmin=0, vmax=max(float(data.max()), 1.0))
        top = float(data.max()) or 1.0
        for (i, j), value in np.ndenumerate(data):
            shown = "0" if value == 0 else f"{value:g}"
            colour = "#ffffff" if value > top * 0.6 else (VERMILION if value == 0 else INK)
            ax.text(j, i, shown, ha="center", va="center", fontsize=7.5, color=colour)
        ax.set_xticks(range(len(columns)), [short(c) for c in columns], rotation=40, ha="right")
        ax.set_yticks(range(len(rows)), [short(r) for r in rows])
        ax.tick_params(length=0)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xticks([x - 0.5 for x in range(1, len(columns))], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, len(rows))], minor=True)
        ax.grid(which="minor", color="#d0d0d0", linewidth=0.6)
        ax.tick_params(which="minor", length=0)
        return _svg(fig)


def _timeline(rows: Sequence[Mapping[str, Any]]) -> str:
    """Planned and actual span of each segment on the day's clock."""
    with _charting():
        fig = _figure(11.0, 1.0 + 0.5 * max(len(rows), 1))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        ticks: set[float] = set()
        for y, row in zip(ys, rows, strict=True):
            spans = (
                ("planned", row.get("planned_start"), row.get("planned_end"), GREY, 0.18),
                ("actual", row.get("actual_start"), row.get("actual_end"), BLUE, -0.18),
            )
            for label, start, end, colour, shift in spans:
                a, b = _day_minutes(start), _day_minutes(end)
                if a is None:
                    continue
                if b is None:  # open: shown as a mark where it started
                    ax.plot([a], [y + shift], marker="|", markersize=12, color=colour)
                    continue
                ax.barh(y + shift, b - a, left=a, height=0.34, color=colour, label=label)
                ticks.update({a, b})
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        if unique:
            ax.legend(unique.values(), unique.keys(), loc="upper right", frameon=False, fontsize=8)
        ax.set_yticks(ys, [short(str(r["title"])) for r in rows])
        if ticks:
            low, high = min(ticks), max(ticks)
            step = 60 if high - low > 240 else 30
            first = int(low // step * step)
            marks = list(range(first, int(high) + step, step))
            ax.set_xticks(marks, [f"{m // 60:02d}:{m % 60:02d}" for m in marks])
            ax.set_xlim(first - 5, marks[-1] + 5)
        ax.set_xlabel("time of day (as recorded)")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg(fig)


# --- the page -----------------------------------------------------------------------------


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[Child]]) -> Any:
    return h(
        "table",
        None,
        h("caption", None, caption),
        h("thead", None, h("tr", None, [h("th", {"scope": "col"}, c) for c in head])),
        h(
            "tbody",
            None,
            [
                h(
                    "tr",
                    None,
                    h("th", {"scope": "row"}, h("bdi", None, row[0])),
                    [h("td", None, cell) for cell in row[1:]],
                )
                for row in rows
            ],
        ),
    )


def _figure_section(
    ident: str,
    title: str,
    intro: str | None,
    chart: str | None,
    alt: str,
    table: Any,
    *,
    stacked: bool = False,
) -> Any:
    """A chart with its title, text alternative and table: side by side, or table below."""
    return h(
        "section",
        {"class": "chart", "id": ident, "aria-labelledby": f"{ident}-title"},
        h("h2", {"id": f"{ident}-title"}, title),
        h("p", {"class": "intro"}, intro) if intro else None,
        h(
            "div",
            {"class": "pair stacked" if stacked else "pair"},
            h(
                "figure",
                None,
                h("img", {"src": chart, "alt": alt, "class": "plot"})
                if chart
                else h("p", {"class": "none"}, "Nothing to draw yet."),
                h("figcaption", None, title),
            ),
            h("div", {"class": "numbers"}, table),
        ),
    )


def _groups(audit: Mapping[str, Any]) -> Any:
    groups = list(audit["groups"])
    totals = audit["totals"]
    k = audit["taxonomy_size"] or 1
    equal = minutes(totals["stakeholder_seconds"] / k)
    absent = [g["label"] for g in groups if g["absent"]]
    chart = (
        _hbar(
            [g["label"] for g in groups],
            [
                ("minutes", [minutes(g["seconds"]) for g in groups], BLUE),
                ("turns", [float(g["turns"]) for g in groups], ORANGE),
            ],
            "minutes of speaking time · number of turns",
            zero_note="not heard",
            reference=(equal, f"equal share ({equal:g} min)"),
        )
        if groups
        else None
    )
    longest = max(groups, key=lambda g: g["seconds"], default=None)
    alt = (
        f"Bar chart of speaking time (minutes) and turns for each of the {len(groups)} "
        "stakeholder groups. "
        + (
            f"Longest: {longest['label']}, {minutes(longest['seconds']):g} minutes. "
            if longest
            else ""
        )
        + (f"Not heard: {'; '.join(absent)}." if absent else "Every group was heard.")
    )
    rows = [
        [
            g["label"],
            str(g["turns"]),
            clock_minutes(g["seconds"]),
            percent(g["time_share"]),
            "\u2013" if g["representation_ratio"] is None else f"{g['representation_ratio']:.2f}",
            h("span", {"class": f"tag {g['representation']}"}, g["representation"]),
        ]
        for g in groups
    ]
    return _figure_section(
        "groups",
        "Speaking time and turns per stakeholder group",
        f"Every group of the hearing's taxonomy, in its order; a group that never spoke shows "
        f"zero. The dashed line is an equal share of stakeholder time (1/{k}). Officials are "
        "not counted here (see below).",
        chart,
        alt,
        _table(
            "Speaking time per stakeholder group (minutes:seconds)",
            ["Stakeholder group", "Turns", "Time", "Share of time", "Ratio", "Representation"],
            rows,
        ),
    )


def _coverage(audit: Mapping[str, Any]) -> Any:
    segments = list(audit["coverage"])
    groups = list(audit["groups"])
    labels = [g["label"] for g in groups]
    values = [
        [minutes(s["groups"].get(g["group"], {}).get("seconds", 0)) for g in groups]
        for s in segments
    ]
    chart = _matrix([s["title"] for s in segments], labels, values) if segments else None
    empty = sum(1 for row in values for v in row if v == 0)
    alt = (
        f"Heat map of minutes of speaking time, {len(segments)} segments by {len(groups)} "
        f"stakeholder groups; {empty} of {len(segments) * len(groups)} cells are zero. "
        + " ".join(
            f"{s['title']}: {s['groups_heard']} of {len(groups)} groups heard." for s in segments
        )
    )
    rows: list[list[Child]] = [
        [s["title"], *[f"{v:g}" for v in row], f"{s['groups_heard']}/{len(groups)}"]
        for s, row in zip(segments, values, strict=True)
    ]
    return _figure_section(
        "coverage",
        "Coverage: minutes per segment and stakeholder group",
        "Which groups were heard in which segment. A zero cell is a group not heard there.",
        chart,
        alt,
        _table(
            "Minutes of speaking time per segment and group",
            ["Segment", *labels, "Groups heard"],
            rows,
        ),
        stacked=True,
    )


def _regions(audit: Mapping[str, Any]) -> Any:
    regions = audit["regions"]
    rows_in = list(regions.get("rows", []))
    missing = regions.get("no_region")
    entries = [(r["label"], r) for r in rows_in]
    if isinstance(missing, Mapping) and missing.get("turns"):
        entries.append(("No region given", missing))
    chart = (
        _hbar(
            [label for label, _ in entries],
            [("minutes", [minutes(r["seconds"]) for _, r in entries], GREEN)],
            "minutes of speaking time",
        )
        if entries
        else None
    )
    alt = "Bar chart of speaking time per region: " + "; ".join(
        f"{label} {minutes(r['seconds']):g} minutes" for label, r in entries
    )
    rows = [
        [label, str(r.get("speakers", "")), str(r["turns"]), clock_minutes(r["seconds"])]
        for label, r in entries
    ]
    return _figure_section(
        "regions",
        "Regional balance",
        "Speaking time per region of the speakers (stakeholders and officials).",
        chart,
        alt + ".",
        _table("Speaking time per region", ["Region", "Speakers", "Turns", "Time"], rows),
    )


def _officials(audit: Mapping[str, Any]) -> Any:
    totals = audit["totals"]
    parts = [
        ("Stakeholder groups", totals["stakeholder_seconds"], totals["stakeholder_turns"]),
        ("Officials", totals["official_seconds"], totals["official_turns"]),
        (
            "Outside the taxonomy",
            totals["outside_taxonomy_seconds"],
            totals["outside_taxonomy_turns"],
        ),
    ]
    chart = _hbar(
        [p[0] for p in parts],
        [("minutes", [minutes(p[1]) for p in parts], GREY)],
        "minutes of speaking time",
    )
    alt = "Bar chart of speaking time: " + "; ".join(
        f"{name} {minutes(seconds):g} minutes in {turns} turns" for name, seconds, turns in parts
    )
    speakers = audit["officials"].get("speakers", [])
    rows: list[list[Child]] = [[p[0], str(p[2]), clock_minutes(p[1])] for p in parts]
    table = _table("Speaking time of officials and stakeholders", ["Who", "Turns", "Time"], rows)
    detail = _table(
        "Officials who spoke (not counted in the groups' shares)",
        ["Official", "Organization", "Turns", "Time"],
        [
            [
                s["name"],
                h("bdi", None, s.get("organization") or ""),
                str(s["turns"]),
                clock_minutes(s["seconds"]),
            ]
            for s in speakers
        ],
    )
    section = _figure_section(
        "officials",
        "Officials apart",
        "Presiding officers, the UN system and Member States speak, but are not a stakeholder "
        "group: their time is shown here and left out of the groups' shares.",
        chart,
        alt + ".",
        table,
    )
    return [section, h("div", {"class": "wide"}, detail) if speakers else None]


def _programme(audit: Mapping[str, Any]) -> Any:
    rows_in = [r for r in audit["programme"] if r.get("planned_start") or r.get("actual_start")]
    chart = _timeline(rows_in) if rows_in else None
    late = [r for r in rows_in if (r.get("end_overrun_seconds") or 0) > 0]
    alt = f"Timeline of the {len(rows_in)} segments, planned against actual. " + (
        "Overran: "
        + "; ".join(f"{r['title']} by {clock_minutes(r['end_overrun_seconds'])}" for r in late)
        + "."
        if late
        else "No segment overran its planned end."
    )
    rows: list[list[Child]] = [
        [
            r["title"],
            f"{local_clock(r.get('planned_start'))}\u2013{local_clock(r.get('planned_end'))}",
            f"{local_clock(r.get('actual_start'))}\u2013{local_clock(r.get('actual_end'))}",
            clock_minutes(r.get("planned_seconds")),
            clock_minutes(r.get("actual_seconds")),
            clock_minutes(r.get("end_overrun_seconds")),
        ]
        for r in rows_in
    ]
    return _figure_section(
        "programme",
        "Programme adherence: planned and actual",
        "Each segment's planned span (grey) and the span it actually took (blue).",
        chart,
        alt,
        _table(
            "Planned and actual times per segment (minutes:seconds)",
            ["Segment", "Planned", "Actual", "Planned length", "Actual length", "Overrun"],
            rows,
        ),
        stacked=True,
    )


def _pledges(pledges: Sequence[PledgeRow] | None) -> Any:
    if pledges is None:
        return h(
            "section",
            {"class": "chart", "id": "pledges", "aria-labelledby": "pledges-title"},
            h("h2", {"id": "pledges-title"}, "Pledges' status"),
            h("p", {"class": "none"}, "The pledges plugin is not installed: no status to show."),
        )
    counts = {status: 0 for status in PLEDGE_STATUS_LABELS}
    for p in pledges:
        counts[p.status] = counts.get(p.status, 0) + 1
    labels = [PLEDGE_STATUS_LABELS.get(s, s) for s in counts]
    chart = (
        _hbar(labels, [("pledges", [float(v) for v in counts.values()], GREEN)], "pledges")
        if pledges
        else None
    )
    alt = f"Bar chart of the {len(pledges)} pledges by status: " + "; ".join(
        f"{label} {n}" for label, n in zip(labels, counts.values(), strict=True)
    )
    table = _table(
        "Pledges by status",
        ["Status", "Pledges"],
        [[lab, str(n)] for lab, n in zip(labels, counts.values(), strict=True)],
    )
    section = _figure_section(
        "pledges",
        "Pledges' status",
        "The latest progress reported on each pledge made in this hearing.",
        chart,
        alt + ".",
        table,
    )
    detail = _table(
        "Each pledge and its status",
        ["Pledge (record)", "Made by", "Stakeholder group", "Status"],
        [
            [
                f"#{p.seq}",
                h("bdi", None, p.by),
                p.group or "official",
                PLEDGE_STATUS_LABELS.get(p.status, p.status),
            ]
            for p in pledges
        ],
    )
    return [section, h("div", {"class": "wide"}, detail) if pledges else None]


def _summary(audit: Mapping[str, Any]) -> Any:
    groups = audit["groups"]
    heard = sum(1 for g in groups if g["took_part"])
    totals = audit["totals"]
    index = audit["balance_index"]
    facts = [
        ("Groups heard", f"{heard} of {len(groups)}"),
        ("Balance index", "\u2013" if index is None else f"{index:.3f} (1 = equal time)"),
        (
            "Stakeholder speaking time",
            f"{clock_minutes(totals['stakeholder_seconds'])} in {totals['stakeholder_turns']} turns",
        ),
        (
            "Officials",
            f"{clock_minutes(totals['official_seconds'])} in {totals['official_turns']} turns",
        ),
    ]
    absent = [g["label"] for g in groups if g["absent"]]
    return [
        h(
            "dl",
            {"class": "facts"},
            [h("div", None, h("dt", None, k), h("dd", None, v)) for k, v in facts],
        ),
        h(
            "p",
            {"class": "verdict absent" if absent else "verdict"},
            "Not heard: ",
            [
                [h("bdi", None, a), "; " if n < len(absent) - 1 else "."]
                for n, a in enumerate(absent)
            ],
        )
        if absent
        else h("p", {"class": "verdict"}, "Every stakeholder group was heard."),
    ]


def audit_page(
    audit: Mapping[str, Any],
    pledges: Sequence[PledgeRow] | None = None,
    links: Links = Links(),
) -> str:
    """The audit page: ``audit`` is the dict ``hearing audit --format json`` prints."""
    title = str(audit["title"])
    as_of = audit.get("as_of") or {}
    state = audit.get("state") or ""
    nav: list[Child] = [
        h("li", None, h("a", {"href": f"#{ident}"}, label))
        for ident, label in (
            ("groups", "Stakeholder groups"),
            ("coverage", "Coverage"),
            ("regions", "Regions"),
            ("officials", "Officials"),
            ("programme", "Programme"),
            ("pledges", "Pledges"),
        )
    ]
    if links.transcript:
        nav.append(h("li", None, h("a", {"href": links.transcript}, "Transcript")))
    if links.archive:
        nav.append(h("li", None, h("a", {"href": links.archive}, "Browse the archive")))
    return document(
        title=f"{title} \u2013 stakeholder-balance audit",
        generator="hearing_core audit",
        css=_CSS,
        body=[
            h(
                "header",
                {"class": "page"},
                h("p", {"class": "kicker"}, "Stakeholder-balance audit"),
                h("h1", {"dir": "auto"}, title),
                h(
                    "p",
                    {"class": "status"},
                    f"Hearing \u201c{audit['hearing']}\u201d, {state}; counted up to record "
                    f"{as_of.get('seq', '?')} ({as_of.get('at', '?')}). The record as corrected.",
                ),
                h("nav", {"aria-label": "Sections"}, h("ul", None, nav)),
            ),
            h(
                "main",
                {"id": "main"},
                _summary(audit),
                _groups(audit),
                _coverage(audit),
                _regions(audit),
                _officials(audit),
                _programme(audit),
                _pledges(pledges),
            ),
            h(
                "footer",
                None,
                h(
                    "p",
                    None,
                    "Figures from `hearing audit --format json` of the same record; charts drawn "
                    "with matplotlib. Protected participants are shown by pseudonym only.",
                ),
            ),
        ],
    )


_CSS = """
:root { color-scheme: light; }
body { margin: 0; color: #1b1b1b; background: #f6f7f9; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic",
  sans-serif; }
header.page, main, footer { max-width: 78rem; margin: 0 auto; padding: 0 1.25rem; }
header.page { padding-top: 1.25rem; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: .8rem; color: #0b5394;
  margin: 0; font-weight: 600; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: .25rem 0 .5rem; }
h2 { font-size: 1.25rem; margin: 0 0 .35rem; }
.status, .intro, footer { color: #3b3b3b; }
nav ul { list-style: none; padding: 0; margin: .75rem 0 0; display: flex; flex-wrap: wrap;
  gap: .4rem; }
nav a { display: inline-block; padding: .2rem .65rem; border: 1px solid #c9d1d9;
  border-radius: 999px; background: #fff; text-decoration: none; color: #0b5394; }
a:focus { outline: 3px solid #0b5394; outline-offset: 2px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .75rem;
  margin: 1.25rem 0 .5rem; }
.facts div { background: #fff; border: 1px solid #d8dde3; border-radius: .5rem;
  padding: .6rem .9rem; }
.facts dt { font-size: .8rem; color: #3b3b3b; text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: .1rem 0 0; font-size: 1.2rem; font-weight: 600; }
.verdict { font-weight: 600; margin: .5rem 0 1rem; }
.verdict.absent { color: #a33a00; }
section.chart { background: #fff; border: 1px solid #d8dde3; border-radius: .6rem;
  padding: 1rem 1.25rem; margin: 1.25rem 0; break-inside: avoid; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.25rem;
  align-items: start; }
figure { margin: 0; }
figcaption { font-size: .85rem; color: #3b3b3b; margin-top: .25rem; }
img.plot { width: 100%; height: auto; display: block; }
.numbers, .wide { overflow-x: auto; }
.wide { background: #fff; border: 1px solid #d8dde3; border-radius: .6rem; padding: .75rem 1.25rem;
  margin: -0.5rem 0 1.25rem; }
table { border-collapse: collapse; font-size: .85rem; width: 100%; }
caption { text-align: start; font-weight: 600; padding-bottom: .35rem; }
th, td { border-bottom: 1px solid #e3e6ea; padding: .25rem .5rem; text-align: start;
  vertical-align: top; }
td { font-variant-numeric: tabular-nums; }
thead th { background: #eef1f4; }
.tag { font-size: .75rem; padding: .05rem .45rem; border-radius: 999px; background: #eef1f4; }
.tag.over { background: #fde7d9; }
.tag.under { background: #fff1c2; }
.tag.absent { background: #f9d3d3; font-weight: 600; }
.none { font-style: italic; color: #3b3b3b; }
footer { padding: 1rem 1.25rem 2rem; font-size: .85rem; }
.pair.stacked { grid-template-columns: 1fr; }
.pair.stacked img.plot { max-width: 64rem; margin: 0 auto; }
@media (max-width: 60rem) { .pair { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } section.chart { border: none; } nav { display: none; } }
""".strip()
