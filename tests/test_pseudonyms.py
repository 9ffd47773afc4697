"""One pseudonym per protected participant, the same in every report, export and page.

Issue 10's first bug: register a (not protected) and b (protected), then correct
a's registration to ``protected: true``.  The core numbers pseudonyms in the order
protection appears in the log (b at registration, a by the later correction), so
b is "Protected speaker 1" and a is "Protected speaker 2".  Before contract v2 the
transcript and the summary numbered by registration order and called a "Protected
speaker 1": the same log, two people swapped.  Here every first-party report (every
format, corrected and as recorded), every export and the published pages are
checked against :class:`hearing_core.shielding.Protection`.

b never speaks or acts, so a's words and turns can only be shown under a's
pseudonym; JSON reports are also checked item by item.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hearing_core.cli import cli
from hearing_core.shielding import Protection
from hearing_core.testing import HearingBuilder
from test_publish import everything_written

SLUG = "pseudo-hearing"
A_NAME = "Alberta Quintessa"  # a: protected only by the later correction
B_NAME = "Bartholomew Zyx"  # b: protected at registration
LABEL = re.compile(r"Protected speaker \d+")

#: Report formats per projection (the example plugin is installed for the tests too).
REPORTS = {
    "transcript": ("markdown", "text", "json"),
    "audit": ("table", "json", "csv", "programme", "status", "html", "status-json"),
    "summary": ("markdown", "json"),
    "pledges": ("markdown", "json", "csv"),
    "language_time": ("markdown", "json"),
}
EXPORTS = ("akn", "popolo", "html")


def records() -> list[dict[str, Any]]:
    b = (
        HearingBuilder(SLUG)
        .participant("chair", group=None, name="Chair Person")  # seq 2
        .participant("a", group="migrants", name=A_NAME, organization="Alpha Org")  # seq 3
        .participant("b", group="academia", name=B_NAME, protected=True)  # seq 4
        .open("session-1", moderator="chair")
        .speak("chair", role="moderator", text="Welcome.")
        .speak("a", role="floor", text="Alpha speaks about remittances.")
        .recommend("a", "Alpha recommends safe pathways")
        .pledge("a", "Alpha pledges a help desk")
        .close_segment()
        .correct(3, "asked for protection", protected=True)
        .close()
    )
    # As a reader's input file holds them: the store seals b's name and computes the digests.
    return [{k: v for k, v in r.items() if k != "digest"} for r in b.records]


def hearing(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"HEARING_PLUGINS": None})
    assert result.exit_code in (0, 1), f"hearing {' '.join(args)}: {result.output}"
    return result.stdout


def test_the_pseudonym_is_the_cores_in_every_report_export_and_page(tmp_path: Path) -> None:
    plain = records()
    protection = Protection.of(plain)
    a, b = protection.pseudonym(SLUG, "a"), protection.pseudonym(SLUG, "b")
    assert (b, a) == ("Protected speaker 1", "Protected speaker 2")

    source = tmp_path / "hearing.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in plain), encoding="utf-8")
    store = str(tmp_path / "hearings.db")
    assert "imported" in hearing("--store", store, "import", str(source)).lower()

    shown: dict[str, str] = {}
    for projection, formats in REPORTS.items():
        for fmt in formats:
            for flags in ((), ("--uncorrected",)):
                name = f"report {projection} --format {fmt} {' '.join(flags)}"
                shown[name] = hearing(
                    "--store", store, "report", projection, SLUG, "--format", fmt, *flags
                )
    for fmt in EXPORTS:
        for flags in ((), ("--uncorrected",)):
            name = f"export --format {fmt} {' '.join(flags)}"
            shown[name] = hearing(
                "--store", store, "export", SLUG, "--format", fmt, "-o", "-", *flags
            )
    site = tmp_path / "site"
    hearing("--store", store, "publish", str(site))
    shown["publish"] = "\n".join(everything_written(site))

    for name, text in shown.items():
        assert A_NAME not in text and B_NAME not in text, f"{name}: shows a protected name"
        labels = set(LABEL.findall(text))
        assert labels <= {a, b}, f"{name}: shows {sorted(labels - {a, b})}, not the core's"
        if labels:  # b never acts: whatever shows anyone by pseudonym shows a, as a's
            assert a in labels, f"{name}: a, who spoke, is not shown as {a!r} (shows {labels})"
    showing = [name for name, text in shown.items() if a in text]
    assert len(showing) >= 20, f"only {showing} show a by pseudonym"

    # Item by item: whatever a said or did is a's pseudonym's.
    summary = json.loads(shown["report summary --format json "])
    assert [r["maker"]["name"] for r in summary["recommendations"]] == [a]
    pledges = json.loads(shown["report pledges --format json "])
    assert [p["made_by"]["name"] for h in pledges["hearings"] for p in h["pledges"]] == [a]
    transcript = shown["report transcript --format markdown "]
    assert f"· {a}\n" in transcript and f"· {b}" not in transcript
