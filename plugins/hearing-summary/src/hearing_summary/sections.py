"""The summary's sections: named here, apart from the projection, so that building the
command line (``hearing summary --section``) does not import the projection."""

from __future__ import annotations

SECTIONS = (
    "all",
    "digest",
    "by-session",
    "by-objective",
    "by-area",
    "by-group",
    "pledges",
    "summations",
)
