"""PostgreSQL: a role that records (INSERT and SELECT only) or reads a store, set up by its owner.

Triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on the event and link
tables, but the tables' owner (or a superuser) can switch triggers off
(``ALTER TABLE ... DISABLE TRIGGER``, ``SET session_replication_role = replica``)
or drop the tables.  So the owner sets the store up and records through a role
of its own that holds only:

- ``USAGE`` on the store's schema;
- ``SELECT`` and ``INSERT`` on the event and link tables, ``USAGE`` on the
  event table's notification-id sequence, ``EXECUTE`` on the function that takes
  the table lock for an insert (see :mod:`hearing_core.recorders_postgres`);
- ``SELECT`` on the store's identity table.

A read-only role gets ``USAGE`` on the schema and ``SELECT`` on the three
tables.  Neither owns anything, so PostgreSQL itself refuses them every
statement that could change or remove a row, or switch the guards off.
"""

from __future__ import annotations

from typing import Any

from hearing_core.errors import StoreError
from hearing_core.store import (
    IDENTITY_TABLE,
    StoreLocation,
    connect_postgres,
    events_table,
    postgres_schema,
    store_identity,
)


def set_up(location: StoreLocation) -> None:
    """Create the store's tables, guards, lock function and identity, as their owner."""
    from hearing_core.archive import HearingArchive

    if location.kind != "postgres":
        raise StoreError("roles and grants are for PostgreSQL stores (a SQLite file has no roles)")
    store_identity(location, create=True)
    HearingArchive(location).close()


def grant(location: StoreLocation, role: str, *, read_only: bool = False) -> list[str]:
    """Set the store up (as its owner) and let ``role`` record in it, or only read it.

    Whatever ``role`` held on these objects before is revoked first, so granting
    ``--read-only`` to a writer makes it a reader.  Returns the statements run.
    Refuses a role that does not exist, a superuser, and the tables' owner: they
    could switch the guards off, so granting them proves nothing.
    """
    from psycopg import sql

    set_up(location)
    schema = postgres_schema(location)
    events = events_table(location)
    links = events.removesuffix("_events") + "_links"
    with connect_postgres(location) as conn:
        _check_role(conn, role, schema, events)
        row = conn.execute(
            "SELECT pg_get_serial_sequence(%s, 'notification_id')",
            (sql.Identifier(schema, events).as_string(conn),),
        ).fetchone()
        sequence = row[0] if row else None
        if not isinstance(sequence, str):
            raise StoreError(f"{location.display}: the event table has no notification-id sequence")
        ids: dict[str, Any] = {
            "role": sql.Identifier(role),
            "schema": sql.Identifier(schema),
            "events": sql.Identifier(schema, events),
            "links": sql.Identifier(schema, links),
            "identity": sql.Identifier(schema, IDENTITY_TABLE),
            "lock": sql.Identifier(schema, f"{events}_lock"),
            "sequence": sql.SQL(sequence),  # already quoted by pg_get_serial_sequence
        }
        statements = [
            "REVOKE ALL ON {events}, {links}, {identity} FROM {role}",
            "REVOKE ALL ON SEQUENCE {sequence} FROM {role}",
            "REVOKE ALL ON FUNCTION {lock}() FROM {role}",
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "GRANT SELECT ON {events}, {links}, {identity} TO {role}",
        ]
        if not read_only:
            statements += [
                "GRANT INSERT ON {events}, {links} TO {role}",
                "GRANT USAGE ON SEQUENCE {sequence} TO {role}",
                "GRANT EXECUTE ON FUNCTION {lock}() TO {role}",
            ]
        ran = []
        with conn.transaction():
            for statement in statements:
                composed = sql.SQL(statement).format(**ids)
                conn.execute(composed)
                ran.append(composed.as_string(conn))
        return ran


def _check_role(conn: Any, role: str, schema: str, events: str) -> None:
    row = conn.execute(
        "SELECT r.rolsuper, pg_has_role(r.oid, c.relowner, 'USAGE') FROM pg_roles r,"
        " pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE r.rolname = %s AND n.nspname = %s AND c.relname = %s",
        (role, schema, events),
    ).fetchone()
    if row is None:
        raise StoreError(f"no role {role!r}: create it first (CREATE ROLE {role} LOGIN ...)")
    superuser, owner = row
    if superuser:
        raise StoreError(f"role {role!r} is a superuser: it could switch the guards off")
    if owner:
        raise StoreError(f"role {role!r} owns the store's tables: it could switch the guards off")
