"""hearing_core: an event-sourced record of public multi-stakeholder hearings."""

from __future__ import annotations

__version__ = "0.1.0"
