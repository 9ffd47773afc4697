"""Transcodings that let eventsourcing store the domain's attrs value objects."""

from __future__ import annotations

from typing import Any

import attrs
from eventsourcing.persistence import Transcoding


class AttrsTranscoding(Transcoding):
    """Stores an attrs class as a mapping of its fields; one instance per class.

    The stored name is the class's qualified name, so renaming a value object
    class needs a transcoding registered under the old name too.
    """

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__qualname__

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in attrs.fields(self.type)}

    def decode(self, data: Any) -> Any:
        return self.type(**data)
