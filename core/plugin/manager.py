"""Load components (built-ins, then entry points), each isolated, behind a typed facade.

Environment switches:

- ``UTS_DISABLE_PLUGIN_AUTOLOAD=1``: load no third-party entry points.
- ``UTS_BLOCK_PLUGINS=a,b``: skip the named plugins (built-in or third-party).
- ``UTS_STRICT_PLUGINS=1``: a plugin that fails to load is an error, not a warning.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from uts.errors import PluginError, UtsError
from uts.model import Component, Context, Contributions
from uts.plugin import ENTRY_POINT_GROUP, PROJECT_NAME
from uts.plugin import spec as hookspecs

__all__ = ["LoadError", "LoadedComponent", "Registry", "load_registry", "registry_from"]

BUILTIN_PACKAGE = "uts_plugins"
BUILTIN_SOURCE = "built-in"


@dataclass(frozen=True)
class LoadedComponent:
    """A component together with the plugin object that implements it."""

    component: Component
    plugin: object
    source: str


@dataclass(frozen=True)
class LoadError:
    """A plugin that could not be loaded, and why."""

    name: str
    source: str
    message: str


@dataclass
class Registry:
    """Every loaded component, recipe and load error; calls hooks one plugin at a time."""

    pm: pluggy.PluginManager
    components: dict[str, LoadedComponent] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    recipe_files: list[tuple[Path, str]] = field(default_factory=list)

    def get(self, name: str) -> LoadedComponent:
        return self.components[name]

    def configure(self, name: str, ctx: Context) -> None:
        self._call(name, "uts_configure", ctx=ctx)

    def contribute(self, name: str, ctx: Context, out: Contributions) -> None:
        self._call(name, "uts_contribute", ctx=ctx, out=out)

    def finalize(self, name: str, ctx: Context, files: Any, out: Contributions) -> None:
        self._call(name, "uts_finalize", ctx=ctx, files=files, out=out)

    def _call(self, name: str, hook: str, **kwargs: Any) -> Any:
        # One plugin at a time, in the resolved order the caller chooses, so that every
        # result and every failure is attributed to its component (pluggy#485).
        function = _impl_function(self.pm, self.components[name].plugin, hook)
        if function is None:
            return None
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


def _builtin_candidates() -> Iterator[tuple[str, str, Callable[[], object]]]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    for name in package.BUILTINS:
        module = f"{BUILTIN_PACKAGE}.{name}"
        yield name, BUILTIN_SOURCE, lambda module=module: importlib.import_module(module)  # type: ignore[misc]


def _entry_point_candidates() -> Iterator[tuple[str, str, Callable[[], object]]]:
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        dist = ep.dist
        source = f"{dist.name} {dist.version}" if dist is not None else ep.value
        yield ep.name, source, ep.load


def load_registry(strict: bool | None = None, autoload: bool | None = None) -> Registry:
    """Load built-in and third-party components; failures are recorded, not raised.

    With *strict* (or ``UTS_STRICT_PLUGINS=1``) the first failure raises
    :class:`PluginError` instead.
    """
    strict = _env_flag("UTS_STRICT_PLUGINS") if strict is None else strict
    autoload = not _env_flag("UTS_DISABLE_PLUGIN_AUTOLOAD") if autoload is None else autoload
    blocked = _env_list("UTS_BLOCK_PLUGINS")

    candidates = list(_builtin_candidates())
    if autoload:
        candidates += list(_entry_point_candidates())
    return _populate(candidates, strict, blocked)


def registry_from(
    plugins: dict[str, object], source: str = "test", strict: bool = True
) -> Registry:
    """A registry holding exactly *plugins* (component name to plugin object).

    For tests, of uts and of third-party plugins: ``registry_from({"redis": my_plugin})``.
    """
    candidates = [(name, source, lambda plugin=plugin: plugin) for name, plugin in plugins.items()]
    return _populate(candidates, strict, set())


def _populate(
    candidates: list[tuple[str, str, Callable[[], object]]], strict: bool, blocked: set[str]
) -> Registry:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm)
    for name, source, load in candidates:
        if name in blocked:
            continue
        try:
            _register(registry, name, source, load)
        except Exception as error:  # a broken plugin must not take the others down
            message = str(error.message if isinstance(error, UtsError) else error)
            if not isinstance(error, UtsError):
                message = f"{type(error).__name__}: {message}"
            if strict:
                raise PluginError(
                    f"plugin {name!r} ({source}) failed to load: {message}",
                    hint=f"fix or uninstall it, or skip it with UTS_BLOCK_PLUGINS={name}",
                ) from error
            registry.errors.append(LoadError(name, source, message))
    return registry


def _register(registry: Registry, name: str, source: str, load: Callable[[], object]) -> None:
    if name in registry.components:
        other = registry.components[name].source
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
    registry.components[name] = LoadedComponent(component, plugin, source)
    registry.recipe_files += [(path, name) for path in shipped]
