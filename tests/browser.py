"""Drive Debian's headless Chromium for the page tests: DOM, console, requests, screenshots.

Each load runs Chromium with no sandbox (tests run as root in CI), its own background traffic
switched off, every host name unresolvable but 127.0.0.1, and a net log: the requests the
*page* made (an origin, not the browser itself, initiated them) are read back from it, and the
console messages from Chromium's log on stderr.  Screenshots go to the artefact folder
(``HEARING_TEST_ARTEFACTS``, by default ``build/test-artefacts`` in the repository).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = Path(os.environ.get("HEARING_TEST_ARTEFACTS") or ROOT / "build" / "test-artefacts")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-features=SpellCheck,Translate,OptimizationHints,MediaRouter",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=5000",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    assert found is not None, "headless Chromium is needed: bash .ci/ensure-chromium"
    return found


@dataclass(frozen=True)
class Load:
    dom: str
    console: list[str]  # every console message the page logged
    requests: list[str]  # every URL the page asked for (the page itself included)


def load(url: str, work: Path) -> Load:
    """Load ``url`` once: its DOM after scripts ran, its console messages and its requests."""
    work.mkdir(parents=True, exist_ok=True)
    net = work / "net.json"
    done = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={work / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={net}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return Load(done.stdout, console, page_requests(net))


def page_requests(net_log: Path) -> list[str]:
    """The URLs whose loading a page initiated (the browser's own traffic left out)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        if (
            event["type"] == start
            and "url" in params
            and params.get("initiator") != "not an origin"
        ):
            urls.append(params["url"])
    return urls


def screenshot(url: str, name: str, work: Path, size: tuple[int, int] = (1280, 2400)) -> Path:
    """A PNG of the page in the artefact folder (returned)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / name
    done = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={work / 'profile-shot'}",
            f"--screenshot={shot}",
            f"--window-size={size[0]},{size[1]}",
            "--hide-scrollbars",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot
