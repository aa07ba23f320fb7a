"""The data a component declares (metadata, options) and what it sees and produces."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import UnionType
from typing import Any, NamedTuple, NoReturn, Union, get_args, get_origin

from uts.errors import OptionError, PluginError, RenderError

__all__ = [
    "NO_DEFAULT",
    "REQUIRED",
    "Component",
    "Context",
    "Contributions",
    "Declaration",
    "Field",
    "Fragment",
    "GeneratedFile",
    "Host",
    "Option",
    "OwnFiles",
    "Slot",
    "SlotDeclarations",
    "TemplateHelpers",
    "slot_declarations",
]

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


STATE_DIR = ".uts"
"""Where uts keeps a project's state; only the core writes there, never a component."""


def refuse_state_path(path: str, origin: str) -> None:
    """Refuse a component's output *path* (posix) inside :data:`STATE_DIR`.

    Compared case-insensitively: on macOS and Windows ``.UTS/`` is the same directory.
    """
    head = path.split("/", 1)[0]
    if head.casefold() == STATE_DIR:
        raise RenderError(
            f"{origin} writes {path}: {STATE_DIR}/ holds uts's own state and only uts writes there",
            hint="write the file elsewhere in the project (this is a bug in the plugin)",
        )


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of an option the user must set (``uts new`` asks for it in a terminal)."""


@dataclass(frozen=True)
class Option:
    """A typed, validated setting of a component.

    :param name: option name, used as ``--set COMPONENT.NAME=VALUE`` and in recipes.
    :param type: ``str``, ``int`` or ``bool``.
    :param default: value when nobody sets it; :data:`REQUIRED` when the user must.
    :param choices: the allowed values, if the set is closed.
    :param pattern: a regular expression a ``str`` value must match in full, with ASCII
        semantics (``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``).
    :param help: one line for ``uts info``.
    """

    name: str
    type: type = str
    default: Any = REQUIRED
    choices: tuple[Any, ...] | None = None
    pattern: str | None = None
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def coerce(self, value: Any, component: str) -> Any:
        """Return *value* converted to this option's type, or raise :class:`OptionError`."""
        where = f"{component}.{self.name}"
        if isinstance(value, str) and self.type is not str:
            value = self._from_text(value, where)
        if (self.type is int and isinstance(value, bool)) or not isinstance(value, self.type):
            raise OptionError(
                f"option {where} expects {self.type.__name__}, got {value!r}",
                hint=f"set it with --set {where}=<{self.type.__name__}>",
            )
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise OptionError(
                f"option {where} must be one of {allowed}; got {value!r}",
                hint=f"pick one of: {allowed}",
            )
        # ASCII semantics: \d is 0-9 and \w is [A-Za-z0-9_], not every script's digits
        # and letters, which would reach file names, image tags and URLs.
        if self.pattern is not None and not re.fullmatch(self.pattern, str(value), re.ASCII):
            raise OptionError(
                f"option {where} value {value!r} does not match {self.pattern}",
                hint=self.help or f"use a value matching {self.pattern}",
            )
        return value

    def _from_text(self, text: str, where: str) -> Any:
        if self.type is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
        elif self.type is int:
            try:
                return int(text)
            except ValueError:
                pass
        raise OptionError(
            f"option {where} expects {self.type.__name__}, got {text!r}",
            hint="booleans are true/false, integers are digits",
        )


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""Default of a :class:`Field` that stays absent from a fragment that does not give it."""


@dataclass(frozen=True)
class Field:
    """One field of a slot's fragments (see :class:`Slot`).

    :param name: the key in the fragment's table.
    :param type: the type its value must have: a class, ``X | Y``, ``list[X]``,
        ``dict[K, V]`` or ``Any`` (``int`` never takes a ``bool``).
    :param required: whether every fragment must give it.
    :param help: what it means, for the generated slot reference.
    :param default: for an optional field, the value the consumer reads when a fragment
        leaves it out (filled in when the fragment is contributed); without one, the
        field is absent from such a fragment.
    """

    name: str
    type: Any = str
    required: bool = True
    help: str = ""
    default: Any = NO_DEFAULT

    def __post_init__(self) -> None:
        if self.required and self.default is not NO_DEFAULT:
            raise ValueError(f"field {self.name!r} is required and cannot have a default")

    def accepts(self, value: Any) -> bool:
        """Whether *value* has this field's type (a ``bool`` is no ``int`` here)."""
        return matches(value, self.type)


