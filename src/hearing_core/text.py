"""Making untrusted text inert in the formats reports are written in.

Speakers' words, names and organizations are untrusted input: a report
must show them, never interpret them.
"""

from __future__ import annotations

import re
import unicodedata

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&=])")
# C0/C1 controls (but tab/newline), and bidi overrides/isolates that can spoof text order.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Remove control characters (ANSI escapes included) and bidi overrides."""
    return _UNSAFE.sub("", text)


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
