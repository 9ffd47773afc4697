"""The interchange format: JSON Lines, one record per line.

Reading streams line by line (never the whole file), refuses an over-long
line before decoding it, and reports every problem with its source and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from hearing_core.catalogue import field_order, validate_record
from hearing_core.chain import dumps_line, ordered
from hearing_core.errors import RecordError

#: The longest line accepted, in bytes.  Longer lines are refused unread.
MAX_LINE_BYTES = 1_000_000

#: The ceiling of one import, by default (``hearing import --max-events/--max-bytes``).
#: An import is one transaction that holds the store's write lock until its last line
#: is checked (at some 10,000 lines a second, a minute or two at the ceiling), and a
#: never-ending input must end somewhere: past the ceiling it is refused whole.
MAX_IMPORT_EVENTS = 1_000_000
MAX_IMPORT_BYTES = 1 << 30  # 1 GiB


def read_lines(
    stream: IO[bytes], source: str, *, max_bytes: int | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, record)`` for each non-blank line (decoded, not yet validated).

    With ``max_bytes``, an input longer than that is refused at the line that passes it
    (the import ceiling: see :data:`MAX_IMPORT_BYTES`).
    """
    number = 0
    total = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        total += len(raw)
        if max_bytes is not None and total > max_bytes:
            raise RecordError(
                f"the input is longer than {max_bytes:,} bytes, the ceiling of one import "
                "(split it, or raise the ceiling with --max-bytes)",
                source=source,
                line=number,
            )
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise RecordError(
                f"line is longer than {MAX_LINE_BYTES:,} bytes", source=source, line=number
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError(
                f"invalid UTF-8 at byte {e.start + 1}", source=source, line=number
            ) from None
        if not text.strip():
            continue
        yield number, parse_record(text, source=source, line=number, validate=False)


def parse_record(
    text: str, *, source: str | None = None, line: int | None = None, validate: bool = True
) -> dict[str, Any]:
    """Decode one record; check it is a JSON object and, unless told not to, its schema."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_one_each)
    except json.JSONDecodeError as e:
        raise RecordError(
            f"malformed JSON: {e.msg} (column {e.colno})", source=source, line=line
        ) from None
    except RecursionError:
        raise RecordError("JSON nested too deeply", source=source, line=line) from None
    except ValueError as e:
        raise RecordError(str(e), source=source, line=line) from None
    if not isinstance(value, dict):
        raise RecordError(
            f"expected a JSON object, got {type(value).__name__}", source=source, line=line
        )
    if validate:
        try:
            validate_record(value)
        except RecordError as e:
            raise e.located(source, line) from None
    return value


def _one_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: a record saying two things of one field is
    ambiguous (json.loads would silently keep the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def write_lines(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write records as interchange lines in catalogue field order; return how many."""
    count = 0
    for record in records:
        stream.write(dumps_line(ordered(record, field_order(record["type"]))))
        stream.write("\n")
        count += 1
    return count
