"""The plugin manager: finds plugins, loads each one in isolation, collects projections.

Plugins are found through the ``hearing_core`` entry-point group, or as
``*.py`` files in a ``--plugins-dir`` folder while being developed.  Each
is imported and called on its own, so one that fails to import, fails to
register or registers something invalid is listed with its error and the
others carry on (pluggy itself would stop at the first failure).

Environment:

``HEARING_PLUGINS``
    Comma-separated allow-list of plugin names; set but empty loads none.
``HEARING_PLUGINS_BLOCK``
    Comma-separated names never to load.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pluggy

from hearing_core import hookspecs
from hearing_core.projection import NEEDS, Projection, table_spec

ALLOW_ENV = "HEARING_PLUGINS"
BLOCK_ENV = "HEARING_PLUGINS_BLOCK"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@attrs.frozen
class PluginInfo:
    """One plugin as ``hearing plugins`` shows it."""

    name: str
    version: str | None
    source: str  # "entry point <dist>" or the file it came from
    error: str | None = None
    projections: tuple[str, ...] = ()


@attrs.define
class PluginHost:
    """The loaded plugins, their projections (collected on first use), and what failed.

    Projections are asked for only when something needs them, so commands
    that need none (``--help``, ``import``) never import a plugin's projection
    code.
    """

    manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo] = attrs.field(factory=dict)
    owners: dict[str, str] = attrs.field(factory=dict)  # projection -> plugin
    _modules: list[tuple[str, object]] = attrs.field(factory=list)
    _projections: dict[str, Projection] | None = None

    @property
    def projections(self) -> dict[str, Projection]:
        """Every valid projection by name, collected from the plugins once."""
        if self._projections is None:
            self._projections = {}
            for name, module in self._modules:
                _collect_projections(self, name, module)
        return self._projections

    def fail(self, name: str, error: str) -> None:
        info = self.plugins.get(name) or PluginInfo(name, None, "?")
        self.plugins[name] = attrs.evolve(info, error=error)

    def projection(self, name: str) -> Projection:
        """A registered projection by name (KeyError names the known ones)."""
        try:
            return self.projections[name]
        except KeyError:
            known = ", ".join(sorted(self.projections)) or "none"
            raise KeyError(f"no projection {name!r} (loaded: {known})") from None


def _env_list(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


def _allowed(name: str) -> bool:
    allow = _env_list(ALLOW_ENV)
    block = _env_list(BLOCK_ENV) or set()
    return name not in block and (allow is None or name in allow)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


def load_plugins(plugins_dir: Path | None = None) -> PluginHost:
    """Load every allowed plugin, isolating failures (projections are collected on first use)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    host = PluginHost(manager)
    for name, version, source, load in _discover(plugins_dir):
        if not _allowed(name):
            continue
        host.plugins[name] = PluginInfo(name, version, source)
        try:
            module = load()
            manager.register(module, name=name)
        except BaseException as e:
            host.fail(name, f"failed to load: {_describe(e)}")
            continue
        host._modules.append((name, module))
    return host


def _discover(plugins_dir: Path | None) -> Iterable[tuple[str, str | None, str, Any]]:
    for ep in sorted(entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
        dist = ep.dist
        yield (
            ep.name,
            dist.version if dist else None,
            f"entry point of {dist.name if dist else '?'}",
            ep.load,
        )
    if plugins_dir is not None:
        for path in sorted(Path(plugins_dir).glob("*.py")):
            yield path.stem, None, str(path), _file_loader(path)


def _file_loader(path: Path) -> Any:
    def load() -> ModuleType:
        name = f"hearing_core_dev_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return load


def _collect_projections(host: PluginHost, plugin: str, module: object) -> None:
    impls = [
        i for i in host.manager.hook.register_projections.get_hookimpls() if i.plugin is module
    ]
    found: list[Projection] = []
    for impl in impls:
        try:
            impl.function(register=found.append)
        except BaseException as e:
            host.fail(plugin, f"register_projections raised {_describe(e)}")
            return
    names = []
    for projection in found:
        problem = validate_projection(projection, host)
        if problem:
            host.fail(plugin, problem)
            continue
        assert host._projections is not None
        host._projections[projection.name] = projection
        host.owners[projection.name] = plugin
        names.append(projection.name)
    host.plugins[plugin] = attrs.evolve(host.plugins[plugin], projections=tuple(names))


def validate_projection(projection: object, host: PluginHost | None = None) -> str | None:
    """Why a registered object is not a usable projection, or None if it is."""
    if not isinstance(projection, Projection):
        return f"registered {type(projection).__name__}, which is not a hearing_core.Projection"
    name = projection.name
    if not isinstance(name, str) or not _NAME.match(name):
        return f"projection name {name!r} must be lower case letters, digits and _"
    if host is not None and name in host.projections:
        return f"projection {name!r} is already registered by plugin {host.owners[name]!r}"
    unknown = set(projection.needs) - NEEDS
    if unknown:
        return f"projection {name!r}: needs {sorted(unknown)[0]!r} is not one of {sorted(NEEDS)}"
    for table, declared in projection.tables.items():
        if not table.startswith(name + "_"):
            return f"projection {name!r}: table {table!r} must start with {name + '_'!r}"
        spec = table_spec(declared)
        for column in (*spec.pk, *(c for index in spec.indexes for c in index)):
            if column not in spec.columns:
                return f"projection {name!r}: table {table!r} has no column {column!r}"
    if host is not None:
        # Ownership is by declaration, never by name: two projections may not declare one table.
        for other in host.projections.values():
            clash = set(projection.tables) & set(other.tables)
            if clash:
                return f"projection {name!r}: table {sorted(clash)[0]!r} belongs to {other.name!r}"
    return None


def add_commands(host: PluginHost, cli: Any) -> None:
    """Let every loaded plugin add its CLI commands; a failure is recorded, not raised."""
    for impl in host.manager.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except BaseException as e:
            host.fail(impl.plugin_name, f"register_commands raised {_describe(e)}")
