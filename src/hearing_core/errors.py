"""Errors raised by hearing_core.

Every refusal carries enough context for a one-line message naming the
problem and where it is: the field, and when known the source and line.
"""

from __future__ import annotations


class HearingCoreError(Exception):
    """Base class for every error hearing_core raises on purpose."""


class RecordError(HearingCoreError):
    """An event record was refused: it is malformed or cannot have happened.

    ``field`` names the offending field (dotted for nested values), ``source``
    and ``line`` say where the record came from when it came from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        source: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.source = source
        self.line = line

    def located(self, source: str | None, line: int | None) -> RecordError:
        """Return a copy of this error that also says where the record came from."""
        return RecordError(self.message, field=self.field, source=source, line=line)

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            where.append(self.source if self.line is None else f"{self.source}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class UnknownHearingError(HearingCoreError):
    """No hearing with that slug is in the store."""


class StoreError(HearingCoreError):
    """The store could not be opened or used as asked."""
