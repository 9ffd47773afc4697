"""Protected speakers: their names and words are stored encrypted, each under a key of their own.

When a participant is registered as ``protected``, a key is made for them in
the key store and, from then on, the identifying and spoken fields of their
events are sealed before the event is recorded: the log (and so every
backup and ``jsonl`` export of it) holds only ciphertext, and the digest
chain covers that ciphertext.  Readers with the key see the plaintext;
after ``hearing forget`` nobody does, and the log still verifies.

An envelope is ``enc1:<key id>:<base64url(nonce + AES-GCM ciphertext)>``; the
associated data binds it to its hearing, key and field, so a ciphertext cannot
be moved to another field or hearing unnoticed.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hearing_core.errors import RecordError
from hearing_core.event_types import sealed_fields, specs
from hearing_core.keystore import KeyFileError, KeyStore

if TYPE_CHECKING:
    from hearing_core.domain import Hearing

ENVELOPE = re.compile(r"^enc1:([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]+={0,2})$")

#: What a reader without the key sees instead of a protected value.
WITHHELD = "[withheld]"

#: Per event type: the field naming the participant, and the fields sealed for a protected one
#: (a view of the event-type registry: each type's spec declares its sealed fields).
SEALED_FIELDS: Mapping[str, tuple[str, tuple[str, ...]]] = sealed_fields()


def is_envelope(value: Any) -> bool:
    """Whether a value is an envelope (the whole value, not just its start)."""
    return isinstance(value, str) and ENVELOPE.match(value) is not None


def key_id_of(value: Any) -> str | None:
    """The key id of an envelope, or None for a plain value."""
    if not isinstance(value, str):
        return None
    m = ENVELOPE.match(value)
    return m[1] if m else None


def _aad(hearing: str, key_id: str, field: str) -> bytes:
    return f"hearing_core.v1|{hearing}|{key_id}|{field}".encode()


def seal_value(key_id: str, key: bytes, hearing: str, field: str, plain: str) -> str:
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key).encrypt(nonce, plain.encode("utf-8"), _aad(hearing, key_id, field))
    return f"enc1:{key_id}:{base64.urlsafe_b64encode(nonce + ct).decode('ascii')}"


def open_value(keys: KeyStore, hearing: str, field: str, value: str) -> str:
    """The plaintext of an envelope, or :data:`WITHHELD` when its key was forgotten (or
    never given to this store); a lost or wrong key raises
    :class:`~hearing_core.keystore.KeyFileError`."""
    m = ENVELOPE.match(value)
    if not m:
        return WITHHELD
    key = keys.get(m[1])
    if key is None:
        return WITHHELD
    blob = base64.urlsafe_b64decode(m[2])
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], _aad(hearing, m[1], field)).decode()
    except (InvalidTag, ValueError):
        raise KeyFileError(
            f"key {m[1]} in {keys.path} does not open a value of hearing {hearing!r} "
            f"(field {field!r}): the key file is damaged or not this archive's"
        ) from None


def _map_fields(
    record: dict[str, Any], fields: tuple[str, ...], fn: Callable[[str, str], str]
) -> None:
    """Apply fn(field path, value) to each sealed field's string values, in place."""
    for field in fields:
        value = record.get(field)
        if isinstance(value, str):
            record[field] = fn(field, value)
        elif isinstance(value, list):
            record[field] = [fn(field, v) for v in value]
        elif isinstance(value, dict):
            record[field] = {k: fn(field, v) for k, v in value.items()}


def seal_record(
    record: Mapping[str, Any],
    keys: KeyStore,
    key_for: Callable[[str], str | None],
    corrected: Callable[[int], tuple[str, str | None]] | None = None,
) -> dict[str, Any]:
    """Seal a protected participant's fields before the record is applied.

    ``key_for(participant)`` gives the key id of a protected participant of
    the hearing (None if not protected); ``corrected(seq)`` gives the type
    and participant of the event a correction corrects.  Values that are
    already envelopes (an archived export being imported) are kept as they
    are, but only where the participant is protected.
    """
    hearing = record["hearing"]
    event_type = record["type"]
    if event_type == "CorrectionIssued" and corrected is not None:
        out = dict(record)
        target_type, pid = corrected(out["corrects"])
        fields = SEALED_FIELDS.get(target_type, ("", ()))[1]
        key_id = key_for(pid) if pid else None
        changes = dict(out["changes"])
        _seal_fields(changes, fields, hearing, key_id, keys, "changes.")
        out["changes"] = changes
        return out
    if event_type not in SEALED_FIELDS:
        return dict(record)
    actor_field, fields = SEALED_FIELDS[event_type]
    if event_type == "ParticipantRegistered":
        key_id = _registration_key(record, keys)
    else:
        actor = record.get(actor_field)  # optional for some types (a progress report's `by`)
        key_id = key_for(actor) if actor is not None else None
    if key_id is None and not any(_may_hold_envelope(record.get(f)) for f in fields):
        # Nobody protected and no envelope to refuse: sealing would copy every value as
        # it is (the common case of a bulk import), so the copy is all there is to make.
        return dict(record)
    out = dict(record)
    _seal_fields(out, fields, hearing, key_id, keys, "")
    return out


