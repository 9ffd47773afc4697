"""Publishing the archive: ``hearing publish DIR`` and ``hearing serve DIR`` (Datasette)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from hearing_core.cli import cli, console, workspace
from hearing_core.errors import HearingCoreError

LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


@cli.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hearing", "only", multiple=True, help="Publish only this hearing (repeatable).")
@click.option("--licence", default=LICENCE, show_default=True, help="The licence of the data.")
@click.option("--licence-url", default=LICENCE_URL, show_default=True, help="Its text.")
@click.option(
    "--source",
    help="Who the record is from  [default: the hearings' seals, which `hearing verify` checks]",
)
@click.option("--source-url", help="Where the record comes from.")
@click.pass_context
def publish(
    ctx: click.Context,
    folder: Path,
    only: tuple[str, ...],
    licence: str,
    licence_url: str,
    source: str | None,
    source_url: str | None,
) -> None:
    """Write a publishable copy of the archive into DIR, for `hearing serve DIR` (Datasette).

    DIR gets archive.db (every hearing's programme, participants, interventions,
    recommendations, pledges, summations, corrections and audit figures, with full-text
    search), metadata.json (titles, descriptions, licence, source, canned queries) and
    pages/ (each hearing's transcript and audit page).  Protected speakers appear only by
    pseudonym and their words are withheld, whatever keys you hold: everything is scanned
    for their names, organizations and words before it is written, and a hit refuses the
    whole publication.  DIR is replaced if it holds an earlier publication.
    """
    from hearing_core.publication import DATABASE, METADATA

    if folder.exists() and any(folder.iterdir()) and not (folder / METADATA).exists():
        raise click.BadParameter(
            f"{folder} is not empty and holds no earlier publication", param_hint="DIR"
        )
    ws = workspace(ctx)
    slugs = list(only) or [h.slug for h in ws.archive.hearings()]
    if not slugs:
        raise HearingCoreError(f"{ws.location.display} holds no hearing to publish")
    for slug in slugs:
        ws.archive.hearing(slug)  # one clear line for an unknown hearing
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".publish-", dir=folder.parent) as tmp:
        staged = Path(tmp) / "site"
        summary = _build(ws, slugs, staged, licence, licence_url, source, source_url)
        if folder.exists():
            shutil.rmtree(folder)
        staged.rename(folder)
    console.print(
        Text(
            f"Published {len(slugs)} hearing{'s' if len(slugs) != 1 else ''} into {folder}: "
            f"{DATABASE}, {METADATA}, {summary['pages']} pages; {summary['protected']} protected "
            f"participant{'s' if summary['protected'] != 1 else ''} shown by pseudonym only, "
            f"{summary['redacted']} mention{'s' if summary['redacted'] != 1 else ''} redacted; "
            + (
                f"{summary['projection_tables']} projection tables free of personal data copied. "
                if summary["ownership_known"]
                else "no projection table copied (the read models record no table ownership). "
            )
            + f"Browse it: hearing serve {folder}"
        )
    )


def _build(
    ws: Any,
    slugs: list[str],
    site: Path,
    licence: str,
    licence_url: str | None,
    source: str | None,
    source_url: str | None,
) -> dict[str, int]:
    from hearing_core.exports._common import read_hearing
    from hearing_core.exports.html import to_html
    from hearing_core.projection import Report, ReportRequest
    from hearing_core.publication import (
        DATABASE,
        METADATA,
        PAGES,
        PublicationError,
        copy_tables,
        hearing_tables,
        leaks,
        metadata,
        projection_metadata,
        protected_data,
        publishable_tables,
        redacted,
        withheld,
        write_database,
    )
    from hearing_core.verify import verify_hearing

    def report(projection: str, slug: str, fmt: str, **options: Any) -> Any:
        if projection not in ws.host.projections:
            return None
        out = ws.report(projection, ReportRequest(slug, fmt, options))
        return out.content if isinstance(out, Report) else out

    pages_dir = site / PAGES
    pages_dir.mkdir(parents=True)
    tables: dict[str, list[dict[str, Any]]] = {}
    pages: list[tuple[str, str]] = []
    seals, protected_count, redactions = [], 0, 0
    everything_protected = []
    for slug in slugs:
        protected = protected_data(ws.archive.records(slug, reveal=True))
        everything_protected.append(protected)
        protected_count += len(protected.ids)
        stored = [withheld(r) for r in ws.archive.records(slug)]
        records = [redacted(r, protected) for r in stored]
        redactions += sum(1 for a, b in zip(stored, records, strict=True) if a != b)
        result = verify_hearing(ws.archive, slug)
        seal = result.seal if result.ok else None
        seals.append(seal or f"{slug}: chain broken")
        view = read_hearing(records)
        audit_json = report("audit", slug, "json")
        audit = json.loads(audit_json) if isinstance(audit_json, str) else None
        pledges_json = report("pledges", slug, "json")
        status: dict[int, str] = {}
        if isinstance(pledges_json, str):
            for section in json.loads(pledges_json).get("hearings", []):
                status.update({p["seq"]: p["status"] for p in section.get("pledges", [])})
        for name, rows in hearing_tables(view, len(records), seal, audit, status).items():
            tables.setdefault(name, []).extend(rows)
        transcript, audit_page = f"transcript-{slug}.html", f"audit-{slug}.html"
        has_audit = audit is not None
        (pages_dir / transcript).write_text(
            to_html(records, audit_href=audit_page if has_audit else None), encoding="utf-8"
        )
        pages.append((transcript, f"Transcript: {view.title}"))
        if has_audit:
            page = report(
                "audit", slug, "html", transcript_href=transcript, archive_href="/archive"
            )
            (pages_dir / audit_page).write_text(str(page), encoding="utf-8")
            pages.append((audit_page, f"Stakeholder-balance audit: {view.title}"))
    write_database(site / DATABASE, tables)
    # The projections' own tables: only those the read models record as free of personal data,
    # and even those redacted and scanned like everything else.
    ownership = publishable_tables(ws.readmodels)
    copied: list[str] = []
    if ownership is not None:
        public, _personal = ownership
        ws.catch_up()
        copied = [t for t in public if t not in tables]
        for protected in everything_protected:
            redactions += copy_tables(ws.readmodels.db, site / DATABASE, copied, protected)
    meta = metadata(
        tables["hearings"],
        pages,
        licence=licence,
        licence_url=licence_url,
        source=source or "hearing_core event log; seals " + ", ".join(seals),
        source_url=source_url,
    )
    if copied:
        owners = {t: p for t, (p, _) in ws.readmodels.owners().items()}
        meta["databases"]["archive"]["tables"].update(projection_metadata(copied, owners))
    (site / METADATA).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    # The last word: nothing protected anywhere in what would be published.
    for protected in everything_protected:
        found = leaks(site, protected)
        if found:
            raise PublicationError(
                "refusing to publish: protected participants' data found in "
                + ", ".join(found)
                + " (nothing was written)"
            )
    return {
        "pages": len(pages),
        "protected": protected_count,
        "redacted": redactions,
        "projection_tables": len(copied),
        "ownership_known": ownership is not None,
    }


@cli.command()
@click.argument(
    "folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port on 127.0.0.1.",
)
def serve(folder: Path, port: int) -> None:
    """Browse a publication (from `hearing publish DIR`) in Datasette, on 127.0.0.1 only.

    Needs the web extra: pip install 'hearing-core[web]'.  Ctrl-C stops it.
    """
    from importlib.util import find_spec

    from hearing_core.publication import DATABASE, METADATA, PAGES

    for needed in (DATABASE, METADATA):
        if not (folder / needed).is_file():
            raise click.BadParameter(
                f"{folder} holds no {needed}: make it with `hearing publish {folder}`",
                param_hint="DIR",
            )
    if find_spec("datasette") is None:
        raise HearingCoreError("Datasette is not installed: pip install 'hearing-core[web]'")
    command = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "--immutable",
        str(folder / DATABASE),
        "--metadata",
        str(folder / METADATA),
        "--static",
        f"{PAGES}:{folder / PAGES}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--setting",
        "sql_time_limit_ms",
        "2000",
    ]
    console.print(Text(f"Serving {folder} on http://127.0.0.1:{port}/ (Ctrl-C stops it)"))
    sys.stdout.flush()
    # Datasette takes this process's place: Ctrl-C and signals reach it, and nothing is orphaned.
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter, fixed arguments
