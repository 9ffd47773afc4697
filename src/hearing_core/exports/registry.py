"""The exporters ``hearing export --format`` knows: built-ins and plugins, through one hook.

As datasette registers its own output renderers through its plugin hook
(``DEFAULT_PLUGINS`` and ``register_output_renderer``), hearing_core's own
formats - jsonl, akn, popolo, html - are default plugins: each module has a
``register_exporters`` hookimpl, and a third-party plugin adds a format the
same way.  :func:`builtin_exporters` needs no plugin host, so exporting the
archival ``jsonl`` never imports a third-party plugin.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

import attrs
import pluggy

from hearing_core import hookspecs

if TYPE_CHECKING:
    from hearing_core.plugins import PluginHost

#: The modules whose exporters ship with hearing_core, registered before any plugin.
DEFAULT_PLUGINS = (
    "hearing_core.exports.jsonl",
    "hearing_core.exports.akn",
    "hearing_core.exports.popolo",
    "hearing_core.exports.html",
)

#: Who a built-in exporter is attributed to.
BUILTIN = "hearing_core"

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@attrs.frozen
class ExportRequest:
    """What the user asked of an export besides the hearing's records."""

    uncorrected: bool = False  # read the record as originally made
    language: str | None = None  # show translations in this language where present


#: ``write(records, stream, request)``: write the export of one hearing's records to ``stream``.
Writer = Callable[[Iterable[dict[str, Any]], IO[str], ExportRequest], None]


@attrs.frozen
class Exporter:
    """One export format, as a plugin registers it.

    ``reveal``: the exporter receives protected participants' fields decrypted
    (where their key exists) and must itself show them only by pseudonym, as
    the built-ins do through :func:`hearing_core.exports._common.read_hearing`;
    ``False`` gives it the records exactly as stored (ciphertext), as ``jsonl``.
    """

    name: str
    description: str
    write: Writer
    reveal: bool = True
    corrections: bool = True  # whether --uncorrected means anything for it
    languages: bool = False  # whether --language means anything for it


def text_exporter(
    name: str,
    description: str,
    render: Callable[[list[dict[str, Any]], ExportRequest], str],
    *,
    languages: bool = False,
) -> Exporter:
    """An exporter from a function that renders all the records to one text."""

    def write(records: Iterable[dict[str, Any]], stream: IO[str], request: ExportRequest) -> None:
        text = render(list(records), request)
        stream.write(text if text.endswith("\n") else text + "\n")

    return Exporter(name, description, write, languages=languages)


@attrs.define
class Registered:
    """The exporters by name, with the plugin that registered each."""

    exporters: dict[str, Exporter] = attrs.field(factory=dict)
    owners: dict[str, str] = attrs.field(factory=dict)

    def add(self, exporter: object, owner: str) -> str | None:
        """Add one exporter; why it was refused, or None."""
        if not isinstance(exporter, Exporter):
            return f"registered {type(exporter).__name__}, which is not a hearing_core Exporter"
        if not isinstance(exporter.name, str) or not _NAME.match(exporter.name):
            return f"exporter name {exporter.name!r} must be lower case letters, digits, - and _"
        if exporter.name in self.exporters:
            return f"exporter {exporter.name!r} is already registered by {self.owners[exporter.name]!r}"
        self.exporters[exporter.name] = exporter
        self.owners[exporter.name] = owner
        return None

    def get(self, name: str) -> Exporter:
        """The exporter called ``name`` (KeyError names the registered ones)."""
        try:
            return self.exporters[name]
        except KeyError:
            raise KeyError(
                f"no export format {name!r} (registered: {', '.join(sorted(self.exporters))})"
            ) from None


def builtin_exporters(modules: tuple[str, ...] = DEFAULT_PLUGINS) -> Registered:
    """hearing_core's own exporters, registered through the hook without any plugin host.

    ``modules``: a subset of :data:`DEFAULT_PLUGINS` (``jsonl`` alone imports no XML or
    JSON Schema library).
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for module in modules:
        manager.register(importlib.import_module(module), name=module)
    found = Registered()
    for impl in manager.hook.register_exporters.get_hookimpls():  # in registration order
        impl.function(register=lambda e: _must(found.add(e, BUILTIN)))
    return found


def _must(problem: str | None) -> None:
    if problem is not None:
        raise AssertionError(f"a built-in exporter is invalid: {problem}")


def all_exporters(host: PluginHost) -> Registered:
    """The built-ins, then every loaded plugin's; a failing plugin is recorded on the host."""
    found = builtin_exporters()
    for impl in host.manager.hook.register_exporters.get_hookimpls():
        plugin = impl.plugin_name
        added: list[object] = []
        try:
            impl.function(register=added.append)
        except Exception as e:  # a broken plugin must not break the built-in formats
            host.fail(plugin, f"register_exporters raised {type(e).__name__}: {e}")
            continue
        for exporter in added:
            problem = found.add(exporter, plugin)
            if problem:
                host.fail(plugin, problem)
    return found


def describe(registered: Registered) -> list[Mapping[str, str]]:
    """The registered formats as rows (name, plugin, description), sorted by name."""
    return [
        {
            "format": name,
            "plugin": registered.owners[name],
            "description": registered.exporters[name].description,
        }
        for name in sorted(registered.exporters)
    ]
