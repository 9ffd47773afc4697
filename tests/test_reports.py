"""The report helpers plugins use live in the core, not in the command line (issue 11).

``hearing_core.reports`` holds what every report command does; importing it imports
neither click nor ``hearing_core.cli``, so the core no longer depends on its command
line.  The old import paths keep working for third-party plugins.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
SLUG = "imrf-2022-msh"


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import hearing_core.reports",
        "from hearing_core import report_command, run_report",
        "import hearing_core.output",
    ],
)
def test_the_report_helpers_import_neither_click_nor_the_command_line(code: str) -> None:
    loaded = _modules_after(code)
    assert "hearing_core.reports" in loaded or "hearing_core.output" in loaded
    assert "click" not in loaded
    assert not {m for m in loaded if m == "hearing_core.cli" or m.startswith("hearing_core.cli.")}


def test_the_old_import_paths_give_the_same_helpers() -> None:
    import hearing_core
    import hearing_core.reports as reports
    from hearing_core.cli import report_cmds

    assert hearing_core.report_command is reports.report_command is report_cmds.report_command
    assert hearing_core.run_report is reports.run_report is report_cmds.run_report


def test_render_report_without_the_command_line(tmp_path: Path) -> None:
    """The report logic runs from a workspace alone, and says usage problems plainly."""
    from hearing_core.reports import ReportUsageError, render_report, write_report
    from hearing_core.workspace import Workspace

    ws = Workspace(str(tmp_path / "s.db"))
    try:
        with SAMPLE.open("rb") as f:
            from hearing_core.interchange import read_lines

            ws.archive.import_records((SLUG, n, r) for n, r in read_lines(f, SLUG))
        report = render_report(ws, "audit", SLUG, "json", as_of="40")
        assert report.as_of is not None and report.as_of.describe() == "as of position 40"
        doc = json.loads(report.content)
        out = tmp_path / "audit.json"
        write_report(report, out)
        assert json.loads(out.read_text(encoding="utf-8")) == doc
        with pytest.raises(ReportUsageError) as e:
            render_report(ws, "audit", SLUG, "pdf")
        assert e.value.param_hint == "--format" and "audit renders table" in str(e.value)
        with pytest.raises(ReportUsageError, match="need a HEARING"):
            render_report(ws, "audit", None, None, uncorrected=True)
    finally:
        ws.close()


def test_hearing_help_imports_no_projection() -> None:
    """Building the command line (every plugin's commands included) stays light: `hearing
    --help` imports no projection module (each plugin imports its projection late)."""
    loaded = _modules_after(
        "from click.testing import CliRunner\n"
        "from hearing_core.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0"
    )
    assert "hearing_core.cli" in loaded
    plugins = {m for m in loaded if m.startswith("hearing_") and not m.startswith("hearing_core")}
    assert {"hearing_summary", "hearing_audit"} <= plugins  # their commands were built
    assert not sorted(m for m in plugins if m.endswith(".projection"))
