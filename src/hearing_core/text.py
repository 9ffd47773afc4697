"""Making untrusted text inert in the formats reports are written in.

Speakers' words, names and organizations are untrusted input: a report
must show them, never interpret them.
"""

from __future__ import annotations

import html.entities
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from hearing_core.errors import RecordError

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
    """Escape text for Markdown (CommonMark, and GFM tables and strikethrough) so it renders
    literally, one line per line, wherever a report puts it on a line.

    Only what Markdown would interpret is escaped, where it would interpret it:

    - ``*`` and ``_`` where they could open or close emphasis (``New_York``, ``a * b`` stay);
      `` ` ``, ``|`` and ``~`` (code, tables, strikethrough); ``](`` after a ``[`` (an inline
      link or image: ``[Illustrative]`` stays, as no reference definition can exist);
      ``<`` before a letter, ``/``, ``!`` or ``?`` (HTML, autolinks); ``&`` that starts an
      entity (``&amp;``); ``\\`` before punctuation or at the end of a line;
    - at the start of a line (the start of the text counts: a report may put it there): a
      heading ``#``, a list marker (``-``, ``+``, ``1.``, ``1)``) followed by a space or
      nothing, ``>``, a ``[`` that could open a link reference definition (``[label]:``),
      and a heading underline or rule (``===``, ``---``);
    - at the end of a line: a run of ``#`` after a space (a heading's closing sequence).

    Leading indentation is dropped (it would make a code block); controls are stripped.
    ``2022-05-16``, ``(America/New_York)`` and ``Multi-Stakeholder`` are left as they are.
    """
    text = unicodedata.normalize("NFC", strip_controls(text))
    lines = [line.lstrip(" \t") for line in text.split("\n")]
    out = []
    bracket = False  # an unescaped "[" earlier in the paragraph: "](" would close a link
    for n, line in enumerate(lines):
        if not line:
            bracket = False
        escaped, bracket = _escape_line(line, bracket, last_line=n == len(lines) - 1)
        out.append(escaped)
    return "\n".join(out)


_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ALWAYS = frozenset("`|~")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|([A-Za-z][A-Za-z0-9]{0,31}));")


def _starts_entity(line: str, i: int) -> bool:
    """Whether the ``&`` at ``i`` starts a character reference Markdown would decode:
    a numeric one, or a name HTML5 knows (``&amp;`` yes, ``&a;`` no: it stays as typed)."""
    found = _ENTITY.match(line, i)
    if found is None:
        return False
    name = found.group(1)
    return name is None or f"{name};" in html.entities.html5


#: Block markers at the start of a line; the group that matched is the character to escape.
_LINE_START = re.compile(r"(#)#{0,5}(?=[ \t]|$)|([-+])(?=[ \t]|$)|\d{1,9}([.)])(?=[ \t]|$)|(>)")
#: A whole line that underlines a heading (``===``, ``---``) or is a rule (``- - -``).
_UNDERLINE = re.compile(r"(?:=+|-+|(?:-[ \t]*){3,})[ \t]*")
_CLOSING_HASHES = re.compile(r"(?<=[ \t])#+[ \t]*$")
#: What could start a link reference definition: ``[label]:`` (a label may go on over lines).
_DEFINITION = re.compile(r"\[(?:[^\]\\]|\\.)*\]:")
_OPEN_LABEL = re.compile(r"\[(?:[^\]\\]|\\.)*$")


def _punctuation(ch: str) -> bool:
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch)[0] in "PS"


def _emphasis(line: str, start: int, end: int) -> bool:
    """Whether the run of ``*`` or ``_`` at ``line[start:end]`` could open or close emphasis.

    CommonMark's flanking rules; outside the text (where a report goes on) may be a space
    or punctuation (``*{text}*``): either counts.
    """
    delimiter = line[start]
    for outside in (" ", "*"):
        before = line[start - 1] if start > 0 else outside
        after = line[end] if end < len(line) else outside
        left = not after.isspace() and (
            not _punctuation(after) or before.isspace() or _punctuation(before)
        )
        right = not before.isspace() and (
            not _punctuation(before) or after.isspace() or _punctuation(after)
        )
        if delimiter == "*" and (left or right):
            return True
        opens = left and (not right or _punctuation(before))
        closes = right and (not left or _punctuation(after))
        if delimiter == "_" and (opens or closes):
            return True
    return False


