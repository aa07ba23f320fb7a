"""Load components (built-ins, then entry points), each isolated, behind a typed facade.

Environment switches:

- ``UTS_DISABLE_PLUGIN_AUTOLOAD=1``: load no third-party entry points.
- ``UTS_BLOCK_PLUGINS=a,b``: skip the named plugins (built-in or third-party).
- ``UTS_STRICT_PLUGINS=1``: a plugin that fails to load is an error, not a warning.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pluggy

from uts.errors import PluginError, UtsError
from uts.model import Component, Context, Contributions
from uts.plugin import PROJECT_NAME
from uts.plugin import spec as hookspecs

__all__ = ["LoadError", "LoadedComponent", "Registry", "load_registry", "registry_from"]

BUILTIN_PACKAGE = "uts_plugins"
BUILTIN_SOURCE = "built-in"


class LoadedComponent(NamedTuple):
    """A component together with the plugin object that implements it."""

    component: Component
    plugin: object
    source: str
    provider: str | None = None
    """The distribution to install for this component (``uts`` for built-ins)."""


class LoadError(NamedTuple):
    """A plugin that could not be loaded, and why."""

    name: str
    source: str
    message: str


BUILTIN_PROVIDER = "uts"

Candidate = tuple[str, str, Callable[[], object], str | None]
"""A component name, where it comes from, how to import its plugin, its distribution."""


class _Components(Mapping[str, LoadedComponent]):
    """The registry's components; looking one up loads its plugin, iterating loads all."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> LoadedComponent:
        loaded = self._registry.ensure(name)
        if loaded is None:
            raise KeyError(name)
        return loaded

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._registry.ensure(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._registry.load_all()._loaded))

    def __len__(self) -> int:
        return len(self._registry.load_all()._loaded)


class _Metadata(Mapping[str, Component]):
    """Each component's metadata, loaded as :class:`_Components` loads it."""

    def __init__(self, components: Mapping[str, LoadedComponent]) -> None:
        self._components = components

    def __getitem__(self, name: str) -> Component:
        return self._components[name].component

    def __contains__(self, name: object) -> bool:
        return name in self._components

    def __iter__(self) -> Iterator[str]:
        return iter(self._components)

    def __len__(self) -> int:
        return len(self._components)


class Registry:
    """Components, the recipes plugins ship and load errors; calls hooks one plugin at a time.

    Plugins are imported when a command first needs their component: ``uts new`` with
    a recipe of built-ins imports those built-ins and nothing else. Entry points are
    only looked up for a name that is not a built-in, and :meth:`load_all` (``uts
    list``, ``uts recipes``) imports everything.
    """

    def __init__(
        self,
        pm: pluggy.PluginManager,
        candidates: Iterable[Candidate] = (),
        discover: Callable[[], list[Candidate]] | None = None,
        strict: bool = True,
        blocked: set[str] | None = None,
        on_error: Callable[[LoadError], None] | None = None,
    ) -> None:
        self.pm = pm
        self.errors: list[LoadError] = []
        self.strict = strict
        self.on_error = on_error
        self.components: Mapping[str, LoadedComponent] = _Components(self)
        self.metadata: Mapping[str, Component] = _Metadata(self.components)
        self._blocked = blocked or set()
        self._pending: dict[str, list[tuple[str, Callable[[], object], str | None]]] = {}
        self._loaded: dict[str, LoadedComponent] = {}
        self._recipe_files: list[tuple[Path, str]] = []
        self._discover = discover
        self._add(candidates)

    def _add(self, candidates: Iterable[Candidate]) -> None:
        for name, source, load, provider in candidates:
            if name not in self._blocked:
                self._pending.setdefault(name, []).append((source, load, provider))

    def _discovered(self) -> None:
        if self._discover is not None:
            discover, self._discover = self._discover, None
            self._add(discover())

    def names(self) -> list[str]:
        """Every component name there is, loaded or not (for suggestions)."""
        self._discovered()
        return sorted({*self._loaded, *self._pending})

    def ensure(self, name: str) -> LoadedComponent | None:
        """The component *name*, its plugin imported now if need be; None if there is none."""
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._pending:
            self._discovered()
        for source, load, provider in self._pending.pop(name, []):
            self._load(name, source, load, provider)
        return self._loaded.get(name)

    def load_all(self) -> Registry:
        """Import every plugin there is (its failures go to :attr:`errors`)."""
        self._discovered()
        for name in list(self._pending):
            self.ensure(name)
        return self

    @property
    def recipe_files(self) -> list[tuple[Path, str]]:
        """Recipe files every plugin ships, with the component shipping each."""
        self.load_all()
        return list(self._recipe_files)

    def get(self, name: str) -> LoadedComponent:
        return self.components[name]

    def _load(
        self, name: str, source: str, load: Callable[[], object], provider: str | None = None
    ) -> None:
        try:
            _register(self, name, source, load, provider)
        except Exception as error:  # a broken plugin must not take the others down
            message = str(error.message if isinstance(error, UtsError) else error)
            if not isinstance(error, UtsError):
                message = f"{type(error).__name__}: {message}"
            if self.strict:
                raise PluginError(
                    f"plugin {name!r} ({source}) failed to load: {message}",
                    hint=f"fix or uninstall it, or skip it with UTS_BLOCK_PLUGINS={name}",
                ) from error
            failure = LoadError(name, source, message)
            self.errors.append(failure)
            if self.on_error is not None:
                self.on_error(failure)

    def configure(self, name: str, ctx: Context) -> None:
        self._call(name, "uts_configure", ctx=ctx)

    def contribute(self, name: str, ctx: Context, out: Contributions) -> None:
        self._call(name, "uts_contribute", ctx=ctx, out=out)

    def finalize(self, name: str, ctx: Context, files: Any, out: Contributions) -> None:
        self._call(name, "uts_finalize", ctx=ctx, files=files, out=out)

    def migrate(self, name: str, from_version: str, to_version: str, project: Any) -> None:
        self._call(
            name, "uts_migrate", from_version=from_version, to_version=to_version, project=project
        )

    def _call(self, name: str, hook: str, **kwargs: Any) -> Any:
        # One plugin at a time, in the resolved order the caller chooses, so that every
        # result and every failure is attributed to its component (pluggy#485).
        function = _impl_function(self.pm, self.components[name].plugin, hook)
        if function is None:
            return None
        # As pluggy does: an implementation names only the arguments it needs.
        wanted = inspect.signature(function).parameters
        kwargs = {key: value for key, value in kwargs.items() if key in wanted}
        try:
            return function(**kwargs)
        except UtsError as error:
            if f"{name!r}" not in error.message and name not in error.message.split():
                error.message = f"component {name!r}: {error.message}"
            raise
        except Exception as error:
            raise PluginError(
                f"component {name!r} raised {type(error).__name__} in {hook}: {error}",
                hint=f"this is a bug in the plugin {name!r}; --debug shows the traceback",
            ) from error


