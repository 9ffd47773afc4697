"""``hearing demo``: record the sample IMRF 2022 hearing into a fresh store and show it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

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
    for name, show in (("transcript", _transcript), ("summary", _summary), ("audit", _audit)):
        if name in ws.host.projections:
            show(ctx, ws)
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


def _render(ws: object, name: str, fmt: str, **options: object) -> object:
    from hearing_core.projection import Report, ReportRequest

    result = ws.report(name, ReportRequest(SAMPLE, fmt, options))  # type: ignore[attr-defined]
    return result.content if isinstance(result, Report) else result


def _transcript(ctx: click.Context, ws: object) -> None:
    console.print(Rule("Transcript (opening)"))
    text = str(_render(ws, "transcript", "markdown"))
    lines = text.splitlines()
    from rich.markdown import Markdown

    console.print(Markdown("\n".join(lines[:30])))
    console.print(f"… ({len(lines) - 30} more lines)")


def _summary(ctx: click.Context, ws: object) -> None:
    console.print(Rule("Summary: digest for the opening plenary"))
    digest = _render(ws, "summary", "markdown", section="digest")
    from rich.markdown import Markdown

    console.print(Markdown(str(digest)))


def _audit(ctx: click.Context, ws: object) -> None:
    console.print(Rule("Stakeholder-balance audit"))
    console.print(_render(ws, "audit", "table"))
