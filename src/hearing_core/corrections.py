"""Reading a record with its corrections applied, and corrections resolved for projections.

Nothing in the log is edited: a ``CorrectionIssued`` event names an earlier
event by its ``seq`` and the new values of some of its fields.  Readers that
want the record "as corrected" fold the corrections in here; readers that
want it "as originally recorded" skip this step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from hearing_core.event_view import RecordedEvent, freeze
from hearing_core.shielding import IDENTIFYING_FIELDS, PERSON_FIELDS, WITHHELD, Protection, shield

if TYPE_CHECKING:
    from hearing_core.keystore import KeyStore


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

    N counts a hearing's participants in the order their protection appears in
    the record: at registration, or by a later correction that protects them
    (protection is never lifted).  The same log always gives the same
    pseudonyms, and nothing of the person's id or name leaks into them.  This
    is :class:`hearing_core.shielding.Protection`, the one rule every report,
    export and page uses.
    """
    return Protection.of(records).pseudonyms()


# --- corrections as the host resolves them for projections (contract v2) ---------------


@attrs.frozen
class Correction:
    """What one ``CorrectionIssued`` changed, resolved by the host.

    ``target_type`` and ``target_seq`` name the corrected record (its type,
    and its ``seq`` in the hearing); ``before`` and ``after`` hold the values
    of the changed fields before and after this correction (``before`` is the
    record as it stood, earlier corrections included); ``record`` is the whole
    corrected record as it now stands.  All of them are shielded like every
    record the projection receives (pseudonyms, withheld identifying fields,
    sealed words), and so is ``reason`` for a protected participant's
    registration.  ``event`` is the ``CorrectionIssued`` event itself.
    """

    event: RecordedEvent
    target_type: str
    target_seq: int
    before: Mapping[str, Any] = attrs.field(converter=freeze)
    after: Mapping[str, Any] = attrs.field(converter=freeze)
    reason: str
    record: Mapping[str, Any] = attrs.field(converter=freeze)

    type: ClassVar[str] = "CorrectionIssued"

    @property
    def hearing(self) -> str:
        return self.event.hearing

    @property
    def seq(self) -> int:
        """The correction's own ``seq``."""
        return self.event.seq

    @property
    def position(self) -> int:
        """The correction's own position in the archive's log."""
        return self.event.position

    @property
    def at(self) -> str:
        return str(self.event["at"])

    @property
    def fields(self) -> tuple[str, ...]:
        """The changed fields, in the order the correction lists them."""
        return tuple(self.after)

    def apply(
        self,
        table: Any,
        *,
        columns: Mapping[str, str] | None = None,
        key: tuple[str, str] = ("hearing", "seq"),
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Update the row keyed by the corrected record (``hearing``, ``seq``) in one call.

        ``table`` is a sqlite-utils table (``db["my_rows"]``).  Each changed
        field that is a column of the table (or is mapped to one by
        ``columns``, field -> column) takes its new value; lists and mappings
        are stored as JSON.  ``extra`` adds column values to set with them
        (a note, say).  Returns whether a row was updated: False when no row
        has that key or no changed field is a column, so a correction of
        something the projection does not keep is simply ignored.
        """
        names = set(table.columns_dict)
        mapping = dict(columns) if columns is not None else {f: f for f in self.after}
        values = {
            mapping[f]: _column_value(v)
            for f, v in self.after.items()
            if f in mapping and mapping[f] in names
        }
        if not values:
            return False
        values.update(extra or {})
        assignments = ", ".join(f"[{c}] = ?" for c in values)
        cursor = table.db.execute(
            f"update [{table.name}] set {assignments} where [{key[0]}] = ? and [{key[1]}] = ?",  # noqa: S608 (names checked against the table)
            [*values.values(), self.hearing, self.target_seq],
        )
        return bool(cursor.rowcount)


def _column_value(value: Any) -> Any:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return value


@attrs.frozen
class Resolved:
    """A correction resolved against the stored record it corrects (stored form: sealed)."""

    target_type: str
    target_seq: int
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    record: Mapping[str, Any]  # the corrected target as it stands after this correction


def resolve(correction: Mapping[str, Any], target: Mapping[str, Any]) -> Resolved:
    """Resolve a stored ``CorrectionIssued`` against the (corrected) stored record it corrects.

    As in :func:`apply_corrections`, a correction of a correction changes only
    what that correction says about itself.
    """
    changes = dict(correction["changes"])
    return Resolved(
        target_type=target["type"],
        target_seq=correction["corrects"],
        before={k: target.get(k) for k in changes},
        after=changes,
        record={**target, **changes},
    )


def shield_correction(
    event: Mapping[str, Any],
    resolved: Resolved,
    protection: Protection,
    *,
    identities: bool = False,
    words: bool = False,
    keys: KeyStore | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The correction event and its resolution as a projection sees them.

    Returns ``(correction record, parts)``: the ``CorrectionIssued`` record
    with its ``changes`` (and, for a protected participant's registration,
    its ``reason``) shielded, and ``before``/``after``/``record``/``reason``
    shielded the same way.
    """
    hearing = event["hearing"]
    kind = resolved.target_type
    subject = resolved.record.get(PERSON_FIELDS.get(kind, ("",))[0])
    protected_registration = kind == "ParticipantRegistered" and protection.is_protected(
        hearing, subject
    )

    def part(values: Mapping[str, Any]) -> dict[str, Any]:
        whole = {**values, "type": kind, "hearing": hearing}
        if protected_registration and not identities:
            whole["participant"] = subject  # the pseudonym comes from the record's subject
        view = shield(whole, protection, identities=identities, words=words, keys=keys)
        if protected_registration and not identities:
            for field in IDENTIFYING_FIELDS:
                if field in view:
                    view[field] = WITHHELD
        # ``protected`` is shown as recorded: before a correction gives it, it was not.
        return {k: values[k] if k == "protected" else view[k] for k in values}

    record = shield(
        {**resolved.record, "hearing": hearing},
        protection,
        identities=identities,
        words=words,
        keys=keys,
    )
    reason = event["reason"]
    if protected_registration and not identities:
        reason = WITHHELD
    shown = {**event, "changes": part(resolved.after), "reason": reason}
    return shown, {
        "before": part(resolved.before),
        "after": part(resolved.after),
        "record": record,
        "reason": reason,
    }
