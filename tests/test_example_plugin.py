"""The example third-party plugin (examples/hearing-language-time) and plugin isolation.

The example is installed as its own distribution and found through its entry point, like any
plugin from PyPI. Its figures are checked against a hand computation from the sample file.
Then the host's promises to plugin authors (docs/plugins.md) are checked with throwaway plugins
loaded from a ``--plugins-dir``: one that raises on the 5th event is stopped there while the
others carry on, one that writes another projection's table is refused, one that cannot even be
imported is listed with its error, and none of them changes the record.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hearing_core.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hearing-language-time"
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
HEARING = "imrf-2022-msh"

FLAKY = """
from hearing_core import Projection, hookimpl


class Flaky(Projection):
    name = "flaky"
    tables = {"flaky_seen": {"hearing": str, "seq": int}}
    formats = ("markdown",)

    def handle(self, event, db):
        if event.position == 5:
            raise RuntimeError("cannot handle the fifth event")
        db["flaky_seen"].insert({"hearing": event.hearing, "seq": event.seq})

    def render(self, db, request):
        return "never shown"


@hookimpl
def register_projections(register):
    register(Flaky())
"""

VANDAL = """
from hearing_core import Projection, hookimpl


class Vandal(Projection):
    name = "vandal"
    types = frozenset({"InterventionDelivered"})
    tables = {"vandal_notes": {"n": int}}

    def handle(self, event, db):
        db.execute("delete from language_time_turns")


@hookimpl
def register_projections(register):
    register(Vandal())
"""

BROKEN = """
raise ImportError("needs a library that is not installed")
"""


# --- hand computation from the sample file ----------------------------------------------------


def sample_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def corrected(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records with every CorrectionIssued folded into the event it corrects."""
    out = [dict(r) for r in records]
    by_seq = {r["seq"]: r for r in out}
    for r in records:
        if r["type"] == "CorrectionIssued":
            by_seq[r["corrects"]].update(r["changes"])
    return out


