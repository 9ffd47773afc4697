"""The published event catalogue: JSON Schemas under ``events/schema``.

The schemas are the single source of truth for the shape of a record: import,
the live ``record`` commands and corrections are all validated against them
here, and a test keeps them in step with the domain's event classes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearing_core.chain import float_free
from hearing_core.errors import RecordError
from hearing_core.text import check_text, plain_and_safe, plainly_safe

if TYPE_CHECKING:  # jsonschema is imported when a record is first validated
    from jsonschema.exceptions import ValidationError

_SCHEMA_NAME = re.compile(r"^(?P<type>[A-Za-z]+)\.v(?P<version>\d+)\.json$")


def catalogue_dir() -> Path:
    """Where the catalogue lives: packaged in a wheel, or ``events/`` in a source checkout."""
    packaged = resources.files("hearing_core") / "_events"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "events"


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """The newest schema of every event type, keyed by type name."""
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for path in sorted((catalogue_dir() / "schema").glob("*.json")):
        m = _SCHEMA_NAME.match(path.name)
        if not m:
            continue
        version = int(m["version"])
        if m["type"] not in found or found[m["type"]][0] < version:
            found[m["type"]] = (version, json.loads(path.read_text(encoding="utf-8")))
    return {name: schema for name, (_, schema) in found.items()}


@cache
def _validator_class() -> Any:
    """Draft 2020-12, made strict where Python's defaults are lax.

    JSON Schema counts 2.0 as an integer, and Python's ``$`` also matches before
    a final newline; a position must be a whole number and an id may not end
    in a line break.
    """
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def is_integer(checker: Any, instance: Any) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
        if isinstance(instance, str) and not _anchored(patrn).search(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer)
    return validators.extend(
        Draft202012Validator, validators={"pattern": pattern}, type_checker=checker
    )


@cache
def _anchored(patrn: str) -> re.Pattern[str]:
    # A final "$" means the end of the text, as in ECMA 262, not "before a final newline".
    if patrn.endswith("$") and not patrn.endswith("\\$"):
        patrn = patrn[:-1] + r"\Z"
    return re.compile(patrn)


@cache
def _validator(event_type: str) -> Any:
    return _validator_class()(schemas()[event_type])


def field_order(event_type: str) -> list[str]:
    """The fields of a type in catalogue order (the order records are written in)."""
    return list(schemas()[event_type]["properties"])


@cache
def required_fields(event_type: str) -> frozenset[str]:
    """The fields a record of this type must carry (even when null)."""
    return frozenset(schemas()[event_type].get("required", ()))


def _path(error: ValidationError) -> str | None:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.match(r"'([^']+)'", error.message)
        if missing:
            parts.append(missing.group(1))
    elif error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        if extra:
            parts.append(extra[0])
    return ".".join(parts) or None


def _describe(error: ValidationError) -> str:
    if error.validator == "required":
        return "is required"
    if error.validator == "additionalProperties":
        return "is not a field of this event type"
    if error.validator == "pattern":
        return f"{error.instance!r} is not in the expected form"
    if error.validator == "maxLength":
        return f"is too long ({len(error.instance)} characters, at most {error.validator_value})"
    return str(error.message)


def validate_record(record: Any) -> None:
    """Check a record against the catalogue; raise :class:`RecordError` naming the field."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    event_type = record.get("type")
    if not isinstance(event_type, str):
        raise RecordError("is required and must be an event type name", field="type")
    if event_type not in schemas():
        raise RecordError(f"unknown event type {event_type!r}", field="type")
    if type(record) is dict and plain_and_safe(record):
        # The usual record, in one walk: no float (so the compiled validator judges it
        # alone) and no text check_text could refuse; only the schema is left.
        if not _fast_valid(event_type, record):
            _detailed(event_type, record)
        return
    if not _passes_fast(event_type, record):
        _detailed(event_type, record)
    if not plainly_safe(record):  # the exact check only where the cheap scan has a doubt
        check_text(record)


def _detailed(event_type: str, record: Mapping[str, Any]) -> None:
    """The detailed (and ~100x slower) path, only for a record the fast one doubts: it
    finds the error to report, or accepts what the fast one could not judge."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(event_type).iter_errors(record))
    if error is not None:
        raise RecordError(_describe(error), field=_path(error))


@cache
def _fast_validator(event_type: str) -> Any:
    """The type's schema compiled by jsonschema-rs (formats are annotations, as in
    :func:`_validator_class`; patterns follow ECMA 262, so ``$`` is the end of the text)."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(schemas()[event_type], validate_formats=False)


def _passes_fast(event_type: str, record: Mapping[str, Any]) -> bool:
    """Whether the compiled validator accepts the record; False means "ask the detailed path".

    JSON Schema counts 2.0 as an integer and no field of the catalogue is a
    fraction, so a record holding any float goes the detailed way, which refuses
    2.0 where a whole number belongs.
    """
    return float_free(record) and _fast_valid(event_type, record)


def _fast_valid(event_type: str, record: Mapping[str, Any]) -> bool:
    """Whether the compiled validator accepts a float-free record."""
    try:
        return bool(_fast_validator(event_type).is_valid(record))
    except ValueError:  # text it cannot take (a lone surrogate): the detailed path reports it
        return False


def validate_field(event_type: str, field: str, value: Any) -> None:
    """Check one field's value against its type's schema (used for corrections)."""
    properties = schemas()[event_type]["properties"]
    if field not in properties:
        raise RecordError(f"{event_type} has no field {field!r}", field=f"changes.{field}")
    from jsonschema.exceptions import best_match

    sub = _validator_class()(properties[field])
    error = best_match(sub.iter_errors(value))
    if error is not None:
        raise RecordError(_describe(error), field=f"changes.{field}")
