"""docs/cli.md is every command's --help as the code prints it (regenerate: cog -r docs/cli.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hearing_core.cli.reference import render

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"


def test_the_cli_reference_is_in_step_with_the_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", str(PAGE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"docs/cli.md is stale: run cog -r docs/cli.md\n{done.stdout}"


def test_the_reference_covers_every_record_subcommand_and_plugin_commands() -> None:
    text = render()
    for name in ("import", "export", "record correct", "record intervene", "record progress"):
        assert f"## hearing {name}\n" in text
    assert "## hearing transcript\n" in text  # a first-party plugin's command
    assert "HH:MM on the hearing's day" in text  # --at takes what --as-of takes
