"""The plugin manager: finds plugins, collects their registrations, rejects duplicates."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import attrs
import pluggy

from kernkit.core import hookspecs
from kernkit.core.builtin_plugins import BUILTIN_PLUGINS, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP
from kernkit.core.contract import supports
from kernkit.core.errors import KernelPanic, PluginError


@attrs.frozen
class PluginInfo:
    """What ``kernkit plugins`` shows about one loaded plugin."""

    name: str
    source: str  # "builtin", "entry point", or "config"
    version: str
    hooks: tuple[str, ...]
    module: str


@attrs.frozen
class Registered:
    """A record together with the plugin that registered it."""

    record: Any
    plugin: str


class PluginManager:
    """Wraps pluggy: loads built-in, entry-point and config-named plugins."""

    def __init__(self, *, autoload: bool | None = None) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        #: Plugins the kernel can do without: their failures are warnings, and they are dropped.
        self.optional: set[str] = set()
        #: Optional plugins that failed and were dropped (their records must not be used).
        self.dropped: set[str] = set()
        self.warnings: list[str] = []
        #: Called with each warning as it happens (a kernel shows them to the user).
        self.on_warning: Callable[[str], None] = lambda text: None
        for module_name in BUILTIN_PLUGINS:
            self._register_module(module_name, "builtin")
        if autoload is None:
            autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
        if autoload:
            self._load_entry_points()

    @property
    def plugins(self) -> list[PluginInfo]:
        return list(self._infos.values())

    def load_modules(self, names: Iterable[str], source: str = "config", optional: bool = False) -> None:
        """Register plugins named by module path (``[kernel] plugins``); already loaded ones are
        skipped. An ``optional`` plugin that fails to load is a warning, not an error."""
        for name in names:
            if name in self._infos:
                continue
            try:
                self._register_module(name, source)
            except PluginError as exc:
                if not optional:
                    raise
                self._warn(f"{exc}; continuing without it")
                continue
            if optional:
                self.optional.add(name)

    def register(self, plugin: object, name: str, source: str = "api", version: str | None = None) -> None:
        """Register an already-imported plugin object (a module or any object with hookimpls)."""
        if name in self._infos:
            raise PluginError(f"plugin {name!r} is already registered")
        _check_contract(plugin, name)
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            detail = " ".join(str(exc).split())
            raise PluginError(f"plugin {name!r} breaks the hook contract: {detail}") from None
        hooks = tuple(sorted(h.name for h in self._pm.get_hookcallers(plugin) or ()))
        version = version or _version_of(plugin)
        self._infos[name] = PluginInfo(
            name=name,
            source=source,
            version=version,
            hooks=hooks,
            module=getattr(plugin, "__name__", type(plugin).__name__),
        )

    def collect(self, hook: str, kind: str) -> dict[str, Registered]:
        """Call a registration hook on every plugin; map record name -> (record, plugin).

        Two records of the same name are an error that names both plugins.
        """
        found: dict[str, Registered] = {}
        for plugin_name, records in self.call_each(hook):
            if records is None:
                continue
            if not isinstance(records, list | tuple) or not all(hasattr(r, "name") for r in records):
                raise PluginError(
                    f"plugin {plugin_name!r} returned {type(records).__name__} from {hook}; "
                    f"expected a list of {kind} records"
                )
            for record in records:
                previous = found.get(record.name)
                if previous is not None:
                    raise PluginError(
                        f"{kind} {record.name!r} is registered by both {previous.plugin!r} "
                        f"and {plugin_name!r}"
                    )
                found[record.name] = Registered(record, plugin_name)
        return found

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call ``hook`` on each implementing plugin in registration order; a failure names both."""
        caller = getattr(self._pm.hook, hook)
        results = []
        for impl in caller.get_hookimpls():
            try:
                results.append((impl.plugin_name, impl.function(**kwargs)))
            except KernelPanic:  # the kernel's own verdict, reported as a panic
                raise
            except Exception as exc:  # a broken plugin must not look like a kernkit bug
                message = f"plugin {impl.plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}"
                if impl.plugin_name not in self.optional:
                    raise PluginError(message) from exc
                self._warn(f"{message}; continuing without it")
                self._drop(impl.plugin_name)
        return results

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self.on_warning(text)

    def _drop(self, name: str) -> None:
        plugin = self._pm.get_plugin(name)
        if plugin is not None:
            self._pm.unregister(plugin)
        self._infos.pop(name, None)
        self.optional.discard(name)
        self.dropped.add(name)

    def hook_order(self) -> dict[str, list[str]]:
        """Every hook with the plugins implementing it, in the order they are called."""
        return {
            hook: [impl.plugin_name for impl in getattr(self._pm.hook, hook).get_hookimpls()]
            for hook in sorted(n for n in dir(hookspecs) if n.startswith("kernkit_"))
        }

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call a notification hook on every plugin (see :meth:`call_each`)."""
        self.call_each(hook, **kwargs)

    def _register_module(self, module_name: str, source: str) -> None:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name or (exc.name and module_name.startswith(exc.name + ".")):
                raise PluginError(f"plugin module {module_name!r} not found") from None
            raise PluginError(f"plugin {module_name!r} failed to import: {exc}") from None
        except SystemExit as exc:  # a module must not end kernkit by importing it
            raise PluginError(
                f"plugin {module_name!r} failed to import: it called sys.exit({exc.code!r})"
            ) from None
        except Exception as exc:
            raise PluginError(
                f"plugin {module_name!r} failed to import: {type(exc).__name__}: {exc}"
            ) from None
        if self._pm.is_registered(module):  # already loaded, e.g. through its entry point
            return
        self.register(module, module_name, source)
        if not self._infos[module_name].hooks:
            self._pm.unregister(module)
            del self._infos[module_name]
            raise PluginError(
                f"plugin module {module_name!r} implements no kernkit hook (a plugin marks its "
                f"functions with @hookimpl)"
            )

    def _load_entry_points(self) -> None:
        """Installed plugins. One that is broken is a warning, not a stop: it may belong to a
        package that has nothing to do with the kernel at hand."""
        for entry in _entry_points(tuple(sys.path)):
            if entry.name in self._infos:
                continue
            try:
                plugin = entry.load()
                dist = getattr(entry, "dist", None)
                self.register(plugin, entry.name, "entry point", dist.version if dist else None)
            except PluginError as exc:
                self._warn(f"installed {exc}; continuing without it")
            except Exception as exc:
                self._warn(
                    f"installed plugin {entry.name!r} (entry point {entry.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}; continuing without it"
                )


def _check_contract(plugin: object, name: str) -> None:
    spec = getattr(plugin, "KERNKIT_CONTRACT", None)
    if spec is None:
        return
    try:
        fits = supports(str(spec), hookspecs.CONTRACT_VERSION)
    except ValueError as exc:
        raise PluginError(f"plugin {name!r}: KERNKIT_CONTRACT: {exc}") from None
    if not fits:
        raise PluginError(
            f"plugin {name!r} supports hook contract {spec}, but this kernkit provides "
            f"{hookspecs.CONTRACT_VERSION}"
        )


@functools.lru_cache(maxsize=8)
def _entry_points(path: tuple[str, ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    """Installed entry points of the group; scanning every distribution is slow, so the result
    is kept for as long as ``sys.path`` (the key) stays the same."""
    return tuple(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


@functools.lru_cache(maxsize=64)
def _distribution_version(top_level: str) -> str:
    try:
        return importlib.metadata.version(top_level)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _version_of(plugin: object) -> str:
    version = getattr(plugin, "__version__", None)
    if version:
        return str(version)
    module = plugin if isinstance(plugin, ModuleType) else None
    return _distribution_version((module.__name__ if module else type(plugin).__module__).split(".")[0])
