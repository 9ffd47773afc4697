"""Making untrusted text inert in the formats reports are written in.

Speakers' words, names and organizations are untrusted input: a report
must show them, never interpret them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from hearing_core.errors import RecordError

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&=])")
# C0/C1 controls (but tab/newline), and bidi overrides/isolates that can spoof text order.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Remove control characters (ANSI escapes included) and bidi overrides."""
    return _UNSAFE.sub("", text)


def csv_cell(value: Any) -> Any:
    """Keep a spreadsheet from reading a cell as a formula (OWASP CSV injection).

    Text starting with = + - @ (or a tab or carriage return) gets a leading
    apostrophe; numbers, and text that reads as one, are left as they are.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def escape_markdown(text: str) -> str:
    """Escape text for Markdown (CommonMark) so it renders literally, on one line per line.

    Every punctuation character Markdown or inline HTML could act on is
    backslash-escaped (``=`` too: a line of them makes a heading), leading
    indentation is dropped (it would make a code block), controls are stripped.
    """
    text = unicodedata.normalize("NFC", strip_controls(text))
    # Leading indentation would turn a line into a code block: drop it.
    text = "\n".join(line.lstrip(" \t") for line in text.split("\n"))
    return _MD_SPECIAL.sub(r"\\\1", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BIDI_OR_BREAK = re.compile(r"[\u202a-\u202e\u2066-\u2069\n\r\t\u2028\u2029]")

#: Fields shown as one line (names, titles): no line breaks and no bidi overrides there,
#: which could make a name display as something else.
ONE_LINE_FIELDS = frozenset({"name", "organization", "title", "venue", "label", "reason"})


def check_text(value: Any, field: str = "") -> None:
    """Refuse control characters and lone surrogates anywhere, and bidi overrides or
    line breaks in one-line fields; ``field`` is the dotted path reported."""
    if isinstance(value, str):
        bad = _CONTROL.search(value)
        if bad:
            raise RecordError(f"contains the control character U+{ord(bad[0]):04X}", field=field)
        bad = _SURROGATE.search(value)
        if bad:
            raise RecordError(
                f"contains a lone surrogate U+{ord(bad[0]):04X} (not valid Unicode text)",
                field=field,
            )
        if field.rsplit(".", 1)[-1] in ONE_LINE_FIELDS:
            bad = _BIDI_OR_BREAK.search(value)
            if bad:
                raise RecordError(
                    f"contains U+{ord(bad[0]):04X} (a line break or bidi override)", field=field
                )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_text(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{field}.{i}" if field else str(i))
