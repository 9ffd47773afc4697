"""The key file and the read models are private, and a lost key is never taken for a forgotten one.

Issue 9, point 6: the views file was created 0644 and the PostgreSQL data folder
0755 (the key file 0600); a missing, empty or damaged key file gave exit 0 and
"[withheld]", indistinguishable from a forgotten speaker.  Now both files are
created 0600 and the data folder 0700; ``forget`` leaves a tombstone saying when
the key was destroyed on purpose; and a key file that lacks a key it should hold
is an error with exit 1 and one line naming it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hearing_core.archive import open_archive
from hearing_core.cli import cli
from hearing_core.keystore import FORGOTTEN, NOT_GIVEN, KeyFileError, KeyStore
from hearing_core.store import resolve
from hearing_core.testing import HearingBuilder
from hearing_core.workspace import Workspace

WORDS = "my unmistakable confidential testimony"
ENV = {"HEARING_PLUGINS": "transcript"}
REPORT = ("transcript", "prot", "--format", "json")


def _records() -> list[dict[str, object]]:
    b = (
        HearingBuilder("prot")
        .participant("p1", group="migrants", name="Zed Secret", protected=True)
        .participant("open", group="academia", name="Open Person")
        .open("session-1")
        .speak("p1", text=WORDS)
        .speak("open", text="public words")
        .close_segment()
    )
    records = b.records
    for r in records:
        r.pop("digest")
    return records


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), env=ENV)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The usual umask: files and folders would be readable by all unless made private."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in _records()) + "\n", encoding="utf-8")
    db = tmp_path / "p.db"
    code, _, err = run("--store", str(db), "import", str(src))
    assert code == 0, err
    code, out, err = run("--store", str(db), *REPORT)
    assert code == 0 and WORDS in out, err
    return db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_views_and_key_files_are_owner_only(store: Path) -> None:
    for suffix in (".keys", ".views", ".views-wal"):
        path = store.with_name(store.name + suffix)
        if suffix.endswith("-wal") and not path.exists():
            continue
        assert _mode(path) == 0o600, (suffix, oct(_mode(path)))


def test_postgres_data_folder_is_owner_only(tmp_path: Path) -> None:
    """PostgreSQL stores keep keys and views in $XDG_DATA_HOME/hearing_core: made 0700."""
    location = resolve("postgresql://u@127.0.0.1:5432/db")
    keys = location.default_keys_path()
    assert keys.parent == tmp_path / "xdg" / "hearing_core"
    assert _mode(keys.parent) == 0o700
    keys.parent.chmod(0o755)  # made by an older version: tightened when next used
    location.default_views_path()
    assert _mode(keys.parent) == 0o700


@pytest.mark.parametrize("damage", ["missing", "empty", "garbage", "another database"])
def test_a_lost_key_file_is_an_error_not_a_forgotten_speaker(store: Path, damage: str) -> None:
    keys = store.with_name(store.name + ".keys")
    views = store.with_name(store.name + ".views")
    for p in store.parent.glob(views.name + "*"):
        p.unlink()  # reports must rebuild, so they need the key
    keys.unlink()
    if damage == "empty":
        keys.write_bytes(b"")
    elif damage == "garbage":
        keys.write_bytes(b"not a database at all " * 100)
    elif damage == "another database":
        sqlite3.connect(keys).execute("CREATE TABLE t (x)").connection.commit()
    code, out, err = run("--store", str(store), *REPORT)
    assert code == 1, (code, out, err)
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert str(keys) in err and "[withheld]" not in err
    assert "Traceback" not in err


def test_a_key_file_without_the_key_is_an_error(store: Path, tmp_path: Path) -> None:
    """Another archive's (valid) key file: it holds no key and no tombstone for this one."""
    other = tmp_path / "other.keys"
    ks = KeyStore(other)
    ks.create()
    ks.commit_staged()
    code, out, err = run("--store", str(store), "--keys", str(other), "--views", "v.db", *REPORT)
    assert code == 1 and out == "", (out, err)
    assert "no key" in err and "no record that it was forgotten" in err and err.count("\n") == 1


def test_a_wrong_key_is_an_error(store: Path) -> None:
    keys = store.with_name(store.name + ".keys")
    with sqlite3.connect(keys) as db:
        db.execute("UPDATE keys SET key = ?", (bytes(32),))
    for p in store.parent.glob(store.name + ".views*"):
        p.unlink()
    code, out, err = run("--store", str(store), *REPORT)
    assert code == 1 and out == "" and "damaged or not this archive's" in err, err


