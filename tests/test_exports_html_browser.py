"""The HTML export in a real browser: headless Chromium (Debian package ``chromium``).

These tests fail, rather than skip, when Chromium is missing: install it with
``apt-get install -y chromium``.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import lxml.html

from hearing_core.exports import to_html
from hearing_core.testing import sample_records

SAMPLE = Path(__file__).parents[1] / "events/samples/imrf-2022-msh.jsonl"
PWN = "document.body.setAttribute('data-pwned', 'yes')"
HOSTILE = f'<script>{PWN}</script><img src=x onerror="{PWN}"> & </article>'


def sample() -> list[dict[str, Any]]:
    return sample_records()


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    assert found is not None, "headless Chromium is needed: apt-get install -y chromium"
    return found


def run(tmp_path: Path, page: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "record.html"
    path.write_text(page, encoding="utf-8")
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # tests run as root in CI
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing may be fetched
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=3000",
        *args,
        path.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_hostile_text_never_runs_in_a_browser(tmp_path: Path) -> None:
    records = sample()
    for r in records:
        if r["seq"] == 36:
            r["text"] = HOSTILE
        if r["seq"] == 2:
            r["name"] = HOSTILE
        if r["seq"] == 1:
            r["title"] = HOSTILE
    dom = run(tmp_path, to_html(records, language="en"), "--dump-dom").stdout
    doc = lxml.html.document_fromstring(dom)
    body = doc.find("body")
    assert body is not None and body.get("data-pwned") is None
    assert doc.findall(".//script") == [] and doc.findall(".//img") == []
    article = doc.get_element_by_id("intervention-36")
    assert article.find("div[@class='text']/p").text == HOSTILE  # type: ignore[union-attr]
    assert article.find("h3/bdi").text == HOSTILE  # type: ignore[union-attr]
    assert (doc.findtext(".//title") or "").startswith(HOSTILE)
    # The browser saw the whole page: every intervention and segment.
    assert len(doc.findall(".//article[@class='intervention']")) == 44
    assert len(doc.findall(".//article[@class]")) == 44 + 28  # and every contribution
    assert len(doc.findall(".//main/section[@class='segment']")) == 6


def test_the_page_renders(tmp_path: Path) -> None:
    shot = tmp_path / "record.png"
    run(
        tmp_path,
        to_html(sample()),
        f"--screenshot={shot}",
        "--window-size=1000,3000",
        "--hide-scrollbars",
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 3000)
    # A blank page compresses to almost nothing; a page of text does not.
    assert len(data) > 50_000
