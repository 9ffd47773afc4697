"""The documentation keeps up with the code.

- every hook in :mod:`hearing_core.hookspecs` has a section in docs/plugins.md titled with its
  signature, holding a runnable example that implements it;
- every runnable code block in docs/plugins.md runs (``<!-- runnable -->`` just before a fenced
  block), and the ``test_*`` functions and ``Test*`` classes it defines pass;
- the tutorial's files (``<!-- file: PATH -->`` blocks) make a working plugin, and the commands
  the tutorial shows print what it says they print;
- every name of ``hearing_core.__all__`` is mentioned in docs/plugins.md;
- docs/index.md links every page in docs/, and every page it links exists;
- the verify and seal commands docs/archivist.md shows print what it says they print.
- every command shown in README.md and docs/ runs against a fresh demo store and prints what
  the page shows (below).
"""

from __future__ import annotations

import inspect
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

import hearing_core
from hearing_core import hookspecs
from hearing_core.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PLUGINS_MD = DOCS / "plugins.md"
SAMPLE = ROOT / "events" / "samples" / "imrf-2022-msh.jsonl"

_BLOCK = re.compile(
    r"^(?:<!--(?P<meta>[^\n]*?)-->\n)?```(?P<lang>[\w-]*)\n(?P<code>.*?)^```[ \t]*$",
    re.S | re.M,
)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@attrs.frozen
class Block:
    """One fenced code block of a page and what its marker comment says about it."""

    line: int
    lang: str
    code: str
    runnable: bool
    file: str | None

    @property
    def id(self) -> str:
        return f"plugins.md:{self.line}"


def blocks(path: Path = PLUGINS_MD) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        meta = [part.strip() for part in (m["meta"] or "").split(";")]
        file = next((p.split(":", 1)[1].strip() for p in meta if p.startswith("file:")), None)
        out.append(
            Block(
                line=text.count("\n", 0, m.start("code")) + 1,
                lang=m["lang"],
                code=m["code"],
                runnable="runnable" in meta,
                file=file,
            )
        )
    return out


def runnable_blocks() -> list[Block]:
    return [b for b in blocks() if b.runnable]


def hooks() -> dict[str, Callable[..., Any]]:
    """Every hook specification, found the way pluggy finds them: by the spec marker."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if callable(fn) and getattr(fn, marker, None) is not None
    }


def _prose(text: str) -> list[tuple[int, str]]:
    """The lines of a page outside fenced code blocks, with their indexes."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines()):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append((i, line))
    return out


def headings(text: str) -> list[str]:
    return [line for _, line in _prose(text) if line.startswith(("## ", "### "))]


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = len(heading.split(" ", 1)[0])
    lines = text.splitlines()
    start = next(i for i, line in _prose(text) if line == heading)
    stop = next(
        (
            i
            for i, line in _prose(text)
            if i > start and re.match(rf"#{{1,{level}}} ", line) is not None
        ),
        len(lines),
    )
    return "\n".join(lines[start + 1 : stop])


# --- hooks -------------------------------------------------------------------------------


def test_the_hooks_are_found() -> None:
    assert {"register_projections", "register_commands"} <= set(hooks())


@pytest.mark.parametrize("name", sorted(hooks()))
def test_every_hook_has_a_section_titled_with_its_signature(name: str) -> None:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    signature = f"{name}({', '.join(inspect.signature(hooks()[name]).parameters)})"
    titled = [h for h in headings(text) if signature in h]
    assert titled, f"docs/plugins.md needs a '## ' or '### ' heading with {signature}"
    body = section(text, titled[0])
    examples = [b for b in blocks() if b.runnable and f"\ndef {name}(" in "\n" + b.code]
    assert any(b.code in body for b in examples), (
        f"the section {titled[0]!r} needs a runnable example implementing {name}"
    )


# --- the public API ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(hearing_core.__all__))
def test_every_public_name_is_documented(name: str) -> None:
    assert f"`{name}`" in PLUGINS_MD.read_text(encoding="utf-8"), (
        f"hearing_core.{name} is public but docs/plugins.md does not mention `{name}`"
    )


# --- runnable blocks and the tutorial ----------------------------------------------------


def _install_tutorial(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write the tutorial's files and make each project importable and discoverable.

    A ``*.dist-info`` folder with the entry points of the project's pyproject.toml, beside
    its ``src`` on ``sys.path``, is what ``importlib.metadata`` finds for an installed package.
    """
    for block in blocks():
        if block.file:
            path = folder / block.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.code, encoding="utf-8")
    for pyproject in sorted(folder.glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        src = pyproject.parent / "src"
        name, version = project["name"], project["version"]
        info = src / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = []
        for group, entries in project.get("entry-points", {}).items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        monkeypatch.syspath_prepend(str(src))


@pytest.fixture
def tutorial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder holding the tutorial's projects, installed for the length of one test."""
    folder = tmp_path / "tutorial"
    before = set(sys.modules)
    _install_tutorial(folder, monkeypatch)
    monkeypatch.chdir(tmp_path)
    try:
        yield folder
    finally:
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
                del sys.modules[name]


@pytest.fixture
def fresh_cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli`` adds plugin commands to itself once per process: start this test afresh."""
    monkeypatch.setattr(cli, "_plugins_loaded", False, raising=False)
    monkeypatch.setattr(cli, "commands", dict(cli.commands))
    return cli


def _run_tests(namespace: dict[str, Any], tmp_path: Path) -> list[str]:
    """Call the test functions and the tests of the test classes a block defined."""
    ran = []
    for name, obj in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(obj):
            params = inspect.signature(obj).parameters
            unknown = set(params) - {"tmp_path"}
            assert not unknown, f"{name}: only the tmp_path fixture is provided, not {unknown}"
            kwargs = {"tmp_path": tmp_path / name} if "tmp_path" in params else {}
            for folder in kwargs.values():
                folder.mkdir()
            obj(**kwargs)
            ran.append(name)
        elif name.startswith("Test") and inspect.isclass(obj):
            for method in sorted(dir(obj)):
                if method.startswith("test_"):
                    getattr(obj(), method)()
                    ran.append(f"{name}.{method}")
    return ran


@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda b: b.id)
def test_runnable_block_runs(
    block: Block, tutorial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert block.lang == "python", f"{block.id}: only python blocks can be runnable"
    monkeypatch.setenv("HEARING_PLUGINS", "")
    namespace: dict[str, Any] = {"__name__": f"docs_example_{block.line}"}
    exec(compile(block.code, f"docs/{block.id}", "exec"), namespace)
    _run_tests(namespace, tmp_path)


def test_there_are_runnable_examples_and_tests() -> None:
    found = runnable_blocks()
    assert len(found) >= 6
    assert any("ProjectionContract)" in b.code for b in found)
    assert any("CliRunner" in b.code for b in found)


def test_the_tutorial_tests_run_and_pass(tutorial: Path, tmp_path: Path) -> None:
    (tests,) = [b for b in blocks() if b.file and b.file.endswith("tests/test_roles.py")]
    namespace: dict[str, Any] = {"__name__": "test_roles"}
    exec(compile(tests.code, tests.file or "", "exec"), namespace)
    ran = _run_tests(namespace, tmp_path)
    assert "test_a_correction_moves_a_turn_and_is_noted" in ran
    assert "TestRolesContract.test_incremental_equals_rebuild" in ran


def test_the_tutorial_pyproject_declares_the_entry_point() -> None:
    files = {b.file: b for b in blocks() if b.file}
    project = tomllib.loads(files["hearing-roles/pyproject.toml"].code)
    assert project["project"]["entry-points"]["hearing_core"] == {"roles": "hearing_roles"}
    assert "hearing-core" in project["project"]["dependencies"]
    (package,) = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert f"hearing-roles/{package}/__init__.py" in files


def _console_sessions(text: str) -> list[tuple[str, list[str]]]:
    """Every ``$ command`` of the page's console blocks, with the output shown under it."""
    out: list[tuple[str, list[str]]] = []
    for block in blocks():
        if block.lang != "console":
            continue
        for line in block.code.splitlines():
            if line.startswith("$ "):
                out.append((line[2:].split("  #", 1)[0].strip(), []))
            elif out:
                out[-1][1].append(line.rstrip())
    return out


def test_the_tutorial_commands_print_what_the_page_shows(
    tutorial: Path, fresh_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARING_PLUGINS", "roles")
    runner = CliRunner()
    sessions = _console_sessions(PLUGINS_MD.read_text(encoding="utf-8"))
    checked = []
    for command, shown in sessions:
        args = shlex.split(command)
        if args[0] != "hearing" or "--plugins-dir" in args:
            continue  # pip, pytest; --plugins-dir has its own test
        result = runner.invoke(fresh_cli, args[1:])
        assert result.exit_code == 0, f"$ {command}\n{result.output}"
        if shown:
            got = [line.rstrip() for line in result.stdout.rstrip("\n").splitlines()]
            assert got == shown, f"$ {command}"
            checked.append(command)
    assert any(" plugins" in c for c in checked)
    assert any(" report roles " in c for c in checked)
    assert any("--as-of" in c for c in checked)


def test_the_tutorial_plugin_works_from_a_plugins_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (module,) = [b for b in blocks() if b.file and b.file.endswith("hearing_roles/__init__.py")]
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "roles.py").write_text(module.code, encoding="utf-8")
    monkeypatch.setenv("HEARING_PLUGINS", "roles")
    runner = CliRunner()
    store = str(tmp_path / "x.db")
    assert runner.invoke(cli, ["--store", store, "import", str(SAMPLE)]).exit_code == 0
    result = runner.invoke(
        cli, ["--store", store, "--plugins-dir", str(dev), "report", "roles", "imrf-2022-msh"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Turns by role: imrf-2022-msh\n\n- panellist: 19\n")


# --- pages and links ---------------------------------------------------------------------


def _links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [
        target.split("#", 1)[0]
        for target in _LINK.findall(text)
        if "://" not in target and not target.startswith(("#", "mailto:"))
    ]


def test_every_page_linked_from_the_index_exists() -> None:
    links = _links(DOCS / "index.md")
    assert links
    for target in links:
        assert (DOCS / target).exists(), f"docs/index.md links {target}, which does not exist"


def test_the_index_links_every_page() -> None:
    linked = {(DOCS / t).resolve() for t in _links(DOCS / "index.md")}
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "index.md":
            assert page.resolve() in linked, f"docs/index.md does not link {page.name}"


@pytest.mark.parametrize("page", ["plugins.md", "archivist.md", "auditor.md"])
def test_relative_links_resolve(page: str) -> None:
    for target in _links(DOCS / page):
        if target:
            assert (DOCS / target).exists(), f"docs/{page} links {target}, which does not exist"


# --- the auditor's guide: every command it shows runs, and prints what it shows ------------

AUDITOR_MD = DOCS / "auditor.md"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")


def console_commands(path: Path) -> list[tuple[str, list[str]]]:
    """Every ``$ command`` of a page's console blocks (indented ones too), with the output
    lines shown after it.  A command continues over lines until its quotes are closed."""
    out: list[tuple[str, list[str]]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        i += 1
        if not fence or fence["lang"] != "console":
            continue
        indent = len(fence["indent"])
        body = []
        while not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        command: str | None = None
        for line in body:
            if command is not None and not _complete(command):
                command += "\n" + line
            elif line.startswith("$ "):
                command = line[2:]
                out.append((command, []))
            elif out:
                out[-1][1].append(line)
            if out and command is not None:
                out[-1] = (command, out[-1][1])
    return out


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(command: str, env: dict[str, str], cwd: Path) -> str:
    """Run a `hearing serve` command until it answers; return its home page; stop it."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    port = _free_port()  # the page's port may be taken on a shared machine
    command = re.sub(r"--port \d+", f"--port {port}", command)
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        env=env,
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    return str(r.read().decode("utf-8"))
            except OSError:
                assert server.poll() is None, f"{command!r} stopped"
                assert time.monotonic() < deadline, f"{command!r} did not answer in 120 s"
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_auditor_guide_parses_into_commands() -> None:
    commands = [c for c, _ in console_commands(AUDITOR_MD)]
    assert commands[0].startswith("hearing demo")
    assert any(c.startswith("hearing publish site") for c in commands)
    assert any(c.startswith("hearing serve site") for c in commands)
    assert any(c.startswith("sqlite-utils query") and "\n" in c for c in commands)


def test_every_command_of_the_auditor_guide_runs(tmp_path: Path) -> None:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    last = 0
    commands = console_commands(AUDITOR_MD)
    for n, (command, shown) in enumerate(commands):
        if command.startswith("export "):
            name, _, value = command.split(None, 1)[1].split("#")[0].strip().partition("=")
            env[name] = value
            continue
        if command.startswith("hearing serve"):
            home = _serve(command, env, tmp_path)
            assert "/pages/audit-imrf-2022-msh.html" in home
            continue
        script = command.replace("$?", str(last))
        done = subprocess.run(
            ["bash", "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        last = done.returncode
        following = commands[n + 1][0] if n + 1 < len(commands) else ""
        if not ("||" in command or following.startswith("echo $?")):
            assert done.returncode == 0, f"{command!r} failed: {done.stderr[-1500:]}"
        printed = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
        at = 0
        for expected in shown:
            if expected.strip() in ("", "..."):
                continue
            while at < len(printed) and printed[at].strip() != expected.strip():
                at += 1
            assert at < len(printed), (
                f"{command!r} should print {expected!r}; it printed:\n" + "\n".join(printed[-40:])
            )
            at += 1


ARCHIVIST_MD = DOCS / "archivist.md"


def _section_sessions(page: Path, start: str, end: str) -> list[tuple[str, list[str]]]:
    """Every ``$ command`` of the console blocks between two headings, with its shown output."""
    text = page.read_text(encoding="utf-8")
    section = text[text.index(start) : text.index(end)]
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:].split("  #", 1)[0].strip(), []))
            elif out:
                out[-1][1].append(line.rstrip())
    return out


def test_the_verify_and_seal_commands_print_what_the_archivist_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEARING_PLUGINS", "")
    runner = CliRunner()
    for store in ("hearings.db", "copy.db"):
        result = runner.invoke(cli, ["--store", store, "import", str(SAMPLE)])
        assert result.exit_code == 0, result.output
    sessions = _section_sessions(ARCHIVIST_MD, "## Verifying the record", "## Protected speakers")
    assert len(sessions) >= 9
    for command, shown in sessions:
        args = shlex.split(command)
        assert args[0] == "hearing", command
        result = runner.invoke(cli, args[1:])
        refused = bool(shown) and shown[0].startswith("error:")
        assert result.exit_code == (1 if refused else 0), f"$ {command}\n{result.output}"
        if shown:
            got = [line.rstrip() for line in result.output.rstrip("\n").splitlines()]
            assert got == shown, f"$ {command}"
        elif "--json" in args:
            assert json.loads(result.output)


# --- every command of README.md and docs/ ------------------------------------------------
# Every command shown in README.md and docs/ runs, against a fresh demo store.
#
# Each page's command blocks (```console with ``$ `` prompts, ```sh and ```bash) are run in
# order, in a folder of the page's own, as a reader following the page would: ``hearing demo``
# first, then ``export HEARING_STORE=...``, then the page's commands.  Every block starts from
# a fresh copy of the demo store (a block that records a correction or forgets a speaker does
# not change what the next block shows); files a block writes (exports) stay for the next.
# Where a console block shows output under a command, the command must print it (whitespace
# aside; a ``...`` line stands for any lines, ``…`` for any text within a line), so a stale
# digest or a changed message fails.
#
# ``hearing`` and ``sqlite-utils`` run in this process (click's runner); ``jq`` and ``cmp``
# as programs.  The shell around them is what the pages use: ``export``, ``|``, ``||``,
# ``&&``, ``;`` and ``echo``.  Two kinds of command are only checked to parse (run with
# ``--help`` appended, so an unknown option still fails): those with a ``<placeholder>``, and
# those that follow or serve until stopped (``--follow``, ``hearing serve``); for ``datasette`` (not a dependency), that
# the file it serves exists.  Installation and
# benchmark commands (``make``, ``pip``, ``.venv/bin/...``, ``pytest``) are not run, and
# docs/plugins.md has its own tests (tests/test_docs.py).
#
# The plugins the pages use are those ``make install-dev`` installs, the example
# ``language_time`` included; a missing one fails the test, never skips it.

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OWN_TESTS = {"plugins.md", "auditor.md"}  # their own tests above run these
_COMMAND_BLOCK = re.compile(
    r"^(?:<!--(?P<meta>[^\n]*?)-->\n)?```(?P<lang>console|sh|bash|shell)\n(?P<code>.*?)^```[ \t]*$",
    re.S | re.M,
)
NOT_RUN = ("make", "pip", "pytest", ".venv/bin/pip", ".venv/bin/python", "BENCH_SITE=")
PARSE_ONLY = ("--follow",)
SERVERS = ("datasette",)


@attrs.frozen
class Command:
    """One command of a page, with the output the page shows under it (console blocks)."""

    page: str
    line: int
    text: str
    shown: tuple[str, ...]


@attrs.frozen
class CommandBlock:
    """A command block and what its marker comment says about the store it runs on.

    ``<!-- tampered: 71 -->`` before a block: it shows a store in which someone edited
    event 71 directly in the database (its ``ended_at``), so the test does that first.
    """

    commands: list[Command]
    tampered: int | None


def _open_quote(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return True
    return False


def page_blocks(page: Path) -> list[CommandBlock]:
    """The page's command blocks."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _COMMAND_BLOCK.finditer(text):
        first = text.count("\n", 0, m.start("code")) + 1
        commands: list[Command] = []
        lines = m["code"].splitlines()
        console = m["lang"] == "console"
        i = 0
        while i < len(lines):
            line, number = lines[i], first + i
            i += 1
            if console and not line.startswith("$ "):
                if commands:
                    last = commands[-1]
                    commands[-1] = attrs.evolve(last, shown=(*last.shown, line))
                continue
            command = line[2:] if console else line
            while i < len(lines) and (command.rstrip().endswith("\\") or _open_quote(command)):
                if command.rstrip().endswith("\\"):
                    command = command.rstrip()[:-1] + " " + lines[i].strip()
                else:  # a quoted argument (an SQL query) goes on over several lines
                    command += "\n" + lines[i]
                i += 1
            if command.strip():
                commands.append(Command(page.name, number, command.strip(), ()))
        meta = (m["meta"] or "").strip()
        tampered = int(meta.split(":", 1)[1]) if meta.startswith("tampered:") else None
        out.append(CommandBlock(commands, tampered))
    return out


def _pages() -> list[Path]:
    def runs(page: Path) -> bool:
        return any(not c.text.startswith(NOT_RUN) for b in page_blocks(page) for c in b.commands)

    return [p for p in PAGES if p.name not in OWN_TESTS and runs(p)]


# --- a tiny shell --------------------------------------------------------------------------


@attrs.define
class Shell:
    """Runs the pages' command lines: hearing and sqlite-utils in process, the rest as programs."""

    folder: Path
    env: dict[str, str]
    code: int = 0

    def run(self, line: str) -> str:
        """Run one command line; return what it printed (stdout and stderr)."""
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        out: list[str] = []
        piped: str | None = None
        skip = False
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if token not in ("|", "||", "&&", ";"):
                segment.append(token)
                continue
            if not skip:
                printed = self._one(segment, piped)
                if token == "|":
                    piped = printed
                else:
                    piped = None
                    out.append(printed)
            segment = []
            # `a || b` runs b only if a failed; `a && b` only if it succeeded.
            skip = (token == "||" and self.code == 0) or (token == "&&" and self.code != 0)
        return "".join(out)

    def _one(self, args: list[str], stdin: str | None) -> str:
        args = [a.replace("$?", str(self.code)) for a in args]
        program = args[0]
        if program == "export":
            name, _, value = args[1].partition("=")
            self.env[name] = value
            self.code = 0
            return ""
        if program == "echo":
            self.code = 0
            return " ".join(args[1:]) + "\n"
        if program == "hearing":
            return self._click(cli, args[1:], stdin)
        if program == "eval":  # eval "$(_HEARING_COMPLETE=bash_source hearing)": the script
            m = re.fullmatch(r"\$\((_HEARING_COMPLETE)=(\w+) hearing\)", args[1])
            assert m, f"only the completion set-up is eval'ed in the docs, not {args[1]!r}"
            result = CliRunner().invoke(cli, [], prog_name="hearing", env={m[1]: m[2]})
            self.code = result.exit_code
            assert "_HEARING_COMPLETE" in result.output, result.output
            return ""
        if program == "sqlite-utils":
            from sqlite_utils.cli import cli as sqlite_utils_cli

            return self._click(sqlite_utils_cli, args[1:], stdin)
        path = shutil.which(program)
        assert path is not None, f"the docs use {program!r}: install it (apt-get install {program})"
        done = subprocess.run(
            [path, *args[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.folder,
            env={**self.env, "PATH": "/usr/bin:/bin"},
            check=False,
            timeout=60,
        )
        self.code = done.returncode
        return done.stdout + done.stderr

    def _click(self, command: Any, args: list[str], stdin: str | None) -> str:
        result = CliRunner().invoke(command, args, input=stdin, env=self.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        self.code = result.exit_code
        return result.output


def matches(output: str, shown: tuple[str, ...]) -> bool:
    """Whether ``output`` is what the page shows (whitespace aside; ``...``/``…`` wildcards)."""
    parts = []
    for line in shown:
        if line.strip() == "...":
            parts.append(".*")
            continue
        pieces = [re.escape(" ".join(p.split())) for p in line.split("…")]
        parts.append(".*".join(pieces))
    pattern = r"\s*".join(p for p in parts if p)
    flat = " ".join(output.split())
    return re.fullmatch(pattern.replace(r"\ ", r"\s*"), flat, re.S) is not None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, recorded once; each block gets a fresh copy."""
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        cli, ["demo", "--into", str(folder / "hearing-demo")], env={"HEARING_STORE": None}
    )
    assert result.exit_code == 0, result.output
    return folder / "hearing-demo"


def _fresh_demo(demo: Path, folder: Path) -> None:
    target = folder / "hearing-demo"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(demo, target)


def _tamper(store: Path, position: int) -> None:
    """Edit one event's stored end time behind the archive's back (its guard dropped)."""
    import sqlite3

    conn = sqlite3.connect(store)
    with conn:
        conn.execute("DROP TRIGGER stored_events_no_update")
        (state,) = conn.execute(
            "SELECT state FROM stored_events WHERE originator_version = ?"
            " AND topic LIKE '%InterventionDelivered'",
            (position,),
        ).fetchone()
        edited = re.sub(rb"(ended_at[^}]*?T\d\d:)(\d\d)", rb"\g<1>59", state, count=1)
        assert edited != state
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_version = ? AND state = ?",
            (edited, position, state),
        )
    conn.close()


def _run_page(page: Path, demo: Path, folder: Path) -> Iterator[tuple[Command, str | None, int]]:
    """Run the page's commands; yield each with what it printed (None: only parsed) and its
    exit status."""
    shell = Shell(
        folder,
        {
            "HEARING_STORE": "",
            "HEARING_VIEWS": "",
            "HEARING_KEYS": "",
            "HEARING_PLUGINS": "",
            "HEARING_PLUGINS_BLOCK": "",
            "XDG_DATA_HOME": str(folder / "xdg"),
            "COLUMNS": "80",
        },
    )
    for k in ("HEARING_STORE", "HEARING_VIEWS", "HEARING_KEYS", "HEARING_PLUGINS"):
        shell.env.pop(k)
    shell.env.pop("HEARING_PLUGINS_BLOCK")
    for block in page_blocks(page):
        _fresh_demo(demo, folder)
        if block.tampered is not None:
            _tamper(folder / "hearing-demo" / "hearings.db", block.tampered)
        for command in block.commands:
            text = command.text
            if text.startswith(NOT_RUN):
                continue
            if text.split()[0] == "hearing" and text.split()[1:2] == ["demo"]:
                continue  # the fresh copy is what `hearing demo` records
            if text.startswith(SERVERS):
                # Datasette is not a dependency: check that what it is pointed at exists.
                served = [a for a in shlex.split(text, comments=True)[1:] if not a.startswith("-")]
                assert served and all((folder / a).exists() for a in served), text
                yield command, None, 0
                continue
            if "hearing serve" in text:  # serves until stopped: only check that it parses
                text = re.sub(
                    r"(hearing serve[^&|;#]*)", lambda m: m[1].rstrip() + " --help ", text
                )
            if "<" in text or any(flag in text for flag in PARSE_ONLY):
                text = re.sub(r"<[^>]*>", "x", text).split("#", 1)[0].strip() + " --help"
                printed = shell.run(text)
                assert shell.code == 0, f"{page.name}:{command.line}: {text}\n{printed}"
                yield command, None, 0
                continue
            yield command, shell.run(text), shell.code


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_every_command_of_the_page_runs_and_prints_what_it_shows(
    page: Path, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hearing_core.plugins import load_plugins

    monkeypatch.chdir(tmp_path)
    have = set(load_plugins(None).projections)
    needed = {"transcript", "summary", "audit", "pledges", "language_time"}
    assert needed <= have, f"the docs need plugins {needed - have}: run make install-dev"
    results = list(_run_page(page, demo, tmp_path))
    for i, (command, output, code) in enumerate(results):
        where = f"{command.page}:{command.line}: $ {command.text}"
        # A failure is expected where the page shows it: an error line, or `echo $?` next.
        shown_failing = any(s.startswith(("error:", "✗")) for s in command.shown)
        checked_next = i + 1 < len(results) and results[i + 1][0].text == "echo $?"
        if not shown_failing and not checked_next:
            assert code == 0, f"{where}\n{output}"
        if command.shown and output is not None:
            assert matches(output, command.shown), f"{where}\nprinted:\n{output}"
    assert results


def test_the_shell_sees_pipes_and_gates(tmp_path: Path) -> None:
    shell = Shell(tmp_path, {})
    assert shell.run("echo a || echo b") == "a\n"
    assert shell.run("hearing --store nope.db verify || echo failed") == (
        "error: no store at nope.db: `hearing import`, `hearing record` or `hearing demo`"
        " create one\nfailed\n"
    )
    assert shell.run("echo x | cmp - missing && echo same") != "same\n"


def test_a_stale_digest_would_fail() -> None:
    shown = ("✓ imrf-2022-msh: 125 events, chain intact, head", "a8a42064")
    assert not matches("✓ imrf-2022-msh: 125 events, chain intact, head\ne11a7993\n", shown)
    assert matches("✓ imrf-2022-msh: 125 events, chain intact, head\na8a42064\n", shown)
    assert matches("x\ny\nz\n", ("x", "...", "z"))


# --- docs/security.md: every claim names a test that exists ---------------------------------

#: ``[tests/]test_x.py`` names a test file; ``[tests/]test_x.py::name`` a test of that file,
#: ``::name`` one of the file named last, and a bare ``test_name`` a test of any file under
#: tests/; ``name_*`` is any test so named.
_TEST_REFERENCE = re.compile(
    r"`(?:tests/(?:plugins/)?)?(test_\w+\.py)(?:::(\w+\*?))?[^`]*`|`::(\w+\*?)[^`]*`|`(test_\w+)`"
)


def _test_functions(path: Path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def _has_test(found: set[str], name: str) -> bool:
    if name.endswith("*"):
        return any(f.startswith(name[:-1]) for f in found)
    return name in found


def security_md_missing_tests(text: str) -> tuple[int, list[str]]:
    """How many test references ``text`` makes, and those that name nothing under tests/."""
    by_file: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        by_file.setdefault(path.name, set()).update(_test_functions(path))
    anywhere = set().union(*by_file.values())
    current: str | None = None
    named, missing = 0, []
    for match in _TEST_REFERENCE.finditer(text):
        file, name, name_after, bare = match.groups()
        named += 1
        if bare is not None:
            if bare not in anywhere:
                missing.append(bare)
        elif file is not None:
            current = file
            if file not in by_file:
                missing.append(file)
            elif name is not None and not _has_test(by_file[file], name):
                missing.append(f"{file}::{name}")
        else:
            assert current is not None, f"{match[0]} names no file and follows none"
            if not _has_test(by_file.get(current, set()), name_after):
                missing.append(f"{current}::{name_after}")
    return named, missing


@pytest.mark.parametrize(
    "reference",
    [
        "`tests/test_docs.py::test_gone`",
        "`test_crashez.py`",
        "`tests/test_contrakt.py`",
        "`test_cli.py::test_verify_nothing_*`",
        "`test_cli.py` then `::test_gone`",
        "`test_never_written`",
    ],
)
def test_the_security_md_check_catches_a_missing_test(reference: str) -> None:
    named, missing = security_md_missing_tests(reference)
    assert named >= 1 and missing, reference


def test_every_test_security_md_names_exists() -> None:
    text = (DOCS / "security.md").read_text(encoding="utf-8")
    named, missing = security_md_missing_tests(text)
    assert named > 40, named  # the pattern still finds the references
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_architecture_md_names_every_module_of_the_core() -> None:
    """docs/architecture.md says where each thing lives: a new module must be added there."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    core = ROOT / "src" / "hearing_core"
    modules = [f"`{p.name}`" for p in core.glob("*.py") if not p.name.startswith("__")]
    packages = [f"`{p.name}/`" for p in core.iterdir() if (p / "__init__.py").exists()]
    missing = [name for name in modules + packages if name not in text]
    assert len(modules) > 20 and packages
    assert not missing, f"docs/architecture.md does not say what these hold: {missing}"
