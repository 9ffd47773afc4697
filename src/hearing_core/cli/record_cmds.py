"""``hearing record ...``: the live path for a clerk, one subcommand per action.

Each subcommand builds the same record an import line would hold and goes
through the same validation; ``--at`` defaults to now.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from hearing_core.archive import HearingArchive
from hearing_core.catalogue import required_fields
from hearing_core.cli import cli, console, workspace
from hearing_core.errors import RecordError
from hearing_core.gist import gist
from hearing_core.interchange import MAX_LINE_BYTES, parse_record
from hearing_core.rules import TIME_FORMS, moment
from hearing_core.taxonomy import PLEDGE_LEVELS, PLEDGE_STATUSES, REGIONS, ROLES


@cli.group()
def record() -> None:
    """Record one action of a hearing as it happens (validated like import)."""


def _now() -> str:
    return datetime.now().astimezone().replace(microsecond=0).isoformat()


def _append(ctx: click.Context, record: dict[str, Any], as_json: bool) -> None:
    """Drop options left empty (unless the event type requires the field), record, report."""
    required = required_fields(record["type"])
    record = {k: v for k, v in record.items() if k in required or v not in (None, (), [], {})}
    archive = workspace(ctx).archive
    for field in ("at", "ended_at"):
        if isinstance(record.get(field), str):
            record[field] = _when(archive, record["hearing"], record[field], field)
    stored = archive.record(record)
    if as_json:
        click.echo(json.dumps(stored, ensure_ascii=False))
    else:
        console.print(f"#{stored['seq']} {stored['type']}: {gist(stored)}", markup=False)


def _when(archive: HearingArchive, slug: str, text: str, field: str) -> str:
    """``--at`` / ``--ended-at`` as ``--as-of`` takes them: HH:MM on the hearing's day, or ISO."""

    def day() -> tuple[str, str]:
        hearing = archive.hearing(slug, version=1)
        return hearing.date, hearing.timezone

    try:
        when = moment(text, day)
    except ValueError as e:
        raise RecordError(str(e), field=field) from None
    if when.utcoffset() is None:
        raise RecordError(f"{text!r} is not in the expected form: {TIME_FORMS}", field=field)
    return when.isoformat()


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--json", "as_json", is_flag=True, help="Print the stored record as JSON.")(f)
    f = click.option(
        "--at",
        help="When it happened: HH:MM on the hearing's day, or ISO 8601 with offset (default now).",
    )(f)
    return click.argument("hearing")(f)


def _ints(values: tuple[str, ...], field: str) -> list[int]:
    try:
        return [int(v) for part in values for v in part.split(",") if v.strip()]
    except ValueError:
        raise RecordError("must be whole numbers, e.g. 1,5,23", field=field) from None


