"""Commands over the record itself: import, export, hearings, log."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from hearing_core.cli import cli, console, err_console, workspace, workspace_host
from hearing_core.gist import gist
from hearing_core.interchange import MAX_IMPORT_BYTES, MAX_IMPORT_EVENTS, read_lines, write_lines
from hearing_core.output import (
    check_writable,
    output_option,
    print_renderable,
    write_text,
    writing,
)
from hearing_core.store import sqlite_file_kind


def event_types() -> list[str]:
    """The event types of the catalogue, for --type and its completion."""
    from hearing_core.catalogue import schemas

    return sorted(schemas())


@cli.command("import")
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option(
    "--keys-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also take protected speakers' keys from this file (from `hearing keys export`).",
)
@click.option(
    "--max-events",
    type=click.IntRange(min=1),
    default=MAX_IMPORT_EVENTS,
    show_default=True,
    help="Refuse an input of more events than this (the import holds the write lock throughout).",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=MAX_IMPORT_BYTES,
    show_default=True,
    help="Refuse an input longer than this many bytes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_(
    ctx: click.Context,
    file: Path,
    keys_file: Path | None,
    max_events: int,
    max_bytes: int,
    as_json: bool,
) -> None:
    """Append the events of a JSON Lines FILE (or - for stdin), all or nothing.

    Every line is checked first; on the first problem nothing is written and
    the error names the file, line and field.  An input past the ceiling
    (--max-events, --max-bytes) is refused whole, so a never-ending stdin ends.
    Creates the store if need be.

    
    Examples:
      hearing --store copy.db import imrf-2022-msh.jsonl
      hearing import imrf-2022-msh.jsonl --keys-file imrf-keys.json --json
      cat a.jsonl | hearing import -
    """
    source = "<stdin>" if str(file) == "-" else str(file)
    if source != "<stdin>" and not file.exists():
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
    created = _files_a_first_import_creates(ctx)
    try:
        ws = workspace(ctx)
        if keys_file is not None:
            ws.archive.keys.load(keys_file)
        if source == "<stdin>":
            count = _import_stream(ws, sys.stdin.buffer, source, None, max_events, max_bytes)
        else:
            with file.open("rb") as stream:
                count = _import_stream(
                    ws, stream, source, file.stat().st_size or None, max_events, max_bytes
                )
    except BaseException:
        if created:  # a failed first import leaves no empty store (or key file) behind
            opened = ctx.find_root().ensure_object(dict).pop("workspace", None)
            if opened is not None:
                opened.close()
            for path in created:
                path.unlink(missing_ok=True)
        raise
    if as_json:
        click.echo(json.dumps({"imported": count, "source": source}))
    else:
        console.print(f"Imported {count} events from {source} into {ws.location.display}.")


def _import_stream(
    ws: Any,
    stream: IO[bytes],
    source: str,
    size: int | None,
    max_events: int | None = None,
    max_bytes: int | None = None,
) -> int:
    """Import a stream, with a progress bar (events, rate, time left) on a terminal.

    Time left is reckoned from the bytes read of a file's size; from stdin
    only the count and rate are shown.  Past ``max_events`` or ``max_bytes``
    (the import ceiling) the input is refused whole.
    """
    progress = Progress(
        TextColumn("Importing"),
        BarColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )
    task = progress.add_task("import", total=size, events=0, rate=0.0)
    started = time.monotonic()

    def tracked() -> Iterator[tuple[str, int, dict[str, Any]]]:
        lines = read_lines(stream, source, max_bytes=max_bytes)
        for events, (n, record) in enumerate(lines, 1):
            yield source, n, record
            if events % _PROGRESS_EVERY == 0:
                rate = events / max(time.monotonic() - started, 1e-9)
                done = stream.tell() if size is not None else None  # a pipe cannot tell
                progress.update(task, completed=done, events=events, rate=rate)

    with progress:
        count: int = ws.archive.import_records(tracked(), max_events=max_events)
        progress.update(task, completed=size, events=count)
    return count


#: Records between progress updates (an update costs far more than a record).
_PROGRESS_EVERY = 500


def _files_a_first_import_creates(ctx: click.Context) -> list[Path]:
    """The files importing into a SQLite store that does not exist yet will create.

    Empty when the store exists (or is PostgreSQL): a failed import then leaves it
    as it was, by the import's own all-or-nothing transaction.
    """
    from hearing_core.store import resolve

    obj = ctx.find_root().ensure_object(dict)
    store = resolve(obj.get("store")).path
    if store is None or sqlite_file_kind(store) != "missing":
        return []
    keys = Path(obj["keys"]) if obj.get("keys") else store.with_name(store.name + ".keys")
    views = Path(obj["views"]) if obj.get("views") else store.with_name(store.name + ".views")
    files = [store.with_name(store.name + s) for s in ("", "-wal", "-shm", "-journal")]
    files += [f.with_name(f.name + s) for f in (keys, views) for s in ("", "-wal", "-shm")]
    return [f for f in files if not f.exists()]


@cli.command()
@click.argument("hearing", required=False)
@click.option(
    "--format",
    "fmt",
    default="jsonl",
    show_default=True,
    is_flag=False,
    flag_value="",
    metavar="NAME",
    help="An export format: jsonl (the archival interchange format), akn (Akoma Ntoso 3.0), "
    "popolo (Popolo JSON), html (a transcript page), or one a plugin registers. "
    "`--format` alone lists what is registered.",
)
@click.option("--as-of", help="A position in the record, or a time (ISO 8601 or HH:MM on the day).")
@click.option("--uncorrected", is_flag=True, help="As originally recorded (akn, popolo, html).")
@click.option("--language", help="html: show translations in this language where present.")
@output_option()
@click.pass_context
def export(
    ctx: click.Context,
    hearing: str | None,
    fmt: str,
    as_of: str | None,
    uncorrected: bool,
    language: str | None,
    output: Path | None,
) -> None:
    """Write HEARING's record in an open format (jsonl is exact: import gives it back).

    \b
    Examples:
      hearing export imrf-2022-msh -o imrf-2022-msh.jsonl
      hearing export imrf-2022-msh --as-of 40
      hearing export imrf-2022-msh --format html --language en -o imrf.html
    """
    from hearing_core.exports.registry import (
        ExportRequest,
        all_exporters,
        builtin_exporters,
        describe,
    )

    check_writable(output)  # before any work: one line, nothing half-written
    # The archival format is built in: exporting the record loads no plugin.  Listing the
    # formats needs the plugins only, not a store.
    registered = (
        builtin_exporters(("hearing_core.exports.jsonl",))
        if fmt == "jsonl"
        else all_exporters(workspace_host(ctx))
    )
    if not fmt:
        _list_formats(describe(registered), output)
        return
    if hearing is None:
        raise click.UsageError("Missing argument 'HEARING'.")
    try:
        exporter = registered.get(fmt)
    except KeyError as e:
        raise click.BadParameter(str(e.args[0]), param_hint="--format") from None
    if uncorrected and not exporter.corrections:
        raise click.UsageError(f"{fmt} is the record itself: corrections are events in it")
    if language is not None and not exporter.languages:
        raise click.UsageError(f"--language means nothing to the {fmt} format")
    ws = workspace(ctx)
    upto = ws.position_as_of(hearing, as_of)
    records = ws.archive.records(hearing, upto=upto, reveal=exporter.reveal)
    request = ExportRequest(uncorrected=uncorrected, language=language)
    if fmt != "jsonl":
        records = iter(list(records))  # a bad record fails before anything is written
    _write(output, lambda stream: exporter.write(records, stream, request))


def _list_formats(rows: list[Any], output: Path | None) -> None:
    table = Table("format", "plugin", "description", title="Export formats")
    for row in rows:
        table.add_row(row["format"], row["plugin"], Text(row["description"]))
    print_renderable(output, table)


def _write(output: Path | None, writer: Any) -> None:
    """Write to a file atomically (temp file then rename), or to stdout."""
    with writing(output) as stream:
        writer(stream)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@output_option()
@click.pass_context
def hearings(ctx: click.Context, as_json: bool, output: Path | None) -> None:
    """List the hearings in the store.

    \b
    Examples:
      hearing hearings
      hearing --store postgresql://archive@db/hearings hearings --json -o hearings.json
    """
    check_writable(output)
    ws = workspace(ctx)
    rows = ws.archive.hearings()
    if as_json:
        doc = [
            {
                "hearing": h.slug,
                "title": h.title,
                "date": h.date,
                "events": h.events,
                "closed": h.closed,
            }
            for h in rows
        ]
        write_text(output, json.dumps(doc, ensure_ascii=False, indent=2))
        return
    if not rows:
        print_renderable(
            output, Text(f"No hearings in {ws.location.display} yet. Try `hearing demo`.")
        )
        return
    table = Table(
        "hearing", "date", "events", "state", "title", title=f"Hearings in {ws.location.display}"
    )
    for h in rows:
        table.add_row(
            Text(h.slug), h.date, str(h.events), "closed" if h.closed else "open", Text(h.title)
        )
    print_renderable(output, table)


@cli.command()
@click.argument("hearing")
@click.option(
    "--as-of",
    help="Stop at a position (a bare number is a position), or a time (ISO 8601 or HH:MM).",
)
@click.option("--from", "start", type=click.IntRange(min=1), help="Start at this position.")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    shell_complete=lambda ctx, param, incomplete: [
        t for t in event_types() if t.startswith(incomplete)
    ],
    help="Only events of this type (repeatable), e.g. --type InterventionDelivered.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON Lines records instead of a table."
)
@output_option()
@click.pass_context
def log(
    ctx: click.Context,
    hearing: str,
    as_of: str | None,
    start: int | None,
    types: tuple[str, ...],
    limit: int | None,
    as_json: bool,
    output: Path | None,
) -> None:
    """List HEARING's events: position, time, type and a one-line gist.

    Corrected events are marked with the position of their correction (among
    the events listed up to --as-of: a later correction had not happened yet).

    \b
    Examples:
      hearing log imrf-2022-msh
      hearing log imrf-2022-msh --as-of 11:00
      hearing log imrf-2022-msh --from 118 --json
      hearing log imrf-2022-msh --type CorrectionIssued --limit 5
    """
    unknown = sorted(set(types) - set(event_types()))
    if unknown:
        known = ", ".join(event_types())
        raise click.BadParameter(
            f"unknown event type {unknown[0]!r} (known: {known})", param_hint="--type"
        )
    check_writable(output)
    ws = workspace(ctx)
    point = ws.as_of(hearing, as_of)
    upto = None if point is None else point.position
    records = list(ws.archive.records(hearing, upto=upto))
    corrected = {r["corrects"]: r["seq"] for r in records if r["type"] == "CorrectionIssued"}
    shown = [
        r
        for r in records
        if (start is None or r["seq"] >= start) and (not types or r["type"] in types)
    ][:limit]
    if as_json:
        with writing(output) as stream:
            write_lines(shown, stream)
        return
    span = f"{shown[0]['seq']}-{shown[-1]['seq']}" if shown else "none"
    as_of_note = f", {point.describe()}" if point is not None else ""
    title = Text(f"{hearing}: events {span} of {len(records)}{as_of_note}")
    table = Table("#", "at", "type", "gist", title=title)
    table.columns[1].no_wrap = True
    for r in shown:
        mark = f" [corrected by #{corrected[r['seq']]}]" if r["seq"] in corrected else ""
        when = r["at"][:19].replace("T", " ")  # local time as recorded; `show` gives the offset
        table.add_row(str(r["seq"]), when, r["type"], Text(gist(r) + mark))
    print_renderable(output, table)
