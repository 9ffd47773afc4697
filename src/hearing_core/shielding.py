"""Who is protected, what they are called, and the shielded records projections receive.

This is the one place that decides, for every reader (projections, exports,
pages), whether a participant is protected and which pseudonym they carry:

- A participant is protected from the moment their registration says
  ``protected: true``, or a correction of their registration sets it;
  protection is never lifted (the domain refuses that) and, once given, holds
  for every reading of the record: as it stands, as of an earlier moment, and
  as originally recorded.
- Their pseudonym is ``Protected speaker N``, N counting the hearing's
  participants in the order their protection appears in the log.  It is
  given once, incrementally, and never changes: :class:`Protection` is fed
  records in log order and the same log always gives the same labels.

A *shielded* record is what a projection receives unless it declares
otherwise: every reference to a protected participant (``participant``,
``speaker``, ``by``, ``moderator``) carries their pseudonym instead of their
id, the registration's ``name`` is the pseudonym, the other identifying fields
are :data:`WITHHELD`, and their words stay as stored (sealed envelopes, which
the host opens at render time for whoever holds the key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hearing_core.protection import SEALED_FIELDS, WITHHELD, reveal_record

if TYPE_CHECKING:
    from hearing_core.keystore import KeyStore

__all__ = [
    "IDENTIFYING_FIELDS",
    "PERSON_FIELDS",
    "WITHHELD",
    "Protection",
    "pseudonym_label",
    "shield",
]

#: Fields of a registration that identify a person; withheld for a protected participant.
IDENTIFYING_FIELDS: tuple[str, ...] = ("name", "organization", "region", "country")

#: Fields whose value is a participant id, by event type.
PERSON_FIELDS: Mapping[str, tuple[str, ...]] = {
    "ParticipantRegistered": ("participant",),
    "InterventionDelivered": ("speaker",),
    "PledgeMade": ("by",),
    "RecommendationMade": ("by",),
    "SummationDelivered": ("by",),
    "SegmentOpened": ("moderator",),
    "PledgeProgressReported": ("by",),
}

#: Fields holding a protected participant's words, by event type (sealed when stored).
WORD_FIELDS: Mapping[str, tuple[str, ...]] = {
    t: fields for t, (_, fields) in SEALED_FIELDS.items() if t != "ParticipantRegistered"
}


def pseudonym_label(number: int) -> str:
    """The label of the N-th protected participant of a hearing."""
    return f"Protected speaker {number}"


class Protection:
    """Who is protected in each hearing, and their pseudonym: fed records in log order.

    ``observe`` takes every ``ParticipantRegistered`` and ``CorrectionIssued``
    record (others are ignored, so feeding everything is fine) and returns the
    participant a correction newly protected, if any, so that a host can
    rebuild what was written before it knew.
    """

    def __init__(self) -> None:
        self._registrations: dict[tuple[str, int], str] = {}
        self._pseudonyms: dict[tuple[str, str], str] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self._counts: dict[str, int] = {}

    # --- feeding ------------------------------------------------------------------

    def observe(self, record: Mapping[str, Any]) -> str | None:
        """Take one record into account; return a participant a correction newly protected."""
        kind = record["type"]
        hearing = record["hearing"]
        if kind == "ParticipantRegistered":
            pid = record["participant"]
            self._registrations[(hearing, record["seq"])] = pid
            if record.get("protected"):
                self._protect(hearing, pid)
        elif kind == "CorrectionIssued" and _grants_protection(record):
            pid_or_none = self._registrations.get((hearing, record["corrects"]))
            if pid_or_none is not None and self._protect(hearing, pid_or_none):
                return pid_or_none
        return None

    def _protect(self, hearing: str, pid: str) -> bool:
        if (hearing, pid) in self._pseudonyms:
            return False
        n = self._counts.get(hearing, 0) + 1
        self._counts[hearing] = n
        self._numbers[(hearing, pid)] = n
        self._pseudonyms[(hearing, pid)] = pseudonym_label(n)
        return True

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> Protection:
        """The protection a whole sequence of records gives."""
        protection = cls()
        for record in records:
            protection.observe(record)
        return protection

    # --- asking -------------------------------------------------------------------

    def pseudonym(self, hearing: str, participant: Any) -> str | None:
        """The participant's pseudonym, or None when they are not protected."""
        if not isinstance(participant, str):
            return None
        return self._pseudonyms.get((hearing, participant))

    def number(self, hearing: str, participant: Any) -> int | None:
        """N of the participant's "Protected speaker N", or None when they are not protected."""
        if not isinstance(participant, str):
            return None
        return self._numbers.get((hearing, participant))

    def is_protected(self, hearing: str, participant: Any) -> bool:
        return self.pseudonym(hearing, participant) is not None

    def registered_at(self, hearing: str, seq: int) -> str | None:
        """The participant registered at ``seq``, if that event was a registration."""
        return self._registrations.get((hearing, seq))

    def pseudonyms(self, hearing: str | None = None) -> dict[str, str]:
        """``{participant: pseudonym}`` (of one hearing, or of all when ``hearing`` is None)."""
        return {
            pid: label
            for (h, pid), label in self._pseudonyms.items()
            if hearing is None or h == hearing
        }

    # --- persisting (the read-model database keeps it between runs) ------------------

    def rows(self) -> Iterable[tuple[str, str, int | None, str | None]]:
        """``(hearing, participant, seq of registration, pseudonym)`` rows."""
        seqs = {(h, pid): seq for (h, seq), pid in self._registrations.items()}
        for (h, seq), pid in self._registrations.items():
            yield h, pid, seq, self._pseudonyms.get((h, pid))
        for (h, pid), label in self._pseudonyms.items():
            if (h, pid) not in seqs:
                yield h, pid, None, label

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, int | None, str | None]]) -> Protection:
        protection = cls()
        numbered: list[tuple[int, str, str]] = []
        for hearing, pid, seq, label in rows:
            if seq is not None:
                protection._registrations[(hearing, seq)] = pid
            if label is not None:
                protection._pseudonyms[(hearing, pid)] = label
                numbered.append((int(label.rsplit(" ", 1)[1]), hearing, pid))
        for n, hearing, pid in numbered:
            protection._numbers[(hearing, pid)] = n
            protection._counts[hearing] = max(protection._counts.get(hearing, 0), n)
        return protection


