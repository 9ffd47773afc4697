"""``hearing demo``: record the sample IMRF 2022 hearing into a fresh store and show it.

The demo names no plugin: it shows the view each loaded projection declares for it,
as a ``demo`` mapping on the projection class::

    demo = {"title": "Transcript (opening)", "format": "markdown", "lines": 30, "order": 1}

``title`` heads the view; ``format`` is one of the projection's formats (Markdown is
rendered for the terminal); ``options`` are report options; ``lines`` shows only the
first lines; views are shown by ``order``, then projection name.  A projection
without ``demo`` is not shown; a declaration that does not fit is said in one line and
skipped, never a crash.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import click
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from hearing_core.catalogue import catalogue_dir
from hearing_core.cli import cli, console, workspace
from hearing_core.errors import HearingCoreError
from hearing_core.interchange import read_lines

SAMPLE = "imrf-2022-msh"


def sample_path() -> Path:
    """The sample record shipped in the event catalogue."""
    return catalogue_dir() / "samples" / f"{SAMPLE}.jsonl"


@cli.command()
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("hearing-demo"),
    show_default=True,
    help="Folder for the demo's store and read models (replaced if it holds an old demo).",
)
@click.pass_context
def demo(ctx: click.Context, into: Path) -> None:
    """Record the sample IMRF 2022 hearing into a fresh store and show the reports.

    By default the store is a new SQLite file in --into.  Given `--store` on the
    command line (a PostgreSQL URL, say), the sample is recorded there instead,
    if that store does not hold it yet; HEARING_STORE is ignored here, so the
    demo never writes into an archive by accident.

    \b
    Examples:
      hearing demo
      hearing demo --into /tmp/demo
      hearing --store postgresql://postgres@127.0.0.1/demo demo
    """
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    given = root.get_parameter_source("store") == click.core.ParameterSource.COMMANDLINE
    if given or obj.get("store_given"):
        store: str = obj["store"]
    else:
        into.mkdir(parents=True, exist_ok=True)
        for old in [*into.glob("hearings.db*")]:
            old.unlink()
        store = str(into / "hearings.db")
        obj.update(store=store, views=None, keys=None)
    obj.pop("workspace", None)
    ws = workspace(ctx)
    if ws.archive.exists(SAMPLE):
        raise HearingCoreError(f"{ws.location.display} already holds {SAMPLE}: give a fresh store")
    # The sample's protected speaker is encrypted; her key ships beside the sample.
    ws.archive.keys.load(sample_path().with_suffix(".keys.json"))
    with sample_path().open("rb") as stream:
        count = ws.archive.import_records((SAMPLE, n, r) for n, r in read_lines(stream, SAMPLE))
    console.print(Rule("hearing_core demo"))
    console.print(
        Text.assemble(
            "Recorded the sample hearing ",
            (SAMPLE, "bold"),
            f" ({count} immutable events) into ",
            (ws.location.display, "bold"),
            ".",
        )
    )
    _recorded(ws)
    opening = _opening_span(ws)
    ctx.invoke(
        cli.commands["log"], hearing=SAMPLE, as_of=str(opening[1]), start=opening[0], as_json=False
    )
    shown = ws.location.display  # never a password
    console.print(f"The whole record: hearing --store {shown} log {SAMPLE}", markup=False)
    failures = ws.catch_up()
    views, problems = demo_views(ws.host.projections.values())
    for view in views:
        _show(ws, view)
    for problem in problems:
        console.print(problem, markup=False)
    for f in failures:
        console.print(f"projection {f.projection} stalled at {f.position}: {f.error}", markup=False)
    console.print(
        Panel(
            "\n".join(
                [
                    f"export HEARING_STORE={shown}",
                    f"hearing transcript {SAMPLE} --as-of 11:00",
                    f"hearing audit {SAMPLE} --format json",
                    f"hearing seal {SAMPLE}      then   hearing verify {SAMPLE}",
                    f"hearing export {SAMPLE} --format html -o {SAMPLE}.html",
                    "hearing --help",
                ]
            ),
            title="Next",
            expand=False,
        ),
        markup=False,
    )


def _recorded(ws: Any) -> None:
    """How many events of each type the sample holds."""
    counts = Counter(r["type"] for r in ws.archive.records(SAMPLE))
    table = Table("event type", "count", title="What was recorded")
    for event_type, n in counts.items():
        table.add_row(event_type, str(n))
    console.print(table)


def _opening_span(ws: Any) -> tuple[int, int]:
    """Positions from the opening segment's opening to its close."""
    first = last = 1
    for r in ws.archive.records(SAMPLE):
        if r.get("segment") == "opening" and r["type"] == "SegmentOpened":
            first = r["seq"]
        if r.get("segment") == "opening" and r["type"] == "SegmentClosed":
            last = r["seq"]
    return first, last


@attrs.frozen
class DemoView:
    """The view a projection declares for the demo (its ``demo`` mapping, checked)."""

    projection: str
    title: str
    format: str
    options: Mapping[str, Any] = attrs.field(factory=dict)
    lines: int | None = None
    order: int = 100

    @classmethod
    def declared(cls, projection: Any) -> DemoView | None:
        """The projection's demo view (None: it declares none); ValueError if it does not fit."""
        declared = getattr(projection, "demo", None)
        if declared is None:
            return None
        if not isinstance(declared, Mapping):
            raise ValueError("demo is not a mapping")
        unknown = sorted(set(declared) - {"title", "format", "options", "lines", "order"})
        if unknown:
            raise ValueError(f"demo has unknown keys {', '.join(unknown)}")
        title, fmt = declared.get("title"), declared.get("format")
        options, lines = declared.get("options", {}), declared.get("lines")
        order = declared.get("order", 100)
        if not isinstance(title, str) or not title:
            raise ValueError("demo needs a title")
        if fmt not in projection.formats:
            raise ValueError(f"demo format {fmt!r} is not one of {', '.join(projection.formats)}")
        if not isinstance(options, Mapping):
            raise ValueError("demo options are not a mapping")
        if lines is not None and (not isinstance(lines, int) or lines < 1):
            raise ValueError("demo lines is not a positive number")
        if not isinstance(order, int):
            raise ValueError("demo order is not a number")
        return cls(projection.name, title, str(fmt), dict(options), lines, order)


def demo_views(projections: Any) -> tuple[list[DemoView], list[str]]:
    """The demo views the projections declare, in order; and one line per bad declaration."""
    views, problems = [], []
    for p in projections:
        try:
            view = DemoView.declared(p)
        except ValueError as e:
            problems.append(f"projection {p.name}: {e}; not shown")
            continue
        if view is not None:
            views.append(view)
    return sorted(views, key=lambda v: (v.order, v.projection)), problems


def _show(ws: Any, view: DemoView) -> None:
    from rich.markdown import Markdown

    from hearing_core.projection import Report, ReportRequest

    console.print(Rule(Text(view.title)))
    result = ws.report(view.projection, ReportRequest(SAMPLE, view.format, dict(view.options)))
    content = result.content if isinstance(result, Report) else result
    if not isinstance(content, str):
        console.print(content)  # a rich renderable (the audit's table)
        return
    lines = content.splitlines()
    shown = "\n".join(lines[: view.lines] if view.lines else lines)
    console.print(Markdown(shown) if view.format == "markdown" else Text(shown))
    if view.lines and len(lines) > view.lines:
        console.print(f"… ({len(lines) - view.lines} more lines)", markup=False)
