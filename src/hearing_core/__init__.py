"""hearing_core: an event-sourced record of public multi-stakeholder hearings.

This top-level module is the public API for plugin authors: everything a
projection plugin needs is importable from here (and test helpers from
:mod:`hearing_core.testing`).  Other modules are internal and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hearing_core.corrections import (
    AppliedCorrection,
    CorrectedRecord,
    Correction,
    apply_corrections,
    pseudonyms,
)
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
)
from hearing_core.recorded import RecordedEvent
from hearing_core.shielding import IDENTIFYING_FIELDS, WITHHELD
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
    from hearing_core.cli.report_cmds import report_command, run_report

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
    "pseudonyms",
    "report_command",
    "run_report",
    "strip_controls",
]


def __getattr__(name: str) -> Any:
    # The CLI helper is imported on first use so that importing hearing_core stays light.
    if name in ("report_command", "run_report"):
        from hearing_core.cli import report_cmds

        return getattr(report_cmds, name)
    raise AttributeError(f"module 'hearing_core' has no attribute {name!r}")