def _escape_line(line: str, bracket: bool, *, last_line: bool) -> tuple[str, bool]:
    forced: set[int] = set()
    m = _LINE_START.match(line)
    if m:
        group = next(g for g in range(1, 5) if m.group(g) is not None)
        forced.add(m.start(group))
    if _UNDERLINE.fullmatch(line):
        forced.add(0)
    closing = _CLOSING_HASHES.search(line)
    if closing:
        forced.add(closing.start())
    if line.startswith("[") and (
        _DEFINITION.match(line) or (not last_line and _OPEN_LABEL.match(line))
    ):
        forced.add(0)
    out = []
    last = len(line) - 1
    i = 0
    while i <= last:
        ch = line[i]
        if ch in "*_":
            end = i
            while end <= last and line[end] == ch:
                end += 1
            run = line[i:end]
            out.append("".join("\\" + c for c in run) if _emphasis(line, i, end) else run)
            i = end
            continue
        if i in forced or ch in _ALWAYS:
            escape = True
        elif ch == "\\":
            escape = i == last or line[i + 1] in _ASCII_PUNCTUATION
        elif ch == "[":
            bracket = True
            escape = False
        elif ch == "]":
            escape = bracket and i < last and line[i + 1] == "("
        elif ch == "<":
            escape = i < last and (line[i + 1].isalpha() or line[i + 1] in "/!?")
        elif ch == "&":
            escape = _starts_entity(line, i)
        else:
            escape = False
        out.append("\\" + ch if escape else ch)
        i += 1
    return "".join(out), bracket


#: Refused in every string of a record: C0/C1 controls (but tab, newline, carriage
#: return), lone surrogates, and the bidi embeddings, overrides and isolates
#: (U+202A-U+202E, U+2066-U+2069).  The last can make text display in another order
#: than it is stored (Trojan Source, CVE-2021-42574): "will \u202etroppus\u202c" shows as
#: "will support".  Isolates are refused too: inside one, words are reordered (an RLI
#: run of Latin words shows them right to left), and an unclosed one reorders the rest
#: of the line.  Right-to-left text needs none of them, renderers isolate each user
#: value themselves, and the marks U+200E, U+200F and U+061C (which reorder nothing)
#: stay allowed.
_REFUSED = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAK = re.compile(r"[\n\r\t\u2028\u2029]")

#: Fields shown as one line (names, titles): no line breaks there, which could make a
#: name display as something else.
ONE_LINE_FIELDS = frozenset({"name", "organization", "title", "venue", "label", "reason"})


def _refusal(char: str, field: str) -> RecordError:
    code = f"U+{ord(char):04X}"
    if char in _BIDI_CONTROLS:
        return RecordError(
            f"contains {code}, a bidi override, embedding or isolate (it can make text "
            "display in another order than it is recorded); marks U+200E/U+200F are allowed",
            field=field,
        )
    if "\ud800" <= char <= "\udfff":
        return RecordError(
            f"contains a lone surrogate {code} (not valid Unicode text)", field=field
        )
    return RecordError(f"contains the control character {code}", field=field)


