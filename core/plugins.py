"""The plugin manager: finds plugins, calls their hooks through pluggy, collects their
registrations, rejects duplicates, and checks that what each plugin requires is loaded."""

from __future__ import annotations

import functools
import importlib
import operator
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pluggy

from kernkit.core import __version__, hookspecs
from kernkit.core.builtin_plugins import BUILTIN_PLUGINS, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP
from kernkit.core.entrypoints import entry_points
from kernkit.core.errors import KernelPanic, PluginError
from kernkit.core.records import PluginDeclaration

#: Hooks that return registration records (named things the manager attributes to plugins).
REGISTRATION_PREFIXES = ("kernkit_register_", "kernkit_config_sections", "kernkit_boot_steps")


@attrs.frozen
class PluginInfo:
    """What ``kernkit plugins`` shows about one loaded plugin."""

    name: str
    source: str  # "builtin", "entry point", "config", or who registered it through the API
    version: str
    hooks: tuple[str, ...]
    module: str
    #: The name configs and other plugins' ``requires`` use: a built-in's short name ("ns"),
    #: else the registered name.
    short: str = ""
    declaration: PluginDeclaration = PluginDeclaration()


class Registered:
    """A record together with the plugin that registered it."""

    __slots__ = ("record", "plugin")

    def __init__(self, record: Any, plugin: str) -> None:
        self.record, self.plugin = record, plugin


