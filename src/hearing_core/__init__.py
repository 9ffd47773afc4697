"""hearing_core: an event-sourced record of public multi-stakeholder hearings.

This top-level module is the public API for plugin authors: everything a
projection plugin needs is importable from here (and test helpers from
:mod:`hearing_core.testing`).  Other modules are internal and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hearing_core.event_view import RecordedEvent
from hearing_core.hookspecs import hookimpl
from hearing_core.projection import (
    ALL_HEARINGS,
    IDENTITIES,
    WORDS,
    Page,
    Projection,
    Report,
    ReportRequest,
    Table,
    handles,
    insert_rows,
    stakeholder_groups,
    upsert_rows,
)
from hearing_core.taxonomy import (
    DEFAULT_STAKEHOLDER_GROUPS,
    GCM_OBJECTIVES,
    PANEL_ROLES,
    PLEDGE_LEVELS,
    PLEDGE_STATUSES,
    REGIONS,
    ROLES,
    SEGMENT_KINDS,
    SG_REPORT_AREAS,
)
from hearing_core.text import csv_cell, escape_markdown, strip_controls

if TYPE_CHECKING:
    from hearing_core.corrections import (
        AppliedCorrection,
        CorrectedRecord,
        Correction,
        apply_corrections,
        pseudonyms,
    )
    from hearing_core.reports import report_command, run_report
    from hearing_core.shielding import IDENTIFYING_FIELDS, WITHHELD

__version__ = "0.1.0"

__all__ = [
    "ALL_HEARINGS",
    "DEFAULT_STAKEHOLDER_GROUPS",
    "GCM_OBJECTIVES",
    "IDENTIFYING_FIELDS",
    "IDENTITIES",
    "PANEL_ROLES",
    "PLEDGE_LEVELS",
    "PLEDGE_STATUSES",
    "REGIONS",
    "ROLES",
    "SEGMENT_KINDS",
    "SG_REPORT_AREAS",
    "WITHHELD",
    "WORDS",
    "AppliedCorrection",
    "CorrectedRecord",
    "Correction",
    "Page",
    "Projection",
    "RecordedEvent",
    "Report",
    "ReportRequest",
    "Table",
    "__version__",
    "apply_corrections",
    "csv_cell",
    "escape_markdown",
    "handles",
    "hookimpl",
    "insert_rows",
    "pseudonyms",
    "report_command",
    "run_report",
    "stakeholder_groups",
    "strip_controls",
    "upsert_rows",
]


#: Names imported on first use, by module: they pull in the domain, eventsourcing and
#: cryptography, and every `hearing` command (``--help`` included) imports this package.
_LAZY = {
    "report_command": "hearing_core.reports",
    "run_report": "hearing_core.reports",
    "AppliedCorrection": "hearing_core.corrections",
    "CorrectedRecord": "hearing_core.corrections",
    "Correction": "hearing_core.corrections",
    "apply_corrections": "hearing_core.corrections",
    "pseudonyms": "hearing_core.corrections",
    "IDENTIFYING_FIELDS": "hearing_core.shielding",
    "WITHHELD": "hearing_core.shielding",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        from importlib import import_module

        return getattr(import_module(module), name)
    raise AttributeError(f"module 'hearing_core' has no attribute {name!r}")
