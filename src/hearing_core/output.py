"""Where output goes: the terminal, standard output, or a file named by ``-o``.

Every command that writes output takes ``-o``/``--output``; ``-o -`` (or no
``-o``) means standard output.  Files are written atomically (a ``.part``
file, renamed when complete), and a path that cannot be written is one error
line naming it, never a traceback.  The terminal consoles never interpret user
text as markup, emoji codes (``:x:``) or highlighting.

Click is imported only by :func:`output_option` (building a command), so the report
logic (:mod:`hearing_core.reports`) writes through this module without importing
click or the command line (:mod:`hearing_core.cli`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from hearing_core.errors import HearingCoreError

#: Terminal output.  User text is never markup, emoji codes (``:x:``) or highlighted:
#: messages that want style pass ``rich.text.Text`` objects built by the code.
console = Console(highlight=False, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False)


def to_stdout(output: Path | str | None) -> bool:
    """True when ``output`` means standard output (no ``-o``, or ``-o -``)."""
    return output is None or str(output) == "-"


def output_path_type() -> Any:
    """The click type of every ``-o``: a path, or ``-``.  What is wrong with the path (a
    folder, a missing or read-only folder) is said by :func:`check_writable`, the same
    way on every command."""
    import click

    return click.Path(allow_dash=True, path_type=Path)


def output_option(**kwargs: Any) -> Callable[[Any], Any]:
    """The ``-o/--output`` option, the same on every command."""
    import click

    settings: dict[str, Any] = {
        "type": output_path_type(),
        "metavar": "FILE",
        "help": "Write here instead of standard output (- is standard output).",
    }
    settings.update(kwargs)
    return click.option("-o", "--output", **settings)


def check_writable(output: Path | str | None) -> None:
    """Refuse, in one line, a path that cannot be written (before any work is done)."""
    if to_stdout(output):
        return
    output = Path(output)  # type: ignore[arg-type]
    folder = output.parent
    if not folder.exists():
        raise HearingCoreError(f"cannot write {output}: folder {folder} does not exist")
    if not folder.is_dir():
        raise HearingCoreError(f"cannot write {output}: {folder} is not a folder")
    if output.is_dir():
        raise HearingCoreError(f"cannot write {output}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise HearingCoreError(f"cannot write {output}: folder {folder} is not writable")
    if output.exists() and not os.access(output, os.W_OK):
        raise HearingCoreError(f"cannot write {output}: permission denied")


@contextmanager
def writing(output: Path | str | None, *, mode: int | None = None) -> Iterator[TextIO]:
    """A text stream for ``output``: standard output, or the file, written atomically.

    ``mode`` sets the file's permissions before anything is written to it (0o600
    for keys).  An OS error becomes one :class:`HearingCoreError` line.
    """
    if to_stdout(output):
        yield sys.stdout
        return
    path = Path(output)  # type: ignore[arg-type]
    check_writable(path)
    tmp = path.with_name(path.name + ".part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise HearingCoreError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(output: Path | str | None, text: str) -> None:
    """Write ``text`` (a JSON document, a seal) and a final newline to ``output``."""
    with writing(output) as stream:
        stream.write(text if text.endswith("\n") else text + "\n")


def print_renderable(
    output: Path | str | None, renderable: Any, *, width: int = 120, soft_wrap: bool = False
) -> None:
    """Print a rich renderable (several: a ``rich.console.Group``) to the terminal console,
    or plain into the file.  ``soft_wrap`` keeps lines of text whole."""
    if to_stdout(output):
        console.print(renderable, soft_wrap=soft_wrap)
        return
    with writing(output) as stream:
        Console(
            file=stream, width=width, highlight=False, markup=False, emoji=False, no_color=True
        ).print(renderable, soft_wrap=soft_wrap)
