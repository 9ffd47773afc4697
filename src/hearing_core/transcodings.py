"""Transcodings that let eventsourcing store the domain's attrs value objects."""

from __future__ import annotations

# The C encoder json.JSONEncoder.encode builds for each call, and its string writers.
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any

import attrs
from eventsourcing.persistence import JSONTranscoder, Transcoding


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


class OneEncoderJSONTranscoder(JSONTranscoder):
    """eventsourcing's JSON transcoder, with its C encoder made once, not once an event.

    ``json.JSONEncoder.encode`` builds a new C encoder (``c_make_encoder``) on every
    call; an import encodes every event, and building it cost about as much as
    encoding a small event.  This makes the same C encoder, with the same settings
    as the transcoder's own ``JSONEncoder``, once and calls it: the same bytes
    (``tests/test_transcodings.py`` proves it against eventsourcing's transcoder).
    """

    def __init__(self) -> None:
        super().__init__()
        self._iterencode = self._make_encoder()

    def _make_encoder(self) -> Any:
        settings = self.encoder
        maker: Any = c_make_encoder  # None where Python was built without _json
        indent: Any = settings.indent  # eventsourcing sets none; the C encoder needs that
        if maker is None or indent is not None:
            return None
        return maker(
            {} if settings.check_circular else None,
            settings.default,
            encode_basestring_ascii if settings.ensure_ascii else encode_basestring,
            indent,
            settings.key_separator,
            settings.item_separator,
            settings.sort_keys,
            settings.skipkeys,
            settings.allow_nan,
        )

    def encode(self, obj: Any) -> bytes:
        if self._iterencode is None or type(obj) is not dict:
            return super().encode(obj)
        try:
            chunks = self._iterencode(obj, 0)
        except BaseException:
            # A failed encode can leave entries in the circular-reference markers.
            self._iterencode = self._make_encoder()
            raise
        return "".join(chunks).encode("utf8")