def _may_hold_envelope(value: Any) -> bool:
    """Whether a sealed field's value holds a string that could be an envelope (one that
    starts like one); what :func:`_seal_fields` looks at: strings, and those directly in
    a list or a dict's values."""
    if isinstance(value, str):
        return value.startswith("enc1:")
    if isinstance(value, list):
        items: Any = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return False
    return any(isinstance(v, str) and v.startswith("enc1:") for v in items)


def seal_for(hearing: Hearing, record: Mapping[str, Any], keys: KeyStore) -> dict[str, Any]:
    """Seal ``record`` against ``hearing``'s state: who is protected, and what a correction corrects.

    The one way every writer (import, the live path, the test builder) seals a record
    before it is applied.
    """
    event_type = record["type"]
    if event_type != "CorrectionIssued" and event_type != "ParticipantRegistered":
        # The common case first, read straight from the type's spec and the hearing: an
        # actor who is not protected and no value that could be an envelope leave the
        # record as it is (what seal_record would find, with fewer steps).
        the_spec = specs().get(event_type)
        if the_spec is not None:
            if not (the_spec.sealed and the_spec.actor):
                return dict(record)
            actor = record.get(the_spec.actor)
            participant = hearing.participants.get(actor) if actor is not None else None
            if (participant is None or not participant.protected) and not any(
                _may_hold_envelope(record.get(f)) for f in the_spec.sealed
            ):
                return dict(record)

    def key_for(pid: str) -> str | None:
        participant = hearing.participants.get(pid)
        if participant is None or not participant.protected:
            return None
        return key_id_of(participant.name)

    def corrected(seq: int) -> tuple[str, str | None]:
        if not 1 <= seq <= len(hearing.event_types):
            return "", None  # apply_record refuses it with a clear message
        return hearing.event_types[seq - 1], hearing.actors.get(seq)

    return seal_record(record, keys, key_for, corrected)


def _registration_key(record: Mapping[str, Any], keys: KeyStore) -> str | None:
    if not record.get("protected"):
        return None
    existing = key_id_of(record.get("name"))
    if existing is not None:
        # An archived registration: its key comes with a key file, or is marked as not given.
        keys.expect(existing)
        return existing
    key_id, _ = keys.create()
    return key_id


def _seal_fields(
    record: dict[str, Any],
    fields: tuple[str, ...],
    hearing: str,
    key_id: str | None,
    keys: KeyStore,
    prefix: str,
) -> None:
    key = keys.get(key_id) if key_id else None

    def seal(field: str, value: str) -> str:
        found = key_id_of(value)
        if found is not None:  # an envelope: an archived export being imported
            if key_id is None:
                raise RecordError(
                    "an encrypted value for a participant who is not protected",
                    field=prefix + field,
                )
            if found != key_id:
                raise RecordError("encrypted under another participant's key", field=prefix + field)
            return value
        if key_id is None:
            return value  # plain text that merely starts like an envelope stays plain text
        if key is None:
            raise RecordError(
                "this protected participant's key was destroyed (or never given to this "
                "store): nothing more can be recorded in their name",
                field=prefix + field,
            )
        return seal_value(key_id, key, hearing, field, value)

    _map_fields(record, fields, seal)


def reveal_record(record: Mapping[str, Any], keys: KeyStore) -> dict[str, Any]:
    """The record with envelopes opened where the key exists, :data:`WITHHELD` elsewhere."""
    event_type = record["type"]
    if event_type == "CorrectionIssued":
        changes = record["changes"]
        if not any(_has_envelope(v) for v in changes.values()):
            return dict(record)
        opened = dict(changes)
        _map_fields(opened, tuple(opened), _opener(keys, record["hearing"]))
        return {**record, "changes": opened}
    if event_type not in SEALED_FIELDS:
        return dict(record)
    fields = SEALED_FIELDS[event_type][1]
    if not any(_has_envelope(record.get(f)) for f in fields):
        return dict(record)
    out = dict(record)
    _map_fields(out, fields, _opener(keys, record["hearing"]))
    return out


def _opener(keys: KeyStore, hearing: str) -> Callable[[str, str], str]:
    def opener(field: str, value: str) -> str:
        return open_value(keys, hearing, field, value) if is_envelope(value) else value

    return opener


def _has_envelope(value: Any) -> bool:
    if isinstance(value, str):
        return is_envelope(value)
    if isinstance(value, list):
        return any(is_envelope(v) for v in value)
    if isinstance(value, dict):
        return any(is_envelope(v) for v in value.values())
    return False
