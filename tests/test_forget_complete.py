"""`forget` is complete whatever plugins are allowed, blocked or running (issue 9 point 6).

After ``forget``, no table of the read models holds the person's name,
organization or words: shielded tables never held them (pseudonyms and
sealed envelopes only), and personal tables are dropped whichever plugin owns
them, loaded or not; a running ``replay --follow`` notices and rebuilds them
with the key gone.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from hearing_core.cli import cli
from hearing_core.testing import HearingBuilder

NAME = "Zainab Quixotic-Secret"
ORG = "Hidden Organisation of Zainab"
WORDS = "my unmistakable confidential testimony"
SECRETS = (NAME, ORG, WORDS)


def _records() -> list[dict[str, object]]:
    b = (
        HearingBuilder("prot")
        .participant("p1", group="migrants", name=NAME, organization=ORG, protected=True)
        .participant("open", group="academia", name="Open Person")
        .open("session-1")
        .speak("p1", text=WORDS)
        .speak("open", text="public words")
        .pledge("p1", WORDS + " pledge")
        .close_segment()
    )
    records = b.records
    for r in records:
        r.pop("digest")
    return records


#: A projection that declares it needs identities and words: its table is personal data.
#: (Every first-party projection is shielded since contract v2 and holds no secret.)
PERSONAL_PLUGIN = """
from hearing_core import IDENTITIES, WORDS, Projection, Table, handles, hookimpl


class Personal(Projection):
    name = "personal"
    needs = frozenset({IDENTITIES, WORDS})  # what this test is about: a personal table
    tables = {"personal_rows": Table({"hearing": str, "seq": int, "name": str, "organization": str,
                                      "text": str}, pk=("hearing", "seq"))}
    formats = ("text",)

    @handles("ParticipantRegistered", "InterventionDelivered", "PledgeMade")
    def rows(self, events, db):
        db["personal_rows"].insert_all(
            {"hearing": e.hearing, "seq": e.seq, "name": e.get("name"),
             "organization": e.get("organization"), "text": e.get("text")} for e in events
        )

    def render(self, db, request):
        return "personal rows"


@hookimpl
def register_projections(register):
    register(Personal())
"""


def plugins_dir(store: Path) -> Path:
    return store.parent / "plugins"


def run(*args: str, **env: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args), env=env)
    return r.exit_code, r.output


@pytest.fixture
def store(tmp_path: Path) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _records()) + "\n")
    db = tmp_path / "p.db"
    code, out = run("--store", str(db), "import", str(src))
    assert code == 0, out
    plugins_dir(db).mkdir()
    (plugins_dir(db) / "personal.py").write_text(PERSONAL_PLUGIN)
    # Every installed plugin, and one whose table is personal data.
    code, out = run("--store", str(db), "--plugins-dir", str(plugins_dir(db)), "replay")
    assert code == 0, out
    assert NAME.encode() in _views_bytes(db)  # the personal table holds it, for now
    return db


def _views_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + ".views*"))


def _assert_forgotten(db: Path) -> None:
    data = _views_bytes(db)
    for secret in SECRETS:
        assert secret.encode() not in data, secret


@pytest.mark.parametrize(
    "env",
    [
        {"HEARING_PLUGINS": "audit"},
        {"HEARING_PLUGINS": ""},
        {"HEARING_PLUGINS_BLOCK": "transcript"},
        {},
    ],
    ids=["allow-audit", "allow-none", "block-transcript", "all"],
)
def test_forget_leaves_nothing_whatever_plugins_load(store: Path, env: dict[str, str]) -> None:
    code, out = run("--store", str(store), "forget", "prot", "p1", "--yes", **env)
    assert code == 0, out
    _assert_forgotten(store)
    # The plugins that were not loaded rebuild without the person when they next run.
    code, out = run("--store", str(store), "transcript", "prot", "--format", "json")
    assert code == 0, out
    assert not any(s in out for s in SECRETS)
    _assert_forgotten(store)


def test_forget_while_replay_follow_runs(store: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_PLUGINS")}
    follow = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hearing_core",
            "--store",
            str(store),
            "--plugins-dir",
            str(plugins_dir(store)),
            "replay",
            "--follow",
            "--interval",
            "0.1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with closing(sqlite3.connect(f"file:{store}.views?mode=ro", uri=True)) as views:
        (projections,) = views.execute("select count(*) from _positions").fetchone()
    try:
        time.sleep(2)
        assert follow.poll() is None, follow.communicate()
        code, out = run("--store", str(store), "forget", "prot", "p1", "--yes", HEARING_PLUGINS="")
        assert code == 0, out
        _assert_forgotten(store)
        deadline = time.monotonic() + 30
        rebuilt = False
        while not rebuilt and time.monotonic() < deadline:  # the follower rebuilds what was dropped
            time.sleep(0.2)
            code, out = run("--store", str(store), "plugins", "--json", HEARING_PLUGINS="")
            views = sqlite3.connect(f"file:{store}.views?mode=ro", uri=True)
            with closing(views):
                rows = views.execute("select position from _positions").fetchall()
                tables = {r[0] for r in views.execute("select name from sqlite_master")}
            rebuilt = len(rows) == projections and all(r[0] > 0 for r in rows)
            rebuilt = rebuilt and "transcript_items" in tables
        assert rebuilt, "replay --follow did not rebuild the dropped tables"
        assert follow.poll() is None, follow.communicate()
        _assert_forgotten(store)
    finally:
        follow.terminate()
        follow.wait(10)
    _assert_forgotten(store)
