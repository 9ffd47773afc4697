"""The archival format: the hearing's records as JSON Lines, exactly as stored.

Protected participants' fields stay the ciphertext they are in the log, so
the file re-imports to the same digests.  A built-in exporter registered
through the ``register_exporters`` hook, needing no plugin host: exporting
the record loads no plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any

from hearing_core.exports.registry import Exporter, ExportRequest
from hearing_core.hookspecs import hookimpl
from hearing_core.interchange import write_lines


def write_jsonl(records: Iterable[dict[str, Any]], stream: IO[str], request: ExportRequest) -> None:
    """Write the records as interchange lines (streamed: memory stays flat)."""
    write_lines(records, stream)


@hookimpl
def register_exporters(register: Callable[[Exporter], None]) -> None:
    register(
        Exporter(
            "jsonl",
            "the archival interchange format, exact: import gives it back",
            write_jsonl,
            reveal=False,
            corrections=False,
        )
    )