@record.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the stored record as JSON.")
@click.pass_context
def schedule(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Schedule a hearing from a JSON FILE holding its HearingScheduled record."""
    with file.open("rb") as stream:
        raw = stream.read(MAX_LINE_BYTES + 1)
    if len(raw) > MAX_LINE_BYTES:
        raise RecordError(f"longer than {MAX_LINE_BYTES:,} bytes", source=str(file), line=1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(
            f"invalid UTF-8 at byte {e.start + 1}", source=str(file), line=1
        ) from None
    _append(ctx, parse_record(text, source=str(file), line=1), as_json)


@record.command()
@_common
@click.argument("participant")
@click.option("--name", required=True)
@click.option("--group", "stakeholder_group", help="Stakeholder group id (omit for officials).")
@click.option("--organization")
@click.option("--region", type=click.Choice(list(REGIONS)))
@click.option("--country", help="ISO 3166-1 alpha-2 code, e.g. KE.")
@click.option("--protected", is_flag=True, help="Shield this speaker's identity in reports.")
@click.pass_context
def register(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    participant: str,
    name: str,
    stakeholder_group: str | None,
    organization: str | None,
    region: str | None,
    country: str | None,
    protected: bool,
) -> None:
    """Register PARTICIPANT with their stakeholder group."""
    r = {
        "type": "ParticipantRegistered",
        "hearing": hearing,
        "at": at or _now(),
        "participant": participant,
        "name": name,
        "organization": organization,
        "region": region,
        "country": country,
        "protected": protected or None,
        "stakeholder_group": stakeholder_group,
    }
    _append(ctx, r, as_json)


@record.command("open")
@_common
@click.argument("segment")
@click.option("--moderator", help="Participant id of the moderator.")
@click.pass_context
def open_(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    segment: str,
    moderator: str | None,
) -> None:
    """Open SEGMENT of the programme."""
    _append(
        ctx,
        {
            "type": "SegmentOpened",
            "hearing": hearing,
            "at": at or _now(),
            "segment": segment,
            "moderator": moderator,
        },
        as_json,
    )


@record.command("close-segment")
@_common
@click.argument("segment")
@click.pass_context
def close_segment(
    ctx: click.Context, hearing: str, at: str | None, as_json: bool, segment: str
) -> None:
    """Close SEGMENT."""
    _append(
        ctx,
        {"type": "SegmentClosed", "hearing": hearing, "at": at or _now(), "segment": segment},
        as_json,
    )


@record.command()
@_common
@click.argument("speaker")
@click.option("--segment", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--language", default="en", show_default=True)
@click.option(
    "--ended-at",
    required=True,
    help="When they stopped speaking: HH:MM on the hearing's day, or ISO 8601 with offset.",
)
@click.option("--text", help="What was said (optional).")
@click.option(
    "--translation", multiple=True, metavar="LANG=TEXT", help="A translation; repeatable."
)
@click.pass_context
def intervene(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    speaker: str,
    segment: str,
    role: str,
    language: str,
    ended_at: str,
    text: str | None,
    translation: tuple[str, ...],
) -> None:
    """Record that SPEAKER spoke (--at is when they started)."""
    translations = {}
    for item in translation:
        lang, sep, words = item.partition("=")
        if not sep:
            raise RecordError(f"{item!r} is not LANG=TEXT", field="translations")
        translations[lang] = words
    _append(
        ctx,
        {
            "type": "InterventionDelivered",
            "hearing": hearing,
            "at": at or _now(),
            "speaker": speaker,
            "segment": segment,
            "role": role,
            "language": language,
            "ended_at": ended_at,
            "text": text,
            "translations": translations,
        },
        as_json,
    )


@record.command()
@_common
@click.argument("by")
@click.option("--text", required=True)
@click.option("--objectives", multiple=True, required=True, help="GCM objectives, e.g. 5,6.")
@click.option("--level", type=click.Choice(PLEDGE_LEVELS), required=True)
@click.option("--partner", "partners", multiple=True, help="A partner; repeatable.")
@click.option("--segment")
@click.pass_context
def pledge(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    by: str,
    text: str,
    objectives: tuple[str, ...],
    level: str,
    partners: tuple[str, ...],
    segment: str | None,
) -> None:
    """Record a pledge made BY a participant."""
    _append(
        ctx,
        {
            "type": "PledgeMade",
            "hearing": hearing,
            "at": at or _now(),
            "by": by,
            "text": text,
            "gcm_objectives": _ints(objectives, "gcm_objectives"),
            "level": level,
            "partners": list(partners),
            "segment": segment,
        },
        as_json,
    )


@record.command()
@_common
@click.argument("by")
@click.option("--text", required=True)
@click.option("--areas", multiple=True, help="SG-report recommendation areas, e.g. 1,3.")
@click.option("--objectives", multiple=True, help="GCM objectives, e.g. 5,6.")
@click.option("--segment")
@click.pass_context
def recommend(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    by: str,
    text: str,
    areas: tuple[str, ...],
    objectives: tuple[str, ...],
    segment: str | None,
) -> None:
    """Record a recommendation made BY a participant."""
    r = {
        "type": "RecommendationMade",
        "hearing": hearing,
        "at": at or _now(),
        "by": by,
        "text": text,
        "sg_report_areas": _ints(areas, "sg_report_areas"),
        "gcm_objectives": _ints(objectives, "gcm_objectives"),
        "segment": segment,
    }
    _append(ctx, r, as_json)


@record.command()
@_common
@click.argument("by")
@click.option("--segment", required=True, help="The segment in which it is delivered.")
@click.option("--summarises", required=True, help="The segment it sums up.")
@click.option(
    "--point", "key_points", multiple=True, required=True, help="A key point; repeatable."
)
@click.pass_context
def summarise(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    by: str,
    segment: str,
    summarises: str,
    key_points: tuple[str, ...],
) -> None:
    """Record a summation delivered BY a moderator."""
    _append(
        ctx,
        {
            "type": "SummationDelivered",
            "hearing": hearing,
            "at": at or _now(),
            "by": by,
            "segment": segment,
            "summarises": summarises,
            "key_points": list(key_points),
        },
        as_json,
    )


@record.command()
@_common
@click.pass_context
def close(ctx: click.Context, hearing: str, at: str | None, as_json: bool) -> None:
    """Close the hearing (only corrections and pledge progress may follow)."""
    _append(ctx, {"type": "HearingClosed", "hearing": hearing, "at": at or _now()}, as_json)


@record.command()
@_common
@click.argument("position", type=int)
@click.option(
    "--set",
    "changes",
    multiple=True,
    required=True,
    metavar="FIELD=JSON",
    help='A corrected field and its new value as JSON, e.g. organization="X"; repeatable.',
)
@click.option("--reason", required=True)
@click.pass_context
def correct(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    position: int,
    changes: tuple[str, ...],
    reason: str,
) -> None:
    """Correct the event at POSITION of the record (nothing is edited in place)."""
    parsed: dict[str, Any] = {}
    for item in changes:
        field, sep, value = item.partition("=")
        if not sep:
            raise RecordError(f"{item!r} is not FIELD=JSON", field="changes")
        try:
            parsed[field] = json.loads(value)
        except json.JSONDecodeError:
            parsed[field] = value  # a bare word is taken as a string
        except RecursionError:
            raise RecordError("JSON nested too deeply", field=f"changes.{field}") from None
    _append(
        ctx,
        {
            "type": "CorrectionIssued",
            "hearing": hearing,
            "at": at or _now(),
            "corrects": position,
            "changes": parsed,
            "reason": reason,
        },
        as_json,
    )


@record.command()
@_common
@click.argument("pledge", type=int)
@click.option("--status", type=click.Choice(PLEDGE_STATUSES), required=True)
@click.option("--note", help="What was done, or why not.")
@click.option("--pledge-hearing", help="The hearing the pledge was made in (default HEARING).")
@click.option("--by", help="Participant id of the reporter, if registered in HEARING.")
@click.pass_context
def progress(
    ctx: click.Context,
    hearing: str,
    at: str | None,
    as_json: bool,
    pledge: int,
    status: str,
    note: str | None,
    pledge_hearing: str | None,
    by: str | None,
) -> None:
    """Report progress on the pledge at position PLEDGE (also after the hearing closed)."""
    _append(
        ctx,
        {
            "type": "PledgeProgressReported",
            "hearing": hearing,
            "at": at or _now(),
            "pledge": pledge,
            "status": status,
            "note": note,
            "pledge_hearing": pledge_hearing,
            "by": by,
        },
        as_json,
    )
