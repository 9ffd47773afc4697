"""Shared fixtures: a fresh store on each backend, the archive on it, the sample.

``store_url`` is parametrised over ``sqlite`` (a file under ``tmp_path``) and
``postgres`` (a fresh schema in the database named by ``HEARING_TEST_POSTGRES``,
dropped afterwards), so every test using it runs on both stores and no test
sees another's data.  If PostgreSQL cannot be reached the postgres tests FAIL
(they are never skipped): start it with ``.ci/ensure-postgres``.

PostgreSQL stores are recorded as in production (docs/postgres.md): the role of
``HEARING_TEST_POSTGRES`` owns the schema and sets the store up (``hearing
grant``), and the tests' URL connects as :data:`TEST_WRITER`, a role that may
only INSERT and SELECT (created once per cluster, no password: trust auth, as for
the owner).  ``fresh_postgres_schema(writer=False)`` gives the owner's URL, for
the tests of setting a store up.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hearing_core.archive import HearingArchive, open_archive

ROOT = Path(__file__).resolve().parents[1]

#: The PostgreSQL database the postgres-param tests use (each in its own schema).
DEFAULT_TEST_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"


def postgres_test_url() -> str:
    """The PostgreSQL URL the tests use, without a schema."""
    return os.environ.get("HEARING_TEST_POSTGRES") or DEFAULT_TEST_POSTGRES


def postgres_admin() -> Any:
    """An autocommit psycopg connection to the test database, or a failed test saying why."""
    import psycopg

    url = postgres_test_url()
    base = url.split("?", 1)[0]
    try:
        return psycopg.connect(base, connect_timeout=5, autocommit=True)
    except psycopg.Error as e:
        reason = " ".join(str(e).split())
    pytest.fail(
        f"PostgreSQL test store {base} cannot be reached ({reason}); "
        "start it with .ci/ensure-postgres or point HEARING_TEST_POSTGRES at one",
        pytrace=False,
    )


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test does writes into the repository or reads the caller's store."""
    monkeypatch.delenv("HEARING_STORE", raising=False)
    monkeypatch.delenv("HEARING_VIEWS", raising=False)
    monkeypatch.delenv("HEARING_KEYS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # PostgreSQL stores' keys and views
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        folder = tmp_path / "store"
        folder.mkdir()
        yield str(folder / "hearings.db")
        return
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bare_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """As ``store_url``, but nothing is there yet, not even on PostgreSQL: the owner's URL
    of an empty schema (for the tests of what creates a store and what may not)."""
    if request.param == "sqlite":
        folder = tmp_path / "store"
        folder.mkdir()
        yield str(folder / "hearings.db")
        return
    with fresh_postgres_schema(writer=False) as url:
        yield url


@pytest.fixture
def postgres_store_url() -> Iterator[str]:
    """A fresh PostgreSQL store URL, for PostgreSQL-only tests (mark them ``postgres``):
    set up by its owner, connecting as :data:`TEST_WRITER`."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_owner_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema's URL connecting as its owner (mark tests ``postgres``)."""
    with fresh_postgres_schema(writer=False) as url:
        yield url


#: The role the PostgreSQL store tests record as: INSERT and SELECT only (docs/postgres.md).
TEST_WRITER = "hearing_test_writer"


def ensure_role(name: str) -> None:
    """Create the login role ``name`` (no superuser, nothing to create) unless it exists."""
    import psycopg

    # Made by an earlier run, or by a parallel one, if it exists.
    duplicate = (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation)
    with postgres_admin() as conn, contextlib.suppress(*duplicate):
        conn.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')


def as_role(url: str, role: str) -> str:
    """The same store URL, connecting as ``role`` (without the owner's password)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[-1]}"


@contextmanager
def fresh_postgres_schema(*, writer: bool = True) -> Iterator[str]:
    """Create a schema of its own for one test; drop it (and all in it) afterwards.

    With ``writer`` (the default) the owner sets the store up and grants
    :data:`TEST_WRITER`, and the URL given connects as that role; without it,
    the schema is empty and the URL is the owner's.
    """
    from hearing_core.grants import grant
    from hearing_core.store import resolve

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with postgres_admin() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        owner = with_schema(postgres_test_url(), schema)
        if not writer:
            yield owner
            return
        ensure_role(TEST_WRITER)
        grant(resolve(owner), TEST_WRITER)
        yield as_role(owner, TEST_WRITER)
    finally:
        with postgres_admin() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def archive(store_url: str) -> Iterator[HearingArchive]:
    """The archive on a fresh store (closed afterwards)."""
    app = open_archive(store_url)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def sample_path() -> Path:
    """The sample hearing (an absolute path: tests run in tmp_path)."""
    return SAMPLE
