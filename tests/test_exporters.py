"""Export formats are plugins: the built-ins through the hook, a plugin adds one, jsonl loads none."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conftest import SAMPLE
from hearing_core.cli import cli
from hearing_core.exports.registry import (
    DEFAULT_PLUGINS,
    Exporter,
    Registered,
    builtin_exporters,
)

HEARING = "imrf-2022-msh"

# A small third-party exporter: the speakers of each intervention, one per line.  Importing the
# module leaves a mark, so a test can tell whether the plugin was loaded at all.
SPEAKERS = """
from pathlib import Path

from hearing_core import hookimpl
from hearing_core.exports.registry import text_exporter

Path("speakers-plugin-loaded").write_text("yes")


def render(records, request):
    return "\\n".join(r["speaker"] for r in records if r["type"] == "InterventionDelivered")


@hookimpl
def register_exporters(register):
    register(text_exporter("speakers", "who spoke, one line per intervention", render))
"""

CLASH = """
from hearing_core import hookimpl
from hearing_core.exports.registry import text_exporter


@hookimpl
def register_exporters(register):
    register(text_exporter("html", "a second html", lambda records, request: "no"))
"""


def hearing(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"HEARING_PLUGINS": None})
    return result.exit_code, result.stdout, result.stderr


def store(tmp_path: Path) -> str:
    db = str(tmp_path / "hearings.db")
    code, _, err = hearing("--store", db, "import", str(SAMPLE))
    assert code == 0, err
    return db


def plugin_folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


def test_the_builtin_formats_are_registered_through_the_hook() -> None:
    registered = builtin_exporters()
    assert sorted(registered.exporters) == ["akn", "html", "jsonl", "popolo"]
    assert set(registered.owners.values()) == {"hearing_core"}
    assert len(DEFAULT_PLUGINS) == 4
    # Only jsonl reads the record as stored; the others get it revealed, and shield it.
    assert [n for n, e in registered.exporters.items() if not e.reveal] == ["jsonl"]


def test_a_registry_refuses_a_second_exporter_of_the_same_name() -> None:
    registered = Registered()
    first = Exporter("x", "one", lambda records, stream, request: None)
    assert registered.add(first, "a") is None
    assert registered.add(first, "b") == "exporter 'x' is already registered by 'a'"
    assert registered.add(object(), "b") == (
        "registered object, which is not a hearing_core Exporter"
    )
    assert "lower case" in (registered.add(Exporter("X y", "", first.write), "b") or "")


def test_export_format_alone_lists_the_registered_formats(tmp_path: Path) -> None:
    folder = plugin_folder(tmp_path, speakers=SPEAKERS)
    code, out, err = hearing("--plugins-dir", str(folder), "export", "--format")
    assert code == 0, err
    for name in ("akn", "html", "jsonl", "popolo", "speakers"):
        assert name in out
    assert "who spoke, one line per intervention" in out


def test_a_plugin_adds_an_export_format(tmp_path: Path) -> None:
    db = store(tmp_path)
    folder = plugin_folder(tmp_path, speakers=SPEAKERS)
    out_file = tmp_path / "speakers.txt"
    code, _, err = hearing(
        "--store",
        db,
        "--plugins-dir",
        str(folder),
        "export",
        HEARING,
        "--format",
        "speakers",
        "-o",
        str(out_file),
    )
    assert code == 0, err
    lines = out_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == sum(r["type"] == "InterventionDelivered" for r in records) == 44


def test_an_unknown_format_names_the_registered_ones(tmp_path: Path) -> None:
    db = store(tmp_path)
    code, _, err = hearing("--store", db, "export", HEARING, "--format", "pdf")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "'pdf'" in err and "akn, html, jsonl, popolo" in err


def test_a_plugin_cannot_take_over_a_builtin_format(tmp_path: Path) -> None:
    db = store(tmp_path)
    folder = plugin_folder(tmp_path, clash=CLASH)
    code, out, err = hearing(
        "--store", db, "--plugins-dir", str(folder), "export", HEARING, "--format", "html"
    )
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>")
    code, out, _ = hearing("--store", db, "--plugins-dir", str(folder), "plugins", "--json")
    (clash,) = [p for p in json.loads(out) if p["plugin"] == "clash"]
    assert clash["error"] == "exporter 'html' is already registered by 'hearing_core'"


def test_exporting_the_record_as_jsonl_loads_no_plugin(tmp_path: Path) -> None:
    db = store(tmp_path)
    folder = plugin_folder(tmp_path, speakers=SPEAKERS)
    mark = tmp_path / "speakers-plugin-loaded"
    code, out, err = hearing(
        "--store", db, "--plugins-dir", str(folder), "export", HEARING, "--format", "jsonl"
    )
    assert code == 0, err
    assert out == SAMPLE.read_text(encoding="utf-8")
    assert not mark.exists()
    # The same invocation with another format does load it (so the mark is a real witness).
    code, _, err = hearing(
        "--store", db, "--plugins-dir", str(folder), "export", HEARING, "--format", "akn"
    )
    assert code == 0, err
    assert mark.exists()
