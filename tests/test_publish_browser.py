"""The audit page and the published archive in a real browser (headless Chromium).

Fails, rather than skips, without Chromium (``bash .ci/ensure-chromium``) or Datasette
(``make install-dev`` installs the ``web`` extra).  Screenshots: see ``tests/browser.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from browser import load, screenshot
from hearing_core.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"
KEYS = SAMPLE.with_suffix(".keys.json")
SLUG = "imrf-2022-msh"
PWN = "document.body.setAttribute('data-pwned', 'yes')"
HOSTILE = f'<script>{PWN}</script><img src=x onerror="{PWN}"> & </td>'
RTL_NAME = "\u0644\u064a\u0644\u0649 \u062d\u062f\u0627\u062f"  # Layla Haddad


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample, with hostile text in its title, a speech and a pledge, and an Arabic name,
    published."""
    tmp = tmp_path_factory.mktemp("published")
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    for r in records:
        r.pop("digest")
        if r["type"] == "HearingScheduled":
            r["title"] = f"Hearing {HOSTILE}"
        if r["seq"] == 36:
            r["text"] = f"Detention {HOSTILE}"
        if r["seq"] == 45:
            r["text"] = f"Municipal desks {HOSTILE}"
        if r["type"] == "ParticipantRegistered" and r["participant"] == "s1-local":
            r["name"] = RTL_NAME
    source = tmp / "hostile.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = str(tmp / "hearings.db")
    runner = CliRunner()
    env = {"HEARING_PLUGINS": None}
    done = runner.invoke(
        cli, ["--store", db, "import", "--keys-file", str(KEYS), str(source)], env=env
    )
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, ["--store", db, "publish", str(tmp / "site")], env=env)
    assert done.exit_code == 0, done.output
    return tmp / "site"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """``hearing serve`` on a free port; stopped (its whole process group) afterwards."""
    port = free_port()
    hearing = Path(sys.executable).with_name("hearing")
    server = subprocess.Popen(
        [str(hearing), "serve", str(site), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "hearing serve did not start in 120 s"
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def assert_clean(page_load: object, allowed: tuple[str, ...]) -> None:
    assert page_load.console == [], page_load.console  # type: ignore[attr-defined]
    outside = [u for u in page_load.requests if not u.startswith(allowed)]  # type: ignore[attr-defined]
    assert outside == [], outside
    doc = lxml.html.document_fromstring(page_load.dom)  # type: ignore[attr-defined]
    assert doc.find("body").get("data-pwned") is None  # type: ignore[union-attr]


def test_the_probe_sees_console_messages_and_requests_leaving_the_machine(tmp_path: Path) -> None:
    # The checks below can fail: a page that logs and fetches from outside is caught.
    page = tmp_path / "probe.html"
    page.write_text(
        '<!DOCTYPE html><p>x</p><img src="http://example.invalid/x.png">'
        '<script>console.error("probe")</script>',
        encoding="utf-8",
    )
    seen = load(page.as_uri(), tmp_path / "chromium")
    assert any('"probe"' in line for line in seen.console)
    assert "http://example.invalid/x.png" in seen.requests


def test_the_audit_page_in_a_browser(site: Path, tmp_path: Path) -> None:
    url = (site / "pages" / f"audit-{SLUG}.html").as_uri()
    seen = load(url, tmp_path / "chromium")
    assert_clean(seen, ("file://", "data:"))
    doc = lxml.html.document_fromstring(seen.dom)
    assert doc.findall(".//script") == []
    captions = [f.findtext("figcaption") for f in doc.findall(".//figure")]
    assert captions == [
        "Speaking time and turns per stakeholder group",
        "Coverage: minutes per segment and stakeholder group",
        "Regional balance",
        "Officials apart",
        "Programme adherence: planned and actual",
        "Pledges' status",
    ]
    for figure in doc.findall(".//figure"):
        img = figure.find("img")
        assert img is not None and len(img.get("alt") or "") > 40
    assert doc.findtext(".//h1") == f"Hearing {HOSTILE}"
    assert RTL_NAME in [b.text for b in doc.iter("bdi")]  # isolated: it cannot reorder the row
    screenshot(url, "audit-page.png", tmp_path, (1280, 5200))


def test_the_transcript_page_in_a_browser(site: Path, tmp_path: Path) -> None:
    url = (site / "pages" / f"transcript-{SLUG}.html").as_uri()
    seen = load(url, tmp_path / "chromium")
    assert_clean(seen, ("file://", "data:"))
    doc = lxml.html.document_fromstring(seen.dom)
    assert doc.findall(".//script") == []
    assert len(doc.findall(".//article[@class='contribution pledge']")) == 10
    assert doc.get_element_by_id("pledge-45").find(".//div/p").text == f"Municipal desks {HOSTILE}"
    screenshot(url, "transcript-page.png", tmp_path, (1280, 3000))


@pytest.mark.parametrize(
    ("path", "shot", "expect"),
    [
        ("/", "archive-home.png", "Stakeholder-balance audit: Hearing"),
        ("/archive", "archive-database.png", "Stakeholder groups not heard"),
        ("/archive/interventions?_search=detention", "archive-search.png", "Detention"),
        (
            "/archive/groups_not_heard",
            "archive-groups-not-heard.png",
            "Other relevant stakeholders",
        ),
        ("/archive/pledges?_sort=seq", "archive-pledges.png", RTL_NAME),
        (f"/pages/audit-{SLUG}.html", "archive-audit-page.png", "Pledges' status"),
    ],
)
def test_the_served_archive_in_a_browser(
    served: str, tmp_path: Path, path: str, shot: str, expect: str
) -> None:
    seen = load(served + path, tmp_path / "chromium")
    assert_clean(seen, (served + "/",))
    doc = lxml.html.document_fromstring(seen.dom)
    assert expect in doc.text_content()
    # Injected text is shown as text, nowhere as markup.
    for script in doc.findall(".//script"):
        assert PWN not in (script.text or "")
    assert doc.findall(".//img[@onerror]") == []
    screenshot(served + path, shot, tmp_path, (1280, 1400))
