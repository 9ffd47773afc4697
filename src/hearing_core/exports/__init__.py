"""Exports of a hearing's record to open formats: pure functions of its records.

Each takes the hearing's records in log order (dicts as in the interchange
file, e.g. from ``HearingArchive.records(slug)``) and returns a ``str``; by
default the record is read as corrected, ``uncorrected=True`` reads it as
originally made.  Protected participants appear only by pseudonym.

* :func:`to_akoma_ntoso` - an Akoma Ntoso 3.0 ``debate`` document (XML);
* :func:`to_popolo` - Popolo persons, organizations, memberships, events, speeches (JSON);
* :func:`to_html` - one standalone, accessible HTML5 page without scripts.

Copies of the standards they are checked against, with their licences, are in
``standards/`` beside this file.

The formats are imported on first use (lxml, jsonschema): exporting the archival ``jsonl``
through :mod:`hearing_core.exports.registry` loads none of them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hearing_core.exports.akn import to_akoma_ntoso
    from hearing_core.exports.html import to_html
    from hearing_core.exports.popolo import to_popolo

__all__ = ["to_akoma_ntoso", "to_html", "to_popolo"]

_WHERE = {"to_akoma_ntoso": "akn", "to_html": "html", "to_popolo": "popolo"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"hearing_core.exports.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'hearing_core.exports' has no attribute {name!r}")
