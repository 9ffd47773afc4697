"""Commands for archivists: verify, seal, show."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs
import click
from rich.table import Table
from rich.text import Text

from hearing_core.cli import cli, console, err_console, workspace
from hearing_core.gist import gist


@cli.command()
@click.argument("hearing", required=False)
@click.option("--seal", "seal", help="Also check against a published seal (hearing:count:digest).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify(ctx: click.Context, hearing: str | None, seal: str | None, as_json: bool) -> None:
    """Recompute the digest chain of HEARING (or of every hearing) from the stored bytes;
    exit 1 on any break, and on an empty or missing store."""
    from hearing_core.errors import StoreError
    from hearing_core.verify import check_seal, parse_seal, verify_archive, verify_hearing

    ws = workspace(ctx)
    if ws.location.path is not None and not ws.location.path.exists():
        raise StoreError(f"no store at {ws.location.display}: nothing to verify")
    count = parse_seal(seal)[1] if seal else None
    remember = (count,) if count else ()
    archive_problem = None
    if hearing:
        results = [verify_hearing(ws.archive, hearing, remember=remember)]
    else:
        if seal:
            raise click.UsageError("--seal needs one HEARING")
        whole = verify_archive(ws.archive)
        results, archive_problem = whole.hearings, whole.problem
    seal_problem = check_seal(results[0], seal) if seal else None
    bad = [r for r in results if not r.ok] or ([results[0]] if seal_problem else [])
    if as_json:
        out = [
            {
                "hearing": r.hearing,
                "events": r.events,
                "ok": r.ok,
                "head": r.head,
                "break": attrs.asdict(r.problem) if r.problem else None,
            }
            for r in results
        ]
        doc = {"hearings": out, "archive_problem": archive_problem, "seal_problem": seal_problem}
        click.echo(json.dumps(doc, indent=2))
    else:
        if archive_problem:
            err_console.print(Text(f"✗ archive: {archive_problem}"), soft_wrap=True)
        for r in results:
            if r.ok:
                console.print(
                    Text(f"✓ {r.hearing}: {r.events} events, chain intact, head {r.head}")
                )
            else:
                p = r.problem
                assert p is not None
                err_console.print(
                    Text(
                        f"✗ {r.hearing}: chain breaks at position {p.position}: {p.kind} ({p.detail})"
                    )
                )
        if seal_problem:
            err_console.print(Text(f"✗ seal mismatch: {seal_problem}"))
        elif seal:
            extra = results[0].events - (count or results[0].events)
            since = f"; {extra} events recorded since" if extra else ""
            console.print(f"✓ matches the seal{since}")
    if bad or seal_problem or archive_problem:
        sys.exit(1)


@cli.command()
@click.argument("hearing")
@click.option("--json", "as_json", is_flag=True, help="Print the seal as JSON.")
@click.pass_context
def seal(ctx: click.Context, hearing: str, as_json: bool) -> None:
    """Print HEARING's seal: event count and head digest, for publishing or signing."""
    from hearing_core.verify import verify_hearing

    result = verify_hearing(workspace(ctx).archive, hearing)
    if not result.ok:
        p = result.problem
        assert p is not None
        err_console.print(
            Text(f"refusing to seal a broken record: position {p.position}: {p.kind}")
        )
        sys.exit(1)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "hearing": hearing,
                    "events": result.events,
                    "head": result.head,
                    "seal": result.seal,
                }
            )
        )
    else:
        click.echo(result.seal)


@cli.command()
@click.argument("hearing")
@click.argument("position", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@click.pass_context
def show(ctx: click.Context, hearing: str, position: int, as_json: bool) -> None:
    """Print the event at POSITION of HEARING, with every correction of it."""
    ws = workspace(ctx)
    records = list(ws.archive.records(hearing))
    if not 1 <= position <= len(records):
        raise click.BadParameter(
            f"{hearing} has positions 1 to {len(records)}", param_hint="POSITION"
        )
    event = records[position - 1]
    corrections = [
        r for r in records if r["type"] == "CorrectionIssued" and r["corrects"] == position
    ]
    if as_json:
        click.echo(
            json.dumps({"event": event, "corrections": corrections}, ensure_ascii=False, indent=2)
        )
        return
    table = Table("field", "value", title=Text(f"{hearing} #{position} {event['type']}"))
    for key, value in event.items():
        table.add_row(
            key, Text(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        )
    console.print(table)
    for c in corrections:
        console.print(Text(f"corrected by #{c['seq']} at {c['at']}: {gist(c)}"))
        for field, new in c["changes"].items():
            console.print(
                Text(
                    f"  {field}: {json.dumps(event.get(field), ensure_ascii=False)} -> "
                    f"{json.dumps(new, ensure_ascii=False)}"
                )
            )
    if not corrections:
        console.print("No corrections.")


@cli.command()
@click.argument("hearing")
@click.argument("participant")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, hearing: str, participant: str, yes: bool) -> None:
    """Destroy a protected PARTICIPANT's key: their name and words become unreadable for good.

    The event log is not touched (it only ever held ciphertext) and still
    verifies; the read models are rebuilt without the plaintext.
    """
    if not yes:
        click.confirm(
            f"Destroy the key of {participant} in {hearing}? This cannot be undone", abort=True
        )
    ws = workspace(ctx)
    gone = ws.forget(hearing, participant)
    console.print(
        Text(
            f"Forgot {participant}: key destroyed on {gone.at} (a tombstone says so in "
            f"{ws.keys_path}), read models rebuilt."
        )
    )


@cli.group()
def keys() -> None:
    """Protected speakers' keys (kept apart from the log; never back them up with it)."""


@keys.command("export")
@click.argument("hearing")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_context
def keys_export(ctx: click.Context, hearing: str, output: Path) -> None:
    """Write the keys of HEARING's protected participants to a file, to hand over separately."""
    from hearing_core.protection import key_id_of

    ws = workspace(ctx)
    h = ws.archive.hearing(hearing)
    ids = [k for p in h.participants.values() if p.protected and (k := key_id_of(p.name))]
    doc = ws.archive.keys.export(ids)
    output.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    output.chmod(0o600)
    console.print(Text(f"Wrote {len(doc['keys'])} of {len(ids)} keys to {output}."))