def matches(value: Any, kind: Any) -> bool:
    """Whether *value* is of *kind*: a type, a tuple of them, ``X | Y``, ``list[X]``,
    ``dict[K, V]`` or ``Any``; a ``bool`` is no ``int`` unless *kind* says ``bool``."""
    if kind is Any:
        return True
    if kind is None or kind is type(None):
        return value is None
    if isinstance(kind, tuple):
        return any(matches(value, each) for each in kind)
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, UnionType):
        return any(matches(value, each) for each in args)
    if origin is list:
        return isinstance(value, list) and all(matches(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            matches(key, args[0]) and matches(item, args[1]) for key, item in value.items()
        )
    if isinstance(value, bool) and kind is not bool:
        return False
    return isinstance(value, kind)


def type_name(kind: Any) -> str:
    """A field's or slot's type as the docs and the errors spell it: ``str | None``."""
    if isinstance(kind, tuple):
        return " | ".join(type_name(each) for each in kind)
    if kind is None or kind is type(None):
        return "None"
    if get_origin(kind) is not None:
        return str(kind).replace("typing.", "")
    return getattr(kind, "__name__", str(kind))


@dataclass(frozen=True)
class Slot:
    """A slot the declaring component consumes: what other components may put in it.

    :param name: the slot's name, as passed to ``Contributions.fragment``.
    :param help: what the consumer does with the fragments.
    :param fields: the fields of a table fragment; empty when the fragment is a plain
        value of type *type*.
    :param type: the type of a fragment's value (``dict`` for a table of *fields*).
    :param keyed: what the fragments' ``key`` should be (for the reference), if any.
    """

    name: str
    help: str
    fields: tuple[Field, ...] = ()
    type: Any = dict
    keyed: str = ""

    def field(self, name: str) -> Field | None:
        return next((field for field in self.fields if field.name == name), None)

    def check(self, value: Any) -> tuple[Any, str | None]:
        """*value* with the defaults of absent optional fields, and what is wrong with it.

        The problem names the field (``field 'order' must be int, got 'ten'``); None when
        the fragment fits.
        """
        if not matches(value, self.type):
            return value, f"a fragment must be {type_name(self.type)}, got {_shown(value)}"
        if not self.fields or not isinstance(value, Mapping):
            return value, None
        unknown = [key for key in value if not isinstance(key, str) or self.field(key) is None]
        if unknown:
            known = ", ".join(field.name for field in self.fields)
            return value, f"field {unknown[0]!r} is not one of its fields ({known})"
        table = dict(value)
        for field in self.fields:
            if field.name not in table:
                if field.required:
                    return value, f"required field {field.name!r} is missing"
                if field.default is not NO_DEFAULT:
                    table[field.name] = field.default
            elif not field.accepts(table[field.name]):
                return value, (
                    f"field {field.name!r} must be {type_name(field.type)}, "
                    f"got {_shown(table[field.name])}"
                )
        return table, None


def _shown(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{type(value).__name__} {text}"


@dataclass(frozen=True)
class TemplateHelpers:
    """Jinja filters, tests and globals a component gives every template of the project.

    Returned by ``uts_template_helpers``. A name belongs to one component: a name two
    components give, or one that uts, Jinja or the template variables already use, is
    an error naming both sides.

    :param filters: name to function, used as ``{{ value | name(args) }}``.
    :param tests: name to predicate, used as ``{% if value is name %}`` and in
        ``select("name")`` / ``reject("name")``.
    :param globals: name to value or function, used as ``{{ name(args) }}``.
    """

    filters: Mapping[str, Callable[..., Any]] = dataclasses.field(default_factory=dict)
    tests: Mapping[str, Callable[..., bool]] = dataclasses.field(default_factory=dict)
    globals: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Host:
    """Where a project's code lives and how it is built and run.

    uts's own layout for projects uts made (:meth:`for_package`); what ``uts adopt``
    recorded for the others. Hooks read it as ``ctx.host``, templates as ``host``.

    :param adopted: whether the project is one uts adopted (not uts's own layout).
    :param package_dir: project-relative directory where components put new modules
        (``shop``, ``src/shop``, ``app``; ``""`` for a single module at the top).
    :param module_prefix: dotted prefix of those modules (``shop.``, ``app.``, ``""``).
    :param app_module: the module that holds the application (``shop.main``).
    :param app_attr: the module-level app, or the factory function when *factory*.
    :param factory: whether the app is made by calling *app_attr* (``uvicorn --factory``).
    :param packaging: ``pep621``, ``poetry`` or ``requirements``.
    :param requirements: the requirements files, the main one first (``requirements``).
    :param sources: top-level paths that hold the code (what an image copies).
    :param tests: the tests directory, ``""`` when the test modules sit at the top level,
        or ``None`` when the project has no tests.
    :param findings: what ``uts adopt`` found already there (routes, instrumentation,
        middleware, files), as :class:`uts.appscan.Finding`; empty for uts's own layout.
    :param insertion: where components are wired into the app: ``(file, variable,
        function)``, *function* ``None`` for a module-level app; ``None`` when there is
        no such place (uts's own layout wires through the fastapi component instead).
    :param dependency_file: the file runtime requirements are declared in.
    """

    adopted: bool = False
    package_dir: str = ""
    module_prefix: str = ""
    app_module: str = "main"
    app_attr: str = "app"
    factory: bool = False
    packaging: str = "pep621"
    requirements: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tests: str | None = "tests"
    findings: tuple[Any, ...] = ()
    insertion: tuple[str, str, str | None] | None = None
    dependency_file: str = "pyproject.toml"

    @classmethod
    def for_package(cls, package: str) -> Host:
        """uts's own layout: the package at the top, the app in ``package.main``."""
        return cls(
            package_dir=package,
            module_prefix=f"{package}.",
            app_module=f"{package}.main",
            sources=(package,),
        )

    @property
    def app(self) -> str:
        """The app as uvicorn takes it: ``shop.main:app``."""
        return f"{self.app_module}:{self.app_attr}"

    def found(self, *kinds: str) -> list[Any]:
        """The findings of *kinds* (``"metrics-route"``, ...), in the order adopt found them."""
        return [finding for finding in self.findings if finding.kind in kinds]


@dataclass(frozen=True)
class Component:
    """What a plugin declares about its component in ``uts_component``.

    :param name: lower-case name, also the entry-point name.
    :param version: the component's version, recorded in generated projects.
    :param summary: one line for ``uts list``.
    :param requires: components that must be active too (added automatically).
    :param conflicts: components that must not be active at the same time.
    :param options: the component's typed options.
    :param templates: a directory rendered into the project (``*.jinja`` files are
        rendered, others copied verbatim; path segments may hold Jinja expressions).
    :param history: patterns (``fnmatch``, on project-relative paths) of files this
        component writes once, like applied database migrations: once a project has
        one, ``uts add`` and ``uts remove`` never rewrite it and say so instead.
    :param history_hint: what the user should do instead, shown with that notice.
    :param releases: earlier versions of this component that ``uts_migrate`` steps
        stop at on the way from a project's recorded version to this one.
    :param slots: the slots this component consumes, with the shape of their fragments.
    :param provides: other components' names this one stands in for: a component that
        requires one of them is satisfied by this one, and they cannot be active with it.
    :param adoptable: whether the component works on projects ``uts adopt`` recorded (their
        own layout, described by ``ctx.host``); ``False`` refuses it there, before
        anything is written.
    """

    name: str
    version: str
    summary: str
    requires: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    templates: Path | None = None
    history: tuple[str, ...] = ()
    history_hint: str = ""
    releases: tuple[str, ...] = ()
    slots: tuple[Slot, ...] = ()
    provides: tuple[str, ...] = ()
    adoptable: bool = False

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"component name {self.name!r} must be lower-case letters, digits, - or _"
            )
        names = [option.name for option in self.options]
        if len(names) != len(set(names)):
            raise ValueError(f"component {self.name!r} declares an option twice")
        slots = [slot.name for slot in self.slots]
        if len(slots) != len(set(slots)):
            raise ValueError(f"component {self.name!r} declares a slot twice")
        for slot in self.slots:
            fields = [field.name for field in slot.fields]
            if len(fields) != len(set(fields)):
                raise ValueError(f"component {self.name!r}: slot {slot.name!r} has a field twice")

    def is_history(self, path: str) -> bool:
        """Whether *path* is one of the files this component writes only once."""
        from fnmatch import fnmatchcase

        return any(fnmatchcase(path, pattern) for pattern in self.history)

    def option(self, name: str) -> Option | None:
        return next((option for option in self.options if option.name == name), None)


@dataclass(frozen=True)
class Context:
    """What every hook and template sees about the project being composed."""

    project_name: str
    package: str
    description: str
    recipe: str
    components: Mapping[str, Mapping[str, Any]]
    uts_version: str
    host: Host | None = None
    """Where the code lives; uts's own layout for *package* unless given."""

    def __post_init__(self) -> None:
        if self.host is None:
            object.__setattr__(self, "host", Host.for_package(self.package))

    def has(self, name: str) -> bool:
        """Whether component *name* is active in this project."""
        return name in self.components

    def options(self, name: str) -> Mapping[str, Any]:
        """The resolved option values of active component *name*."""
        return self.components[name]

    def template_vars(self) -> dict[str, Any]:
        return {
            "project_name": self.project_name,
            "package": self.package,
            "description": self.description,
            "recipe": self.recipe,
            "components": {name: dict(opts) for name, opts in self.components.items()},
            "uts_version": self.uts_version,
            "host": self.host,
        }


class GeneratedFile(NamedTuple):
    """One file of the plan: its bytes, the component that owns it and its mode."""

    content: bytes
    owner: str
    executable: bool = False


class _Slots(dict[str, list[Any]]):
    """Fragments by slot; a slot nobody filled reads as an empty list."""

    def __missing__(self, key: str) -> list[Any]:
        return []


class Fragment(NamedTuple):
    """One contribution to a slot: its value, its key (if any) and the component giving it."""

    slot: str
    key: str | None
    value: Any
    owner: str


class Declaration(NamedTuple):
    """A slot as its consumers declare it: every one of them with the same fields."""

    consumers: tuple[str, ...]
    slot: Slot

    @property
    def named(self) -> str:
        """``component 'docker'``, or ``components 'docker' and 'kubernetes'``."""
        names = [repr(name) for name in self.consumers]
        if len(names) == 1:
            return f"component {names[0]}"
        return f"components {', '.join(names[:-1])} and {names[-1]}"


SlotDeclarations = Mapping[str, Declaration]
"""Slot name to the components that consume it and their declaration."""


def _shape(slot: Slot) -> tuple[Any, ...]:
    """What fragments must be to fit *slot*: its type and fields, their words aside."""
    fields = tuple((f.name, f.type, f.required, f.default) for f in slot.fields)
    return slot.type, fields


def slot_declarations(components: Iterable[Component]) -> dict[str, Declaration]:
    """The slots *components* consume, by name.

    Several components may consume one slot (each reads the same fragments for a file
    of its own) when they declare the same fields and type (their help may differ; the
    first one's is the reference); declarations that differ are an error naming both.
    """
    declared: dict[str, Declaration] = {}
    for component in components:
        for slot in component.slots:
            other = declared.get(slot.name)
            if other is None:
                declared[slot.name] = Declaration((component.name,), slot)
                continue
            if _shape(other.slot) != _shape(slot):
                raise RenderError(
                    f"components {other.consumers[0]!r} and {component.name!r} declare slot "
                    f"{slot.name!r} with different fields",
                    hint="components that read one slot must declare the same fields: "
                    "share one Slot value, or give one of them a slot of another name",
                )
            declared[slot.name] = Declaration((*other.consumers, component.name), other.slot)
    return declared


class FragmentStore:
    """Fragments from every component, in contribution order, with clash detection."""

    def __init__(
        self,
        files: dict[str, GeneratedFile] | None = None,
        declared: SlotDeclarations | None = None,
    ) -> None:
        self.items: list[Fragment] = []
        self.files: dict[str, GeneratedFile] = {} if files is None else files
        self.template_dirs: list[tuple[str, Path]] = []
        self.later: list[tuple[str, Callable[[Mapping[str, Any]], None]]] = []
        self.declared: SlotDeclarations = declared or {}
        """Slot name to the consuming components and their declaration (active ones)."""

    def add(self, slot: str, value: Any, key: str | None, owner: str) -> None:
        if slot in self.declared:
            declaration = self.declared[slot]
            value, problem = declaration.slot.check(value)
            if problem is not None:
                raise RenderError(
                    f"component {owner!r} gives slot {slot!r} of {declaration.named} "
                    f"a fragment that does not fit: {problem}",
                    hint=(
                        f"this is a bug in the plugin {owner!r}: its fragment must match "
                        "the slot's declaration (see docs/slots.md)"
                    ),
                )
        if key is not None:
            for other in self.items:
                if other.slot == slot and other.key == key:
                    if other.value == value:
                        return
                    raise RenderError(
                        f"components {other.owner!r} and {owner!r} both set {slot} {key!r} "
                        f"to different values ({other.value!r} vs {value!r})",
                        hint="make one of them depend on the other's value, or drop one of them",
                    )
        self.items.append(Fragment(slot, key, value, owner))

    def slots(self) -> dict[str, list[Any]]:
        result: dict[str, list[Any]] = _Slots()
        for item in self.items:
            result.setdefault(item.slot, []).append(item.value)
        return result

    def by_slot(self, slot: str) -> Iterator[Fragment]:
        return (item for item in self.items if item.slot == slot)


class Contributions:
    """Handed to ``uts_contribute``: the way a component adds to the plan."""

    def __init__(self, owner: str, store: FragmentStore) -> None:
        self._owner = owner
        self._store = store

    def dependency(self, requirement: str, group: str | None = None) -> None:
        """Add a PEP 508 *requirement* to the project (or to optional-dependency *group*)."""
        from uts.pyproject import requirement_name

        slot = "dependencies" if group is None else f"dependencies:{group}"
        self._store.add(slot, requirement, requirement_name(requirement), self._owner)

    def fragment(self, slot: str, value: Any, key: str | None = None) -> None:
        """Add *value* to *slot*; templates read ``fragments[slot]`` as a list.

        A slot an active component declares (``Component.slots``) checks *value* now: a
        fragment that does not fit is a ``RenderError`` naming both components, the slot
        and the field; optional fields left out get their declared defaults. With a
        *key*, two components giving the same key different values is an error.
        """
        self._store.add(slot, value, key, self._owner)

    def later(self, callback: Callable[[Mapping[str, Any]], None]) -> None:
        """Call ``callback(fragments)`` once every component has contributed.

        For output computed from the fragments others put in this component's slots (a
        README section listing every compose service, one manifest per workload):
        *fragments* maps each slot to a tuple of its values so far (``()`` for a
        slot nobody filled), read-only; the callback adds
        through this same object. Callbacks run in component order, after every
        ``uts_contribute``.
        """
        self._store.later.append((self._owner, callback))

    def fragments(self, slot: str | None = None) -> list[Fragment]:
        """The fragments given to *slot* (to any slot: None) so far; every one of them in
        ``uts_finalize``, which runs once every component contributed."""
        if slot is None:
            return list(self._store.items)
        return list(self._store.by_slot(slot))

    def templates(self, directory: Path) -> None:
        """Render *directory* too, like ``Component.templates``, for this project only.

        For files whose presence or place depends on the context (another component
        being active, an option): keep each variant in its own directory.
        """
        self._store.template_dirs.append((self._owner, Path(directory)))

    def file(self, path: str, content: str | bytes, executable: bool = False) -> None:
        """Write a computed file at project-relative *path* (owned by this component)."""
        data = content.encode() if isinstance(content, str) else content
        posix = str(PurePosixPath(path))
        refuse_state_path(posix, f"component {self._owner!r}")
        existing = self._store.files.get(posix)
        if existing is not None and existing.owner != self._owner:
            raise RenderError(
                f"components {existing.owner!r} and {self._owner!r} both write {posix}",
                hint="a file belongs to one component; share content through fragments",
            )
        self._store.files[posix] = GeneratedFile(data, self._owner, executable)


class OwnFiles:
    """Handed to ``uts_finalize``: adds or replaces files of this component, nothing else.

    By then every template has rendered, so a dependency, a fragment or a template
    directory would be lost: those calls, and writing another component's file, raise
    :class:`~uts.errors.PluginError` naming the component.
    """

    def __init__(
        self, owner: str, files: dict[str, GeneratedFile], items: Iterable[Fragment] = ()
    ) -> None:
        self._owner = owner
        self._files = files
        self._items = tuple(items)

    def fragments(self, slot: str | None = None) -> list[Fragment]:
        """Every fragment given to *slot* (to any slot: None), to read; none can be added."""
        return [item for item in self._items if slot is None or item.slot == slot]

    def file(self, path: str, content: str | bytes, executable: bool = False) -> None:
        """Write the file at project-relative *path*: a new one, or one this component owns."""
        data = content.encode() if isinstance(content, str) else content
        posix = str(PurePosixPath(path))
        refuse_state_path(posix, f"component {self._owner!r}")
        existing = self._files.get(posix)
        if existing is not None and existing.owner != self._owner:
            raise PluginError(
                f"component {self._owner!r} writes {posix} in uts_finalize, but that file "
                f"belongs to component {existing.owner!r}",
                hint="a component writes only its own files; share content through fragments "
                "in uts_contribute",
            )
        self._files[posix] = GeneratedFile(data, self._owner, executable)

    def dependency(self, requirement: str, group: str | None = None) -> NoReturn:
        raise self._too_late("dependency")

    def fragment(self, slot: str, value: Any, key: str | None = None) -> NoReturn:
        raise self._too_late("fragment")

    def templates(self, directory: Path) -> NoReturn:
        raise self._too_late("templates")

    def _too_late(self, method: str) -> PluginError:
        return PluginError(
            f"component {self._owner!r} calls out.{method}() in uts_finalize, after every "
            "template has rendered: it would be lost",
            hint=f"call out.{method}() in uts_contribute; uts_finalize may only write "
            "the component's own files (out.file)",
        )