def _impl_function(
    pm: pluggy.PluginManager, plugin: object, hook: str
) -> Callable[..., Any] | None:
    caller = getattr(pm.hook, hook)
    for hookimpl in caller.get_hookimpls():
        if hookimpl.plugin is plugin:
            return hookimpl.function  # type: ignore[no-any-return]
    return None


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _builtin_candidates() -> list[Candidate]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    return [
        (
            name,
            BUILTIN_SOURCE,
            partial(importlib.import_module, f"{BUILTIN_PACKAGE}.{name}"),
            BUILTIN_PROVIDER,
        )
        for name in package.BUILTINS
    ]


def _entry_point_candidates() -> list[Candidate]:
    from uts.plugin.discovery import entry_points, load_entry_point

    return [
        (ep.name, ep.source, partial(load_entry_point, ep.value), ep.dist) for ep in entry_points()
    ]


def load_registry(
    strict: bool | None = None,
    autoload: bool | None = None,
    lazy: bool = False,
    on_error: Callable[[LoadError], None] | None = None,
) -> Registry:
    """Built-in and third-party components; load failures are recorded, not raised.

    With *strict* (or ``UTS_STRICT_PLUGINS=1``) a failure raises :class:`PluginError`
    instead. With *lazy*, plugins are imported only when their component is looked up,
    and *on_error* hears of each failure as it happens.
    """
    strict = _env_flag("UTS_STRICT_PLUGINS") if strict is None else strict
    autoload = not _env_flag("UTS_DISABLE_PLUGIN_AUTOLOAD") if autoload is None else autoload
    registry = Registry(
        pluggy.PluginManager(PROJECT_NAME),
        _builtin_candidates(),
        discover=_entry_point_candidates if autoload else None,
        strict=strict,
        blocked=_env_list("UTS_BLOCK_PLUGINS"),
        on_error=on_error,
    )
    registry.pm.add_hookspecs(hookspecs)
    return registry if lazy else registry.load_all()


def registry_from(
    plugins: dict[str, object], source: str = "test", strict: bool = True
) -> Registry:
    """A registry holding exactly *plugins* (component name to plugin object).

    For tests, of uts and of third-party plugins: ``registry_from({"redis": my_plugin})``.
    """
    candidates = [
        (name, source, lambda plugin=plugin: plugin, None) for name, plugin in plugins.items()
    ]
    registry = Registry(pluggy.PluginManager(PROJECT_NAME), candidates, strict=strict)
    registry.pm.add_hookspecs(hookspecs)
    return registry.load_all()


def _register(
    registry: Registry,
    name: str,
    source: str,
    load: Callable[[], object],
    provider: str | None = None,
) -> None:
    if name in registry._loaded:
        other = registry._loaded[name].source
        raise PluginError(f"component name {name!r} is already provided by {other}")
    plugin = load()
    if not isinstance(plugin, ModuleType | type) and not hasattr(plugin, "uts_component"):
        raise PluginError(f"entry point {name!r} does not point at a module or plugin object")
    pm = registry.pm
    pm.register(plugin, name=name)
    try:
        for hookimpl in pm.get_hookcallers(plugin) or []:
            if hookimpl.spec is None:
                raise PluginError(f"unknown hook {hookimpl.name!r}")
        declare = _impl_function(pm, plugin, "uts_component")
        if declare is None:
            raise PluginError("it implements no uts_component hook")
        component = declare()
        if not isinstance(component, Component):
            raise PluginError(f"uts_component returned {type(component).__name__}, not Component")
        if component.name != name:
            raise PluginError(
                f"it declares component {component.name!r} under entry-point name {name!r}"
            )
        recipes = _impl_function(pm, plugin, "uts_recipes")
        shipped = [Path(path) for path in (recipes() if recipes else [])]
    except BaseException:
        pm.unregister(plugin)
        raise
    registry._loaded[name] = LoadedComponent(component, plugin, source, provider)
    registry._recipe_files += [(path, name) for path in shipped]
