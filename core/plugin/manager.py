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
from uts.model import Component, Context, Contributions, OwnFiles
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

    def recipes_starting(self, prefix: str) -> list[tuple[Path, str]]:
        """Plugin recipe files whose names start with *prefix* (for shell completion).

        Imports only the plugins whose component name and *prefix* start alike.
        """
        for name in self.names():
            if name.startswith(prefix) or prefix.startswith(name):
                self.ensure(name)
        return [(path, owner) for path, owner in self._recipe_files if path.stem.startswith(prefix)]

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
        self.call(name, "uts_configure", ctx=ctx)

    def contribute(self, name: str, ctx: Context, out: Contributions) -> None:
        self.call(name, "uts_contribute", ctx=ctx, out=out)

    def template_helpers(self, name: str, ctx: Context) -> Any:
        return self.call(name, "uts_template_helpers", ctx=ctx)

    def finalize(self, name: str, ctx: Context, files: Any, out: OwnFiles) -> None:
        self.call(name, "uts_finalize", ctx=ctx, files=files, out=out)

    def migrate(self, name: str, from_version: str, to_version: str, project: Any) -> None:
        self.call(
            name, "uts_migrate", from_version=from_version, to_version=to_version, project=project
        )

    def call(self, name: str, hook: str, **kwargs: Any) -> Any:
        """Call component *name*'s implementation of *hook* (None if it has none).

        The typed methods above are the way core code calls hooks; this is what they
        share. Pass every argument of the hook's spec: pluggy hands each implementation
        only the ones it names, so a spec can grow without breaking older plugins.
        """
        try:
            return _call_plugin(self.pm, self.components[name].plugin, hook, kwargs)
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


def _call_plugin(pm: pluggy.PluginManager, plugin: object, hook: str, kwargs: Any) -> Any:
    """Call *plugin*'s implementation of *hook* through pluggy, and no other plugin's.

    One plugin at a time, in the resolved order the caller chooses, so that every
    result and every failure is attributed to its component (pluggy#485).
    """
    impls = getattr(pm.hook, hook).get_hookimpls()
    if not any(impl.plugin is plugin for impl in impls):
        return None
    others = [impl.plugin for impl in impls if impl.plugin is not plugin]
    results = pm.subset_hook_caller(hook, others)(**kwargs)
    # pluggy leaves None results out: a hook that returned None gives [].
    return results[0] if results else None


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_ORDER = "uts calls one component at a time, in resolved order (its requirements first)"
_REFUSED_OPTIONS = {
    "tryfirst": _ORDER,
    "trylast": _ORDER,
    "wrapper": f"{_ORDER}, so there is no other implementation to wrap",
    "hookwrapper": f"{_ORDER}, so there is no other implementation to wrap",
}


def _check_hooks(pm: pluggy.PluginManager, plugin: object) -> None:
    """Refuse, with one line, hook implementations uts would not call as written.

    pluggy's options that order or wrap implementations (``tryfirst``, ``trylast``,
    ``wrapper``, ``hookwrapper``) mean nothing when each component is called alone,
    and an implementation of a hook uts does not have would never run. ``specname``
    is honoured, and ``optionalhook=True`` lets a plugin implement a hook that only
    newer uts versions have (older ones ignore it). Reads what pluggy registered.
    """
    seen: dict[str, str] = {}
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                name = impl.function.__name__
                _check_impl(caller.name, name, impl.opts, caller.spec, impl.argnames, seen)


def _explain_invalid(pm: pluggy.PluginManager, plugin: object) -> None:
    """Say in one line why pluggy refused to register *plugin*: raises if it can."""
    seen: dict[str, str] = {}
    for attr in dir(plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is not None:
            hook = opts.get("specname") or attr
            caller = getattr(pm.hook, hook, None)
            parameters = inspect.signature(getattr(plugin, attr)).parameters.values()
            named = tuple(
                p.name for p in parameters if p.kind in _POSITIONAL and p.default is p.empty
            )
            _check_impl(hook, attr, opts, caller.spec if caller else None, named, seen)


def _check_impl(
    hook: str, attr: str, opts: Any, spec: Any, named: tuple[str, ...], seen: dict[str, str]
) -> None:
    for option, why in _REFUSED_OPTIONS.items():
        if opts.get(option):
            raise PluginError(
                f"its {hook} uses the hook option {option}=True, which uts does not support: {why}",
                hint=f"drop {option}=True from @impl on {attr}",
            )
    if spec is None:
        if opts.get("optionalhook"):
            return
        raise PluginError(
            f"unknown hook {hook!r}",
            hint="check the name against docs/plugins.md, or mark a hook that only newer "
            "uts versions have with @impl(optionalhook=True)",
        )
    if hook in seen:
        raise PluginError(f"it implements {hook} twice ({seen[hook]} and {attr})")
    seen[hook] = attr
    unknown = [arg for arg in named if arg not in (*spec.argnames, *spec.kwargnames)]
    if unknown:
        raise PluginError(
            f"its {hook} asks for {', '.join(map(repr, unknown))}, which the hook does "
            f"not pass (it passes {', '.join(spec.argnames)})",
            hint="name only arguments of the hook's spec (docs/plugins.md)",
        )


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
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        _explain_invalid(pm, plugin)
        raise PluginError(" ".join(str(error).split())) from error
    try:
        _check_hooks(pm, plugin)
        if not any(impl.plugin is plugin for impl in pm.hook.uts_component.get_hookimpls()):
            raise PluginError("it implements no uts_component hook")
        component = _call_plugin(pm, plugin, "uts_component", {})
        if not isinstance(component, Component):
            raise PluginError(f"uts_component returned {type(component).__name__}, not Component")
        if component.name != name:
            raise PluginError(
                f"it declares component {component.name!r} under entry-point name {name!r}"
            )
        shipped = [Path(path) for path in _call_plugin(pm, plugin, "uts_recipes", {}) or []]
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