def _grants_protection(record: Mapping[str, Any]) -> bool:
    changes = record.get("changes")
    return isinstance(changes, Mapping) and changes.get("protected") is True


# --- shielded records ------------------------------------------------------------------


def shield(
    record: Mapping[str, Any],
    protection: Protection,
    *,
    identities: bool = False,
    words: bool = False,
    keys: KeyStore | None = None,
) -> dict[str, Any]:
    """The record as a projection sees it (a new dict; ``record`` is as stored).

    Without ``identities``, protected participants are known by pseudonym only
    and their identifying fields are :data:`WITHHELD`; without ``words``,
    their words stay sealed.  ``words`` opens envelopes with ``keys``
    (:data:`WITHHELD` where the key is gone).  ``CorrectionIssued`` records
    are shielded by :func:`hearing_core.corrections.shield_correction`, which
    knows what they correct.
    """
    out = dict(record)
    kind = out["type"]
    opens = identities if kind == "ParticipantRegistered" else words
    if keys is not None and kind != "CorrectionIssued" and opens:
        out = reveal_record(out, keys)
    if identities:
        return out
    hearing = out["hearing"]
    for field in PERSON_FIELDS.get(kind, ()):
        label = protection.pseudonym(hearing, out.get(field))
        if label is not None:
            out[field] = label
    if kind == "ParticipantRegistered" and protection.is_protected(
        hearing, record.get("participant")
    ):
        out["protected"] = True  # protection, once given, holds for every reading
        out["name"] = out["participant"]  # already the pseudonym
        for field in IDENTIFYING_FIELDS[1:]:
            if field in out:
                out[field] = WITHHELD
    return out


def touches_protected(record: Mapping[str, Any], protection: Protection) -> bool:
    """Whether :func:`shield` would change this record (it names a protected participant).

    Without ``identities`` or ``words`` to open, a record naming nobody protected is
    shown as stored: the host then hands projections the stored record itself.
    """
    hearing = record["hearing"]
    return any(
        protection.is_protected(hearing, record.get(field))
        for field in PERSON_FIELDS.get(record["type"], ())
    )
