"""Reference vocabularies of the GCM hearing domain.

The default stakeholder taxonomy, regions, roles, GCM objectives and the
recommendation areas of the Secretary-General's report A/76/642.  Sources are
listed in ``docs/events.md``; the data are facts, not configuration, so they
live in code where every module (and every plugin) can import them.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: The GCM stakeholder groups (A/RES/73/195 paras 15 and 44), id -> label.
DEFAULT_STAKEHOLDER_GROUPS: Final = MappingProxyType(
    {
        "migrants": "Migrants",
        "civil_society": "Civil society",
        "migrant_diaspora_organizations": "Migrant and diaspora organizations",
        "faith_based_organizations": "Faith-based organizations",
        "local_authorities": "Local authorities and communities",
        "private_sector": "Private sector",
        "trade_unions": "Trade unions",
        "parliamentarians": "Parliamentarians",
        "national_human_rights_institutions": "National Human Rights Institutions",
        "red_cross_red_crescent": "International Red Cross and Red Crescent Movement",
        "academia": "Academia",
        "media": "Media",
        "human_rights_mechanisms": "Human rights mechanisms",
        "other_stakeholders": "Other relevant stakeholders",
    }
)

#: UN regional groupings used by the GCM regional reviews, id -> label.
REGIONS: Final = MappingProxyType(
    {
        "africa": "Africa",
        "arab_states": "Arab States",
        "asia_pacific": "Asia and the Pacific",
        "europe_north_america": "Europe and North America",
        "latin_america_caribbean": "Latin America and the Caribbean",
    }
)

#: Roles a speaker may take in an intervention.
ROLES: Final = ("chair", "keynote", "moderator", "panellist", "floor", "rapporteur")

#: Roles counted as "panel" in balance audits; "floor" is the floor; the rest are "other".
PANEL_ROLES: Final = frozenset({"keynote", "panellist"})

#: Kinds of programme segment.
SEGMENT_KINDS: Final = ("opening", "session", "break", "closing")

#: Levels at which a pledge is made.
PLEDGE_LEVELS: Final = ("local", "national", "regional", "global")

#: Statuses of a pledge's follow-up.
PLEDGE_STATUSES: Final = ("planned", "in_progress", "fulfilled", "withdrawn")

#: GCM objectives (A/RES/73/195 para 16), number -> short title.
GCM_OBJECTIVES: Final = MappingProxyType(
    {
        1: "Data",
        2: "Minimize adverse drivers",
        3: "Information provision",
        4: "Legal identity and documentation",
        5: "Regular pathways",
        6: "Recruitment and decent work",
        7: "Reduce vulnerabilities",
        8: "Save lives",
        9: "Counter smuggling",
        10: "Eradicate trafficking",
        11: "Manage borders",
        12: "Screening and referral",
        13: "Alternatives to detention",
        14: "Consular protection",
        15: "Access to basic services",
        16: "Inclusion and social cohesion",
        17: "Eliminate discrimination",
        18: "Skills development and recognition",
        19: "Migrant and diaspora contributions",
        20: "Remittances",
        21: "Dignified return and reintegration",
        22: "Social protection",
        23: "International cooperation",
    }
)

#: Recommendation areas of the Secretary-General's report A/76/642.
SG_REPORT_AREAS: Final = MappingProxyType(
    {
        1: "Promoting inclusive societies and including migrants in COVID-19 response and recovery",
        2: "Promoting safe and regular migration",
        3: "Preventing loss of life and other tragedies during migration",
        4: "Building capacity",
    }
)
