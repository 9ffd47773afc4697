"""Commands for archivists: verify, seal, show."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import attrs
import click
from rich.console import Group
from rich.table import Table
from rich.text import Text

from hearing_core.cli import cli, console, err_console, workspace
from hearing_core.gist import gist
from hearing_core.output import (
    check_writable,
    output_option,
    print_renderable,
    to_stdout,
    write_text,
    writing,
)


@cli.command()
@click.argument("hearing", required=False)
@click.option(
    "--seal",
    "seal",
    help="Also check against a published seal: HEARING:COUNT:DIGEST, or @archive:COUNT:HEAD "
    "without HEARING.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@output_option()
@click.pass_context
def verify(
    ctx: click.Context, hearing: str | None, seal: str | None, as_json: bool, output: Path | None
) -> None:
    """Recompute the digest chain of HEARING, or the archive chain and every hearing's chain,
    from the stored bytes; exit 1 on any break, and on an empty or missing store.

    With --seal, also check that the sealed events are still those sealed, and list the
    corrections recorded since that change them.  Breaks and mismatches are said on
    standard error; with -o, the rest (or the JSON) goes into the file.
    """
    from hearing_core.errors import StoreError
    from hearing_core.verify import (
        ARCHIVE,
        check_archive_seal,
        check_seal,
        corrections_since,
        parse_seal,
        verify_archive,
        verify_hearing,
    )

    name, count, _ = parse_seal(seal) if seal else (None, None, "")
    if seal and hearing and name == ARCHIVE:
        raise click.UsageError("an archive seal (@archive:...) is checked without a HEARING")
    if seal and not hearing and name != ARCHIVE:
        raise click.UsageError("a hearing's seal needs its HEARING (or give an @archive seal)")
    check_writable(output)
    ws = workspace(ctx)
    if ws.location.path is not None and not ws.location.path.exists():
        raise StoreError(f"no store at {ws.location.display}: nothing to verify")
    archive_problem = seal_problem = None
    if hearing:
        results = [verify_hearing(ws.archive, hearing, remember=(count,) if count else ())]
        if seal:
            seal_problem = check_seal(results[0], seal)
        corrections = corrections_since(ws.archive, hearing, count) if count else []
        since = results[0].events - (count or results[0].events)
    else:
        whole = verify_archive(ws.archive, remember=count)
        results, archive_problem = whole.hearings, whole.problem
        if seal:
            seal_problem = check_archive_seal(whole, seal)
        corrections = whole.corrections
        since = whole.events - (count or whole.events)
    bad = [r for r in results if not r.ok]
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
        doc = {
            "hearings": out,
            "archive": None if hearing else {"events": whole.events, "head": whole.head},
            "archive_problem": archive_problem,
            "seal_problem": seal_problem,
            "corrections_since_seal": [attrs.asdict(c) for c in corrections],
        }
        write_text(output, json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        said: list[Text] = []  # what holds, for standard output or the file
        if archive_problem:
            err_console.print(Text(f"✗ archive: {archive_problem}"), soft_wrap=True)
        elif not hearing:
            said.append(
                Text(f"✓ archive: {whole.events} events, archive links intact, head {whole.head}")
            )
        for r in results:
            if r.ok:
                said.append(Text(f"✓ {r.hearing}: {r.events} events, chain intact, head {r.head}"))
            else:
                p = r.problem
                assert p is not None
                err_console.print(
                    Text(
                        f"✗ {r.hearing}: chain breaks at position {p.position}: {p.kind} ({p.detail})"
                    ),
                    soft_wrap=True,
                )
        if seal_problem:
            err_console.print(Text(f"✗ seal mismatch: {seal_problem}"), soft_wrap=True)
        elif seal:
            more = f"; {since} events recorded since" if since else ""
            more += f", {len(corrections)} of them correcting sealed events:" if corrections else ""
            said.append(Text(f"✓ matches the seal{more}"))
        said += [
            Text(f"  {c.hearing} #{c.position} corrects sealed #{c.corrects}: {c.reason}")
            for c in corrections
        ]
        if said or not to_stdout(output):
            print_renderable(output, Group(*said), soft_wrap=True)
    if bad or seal_problem or archive_problem:
        sys.exit(1)


@cli.command()
@click.argument("hearing", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the seal as JSON.")
@output_option()
@click.pass_context
def seal(ctx: click.Context, hearing: str | None, as_json: bool, output: Path | None) -> None:
    """Print HEARING's seal (HEARING:COUNT:DIGEST), or without HEARING the whole archive's
    (@archive:COUNT:HEAD, the archive chain's head): for publishing or signing.

    \b
    Examples:
      hearing seal imrf-2022-msh
      hearing seal -o archive.seal
      hearing seal imrf-2022-msh --json
    """
    from hearing_core.verify import verify_archive, verify_hearing

    check_writable(output)
    archive = workspace(ctx).archive
    if hearing:
        result = verify_hearing(archive, hearing)
        events, head, sealed, ok = result.events, result.head, result.seal, result.ok
        why = f"position {result.problem.position}: {result.problem.kind}" if result.problem else ""
    else:
        whole = verify_archive(archive)
        events, head, sealed, ok = whole.events, whole.head, whole.seal, whole.ok
        broken = [r for r in whole.hearings if r.problem]
        why = whole.problem or (
            f"{broken[0].hearing}: position {broken[0].problem.position}"  # type: ignore[union-attr]
            if broken
            else ""
        )
    if not ok:
        err_console.print(Text(f"refusing to seal a broken record: {why}"), soft_wrap=True)
        sys.exit(1)
    doc = {"hearing": hearing, "events": events, "head": head, "seal": sealed}
    write_text(output, json.dumps(doc) if as_json else sealed)


@cli.command()
@click.argument("hearing")
@click.argument("position", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@output_option()
@click.pass_context
def show(
    ctx: click.Context, hearing: str, position: int, as_json: bool, output: Path | None
) -> None:
    """Print the event at POSITION of HEARING, with every correction of it.

    \b
    Examples:
      hearing show imrf-2022-msh 71
      hearing show imrf-2022-msh 71 --json -o event-71.json
    """
    check_writable(output)
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
        doc = {"event": event, "corrections": corrections}
        write_text(output, json.dumps(doc, ensure_ascii=False, indent=2))
        return
    table = Table("field", "value", title=Text(f"{hearing} #{position} {event['type']}"))
    for key, value in event.items():
        table.add_row(
            key, Text(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        )
    parts: list[Any] = [table]
    for c in corrections:
        parts.append(Text(f"corrected by #{c['seq']} at {c['at']}: {gist(c)}"))
        parts += [
            Text(
                f"  {field}: {json.dumps(event.get(field), ensure_ascii=False)} -> "
                f"{json.dumps(new, ensure_ascii=False)}"
            )
            for field, new in c["changes"].items()
        ]
    if not corrections:
        parts.append(Text("No corrections."))
    print_renderable(output, Group(*parts))


@cli.command()
@click.argument("hearing")
@click.argument("participant")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, hearing: str, participant: str, yes: bool) -> None:
    """Destroy a protected PARTICIPANT's key: their name and words become unreadable for good.

    The event log is not touched (it only ever held ciphertext) and still
    verifies.  No plugin is loaded: read-model tables that may hold their name
    or words (those of projections that declare they see them) are dropped,
    whichever plugins are installed, and rebuilt without them when their
    projections next run; the others never held them.

    \b
    Example:
      hearing forget imrf-2022-msh fl-maria --yes
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
            f"{ws.keys_path}); personal read-model tables dropped, rebuilt without them when "
            "their projections next run."
        )
    )


@cli.group()
def keys() -> None:
    """Protected speakers' keys (kept apart from the log; never back them up with it)."""


@keys.command("export")
@click.argument("hearing")
@output_option(required=True, help="Write here (mode 0600); - for standard output.")
@click.pass_context
def keys_export(ctx: click.Context, hearing: str, output: Path) -> None:
    """Write the keys of HEARING's protected participants to a file, to hand over separately.

    \b
    Example:
      hearing keys export imrf-2022-msh -o imrf-keys.json
    """
    from hearing_core.protection import key_id_of

    check_writable(output)
    ws = workspace(ctx)
    h = ws.archive.hearing(hearing)
    ids = [k for p in h.participants.values() if p.protected and (k := key_id_of(p.name))]
    doc = ws.archive.keys.export(ids)
    with writing(output, mode=0o600) as stream:
        stream.write(json.dumps(doc, indent=2) + "\n")
    if not to_stdout(output):
        console.print(Text(f"Wrote {len(doc['keys'])} of {len(ids)} keys to {output}."))
