"""``hearing demo`` shows the view each projection declares, naming no plugin (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hearing_core.cli import cli
from hearing_core.cli.demo import DemoView, demo_views

PLUGIN = """
from hearing_core import Projection, Table, handles, hookimpl


class Turns(Projection):
    name = "turns_demo"
    tables = {"turns_demo_seen": Table({"hearing": str, "seq": int}, pk=("hearing", "seq"))}
    formats = ("text",)
    demo = {"title": "Turns counted by a plugin", "format": "text", "lines": 1, "order": 0}

    @handles("InterventionDelivered")
    def turns(self, events, db):
        db["turns_demo_seen"].insert_all({"hearing": e.hearing, "seq": e.seq} for e in events)

    def render(self, db, request):
        sql = "select count(*) from turns_demo_seen where hearing = ?"
        (n,) = db.execute(sql, [request.hearing]).fetchone()
        return f"{n} turns in {request.hearing}\\nsecond line, not shown"


class Quiet(Projection):
    name = "quiet_demo"
    tables = {}
    formats = ("text",)

    @handles("HearingClosed")
    def closed(self, events, db):
        pass

    def render(self, db, request):
        return "QUIET REPORT"


class Wrong(Projection):
    name = "wrong_demo"
    tables = {}
    formats = ("text",)
    demo = {"title": "WRONG VIEW", "format": "pdf"}

    @handles("HearingClosed")
    def closed(self, events, db):
        pass

    def render(self, db, request):
        return "WRONG REPORT"


@hookimpl
def register_projections(register):
    register(Turns())
    register(Quiet())
    register(Wrong())
"""


def _demo(tmp_path: Path, plugins: str | None) -> tuple[int, str]:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / "demo_views.py").write_text(PLUGIN, encoding="utf-8")
    env = {"HEARING_PLUGINS": plugins, "HEARING_PLUGINS_BLOCK": None, "HEARING_STORE": None}
    args = ["--plugins-dir", str(folder), "demo", "--into", str(tmp_path / "d")]
    result = CliRunner().invoke(cli, args, env=env, terminal_width=200)
    return result.exit_code, result.output


def test_the_demo_shows_what_projections_declare(tmp_path: Path) -> None:
    code, out = _demo(tmp_path, None)  # every plugin: the first-party ones and this one
    assert code == 0, out
    assert "Turns counted by a plugin" in out and "turns in imrf-2022-msh" in out
    assert "second line, not shown" not in out and "(1 more lines)" in out
    assert "QUIET REPORT" not in out  # no demo declared: not shown
    assert "WRONG" not in out
    assert "projection wrong_demo: demo format 'pdf' is not one of text; not shown" in out
    # The first-party plugins declare theirs, shown in their order (after order 0).
    titles = ["Turns counted", "Transcript (opening)", "Summary: digest", "Stakeholder-balance"]
    places = [out.index(t) for t in titles]
    assert places == sorted(places)


def test_the_demo_shows_only_what_the_loaded_plugins_declare(tmp_path: Path) -> None:
    code, out = _demo(tmp_path, "demo_views")  # this plugin only: none of the first-party
    assert code == 0, out
    assert "Turns counted by a plugin" in out
    assert "Transcript (opening)" not in out and "Stakeholder-balance audit" not in out


class _P:
    name = "p"
    formats = ("markdown", "json")

    def __init__(self, demo: object) -> None:
        self.demo = demo


@pytest.mark.parametrize(
    ("demo", "problem"),
    [
        ("a string", "demo is not a mapping"),
        ({"title": "T", "format": "json", "colour": "red"}, "demo has unknown keys colour"),
        ({"format": "json"}, "demo needs a title"),
        ({"title": "T", "format": "json", "options": 3}, "demo options are not a mapping"),
        ({"title": "T", "format": "json", "lines": 0}, "demo lines is not a positive number"),
        ({"title": "T", "format": "json", "order": "first"}, "demo order is not a number"),
    ],
)
def test_a_declaration_that_does_not_fit_is_one_line(demo: object, problem: str) -> None:
    views, problems = demo_views([_P(demo)])
    assert views == [] and problems == [f"projection p: {problem}; not shown"]


def test_a_declaration_is_read_with_its_defaults() -> None:
    views, problems = demo_views([_P({"title": "T", "format": "json"}), _P(None)])
    assert problems == [] and views == [DemoView("p", "T", "json", {}, None, 100)]
