"""The audit's figures, worked out from the read model at render time.

Everything here is plain Python over rows read in a fixed order, so the same
read model always gives the same figures (and the same floating-point sums).
Group attribution happens here, from the participants table as corrected, so
a correction of someone's stakeholder group moves all of their speaking time.
"""

# Table names in SQL are constants of hearing_audit.projection; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from hearing_audit.projection import (
    CORRECTIONS,
    GROUPS,
    HEARINGS,
    INTERVENTIONS,
    PARTICIPANTS,
    SEGMENTS,
)
from hearing_core import PANEL_ROLES, REGIONS

#: A group whose share of stakeholder speaking time exceeds this many equal shares is "over".
OVER_THRESHOLD = 1.5
#: A group whose share of stakeholder speaking time is under this many equal shares is "under".
UNDER_THRESHOLD = 0.5

#: How a speaker's role counts: the panel (keynote, panellist), the floor, or other roles.
ROLE_KINDS = ("panel", "floor", "other")

#: Fields of a participant's registration that could identify a protected speaker.
_IDENTIFYING = frozenset({"name", "organization", "country", "region"})


def role_kind(role: str) -> str:
    """``panel`` for keynote and panellist, ``floor`` for the floor, ``other`` otherwise."""
    if role in PANEL_ROLES:
        return "panel"
    return "floor" if role == "floor" else "other"


def balance_index(seconds: Sequence[float]) -> float:
    """Normalized Shannon entropy of speaking time over ``k = len(seconds)`` groups.

    ``H / ln k`` with ``H = -sum(p_i ln p_i)`` over the groups with time
    (``0 ln 0 = 0``): 1.0 when every group spoke equally long, 0.0 when one
    group had all the time.  No time at all gives 0.0; with a single group
    (k = 1) any time gives 1.0.  Clamped to [0, 1] against rounding.
    """
    total = math.fsum(seconds)
    if not seconds or total <= 0:
        return 0.0
    if len(seconds) == 1:
        return 1.0
    h = -math.fsum((s / total) * math.log(s / total) for s in seconds if s > 0)
    return min(1.0, max(0.0, h / math.log(len(seconds))))


def number(value: float) -> int | float:
    """Seconds as JSON shows them: whole seconds as integers, else three decimals."""
    return int(value) if float(value).is_integer() else round(value, 3)


def parse(at: str) -> datetime:
    return datetime.fromisoformat(at)


# --- reading the read model ---------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One hearing's rows from the read model, in a fixed order."""

    hearing: Mapping[str, Any]
    groups: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    participants: dict[str, dict[str, Any]]  # in registration order
    interventions: list[dict[str, Any]]
    corrections: list[dict[str, Any]]

    @property
    def slug(self) -> str:
        return str(self.hearing["hearing"])

    @property
    def taxonomy(self) -> dict[str, str]:
        return {g["group_id"]: g["label"] for g in self.groups}

    def display_names(self) -> dict[str, str]:
        """Each participant's shown name: a protected one's is their pseudonym (the host's)."""
        return {pid: p["name"] for pid, p in self.participants.items()}

    def organization(self, pid: str) -> str | None:
        p = self.participants.get(pid)
        return None if p is None or p["protected"] else p["organization"]

    def public_id(self, pid: str) -> str | None:
        """A participant's id, or None for a protected one (ids can carry names)."""
        p = self.participants.get(pid)
        return None if p is not None and p["protected"] else pid

    def now(self) -> str | None:
        """The latest time in the record: the last event's time or a later end of speech;
        or the moment the reader asked for (``--as-of 11:30``), when they asked for one."""
        if self.hearing.get("as_of_time"):
            return str(self.hearing["as_of_time"])
        latest: str | None = self.hearing.get("last_at")
        for i in self.interventions:
            if latest is None or parse(i["ended_at"]) > parse(latest):
                latest = i["ended_at"]
        return latest

    @property
    def state(self) -> str:
        if self.hearing.get("closed_at"):
            return "closed"
        if any(s["actual_start"] for s in self.segments):
            return "in_progress"
        return "scheduled"