class PluginManager:
    """Wraps pluggy: loads built-in, entry-point and config-named plugins and calls their hooks.

    Hooks are called the pluggy way (the most recently registered plugin first; ``tryfirst``,
    ``trylast``, ``hookwrapper`` and ``wrapper`` implementations honoured). An exception raised
    by a plugin's hook implementation becomes a :class:`PluginError` naming the plugin and the
    hook; for a plugin loaded as optional it is a warning instead, and the plugin is dropped.
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        builtins: Iterable[str] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._modules: dict[int, str] = {}  # id(plugin object) -> registered name
        #: Plugins the kernel can do without: their failures are warnings, and they are dropped.
        self.optional: set[str] = set()
        #: Optional plugins that failed and were dropped (their records must not be used).
        self.dropped: set[str] = set()
        self._failed: list[str] = []
        #: Which plugin returned each registration record (by identity), for :meth:`collect`.
        self._origin: dict[int, str] = {}
        self.warnings: list[str] = []
        #: Called with each warning as it happens (a kernel shows them to the user).
        self.on_warning: Callable[[str], None] = on_warning or (lambda text: None)
        self.load_builtins(BUILTIN_PLUGINS if builtins is None else builtins)
        if autoload is None:
            autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
        if autoload:
            self._load_entry_points()

    @property
    def plugins(self) -> list[PluginInfo]:
        return list(self._infos.values())

    def loaded(self, name: str) -> bool:
        """Whether a plugin of this registered or short name is loaded."""
        return any(name in (info.name, info.short) for info in self._infos.values())

    def load_builtins(self, names: Iterable[str]) -> None:
        """Register built-in plugins by short name (``"ns"``); the core's own always comes first."""
        for short in ("core", *names):
            module = BUILTIN_PLUGINS.get(short)
            if module is None:
                known = ", ".join(n for n in BUILTIN_PLUGINS if n != "core")
                raise PluginError(f"no built-in plugin {short!r}; built-ins: {known}")
            if module not in self._infos:
                self._register_module(module, "builtin", short)

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

    def register(
        self,
        plugin: object,
        name: str,
        source: str = "api",
        version: str | None = None,
        short: str | None = None,
    ) -> None:
        """Register an already-imported plugin object (a module or any object with hookimpls)."""
        if name in self._infos:
            raise PluginError(f"plugin {name!r} is already registered")
        _check_contract(plugin, name)
        guarded = _Guarded(plugin, name, self)
        try:
            self._pm.register(guarded, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.is_registered(guarded):
                self._pm.unregister(guarded)
            detail = " ".join(str(exc).split())
            raise PluginError(f"plugin {name!r} breaks the hook contract: {detail}") from None
        hooks = tuple(sorted(h.name for h in self._pm.get_hookcallers(guarded) or ()))
        self._modules[id(plugin)] = name
        self._infos[name] = PluginInfo(
            name=name,
            source=source,
            version=version or _version_of(plugin),
            hooks=hooks,
            module=getattr(plugin, "__name__", type(plugin).__name__),
            short=short or name,
            declaration=self._declaration(guarded, name),
        )

    def _declaration(self, guarded: _Guarded, name: str) -> PluginDeclaration:
        declare = getattr(guarded, "kernkit_declare_plugin", None)
        if declare is None:
            return PluginDeclaration()
        declared = declare()
        if not isinstance(declared, PluginDeclaration):
            self._pm.unregister(guarded)
            raise PluginError(
                f"plugin {name!r} returned {type(declared).__name__} from kernkit_declare_plugin; "
                f"expected a PluginDeclaration"
            )
        return declared

    def missing_requirements(self) -> list[tuple[str, str]]:
        """(plugin, requirement) for every requirement of a loaded plugin that is not loaded."""
        return [
            (info.short, needed)
            for info in self._infos.values()
            for needed in info.declaration.requires
            if not self.loaded(needed)
        ]

    def requirements(self) -> dict[str, tuple[str, ...]]:
        """Short name -> what the plugin requires, for every loaded plugin (the graph)."""
        return {info.short: info.declaration.requires for info in self._infos.values()}

    def call(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call ``hook`` through pluggy; the results of the implementations that returned one."""
        results = getattr(self._pm.hook, hook)(**kwargs)
        self._drop_failed()
        return results

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call a notification hook on every plugin implementing it."""
        getattr(self._pm.hook, hook)(**kwargs)
        if self._failed:
            self._drop_failed()

    def collect(self, hook: str, kind: str) -> dict[str, Registered]:
        """Call a registration hook; map record name -> (record, plugin).

        Two records of the same name are an error that names both plugins.
        """
        found: dict[str, Registered] = {}
        for records in reversed(self.call(hook)):  # in registration order: built-ins first
            for record in records:
                plugin_name = self._origin.get(id(record), "?")
                previous = found.get(record.name)
                if previous is not None:
                    raise PluginError(
                        f"{kind} {record.name!r} is registered by both {previous.plugin!r} "
                        f"and {plugin_name!r}"
                    )
                found[record.name] = Registered(record, plugin_name)
        return found

    def _guard(self, function: Callable[..., Any], plugin_name: str, hook: str) -> Callable[..., Any]:
        """``function`` (a hook implementation) with its failures attributed to its plugin."""
        registration = hook.startswith(REGISTRATION_PREFIXES)

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = function(*args, **kwargs)
            except KernelPanic:  # the kernel's own verdict, reported as a panic
                raise
            except Exception as exc:  # a broken plugin must not look like a kernkit bug
                message = f"plugin {plugin_name!r} failed in {hook}: {type(exc).__name__}: {exc}"
                if plugin_name not in self.optional:
                    raise PluginError(message) from exc
                self._warn(f"{message}; continuing without it")
                self._failed.append(plugin_name)
                return None
            if registration and result is not None:
                self._note_records(plugin_name, hook, result)
            return result

        return guarded

    def _note_records(self, plugin_name: str, hook: str, records: Any) -> None:
        if not isinstance(records, list | tuple) or not all(hasattr(r, "name") for r in records):
            raise PluginError(
                f"plugin {plugin_name!r} returned {type(records).__name__} from {hook}; "
                f"expected a list of records"
            )
        for record in records:
            self._origin[id(record)] = plugin_name

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self.on_warning(text)

    def _drop_failed(self) -> None:
        while self._failed:
            name = self._failed.pop()
            plugin = self._pm.get_plugin(name)
            if plugin is not None:
                self._pm.unregister(plugin)
            self._infos.pop(name, None)
            self.optional.discard(name)
            self.dropped.add(name)

    def hook_order(self) -> dict[str, list[str]]:
        """Every hook with the plugins implementing it, in the order pluggy calls them (wrappers,
        which surround the others, are marked)."""
        order = {}
        for hook in sorted(n for n in dir(hookspecs) if n.startswith("kernkit_")):
            impls = list(reversed(getattr(self._pm.hook, hook).get_hookimpls()))
            wrappers = [f"{i.plugin_name} (wrapper)" for i in impls if i.hookwrapper or i.wrapper]
            order[hook] = wrappers + [i.plugin_name for i in impls if not (i.hookwrapper or i.wrapper)]
        return order

    def _register_module(self, module_name: str, source: str, short: str | None = None) -> None:
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
        if id(module) in self._modules:  # already loaded, e.g. through its entry point
            return
        _check_contract(module, module_name)  # a plugin for another contract hears that first
        if not _implements_hooks(module):
            raise PluginError(
                f"plugin module {module_name!r} implements no kernkit hook (a plugin marks its "
                f"functions with @hookimpl)"
            )
        self.register(module, module_name, source, short=short)

    def _load_entry_points(self) -> None:
        """Installed plugins. One that is broken is a warning, not a stop: it may belong to a
        package that has nothing to do with the kernel at hand."""
        for entry in entry_points(ENTRY_POINT_GROUP):
            if entry.name in self._infos:
                continue
            try:
                plugin = entry.load()
                if id(plugin) in self._modules:
                    continue
                self.register(plugin, entry.name, "entry point", entry.version)
            except PluginError as exc:
                self._warn(f"installed {exc}; continuing without it")
            except Exception as exc:
                self._warn(
                    f"installed plugin {entry.name!r} (entry point {entry.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}; continuing without it"
                )


class _Guarded:
    """A plugin as pluggy sees it: the same attributes, with each hook implementation wrapped
    so that a failure names its plugin (wrappers, which pluggy drives as generators, are left
    as they are)."""

    def __init__(self, plugin: object, name: str, manager: PluginManager) -> None:
        self._plugin = plugin
        self._name = name
        self._manager = manager
        self._cache: dict[str, Any] = {}
        # hook implementations are real attributes, not only __getattr__'s: pluggy (1.7 on)
        # finds them with inspect.getattr_static, which never calls __getattr__
        marker = f"{hookspecs.PROJECT}_impl"
        self._hooks: list[str] = []
        for attribute in dir(plugin):
            value = getattr(plugin, attribute, None)
            if callable(value) and isinstance(getattr(value, marker, None), dict):
                self.__dict__[attribute] = self.__getattr__(attribute)
                self._hooks.append(attribute)

    def __dir__(self) -> list[str]:
        # only the hook implementations: pluggy looks at every name dir() lists, and a module's
        # other names (imports, classes, helpers) each cost it a static attribute lookup
        return list(self._hooks)

    def __getattr__(self, attribute: str) -> Any:
        if attribute in self._cache:
            return self._cache[attribute]
        value = getattr(self._plugin, attribute)
        options = getattr(value, f"{hookspecs.PROJECT}_impl", None) if callable(value) else None
        if isinstance(options, dict) and not (options.get("hookwrapper") or options.get("wrapper")):
            value = self._manager._guard(value, self._name, attribute)
        self._cache[attribute] = value
        return value

    def __repr__(self) -> str:
        return f"<plugin {self._name!r}: {self._plugin!r}>"


def _implements_hooks(module: object) -> bool:
    marker = f"{hookspecs.PROJECT}_impl"
    return any(callable(value) and hasattr(value, marker) for value in vars(module).values())


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


def _version_of(plugin: object) -> str:
    version = getattr(plugin, "__version__", None)
    if version:
        return str(version)
    module = getattr(plugin, "__name__", type(plugin).__module__)
    if module.startswith("kernkit."):
        return __version__
    import importlib.metadata  # slow to import: only for plugins that do not say

    try:
        return importlib.metadata.version(module.split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$")
_OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


def _version(text: str) -> tuple[int, ...]:
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (3 - len(parts))


def supports(spec: str, version: str) -> bool:
    """Whether ``version`` (``"1.0"``) meets every comma-separated clause of ``spec``.

    ValueError when ``spec`` is not of the form ``">=1.0,<2"``.
    """
    clauses = [c for c in spec.split(",") if c.strip()]
    if not clauses:
        raise ValueError(f"empty contract requirement {spec!r}")
    have = _version(version)
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"cannot read contract requirement {clause.strip()!r} (expected e.g. >=1.0,<2)")
        if not _OPERATORS[match[1]](have, _version(match[2])):
            return False
    return True
