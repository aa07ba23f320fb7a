"""Load components (built-ins, then entry points), each isolated, behind a typed facade.

Environment switches:

- ``UTS_DISABLE_PLUGIN_AUTOLOAD=1``: load no third-party entry points.
- ``UTS_BLOCK_PLUGINS=a,b``: skip the named plugins (built-in or third-party).
- ``UTS_STRICT_PLUGINS=1``: a plugin that fails to load is an error, not a warning.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pluggy

from uts.errors import PluginError, ResolutionError, UtsError
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

    def unknown(self, name: str) -> UtsError:
        """The error for a component *name* that is not there, without importing anything.

        A plugin that failed to load is named with its failure; any other name gets the
        closest names there are (entry-point and built-in names, so one slow or broken
        plugin cannot stall a typo).
        """
        from uts.resolve import suggest

        for failure in self.errors:
            if failure.name == name:
                return PluginError(
                    f"component {name!r} is not available: plugin {name!r} ({failure.source}) "
                    f"failed to load: {failure.message}",
                    hint=f"fix or uninstall it, or skip it with UTS_BLOCK_PLUGINS={name}",
                )
        return ResolutionError(f"unknown component {name!r}", hint=suggest(name, self.names()))

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

    def recipes_named(self, recipe: str) -> list[tuple[Path, str]]:
        """The files of plugin recipe *recipe*, importing only the plugins that may ship it.

        A plugin's recipes are named after its component (``shop``, ``shop-starter``),
        so the name alone says which plugins to ask; a typo imports none.
        """
        for name in self.names():
            if recipe == name or recipe.startswith(name + "-"):
                self.ensure(name)
        return [(path, owner) for path, owner in self._recipe_files if path.stem == recipe]

    def get(self, name: str) -> LoadedComponent:
        return self.components[name]

    def _load(
        self, name: str, source: str, load: Callable[[], object], provider: str | None = None
    ) -> None:
        try:
            _register(self, name, source, load, provider)
        except BaseException as error:  # a broken plugin must not take the others down
            if _passes_through(error):
                raise
            message = _describe(error)
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
        except BaseException as error:  # sys.exit() in a hook too: the plugin is named
            if _passes_through(error):
                raise
            what = (
                f"called sys.exit({error.code!r}) in {hook}"
                if isinstance(error, SystemExit)
                else f"raised {type(error).__name__} in {hook}: {error}"
            )
            raise PluginError(
                f"component {name!r} {what}",
                hint=f"this is a bug in the plugin {name!r}; --debug shows the traceback",
            ) from error


def _passes_through(error: BaseException) -> bool:
    """Whether *error* must end the run rather than be blamed on a plugin.

    Ctrl-C, and uts's own control flow (a signal turned into an exception, say), are
    not the plugin's doing; anything else a plugin raises, ``SystemExit`` included, is.
    """
    if isinstance(error, KeyboardInterrupt):
        return True
    ours = type(error).__module__.partition(".")[0] == "uts"
    return ours and not isinstance(error, Exception)


def _describe(error: BaseException) -> str:
    """Why a plugin failed to load, in words (``sys.exit(2)`` reads better than ``2``)."""
    if isinstance(error, UtsError):
        return error.message
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    return f"{type(error).__name__}: {error}"


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


def _import_quietly(load: Callable[[], object]) -> object:
    """Import a plugin with uts's command line hidden from it and its output held back.

    A module that runs ``argparse`` at import would otherwise parse uts's arguments,
    print a usage that reads as uts's own and exit 2; with an empty ``sys.argv[1:]`` it
    sees no command line at all. What it prints would land in uts's output (``--json``
    included); if the import fails, the last line it printed joins the error instead.
    """
    saved = sys.argv
    sys.argv = saved[:1]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            return load()
    except BaseException as error:
        last = printed.getvalue().strip().rpartition("\n")[2].strip()
        if last and not _passes_through(error):
            raise PluginError(f"{_describe(error)} (it printed: {last})") from error
        raise
    finally:
        sys.argv = saved


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
    plugin = _import_quietly(load)
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
        for path in shipped:
            if path.stem != name and not path.stem.startswith(name + "-"):
                raise PluginError(
                    f"it ships recipe {path.name!r}; a plugin's recipes are named after its "
                    f"component: {name}.toml or {name}-<recipe>.toml"
                )
    except BaseException:
        pm.unregister(plugin)
        raise
    registry._loaded[name] = LoadedComponent(component, plugin, source, provider)
    registry._recipe_files += [(path, name) for path in shipped]