def load(db: sqlite_utils.Database, slug: str) -> Snapshot | None:
    """Read one hearing's rows, or None if the read model has not seen it."""
    hearings = list(db.query(f"select * from {HEARINGS} where hearing = ?", [slug]))
    if not hearings:
        return None
    return Snapshot(
        hearing=hearings[0],
        groups=list(db.query(f"select * from {GROUPS} where hearing = ? order by ordinal", [slug])),
        segments=list(
            db.query(
                f"select * from {SEGMENTS} where hearing = ? order by ordinal is null, ordinal,"
                " actual_start is null, opened_seq, segment",
                [slug],
            )
        ),
        participants={
            p["participant"]: p
            for p in db.query(
                f"select * from {PARTICIPANTS} where hearing = ? order by seq, participant", [slug]
            )
        },
        interventions=list(
            db.query(f"select * from {INTERVENTIONS} where hearing = ? order by seq", [slug])
        ),
        corrections=list(
            db.query(f"select * from {CORRECTIONS} where hearing = ? order by seq", [slug])
        ),
    )


# --- attribution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Speech:
    """One intervention, attributed through the participants table as it stands."""

    seq: int
    speaker: str
    segment: str
    role_kind: str
    seconds: float
    bucket: str  # "stakeholder", "official" or "outside"
    group: str | None  # the group id (stakeholders and outside), None for officials


def speeches(snap: Snapshot) -> list[Speech]:
    taxonomy = snap.taxonomy
    out = []
    for i in snap.interventions:
        p = snap.participants.get(i["speaker"])
        group = p["stakeholder_group"] if p is not None else "(unregistered)"
        if p is not None and group is None:
            bucket = "official"
        elif group in taxonomy:
            bucket = "stakeholder"
        else:
            bucket = "outside"
        out.append(
            Speech(
                i["seq"],
                i["speaker"],
                i["segment"],
                role_kind(i["role"]),
                float(i["seconds"]),
                bucket,
                group,
            )
        )
    return out


class Tally:
    """Turns and seconds, split by role kind, with the distinct speakers."""

    def __init__(self) -> None:
        self.turns = 0
        self.seconds = 0.0
        self.by_kind = {k: [0, 0.0] for k in ROLE_KINDS}
        self.speakers: dict[str, None] = {}  # insertion-ordered set

    def add(self, s: Speech) -> None:
        self.turns += 1
        self.seconds += s.seconds
        self.by_kind[s.role_kind][0] += 1
        self.by_kind[s.role_kind][1] += s.seconds
        self.speakers.setdefault(s.speaker)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {"speakers": len(self.speakers), "turns": self.turns}
        for kind in ROLE_KINDS:
            out[f"{kind}_turns"] = self.by_kind[kind][0]
        out["seconds"] = number(self.seconds)
        for kind in ROLE_KINDS:
            out[f"{kind}_seconds"] = number(self.by_kind[kind][1])
        return out


def tally(items: Iterable[Speech]) -> Tally:
    t = Tally()
    for s in items:
        t.add(s)
    return t


# --- the audit -------------------------------------------------------------------------------


def compute_audit(snap: Snapshot) -> dict[str, Any]:
    """Every figure of the audit, as the JSON report shows it (key order is part of the format)."""
    taxonomy = snap.taxonomy
    k = len(taxonomy)
    names = snap.display_names()
    all_speech = speeches(snap)
    stakeholder = [s for s in all_speech if s.bucket == "stakeholder"]
    officials = [s for s in all_speech if s.bucket == "official"]
    outside = [s for s in all_speech if s.bucket == "outside"]
    per_group = {g: tally(s for s in stakeholder if s.group == g) for g in taxonomy}
    total_seconds = math.fsum(t.seconds for t in per_group.values())
    total_turns = sum(t.turns for t in per_group.values())

    groups = []
    for gid, label in taxonomy.items():
        t = per_group[gid]
        time_share = t.seconds / total_seconds if total_seconds > 0 else 0.0
        ratio = time_share * k if total_seconds > 0 else None
        row: dict[str, Any] = {
            "group": gid,
            "label": label,
            "took_part": t.turns > 0,
            "absent": t.turns == 0,
        }
        row.update(t.figures())
        row["time_share"] = time_share
        row["turn_share"] = t.turns / total_turns if total_turns else 0.0
        row["representation_ratio"] = ratio
        row["representation"] = _representation(ratio, absent=t.turns == 0)
        groups.append(row)

    official_tally = tally(officials)
    return {
        "hearing": snap.slug,
        "title": snap.hearing["title"],
        "state": snap.state,
        "closed_at": snap.hearing.get("closed_at"),
        "as_of": {"seq": snap.hearing.get("last_seq"), "at": snap.now()},
        "taxonomy_size": k,
        "thresholds": {"over": OVER_THRESHOLD, "under": UNDER_THRESHOLD},
        "balance_index": balance_index([per_group[g].seconds for g in taxonomy]),
        "totals": {
            "stakeholder_turns": total_turns,
            "stakeholder_seconds": number(total_seconds),
            "official_turns": official_tally.turns,
            "official_seconds": number(official_tally.seconds),
            "outside_taxonomy_turns": len(outside),
            "outside_taxonomy_seconds": number(math.fsum(s.seconds for s in outside)),
            "turns": len(all_speech),
            "seconds": number(math.fsum(s.seconds for s in all_speech)),
        },
        "groups": groups,
        "absent_groups": [g["group"] for g in groups if g["absent"]],
        "over_represented": [g["group"] for g in groups if g["representation"] == "over"],
        "under_represented": [g["group"] for g in groups if g["representation"] == "under"],
        "coverage": _coverage(snap, all_speech),
        "officials": {
            "turns": official_tally.turns,
            "seconds": number(official_tally.seconds),
            "speakers": _speaker_rows(snap, names, officials),
        },
        "outside_taxonomy": [
            {"group": gid, **tally(s for s in outside if s.group == gid).figures()}
            for gid in sorted({str(s.group) for s in outside})
        ],
        "regions": _regions(snap, stakeholder),
        "programme": programme(snap),
        "corrections": corrections(snap),
    }