def test_forget_leaves_a_dated_tombstone(store: Path) -> None:
    code, out, err = run("--store", str(store), "forget", "prot", "p1", "--yes")
    assert code == 0, err
    assert "key destroyed on 20" in out and "tombstone" in out
    keys = KeyStore(store.with_name(store.name + ".keys"))
    with sqlite3.connect(keys.path) as db:
        ((key_id, kind, at),) = db.execute("SELECT key_id, kind, at FROM tombstones").fetchall()
        assert db.execute("SELECT count(*) FROM keys").fetchone()[0] == 0
    assert kind == FORGOTTEN and at.startswith("20")
    assert keys.get(key_id) is None  # forgotten: withheld, not an error
    gone = keys.tombstone(key_id)
    assert gone is not None and gone.at == at
    code, out, err = run("--store", str(store), *REPORT)
    assert code == 0 and WORDS not in out and "[withheld]" in out, err
    code, _, err = run("--store", str(store), "forget", "prot", "p1", "--yes")
    assert code == 1 and f"already destroyed (forgotten) on {at}" in err


def test_the_tombstone_travels_with_exported_keys(store: Path, tmp_path: Path) -> None:
    """An archive handed over after a forget: the receiver sees "forgotten", not "lost"."""
    assert run("--store", str(store), "forget", "prot", "p1", "--yes")[0] == 0
    keyfile = tmp_path / "k.json"
    assert run("--store", str(store), "keys", "export", "prot", "-o", str(keyfile))[0] == 0
    doc = json.loads(keyfile.read_text(encoding="utf-8"))
    assert doc["keys"] == {} and len(doc["forgotten"]) == 1
    _, exported, _ = run("--store", str(store), "export", "prot")
    src = tmp_path / "x.jsonl"
    src.write_text(exported, encoding="utf-8")
    other = tmp_path / "o" / "o.db"
    other.parent.mkdir()
    assert run("--store", str(other), "import", str(src), "--keys-file", str(keyfile))[0] == 0
    ks = KeyStore(other.with_name("o.db.keys"))
    (key_id,) = doc["forgotten"]
    gone = ks.tombstone(key_id)
    assert gone is not None and gone.kind == FORGOTTEN and gone.at == doc["forgotten"][key_id]


def test_an_archive_imported_without_its_keys_says_so(store: Path, tmp_path: Path) -> None:
    _, exported, _ = run("--store", str(store), "export", "prot")
    src = tmp_path / "x.jsonl"
    src.write_text(exported, encoding="utf-8")
    other = tmp_path / "o" / "o.db"
    other.parent.mkdir()
    assert run("--store", str(other), "import", str(src))[0] == 0
    ks = KeyStore(other.with_name("o.db.keys"))
    (row,) = sqlite3.connect(ks.path).execute("SELECT key_id, kind FROM tombstones").fetchall()
    assert row[1] == NOT_GIVEN
    code, _, err = run("--store", str(other), "forget", "prot", "p1", "--yes")
    assert code == 1 and "never given to this store" in err


def test_keystore_errors_are_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        KeyStore(tmp_path / "none.keys").get("AAAAAAAAAAAAAAAA")
    assert not (tmp_path / "none.keys").exists()  # reading never creates it


# --- issue 12: the key file is tied to the store's id, not its path ----------------------


def _store_id(db: Path) -> str:
    from hearing_core.store import store_identity

    found = store_identity(resolve(str(db)), create=False)
    assert found is not None
    return found


def _owner(keys: Path) -> list[tuple[str]]:
    with sqlite3.connect(keys) as db:
        return db.execute("SELECT store_id FROM belongs_to").fetchall()


def _behind(db: Path) -> dict[str, int]:
    """How far each read model is behind the log, as `hearing plugins` says (no catch-up)."""
    code, out, err = run("--store", str(db), "plugins", "--json")
    assert code == 0, err
    return {p["name"]: p["behind"] for row in json.loads(out) for p in row["projections"]}


def test_the_key_file_names_its_store(store: Path) -> None:
    assert _owner(store.with_name(store.name + ".keys")) == [(_store_id(store),)]