def check_text(value: Any, field: str = "") -> None:
    """Refuse unsafe characters in every string of a record, and line breaks in one-line
    fields; ``field`` is the dotted path reported.

    The one text check of the core, run by :func:`hearing_core.catalogue.validate_record`
    on import, the live ``record`` commands and corrections (``changes`` included): one
    regular-expression search per string, so it stays cheap on bulk imports.
    """
    if isinstance(value, str):
        bad = _REFUSED.search(value)
        if bad:
            raise _refusal(bad[0], field)
        if field.rsplit(".", 1)[-1] in ONE_LINE_FIELDS:
            bad = _LINE_BREAK.search(value)
            if bad:
                raise RecordError(f"contains U+{ord(bad[0]):04X} (a line break)", field=field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_text(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{field}.{i}" if field else str(i))


# A superset of every character check_text refuses anywhere (controls, lone surrogates,
# bidi overrides and isolates), and of what it refuses in one-line fields (line breaks
# too).  A record none of whose strings holds one of these passes check_text for certain.
_SUSPECT = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
_SUSPECT_ONE_LINE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def plainly_safe(value: Any) -> bool:
    """Whether :func:`check_text` certainly accepts ``value``; False means "ask it".

    A cheap pre-scan for bulk imports: one flat walk with exact type tests gathering
    the strings, then one search over all of them at once (two: one-line fields have
    their own), no field paths built.  It is never laxer than check_text (it also
    suspects any value of a type it does not know), so False only sends the value to
    check_text, which decides and words the refusal; ``tests/test_text_prescan.py``
    proves True never hides a refusal.
    """
    texts: list[str] = []
    one_line: list[str] = []
    if not _gather(value, None, texts, one_line):
        return False
    # The patterns match single characters and the separators are never suspect, so
    # a match in the joined text is a match in one of the strings, and the other way.
    if texts and _suspect("\n".join(texts), _SUSPECT, _ASCII_SAFE):
        return False
    return not (one_line and _suspect(" ".join(one_line), _SUSPECT_ONE_LINE, _ASCII_SAFE_ONE_LINE))


def plain_and_safe(value: Any) -> bool:
    """Whether ``value`` is plain JSON without a float (exact dicts and lists of strings,
    integers, booleans and null) whose text :func:`check_text` certainly accepts.

    :func:`plainly_safe` and :func:`hearing_core.chain.float_free` in one walk, for
    the import's validation; False means "ask each of them".
    """
    texts: list[str] = []
    one_line: list[str] = []
    if not _gather(value, None, texts, one_line, _FLOAT_FREE_SCALARS):
        return False
    if texts and _suspect("\n".join(texts), _SUSPECT, _ASCII_SAFE):
        return False
    return not (one_line and _suspect(" ".join(one_line), _SUSPECT_ONE_LINE, _ASCII_SAFE_ONE_LINE))


def _gather(
    value: Any,
    key: Any,
    texts: list[str],
    one_line: list[str],
    scalars: frozenset[Any] | None = None,
) -> bool:
    """Put the strings of ``value`` (under ``key``) into ``texts`` or, in a one-line
    field, ``one_line``; False for a value of a type the pre-scan does not know (other
    than str, dict, list and ``scalars``, by default int, float, bool and None)."""
    known: frozenset[Any] = _PLAIN_SCALARS if scalars is None else scalars
    kind = type(value)
    if kind is str:
        (one_line if key in ONE_LINE_FIELDS else texts).append(value)
        return True
    if kind is dict:
        for k, item in value.items():
            kind = type(item)
            if kind is str:
                (one_line if k in ONE_LINE_FIELDS else texts).append(item)
            elif kind not in known and not _gather(item, k, texts, one_line, known):
                return False
        return True
    if kind is list:
        # List items are never one-line fields.
        return all(_gather(item, None, texts, one_line, known) for item in value)
    return kind in known


_PLAIN_SCALARS: frozenset[Any] = frozenset({int, float, bool, type(None)})
_FLOAT_FREE_SCALARS: frozenset[Any] = frozenset({int, bool, type(None)})

#: The ASCII characters neither pattern suspects: printable ASCII, and tab, newline and
#: carriage return where line breaks are allowed.
_ASCII_SAFE_ONE_LINE = bytes(range(0x20, 0x7F))
_ASCII_SAFE = _ASCII_SAFE_ONE_LINE + b"\t\n\r"


def _suspect(text: str, pattern: re.Pattern[str], ascii_safe: bytes) -> bool:
    """Whether ``pattern`` finds a character in ``text``; for ASCII text (most of it),
    by deleting the characters it cannot find and seeing whether any is left: the same
    answer, several times faster than a regular-expression search."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, ascii_safe))
    return pattern.search(text) is not None
