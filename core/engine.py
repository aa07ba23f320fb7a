"""Compose a project in memory: resolve, configure, contribute, render, finalize."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from uts import __version__
from uts.adopted import HOST, RECORD_KEY, host_from_record, is_adopted
from uts.errors import OptionError, RenderError, ResolutionError, UsageError, UtsError
from uts.model import (
    Component,
    Context,
    Contributions,
    FragmentStore,
    GeneratedFile,
    Option,
    OwnFiles,
    slot_declarations,
)
from uts.plugin.manager import Registry
from uts.render import check_relative, merge_helpers, render_templates
from uts.resolve import Resolution, resolve, resolve_options
from uts.state import STATE_FORMAT, build_state, provider_of, records_of

__all__ = ["Composition", "ProjectSpec", "compose", "package_name"]

_PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*", re.ASCII)
# Names end up as directory, package and database file names and as Kubernetes and
# container names: 63 characters is the longest DNS label (RFC 1123).
MAX_PROJECT_NAME = 63

Ask = Callable[[Component, Option], Any]


def package_name(project_name: str) -> str:
    """The import package for *project_name* (``my-shop`` gives ``my_shop``)."""
    if not _PROJECT_NAME.fullmatch(project_name):
        raise UsageError(
            f"project name {project_name!r} is not valid",
            hint="start with a letter; use letters, digits, '-', '_' or '.'",
        )
    if len(project_name) > MAX_PROJECT_NAME:
        raise UsageError(
            f"project name {project_name[:20]}... is {len(project_name)} characters long; "
            f"the limit is {MAX_PROJECT_NAME}",
            hint=f"pick a name of at most {MAX_PROJECT_NAME} characters",
        )
    package = re.sub(r"[^a-z0-9]+", "_", project_name.lower()).strip("_")
    if keyword.iskeyword(package) or not package.isidentifier():
        raise UsageError(
            f"project name {project_name!r} gives package {package!r}, not a valid module name",
            hint="pick another project name",
        )
    return package


@dataclass
class ProjectSpec:
    """Everything a composition depends on; the same spec gives the same bytes."""

    project_name: str
    recipe: str
    components: list[str]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    without: list[str] = field(default_factory=list)
    description: str = ""
    auto: set[str] = field(default_factory=set)
    """Components that are there only because others require them (recorded as such)."""
    recorded: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What the project records per component; its provider and order are kept while
    the installed version is the recorded one."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Other keys of ``.uts/project.toml`` (what ``uts adopt`` records), kept as they are."""
    originals: Mapping[str, bytes] = field(default_factory=dict)
    """An adopted project's files the host edits, as ``uts adopt`` found them."""


class Composition(NamedTuple):
    """The result: every file of the project, plus how it was resolved."""

    context: Context
    resolution: Resolution
    files: dict[str, GeneratedFile]
    fragments: dict[str, list[Any]]
    state: dict[str, Any] = {}  # noqa: RUF012 (a NamedTuple field default, never mutated)
    """What the state files record, shaped like :attr:`uts.state.ProjectState.tool`."""


def compose(registry: Registry, spec: ProjectSpec, ask: Ask | None = None) -> Composition:
    """Run every phase for *spec* and return the project's files, in memory."""
    metadata = registry.metadata
    resolution = resolve(metadata, spec.components, spec.without, registry.unknown)
    for name in spec.options:
        if name not in resolution.order:
            raise OptionError(
                f"options given for {name!r}, which is not part of this project",
                hint=f"add it with --with {name}, or drop its --set values",
            )
    host = None
    if is_adopted(spec.extra):
        host = host_from_record(spec.extra[RECORD_KEY])
        _refuse_unadoptable(metadata, resolution.order, spec.components)
    components = {
        name: resolve_options(metadata[name], spec.options.get(name, {}), ask)
        for name in resolution.order
    }
    ctx = Context(
        project_name=spec.project_name,
        package=package_name(spec.project_name),
        description=spec.description or f"{spec.project_name}: a service composed by uts.",
        recipe=spec.recipe,
        components=MappingProxyType(components),
        uts_version=__version__,
        host=host,
    )
    for name in resolution.order:
        registry.configure(name, ctx)

    declared = slot_declarations(metadata[name] for name in resolution.order)
    store = FragmentStore(declared=declared)
    for name in resolution.order:
        registry.contribute(name, ctx, Contributions(name, store))
    _run_later(store, resolution.order)
    fragments = store.slots()

    files: dict[str, GeneratedFile] = {}
    for path, item in store.files.items():
        files[check_relative(path, f"component {item.owner!r}")] = item
    # An adopted project's own files enter as adopt found them; the host edits them.
    for path, data in sorted(spec.originals.items()):
        _claim(files, path, GeneratedFile(data, HOST))
    variables = {**ctx.template_vars(), "fragments": fragments}
    helpers = merge_helpers(
        ((name, registry.template_helpers(name, ctx)) for name in resolution.order),
        [*variables, "options"],
    )
    for name in resolution.order:
        own = metadata[name].templates
        directories = [own] if own else []
        directories += [path for owner, path in store.template_dirs if owner == name]
        for directory in directories:
            rendered = render_templates(
                directory, name, {**variables, "options": components[name]}, helpers
            )
            for path, item in rendered.items():
                _claim(files, path, item)

    for name in resolution.order:
        view = MappingProxyType({path: item.content for path, item in files.items()})
        final = dict(files)
        # Every fragment is there to read (out.fragments), none to add.
        registry.finalize(name, ctx, view, OwnFiles(name, final, store.items))
        files = {
            path if path in files else check_relative(path, f"component {item.owner!r}"): item
            for path, item in final.items()
        }

    auto = set(resolution.added_for) | (spec.auto & set(resolution.order))
    if host is None:  # the host writes an adopted project's dependencies its own way
        _write_pyproject(files, store)
    state = _state(registry, spec, ctx, auto)
    files.update(build_state(state, records_of(files)))
    return Composition(ctx, resolution, dict(sorted(files.items())), fragments, state)


