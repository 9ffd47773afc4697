"""``hearing grant``: the owner of a PostgreSQL store lets a role record in it (or read it)."""

from __future__ import annotations

import click
from rich.text import Text

from hearing_core.cli import cli, console


@cli.command()
@click.argument("role")
@click.option(
    "--read-only", is_flag=True, help="Let ROLE read the store only (SELECT), not record in it."
)
@click.pass_context
def grant(ctx: click.Context, role: str, read_only: bool) -> None:
    """Let the PostgreSQL ROLE record in the store: INSERT and SELECT only.

    Run as the store's owner (--store names the owner in its URL): sets the
    store up first (tables, append-only guards, identity), then grants ROLE
    exactly what recording needs, revoking anything else it held on them.
    ROLE must exist and be neither a superuser nor the owner: they could switch
    the guards off.  Record with a --store URL naming ROLE.  See
    docs/postgres.md.
    """
    from hearing_core.grants import grant as grant_role
    from hearing_core.store import resolve

    location = resolve(ctx.find_root().ensure_object(dict).get("store"))
    grant_role(location, role, read_only=read_only)
    what = "read" if read_only else "record in (INSERT and SELECT only)"
    console.print(Text(f"{role} may now {what} {location.display}"), soft_wrap=True)