def _representation(ratio: float | None, *, absent: bool) -> str | None:
    """over, under or balanced by the ratio; absent for a group never heard (not "under",
    as the docs and the page say); None when no stakeholder spoke at all (no ratio)."""
    if ratio is None:
        return None
    if absent:
        return "absent"
    if ratio > OVER_THRESHOLD:
        return "over"
    if ratio < UNDER_THRESHOLD:
        return "under"
    return "balanced"


def segment_order(snap: Snapshot, extra: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The segments in programme order, then any outside the programme, by id."""
    known = {s["segment"] for s in snap.segments}
    rows = list(snap.segments)
    for sid in sorted(set(extra) - known):
        rows.append(
            {
                "segment": sid,
                "ordinal": None,
                "title": None,
                "kind": None,
                "planned_start": None,
                "planned_end": None,
                "actual_start": None,
                "actual_end": None,
                "moderator": None,
            }
        )
    return rows


def _coverage(snap: Snapshot, all_speech: list[Speech]) -> list[dict[str, Any]]:
    taxonomy = snap.taxonomy
    out = []
    for seg in segment_order(snap, (s.segment for s in all_speech)):
        here = [s for s in all_speech if s.segment == seg["segment"]]
        stake = [s for s in here if s.bucket == "stakeholder"]
        official = [s for s in here if s.bucket == "official"]
        cells = {}
        for gid in taxonomy:
            t = tally(s for s in stake if s.group == gid)
            cells[gid] = {"turns": t.turns, "seconds": number(t.seconds)}
        out.append(
            {
                "segment": seg["segment"],
                "title": seg["title"],
                "stakeholder_turns": len(stake),
                "stakeholder_seconds": number(math.fsum(s.seconds for s in stake)),
                "official_turns": len(official),
                "official_seconds": number(math.fsum(s.seconds for s in official)),
                "groups_heard": sum(1 for c in cells.values() if c["turns"]),
                "groups": cells,
            }
        )
    return out


def _speaker_rows(
    snap: Snapshot, names: Mapping[str, str], items: Sequence[Speech]
) -> list[dict[str, Any]]:
    out = []
    for pid in dict.fromkeys(s.speaker for s in items):
        t = tally(s for s in items if s.speaker == pid)
        out.append(
            {
                "participant": snap.public_id(pid),
                "name": names.get(pid, pid),
                "organization": snap.organization(pid),
                "turns": t.turns,
                "seconds": number(t.seconds),
            }
        )
    return out


def _regions(snap: Snapshot, stakeholder: Sequence[Speech]) -> dict[str, Any]:
    by_region: dict[str | None, list[Speech]] = {}
    for s in stakeholder:
        region = snap.participants[s.speaker]["region"]
        by_region.setdefault(region, []).append(s)
    with_region = [s for s in stakeholder if snap.participants[s.speaker]["region"]]
    total_seconds = math.fsum(s.seconds for s in with_region)
    total_turns = len(with_region)
    extra = sorted(r for r in by_region if r is not None and r not in REGIONS)
    rows = []
    for region in [*REGIONS, *extra]:
        t = tally(by_region.get(region, []))
        rows.append(
            {
                "region": region,
                "label": REGIONS.get(region, region),
                "speakers": len(t.speakers),
                "turns": t.turns,
                "seconds": number(t.seconds),
                "time_share": t.seconds / total_seconds if total_seconds > 0 else 0.0,
                "turn_share": t.turns / total_turns if total_turns else 0.0,
            }
        )
    unknown = tally(by_region.get(None, []))
    return {
        "rows": rows,
        "no_region": {
            "speakers": len(unknown.speakers),
            "turns": unknown.turns,
            "seconds": number(unknown.seconds),
        },
    }


# --- programme adherence -----------------------------------------------------------------------


def _diff(a: str | None, b: str | None) -> int | float | None:
    """b - a in seconds, or None when either is unknown."""
    if a is None or b is None:
        return None
    return number((parse(b) - parse(a)).total_seconds())


def programme(snap: Snapshot) -> list[dict[str, Any]]:
    """Each segment's plan against what happened (seconds; positive = late or long)."""
    names = snap.display_names()
    out = []
    for seg in segment_order(snap, (i["segment"] for i in snap.interventions)):
        planned = _diff(seg["planned_start"], seg["planned_end"])
        actual = _diff(seg["actual_start"], seg["actual_end"])
        if seg["actual_start"] is None:
            status = "not_started"
        elif seg["actual_end"] is None:
            status = "open"
        else:
            status = "closed"
        out.append(
            {
                "segment": seg["segment"],
                "kind": seg["kind"],
                "title": seg["title"],
                "in_programme": seg["ordinal"] is not None,
                "status": status,
                "moderator": names.get(seg["moderator"], seg["moderator"])
                if seg["moderator"]
                else None,
                "planned_start": seg["planned_start"],
                "planned_end": seg["planned_end"],
                "planned_seconds": planned,
                "actual_start": seg["actual_start"],
                "actual_end": seg["actual_end"],
                "actual_seconds": actual,
                "start_delay_seconds": _diff(seg["planned_start"], seg["actual_start"]),
                "end_overrun_seconds": _diff(seg["planned_end"], seg["actual_end"]),
                "length_overrun_seconds": (
                    None if planned is None or actual is None else number(actual - planned)
                ),
            }
        )
    return out


# --- corrections ---------------------------------------------------------------------------------


def corrections(snap: Snapshot) -> list[dict[str, Any]]:
    """The corrections that changed something the audit shows, with what changed and why.

    A correction of a protected participant's registration shows neither the
    old nor the new identifying values, nor its reason (which may name them).
    """
    names = snap.display_names()
    by_seq = {p["seq"]: pid for pid, p in snap.participants.items()}
    speakers = {i["seq"]: i["speaker"] for i in snap.interventions}
    out = []
    for c in snap.corrections:
        if not c["affects_audit"]:
            continue
        changes = json.loads(c["changes"])
        previous = json.loads(c["previous"])
        kind = c["corrected_type"]
        subject: str | None = None
        reason: str | None = c["reason"]
        redact: frozenset[str] = frozenset()
        withheld = False
        person_fields: frozenset[str] = frozenset({"speaker", "moderator"})
        if kind == "ParticipantRegistered":
            pid = by_seq.get(c["corrects"])
            subject = names.get(pid) if pid else None
            protected = bool(pid and snap.participants[pid]["protected"]) or bool(
                changes.get("protected") or previous.get("protected")
            )
            if protected:
                redact, reason, withheld = _IDENTIFYING, None, True
        elif kind == "InterventionDelivered":
            speaker = speakers.get(c["corrects"])
            subject = names.get(speaker) if speaker else None
        elif kind in ("SegmentOpened", "SegmentClosed"):
            subject = changes.get("segment") or None
        fields = {}
        for field in sorted(previous):
            before, after = previous[field], changes.get(field)
            if field in redact:
                before = after = None
            elif field in person_fields:
                before = names.get(before, before) if before else before
                after = names.get(after, after) if after else after
            fields[field] = {"from": before, "to": after}
        out.append(
            {
                "seq": c["seq"],
                "at": c["at"],
                "corrects": c["corrects"],
                "event": kind,
                "subject": subject,
                "fields": fields,
                "reason": reason,
                "withheld": withheld,
            }
        )
    return out


# --- the moderator's live view -----------------------------------------------------------------


def compute_status(snap: Snapshot) -> dict[str, Any]:
    """Where the hearing stands as of the latest time in its record, for the moderator."""
    taxonomy = snap.taxonomy
    names = snap.display_names()
    all_speech = speeches(snap)
    now = snap.now()
    open_seg = next((s for s in snap.segments if s["actual_start"] and not s["actual_end"]), None)
    state = (
        "closed"
        if snap.state == "closed"
        else (
            "in_segment"
            if open_seg
            else snap.state
            if snap.state == "scheduled"
            else "between_segments"
        )
    )
    heard = {s.group for s in all_speech if s.bucket == "stakeholder"}
    overall = []
    for gid, label in taxonomy.items():
        mine = [s for s in all_speech if s.bucket == "stakeholder" and s.group == gid]
        if mine:
            t = tally(mine)
            overall.append(
                {
                    "group": gid,
                    "label": label,
                    "turns": t.turns,
                    "seconds": number(t.seconds),
                    "speakers": [names.get(p, p) for p in t.speakers],
                }
            )
    unheard = []
    for gid, label in taxonomy.items():
        if gid in heard:
            continue
        waiting = [
            names[pid] for pid, p in snap.participants.items() if p["stakeholder_group"] == gid
        ]
        unheard.append({"group": gid, "label": label, "registered": waiting})
    officials = tally(s for s in all_speech if s.bucket == "official")
    out: dict[str, Any] = {
        "hearing": snap.slug,
        "title": snap.hearing["title"],
        "state": state,
        "now": now,
        "seq": snap.hearing.get("last_seq"),
        "closed_at": snap.hearing.get("closed_at"),
        "open_segment": None,
        "segment_speakers": [],
        "segment_unheard_groups": [],
        "overall": overall,
        "official_turns": officials.turns,
        "official_seconds": number(officials.seconds),
        "unheard_groups": unheard,
        "last_closed_segment": None,
        "next_segment": None,
    }
    if open_seg is not None and now is not None:
        out["open_segment"] = _open_segment(open_seg, now, names)
        here = [s for s in all_speech if s.segment == open_seg["segment"]]
        rows = []
        for pid in dict.fromkeys(s.speaker for s in here):
            t = tally(s for s in here if s.speaker == pid)
            first = next(s for s in here if s.speaker == pid)
            rows.append(
                {
                    "name": names.get(pid, pid),
                    "group": first.group,
                    "label": taxonomy.get(
                        first.group or "", "official" if first.group is None else str(first.group)
                    ),
                    "turns": t.turns,
                    "seconds": number(t.seconds),
                }
            )
        out["segment_speakers"] = rows
        heard_here = {s.group for s in here if s.bucket == "stakeholder"}
        out["segment_unheard_groups"] = [
            {"group": gid, "label": label}
            for gid, label in taxonomy.items()
            if gid not in heard_here
        ]
    closed = [s for s in snap.segments if s["actual_end"]]
    if closed:
        last = max(closed, key=lambda s: (parse(s["actual_end"]), s["closed_seq"] or 0))
        out["last_closed_segment"] = {
            "segment": last["segment"],
            "title": last["title"],
            "actual_end": last["actual_end"],
            "planned_end": last["planned_end"],
            "end_overrun_seconds": _diff(last["planned_end"], last["actual_end"]),
        }
    upcoming = [s for s in snap.segments if s["ordinal"] is not None and not s["actual_start"]]
    if upcoming and state != "closed":
        nxt = upcoming[0]
        out["next_segment"] = {
            "segment": nxt["segment"],
            "title": nxt["title"],
            "planned_start": nxt["planned_start"],
            "planned_end": nxt["planned_end"],
            "late_by_seconds": _diff(nxt["planned_start"], now) if now else None,
        }
    return out


def _open_segment(seg: Mapping[str, Any], now: str, names: Mapping[str, str]) -> dict[str, Any]:
    planned = _diff(seg["planned_start"], seg["planned_end"])
    elapsed = _diff(seg["actual_start"], now)
    return {
        "segment": seg["segment"],
        "title": seg["title"],
        "moderator": names.get(seg["moderator"], seg["moderator"]) if seg["moderator"] else None,
        "actual_start": seg["actual_start"],
        "planned_start": seg["planned_start"],
        "planned_end": seg["planned_end"],
        "planned_seconds": planned,
        "elapsed_seconds": elapsed,
        "remaining_seconds": _diff(now, seg["planned_end"]),
        "over_plan_seconds": (
            None if planned is None or elapsed is None else number(max(0.0, elapsed - planned))
        ),
    }