@pytest.mark.parametrize("how", ["folder moved", "files renamed"])
def test_moving_or_renaming_the_store_loses_nothing(store: Path, tmp_path: Path, how: str) -> None:
    """The store, its key file and its read models moved together: protected words still
    read, and the read models are used as they are (not rebuilt)."""
    assert _behind(store) == {"transcript": 0}
    moved = tmp_path / "elsewhere" / ("p.db" if how == "folder moved" else "renamed.db")
    moved.parent.mkdir()
    for f in list(store.parent.glob(store.name + "*")):
        f.rename(moved.parent / f.name.replace(store.name, moved.name, 1))
    assert _behind(moved) == {"transcript": 0}  # tied to the store id: nothing to rebuild
    with sqlite3.connect(moved.with_name(moved.name + ".views")) as db:
        generation = db.execute("SELECT value FROM _meta WHERE key = 'generation'").fetchone()
    code, out, err = run("--store", str(moved), *REPORT)
    assert code == 0 and WORDS in out, err
    with sqlite3.connect(moved.with_name(moved.name + ".views")) as db:
        assert db.execute("SELECT value FROM _meta WHERE key = 'generation'").fetchone() == (
            generation
        )
    assert run("--store", str(moved), "forget", "prot", "p1", "--yes")[0] == 0


def test_another_stores_key_file_is_refused_naming_both(store: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"  # the same events into a store of its own: keys of its own
    other = tmp_path / "other" / "o.db"
    other.parent.mkdir()
    code, _, err = run("--store", str(other), "import", str(src))
    assert code == 0, err
    theirs = other.with_name(other.name + ".keys")
    before = theirs.read_bytes()
    code, out, err = run("--store", str(store), "--keys", str(theirs), "--views", "v.db", *REPORT)
    assert code == 1 and out == ""
    assert err == (
        f"error: key file {theirs} belongs to store {_store_id(other)}, not to this store "
        f"({_store_id(store)}): give this store's key file with --keys\n"
    )
    assert theirs.read_bytes() == before
    code, _, err = run(
        "--store", str(store), "--keys", str(theirs), "forget", "prot", "p1", "--yes"
    )
    assert code == 1 and "belongs to store" in err
    assert theirs.read_bytes() == before


def test_a_key_file_of_an_earlier_version_is_adopted(store: Path) -> None:
    keys = store.with_name(store.name + ".keys")
    with sqlite3.connect(keys) as db:
        db.execute("DROP TABLE belongs_to")  # as earlier versions wrote it: no store named
    for p in store.parent.glob(store.name + ".views*"):
        p.unlink()  # the report must rebuild, so it reads the key file
    code, out, err = run("--store", str(store), *REPORT)
    assert code == 0 and WORDS in out, err
    assert _owner(keys) == [(_store_id(store),)]
    other = KeyStore(keys, "store-someone-else")
    with pytest.raises(KeyFileError, match=f"belongs to store {_store_id(store)}"):
        other.get("AAAAAAAAAAAAAAAA")


def test_a_read_only_key_file_of_an_earlier_version_is_read_not_adopted(store: Path) -> None:
    """Adopting writes the store's id in; a file that cannot be written is used as it is."""
    keys = store.with_name(store.name + ".keys")
    with sqlite3.connect(keys) as db:
        db.execute("DROP TABLE belongs_to")
    read_only = sqlite3.connect(f"{keys.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert KeyStore(keys, _store_id(store))._owner(read_only, adopted=False) is None
    finally:
        read_only.close()
    with sqlite3.connect(keys) as db:
        assert "belongs_to" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}


def test_open_archive_refuses_another_stores_key_file(store: Path, tmp_path: Path) -> None:
    """The library's entry point checks the key file as every CLI command does."""
    other = tmp_path / "other" / "o.db"
    other.parent.mkdir()
    assert run("--store", str(other), "import", str(tmp_path / "in.jsonl"))[0] == 0
    mine = store.with_name(store.name + ".keys")
    mine.write_bytes(other.with_name(other.name + ".keys").read_bytes())
    with pytest.raises(KeyFileError, match=f"belongs to store {_store_id(other)}"):
        open_archive(str(store))


@pytest.mark.postgres
def test_open_archive_uses_the_key_file_the_cli_uses(postgres_store_url: str) -> None:
    """For PostgreSQL the key file is named by the store's id, not by how the URL is spelt."""
    workspace = Workspace(postgres_store_url)
    archive = open_archive(postgres_store_url)
    try:
        assert archive.keys.path == workspace.keys_path
        assert archive.keys.store_id == workspace.store_id is not None
    finally:
        archive.close()
        workspace.close()


def test_a_key_file_closes_from_another_thread(tmp_path: Path) -> None:
    """An archive garbage-collected in another thread closes its key file without error."""
    import threading

    keys = KeyStore(tmp_path / "k.keys")
    keys.check_store()
    keys._db()  # opened in this thread
    errors: list[BaseException] = []

    def close() -> None:
        try:
            keys.close()
        except BaseException as e:  # pragma: no cover - the failure this test guards against
            errors.append(e)

    closer = threading.Thread(target=close)
    closer.start()
    closer.join()
    assert errors == []
    assert (tmp_path / "k.keys").exists()
    keys.close()  # and again, harmlessly