def by_language(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per language of delivery: turns, the sum of ended_at - at, and the share of the total."""
    seconds: defaultdict[str, float] = defaultdict(float)
    turns: Counter[str] = Counter()
    for r in records:
        if r["type"] == "InterventionDelivered":
            span = datetime.fromisoformat(r["ended_at"]) - datetime.fromisoformat(r["at"])
            seconds[r["language"]] += span.total_seconds()
            turns[r["language"]] += 1
    total = sum(seconds.values())
    rows = [
        {"language": lang, "turns": turns[lang], "seconds": round(s), "share": round(s / total, 4)}
        for lang, s in seconds.items()
    ]
    return sorted(rows, key=lambda r: (-r["seconds"], r["language"]))


def test_the_hand_computation_sees_the_correction_of_71() -> None:
    # #71 (Russian, floor) was recorded as 12:23:00-12:27:30 and corrected by #121 to end 12:25:30.
    ru = {r["language"]: r for r in by_language(corrected(sample_records()))}["ru"]
    ru_uncorrected = {r["language"]: r for r in by_language(sample_records())}["ru"]
    assert (ru["turns"], ru["seconds"]) == (2, 420 + 150)
    assert (ru_uncorrected["turns"], ru_uncorrected["seconds"]) == (2, 420 + 270)


# --- the distribution ---------------------------------------------------------------------------


def test_installed_as_a_separate_distribution() -> None:
    dist = importlib.metadata.distribution("hearing-language-time")
    assert dist.version == "0.1.0"
    assert any(req.startswith("hearing-core") for req in dist.requires or [])
    (ep,) = [ep for ep in dist.entry_points if ep.group == "hearing_core"]
    assert (ep.name, ep.value) == ("language_time", "hearing_language_time")
    module = ep.load()
    assert Path(module.__file__).is_relative_to(EXAMPLE / "src")
    assert module.LanguageTime.name == "language_time"


def test_the_example_uses_only_the_public_api() -> None:
    source = (EXAMPLE / "src" / "hearing_language_time" / "__init__.py").read_text()
    imports = [
        line.strip() for line in source.splitlines() if "import" in line and "hearing" in line
    ]
    assert imports, "the example imports from hearing_core"
    for line in imports:
        assert line.startswith("from hearing_core import "), line


def test_the_examples_own_tests_pass() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


# --- through the command line -------------------------------------------------------------------


@pytest.fixture
def fresh_cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli`` adds plugin commands to itself once per process: start each test afresh."""
    monkeypatch.setattr(cli, "_plugins_loaded", False, raising=False)
    monkeypatch.setattr(cli, "commands", dict(cli.commands))
    return cli


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store holding the sample, with only the example plugin allowed."""
    monkeypatch.setenv("HEARING_PLUGINS", "language_time")
    db = str(tmp_path / "x.db")
    result = CliRunner().invoke(cli, ["--store", db, "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    return db


def hearing(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def report_json(db: str, *extra: str) -> dict[str, Any]:
    result = hearing("--store", db, "report", "language_time", HEARING, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_plugins_lists_it_with_its_projection(store: str) -> None:
    result = hearing("--store", store, "plugins", "--json")
    assert result.exit_code == 0, result.output
    (plugin,) = json.loads(result.stdout)
    assert plugin["plugin"] == "language_time"
    assert plugin["version"] == "0.1.0"
    assert plugin["source"] == "entry point of hearing-language-time"
    assert plugin["error"] is None
    assert [p["name"] for p in plugin["projections"]] == ["language_time"]
    assert plugin["projections"][0]["failed_at"] is None


def test_report_matches_the_hand_computation(store: str) -> None:
    report = report_json(store)
    assert report["hearing"] == HEARING
    assert report["languages"] == by_language(corrected(sample_records()))
    assert [r["language"] for r in report["languages"]] == ["en", "fr", "zh", "es", "ar", "ru"]
    assert sum(r["turns"] for r in report["languages"]) == 44
    (note,) = report["corrections"]
    assert note["seq"] == 71
    assert note["note"].startswith("ended_at corrected by #121: End time mistyped")


def test_uncorrected_report_matches_the_record_as_first_written(store: str) -> None:
    report = report_json(store, "--uncorrected")
    assert report["languages"] == by_language(sample_records())
    assert report["corrections"] == []


def test_as_of_matches_the_hand_computation(store: str) -> None:
    moment = datetime.fromisoformat("2022-05-16T11:00:00-04:00")
    upto = []
    for r in sample_records():
        if datetime.fromisoformat(r["at"]) > moment:
            break
        upto.append(r)
    assert report_json(store, "--as-of", "11:00")["languages"] == by_language(corrected(upto))


def test_its_own_command_gives_the_same_report(store: str, fresh_cli: Any) -> None:
    for fmt in ("markdown", "json"):
        generic = hearing("--store", store, "report", "language_time", HEARING, "--format", fmt)
        own = hearing("--store", store, "language-time", HEARING, "--format", fmt)
        assert own.exit_code == 0, own.output
        assert own.stdout == generic.stdout
    markdown = hearing("--store", store, "language-time", HEARING).stdout
    assert markdown.startswith("# Speaking time by language: imrf-2022-msh\n")
    assert "| en | 33 | 9540 | 70.8% |" in markdown
    assert "- turn 71: ended_at corrected by #121:" in markdown


def test_incremental_and_rebuilt_reports_are_identical(tmp_path: Path, store: str) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:70]), encoding="utf-8")
    rest.write_text("".join(lines[70:]), encoding="utf-8")
    db = str(tmp_path / "stepwise.db")
    assert hearing("--store", db, "import", str(first)).exit_code == 0
    report_json(db)  # the read model catches up with the first 70 events
    assert hearing("--store", db, "import", str(rest)).exit_code == 0
    stepwise = hearing("--store", db, "report", "language_time", HEARING).stdout
    assert hearing("--store", db, "replay").exit_code == 0
    rebuilt = hearing("--store", db, "report", "language_time", HEARING).stdout
    elsewhere = hearing("--store", store, "report", "language_time", HEARING).stdout
    assert stepwise == rebuilt == elsewhere


# --- isolation ----------------------------------------------------------------------------------


def plugins_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "dev-plugins"
    folder.mkdir()
    for name, source in files.items():
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
    return folder


def listing(db: str, folder: Path) -> dict[str, dict[str, Any]]:
    result = hearing("--store", db, "--plugins-dir", str(folder), "plugins", "--json")
    assert result.exit_code == 0, result.output
    return {p["plugin"]: p for p in json.loads(result.stdout)}


def test_a_plugin_that_raises_is_stalled_and_the_others_carry_on(
    tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARING_PLUGINS", "language_time,flaky")
    folder = plugins_dir(tmp_path, flaky=FLAKY)
    before = hearing("--store", store, "export", HEARING).stdout
    assert before == SAMPLE.read_text(encoding="utf-8")

    replay = hearing("--store", store, "--plugins-dir", str(folder), "replay")
    assert replay.exit_code != 0
    message = " ".join(replay.stderr.split())  # rich wraps long lines
    assert "flaky stalled at position 5: RuntimeError: cannot handle the fifth event" in message

    plugins = listing(store, folder)
    assert plugins["flaky"]["error"] is None  # it loaded; its projection failed
    (flaky,) = plugins["flaky"]["projections"]
    assert (flaky["position"], flaky["failed_at"]) == (4, 5)
    assert flaky["error"] == "RuntimeError: cannot handle the fifth event"
    (example,) = plugins["language_time"]["projections"]
    assert example["failed_at"] is None
    assert example["position"] == len(sample_records())

    assert report_json(store)["languages"] == by_language(corrected(sample_records()))
    stalled = hearing("--store", store, "--plugins-dir", str(folder), "report", "flaky", HEARING)
    assert stalled.exit_code != 0
    assert "stalled at position 5" in " ".join(stalled.stderr.split())

    assert hearing("--store", store, "export", HEARING).stdout == before
    assert hearing("--store", store, "verify", HEARING).exit_code == 0


def test_a_plugin_cannot_write_another_projections_tables(
    tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARING_PLUGINS", "language_time,vandal")
    folder = plugins_dir(tmp_path, vandal=VANDAL)
    replay = hearing("--store", store, "--plugins-dir", str(folder), "replay")
    assert replay.exit_code != 0
    (vandal,) = listing(store, folder)["vandal"]["projections"]
    first_turn = next(r["seq"] for r in sample_records() if r["type"] == "InterventionDelivered")
    assert vandal["failed_at"] == first_turn
    assert "not authorized" in vandal["error"]
    assert report_json(store)["languages"] == by_language(corrected(sample_records()))


def test_a_plugin_that_fails_to_import_is_listed_with_its_error(
    tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch, fresh_cli: Any
) -> None:
    monkeypatch.setenv("HEARING_PLUGINS", "language_time,broken")
    folder = plugins_dir(tmp_path, broken=BROKEN)
    plugins = listing(store, folder)
    assert plugins["broken"]["error"] == (
        "failed to load: ImportError: needs a library that is not installed"
    )
    assert plugins["broken"]["projections"] == []
    assert plugins["broken"]["source"].endswith("broken.py")
    assert plugins["language_time"]["error"] is None

    listed = hearing("--store", store, "--plugins-dir", str(folder), "--help")
    assert listed.exit_code == 0, listed.output
    assert "language-time" in listed.stdout
    own = hearing("--store", store, "--plugins-dir", str(folder), "language-time", HEARING)
    assert own.exit_code == 0, own.output
    replay = hearing("--store", store, "--plugins-dir", str(folder), "replay")
    assert replay.exit_code == 0, replay.output
    assert report_json(store)["languages"] == by_language(corrected(sample_records()))