class _Frozen(dict[str, tuple[Any, ...]]):
    """Fragments by slot, as tuples; a slot nobody filled reads as ``()``."""

    def __missing__(self, key: str) -> tuple[Any, ...]:
        return ()


def _run_later(store: FragmentStore, order: list[str]) -> None:
    """The callbacks of ``Contributions.later``, each seeing every fragment so far."""
    rank = {name: index for index, name in enumerate(order)}
    from uts.errors import PluginError
    from uts.plugin.manager import _passes_through

    for owner, callback in store.later:
        view = MappingProxyType(_Frozen((s, tuple(v)) for s, v in store.slots().items()))
        before = len(store.items)
        try:
            callback(view)
        except UtsError as error:
            if f"{owner!r}" not in error.message:
                error.message = f"component {owner!r}: {error.message}"
            raise
        except BaseException as error:
            if _passes_through(error):
                raise
            raise PluginError(
                f"component {owner!r} raised {type(error).__name__} in a later() callback: {error}",
                hint=f"this is a bug in the plugin {owner!r}; --debug shows the traceback",
            ) from error
        # What the callback added takes the place of the component's own fragments, so
        # that slots keep the component order (README sections, say).
        added = store.items[before:]
        del store.items[before:]
        place = max(
            (i + 1 for i, item in enumerate(store.items) if rank[item.owner] <= rank[owner]),
            default=0,
        )
        store.items[place:place] = added


def _refuse_unadoptable(
    metadata: Mapping[str, Component], order: list[str], requested: list[str]
) -> None:
    """Refuse, before anything is made, a component that needs uts's own layout."""
    for name in sorted(order, key=lambda name: (name not in requested, order.index(name))):
        if not metadata[name].adoptable:
            raise ResolutionError(
                f"component {name!r} does not work on an adopted project: it builds on the "
                "layout uts gives the projects it creates, which this project does not have",
                hint=f"'uts info {name}' says which projects it works on; components that "
                "work here say 'adopted projects: yes'",
            )


def _state(registry: Registry, spec: ProjectSpec, ctx: Context, auto: set[str]) -> dict[str, Any]:
    """What the project will record: names, and per component its version and provider."""
    recorded = spec.recorded
    # A component keeps its place in the composition order; a new one goes last.
    order = 1 + max((int(data.get("order", -1)) for data in recorded.values()), default=-1)
    components: dict[str, Any] = {}
    for name, options in ctx.components.items():
        version = registry.metadata[name].version
        old = recorded.get(name, {})
        entry: dict[str, Any] = {"version": version}
        if "order" in old:
            entry["order"] = old["order"]
        else:
            entry["order"], order = order, order + 1
        provider = old.get("provider") if old.get("version") == version else None
        provider = provider or provider_of(registry.get(name).source)
        if provider:
            entry["provider"] = dict(provider)
        entry["auto"] = name in auto
        entry["options"] = dict(options)
        components[name] = entry
    known = ("format", "recipe", "project-name", "package", "components", "version")
    return {
        "format": STATE_FORMAT,
        "recipe": ctx.recipe,
        "project-name": ctx.project_name,
        "package": ctx.package,
        **{key: value for key, value in spec.extra.items() if key not in known},
        "components": components,
    }


def _claim(files: dict[str, GeneratedFile], path: str, item: GeneratedFile) -> None:
    other = files.get(path)
    if other is not None and other.owner != item.owner:
        raise RenderError(
            f"components {other.owner!r} and {item.owner!r} both write {path}",
            hint="a file belongs to one component; share content through fragments",
        )
    files[path] = item


def _write_pyproject(files: dict[str, GeneratedFile], store: FragmentStore) -> None:
    current = files.get("pyproject.toml")
    groups: dict[str | None, list[str]] = {}
    for fragment in store.items:
        if fragment.slot == "dependencies":
            groups.setdefault(None, []).append(fragment.value)
        elif fragment.slot.startswith("dependencies:"):
            groups.setdefault(fragment.slot.partition(":")[2], []).append(fragment.value)
    if current is None:
        if groups:
            raise RenderError(
                "components add dependencies but none of them writes pyproject.toml",
                hint="add the component that provides pyproject.toml (e.g. 'project')",
            )
        return
    import tomlkit

    from uts.pyproject import set_dependencies

    try:
        doc = tomlkit.parse(current.content.decode("utf-8"))
    except Exception as error:
        raise RenderError(
            f"component {current.owner!r} renders an invalid pyproject.toml: {error}"
        ) from error
    set_dependencies(doc, groups)
    files["pyproject.toml"] = GeneratedFile(
        tomlkit.dumps(doc).encode(), current.owner, current.executable
    )
