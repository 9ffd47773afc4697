"""``hearing record ...``: the live path for a clerk, one subcommand per action.

The subcommands are made from the event-type registry and the catalogue: each
type's spec says how it is offered (:class:`~hearing_core.event_types.Command`),
its schema gives the options, their types, choices and help.  Each subcommand
builds the same record an import line would hold and goes through the same
validation; ``--at`` defaults to now.  ``schedule`` alone is written by hand: it
reads a whole ``HearingScheduled`` record from a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hearing_core.cli import cli, console, workspace
from hearing_core.errors import RecordError
from hearing_core.interchange import MAX_LINE_BYTES, parse_record
from hearing_core.rules import TIME_FORMS, moment

if TYPE_CHECKING:
    from hearing_core.archive import HearingArchive
    from hearing_core.event_types import Command

#: Fields every record has: filled in by the command itself, never offered as options.
_COMMON = ("type", "hearing", "seq", "at", "digest")


class RecordGroup(click.Group):
    """The ``record`` group: ``schedule``, then one subcommand per registered event type
    (read from the registry when asked, so a type registered later has its command)."""

    def _generated(self) -> dict[str, click.Command]:
        from hearing_core.event_types import specs

        return {
            s.command.name_for(name): _command(name, s.command)
            for name, s in specs().items()
            if s.command is not None
        }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._generated()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self._generated().get(cmd_name)


@cli.group(cls=RecordGroup)
def record() -> None:
    """Record one action of a hearing as it happens (validated like import)."""


def _now() -> str:
    return datetime.now().astimezone().replace(microsecond=0).isoformat()


def _append(ctx: click.Context, record: dict[str, Any], as_json: bool) -> None:
    """Drop options left empty (unless the event type requires the field), record, report."""
    from hearing_core.catalogue import required_fields, schemas
    from hearing_core.gist import gist

    required = required_fields(record["type"])
    record = {k: v for k, v in record.items() if k in required or v not in (None, (), [], {})}
    archive = workspace(ctx).archive
    properties = schemas()[record["type"]]["properties"]
    for field, value in list(record.items()):
        if isinstance(value, str) and properties.get(field, {}).get("format") == "date-time":
            record[field] = _when(archive, record["hearing"], value, field)
    stored = archive.record(record)
    if as_json:
        click.echo(json.dumps(stored, ensure_ascii=False))
    else:
        console.print(f"#{stored['seq']} {stored['type']}: {gist(stored)}", markup=False)


def _when(archive: HearingArchive, slug: str, text: str, field: str) -> str:
    """A time as ``--as-of`` takes it: HH:MM on the hearing's day, or ISO."""

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


def _ints(values: tuple[str, ...], field: str) -> list[int]:
    try:
        return [int(v) for part in values for v in part.split(",") if v.strip()]
    except ValueError:
        raise RecordError("must be whole numbers, e.g. 1,5,23", field=field) from None


def _pairs(values: tuple[str, ...], field: str, metavar: str, as_json: bool) -> dict[str, Any]:
    """``KEY=VALUE`` options as a mapping; with ``as_json`` each value is JSON (a bare word is
    taken as a string)."""
    parsed: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise RecordError(f"{item!r} is not {metavar}", field=field)
        if not as_json:
            parsed[key] = value
            continue
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
        except RecursionError:
            raise RecordError("JSON nested too deeply", field=f"{field}.{key}") from None
    return parsed


# --- from a schema property to a click parameter and back --------------------------------

#: Turns what click parsed into the field's value.
Convert = Callable[[Any], Any]


def _alternatives(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [prop, *prop.get("anyOf", ()), *prop.get("oneOf", ())]


def _help(prop: dict[str, Any], suffix: str = "") -> str | None:
    text = prop.get("description")
    if not text:
        return None
    if prop.get("format") == "date-time":  # the command line also takes a time of day
        text = f"{text.split(';')[0]}: HH:MM on the hearing's day, or ISO 8601 with offset"
    return f"{text[0].upper()}{text[1:]}{suffix}."


def _parameter(
    field: str, prop: dict[str, Any], required: bool, command: Command, argument: bool
) -> tuple[click.Parameter, Convert]:
    """The click parameter offering a schema field, and how its value becomes the field's."""
    name = command.names.get(field, field).replace("_", "-")
    kinds = {a.get("type") for a in _alternatives(prop)}
    enum = next((a["enum"] for a in _alternatives(prop) if "enum" in a), None)
    # Required on the command line only where leaving it out can never be valid.
    required = (
        required
        and "null" not in kinds
        and "boolean" not in kinds
        and not ("array" in kinds and not prop.get("minItems"))
    )
    kind: click.ParamType | None = click.Choice(enum) if enum is not None else None  # type: ignore[type-arg]
    convert: Convert = lambda value: value  # noqa: E731
    options: dict[str, Any] = {}
    help_suffix = ""
    if "integer" in kinds:
        kind = click.INT
    elif "boolean" in kinds:
        options["is_flag"] = True
        convert = lambda value: value or None  # noqa: E731  (an unset flag: left out)
    elif "array" in kinds:
        options["multiple"] = True
        if prop.get("items", {}).get("type") == "integer":
            help_suffix = "; comma-separated, repeatable"
            convert = lambda values: _ints(values, field)  # noqa: E731
        else:
            help_suffix = "; repeatable"
            convert = list
    elif "object" in kinds:
        as_json = "additionalProperties" not in prop
        metavar = command.metavars.get(field, "KEY=JSON" if as_json else "KEY=TEXT")
        options.update(multiple=True, metavar=metavar)
        help_suffix = f" ({metavar}); repeatable"
        convert = lambda values: _pairs(values, field, metavar, as_json)  # noqa: E731
    if argument:
        return click.Argument([field], type=kind, metavar=name.upper()), convert
    if field in command.defaults:
        options.update(default=command.defaults[field], show_default=True)
        required = False
    option = click.Option(
        [f"--{name}", field],
        type=kind,
        required=required,
        help=_help(prop, help_suffix),
        **options,
    )
    return option, convert


def _command(type_name: str, command: Command) -> click.Command:
    """``hearing record <name>`` for one event type, made from its schema and spec."""
    from hearing_core.catalogue import required_fields, schemas

    schema = schemas()[type_name]
    required = required_fields(type_name)
    fields = [f for f in schema["properties"] if f not in _COMMON]
    order = [*command.arguments, *(f for f in fields if f not in command.arguments)]
    converters: dict[str, Convert] = {}
    params: list[click.Parameter] = [click.Argument(["hearing"])]
    for field in order:
        param, converters[field] = _parameter(
            field,
            schema["properties"][field],
            field in required,
            command,
            argument=field in command.arguments,
        )
        params.append(param)
    params += [
        click.Option(
            ["--at"],
            help="When it happened: HH:MM on the hearing's day, or ISO 8601 with offset "
            "(default now).",
        ),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the stored record as JSON."),
    ]

    @click.pass_context
    def run(
        ctx: click.Context, /, hearing: str, at: str | None, as_json: bool, **values: Any
    ) -> None:
        record = {"type": type_name, "hearing": hearing, "at": at or _now()}
        for field, value in values.items():
            record[field] = converters[field](value)
        _append(ctx, record, as_json)

    return click.Command(
        command.name_for(type_name), callback=run, params=params, help=schema.get("description")
    )


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
