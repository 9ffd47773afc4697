"""Reading a record with its corrections applied, and shielding protected speakers.

Nothing in the log is edited: a ``CorrectionIssued`` event names an earlier
event by its ``seq`` and the new values of some of its fields.  Readers that
want the record "as corrected" fold the corrections in here; readers that
want it "as originally recorded" skip this step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs


@attrs.frozen
class AppliedCorrection:
    """One correction as it bears on the event it corrects."""

    seq: int  # the correction's own position
    at: str
    changes: Mapping[str, Any]
    previous: Mapping[str, Any]  # the values the changes replaced
    reason: str


@attrs.frozen
class CorrectedRecord:
    """An event's record with every later correction folded in, and their history."""

    record: Mapping[str, Any]
    original: Mapping[str, Any]
    corrections: tuple[AppliedCorrection, ...] = ()


def apply_corrections(records: Iterable[Mapping[str, Any]]) -> list[CorrectedRecord]:
    """Fold every ``CorrectionIssued`` into the record it corrects.

    The corrections themselves are kept in the output, in place, so a reader
    can list them; the corrected events carry their corrections in order.
    """
    out: list[CorrectedRecord] = []
    by_seq: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record["hearing"], record["seq"])
        by_seq[key] = len(out)
        out.append(CorrectedRecord(record=dict(record), original=dict(record)))
        if record["type"] != "CorrectionIssued":
            continue
        target_key = (record["hearing"], record["corrects"])
        if target_key not in by_seq:
            continue  # a correction of an event not in this reading (e.g. an excerpt)
        i = by_seq[target_key]
        target = out[i]
        previous = {k: target.record.get(k) for k in record["changes"]}
        applied = AppliedCorrection(
            seq=record["seq"],
            at=record["at"],
            changes=dict(record["changes"]),
            previous=previous,
            reason=record["reason"],
        )
        out[i] = CorrectedRecord(
            record={**target.record, **record["changes"]},
            original=target.original,
            corrections=(*target.corrections, applied),
        )
    return out


def pseudonyms(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """A stable pseudonym for every protected participant: "Protected speaker N".

    N counts participants in the order their protection appears in the record:
    at registration, or by a later correction that protects them (protection
    is never lifted).  The same log always gives the same pseudonyms, and
    nothing of the person's id or name leaks into them.
    """
    out: dict[str, str] = {}
    registrations: dict[tuple[str, int], str] = {}
    for record in records:
        pid = None
        if record["type"] == "ParticipantRegistered":
            registrations[(record["hearing"], record["seq"])] = record["participant"]
            if record.get("protected"):
                pid = record["participant"]
        elif record["type"] == "CorrectionIssued" and record["changes"].get("protected"):
            pid = registrations.get((record["hearing"], record["corrects"]))
        if pid is not None:
            out.setdefault(pid, f"Protected speaker {len(out) + 1}")
    return out
