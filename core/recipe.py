"""Recipes: TOML data naming components and option values, optionally extending another."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from uts.errors import OptionError, RecipeError, decode_utf8
from uts.resolve import resolve, suggest

if TYPE_CHECKING:
    from uts.plugin.manager import Registry

__all__ = [
    "Recipe",
    "RecipeIndex",
    "builtin_recipe_dir",
    "check_recipe",
    "find_recipes",
    "load_recipe",
]

_KEYS = {"name", "description", "extends", "components", "exclude", "options"}
_DECODE_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


class Recipe(NamedTuple):
    """A resolved recipe: its own data merged over what it extends."""

    name: str
    description: str
    components: list[str]
    options: dict[str, dict[str, Any]]
    path: Path | None = None
    source: str = "built-in"
    exclude: tuple[str, ...] = ()
    """Components the recipe excludes (and no recipe extending it lists again)."""
    where: dict[tuple[str, ...], str] = {}  # noqa: RUF012 (a NamedTuple field default, never mutated)
    """``file:line`` each ``("component", name)``, ``("exclude", name)``,
    ``("options", component)`` and ``("option", component, key)`` comes from."""


def builtin_recipe_dir() -> Path:
    import uts_recipes

    return Path(uts_recipes.__file__).parent


class RecipeIndex(Mapping[str, tuple[Path, str]]):
    """Recipe name to (file, source): built-ins first, then those plugins ship.

    The recipes plugins ship are asked for (which imports every plugin) only when the
    whole index is listed. With *lookup*, a name that is not a built-in is asked of
    *lookup(name)* instead, which imports only the plugins that may ship it.
    """

    def __init__(
        self,
        shipped: Iterable[tuple[Path, str]] | Callable[[], Iterable[tuple[Path, str]]],
        lookup: Callable[[str], Iterable[tuple[Path, str]]] | None = None,
    ) -> None:
        self._found = {
            path.stem: (path, "built-in") for path in sorted(builtin_recipe_dir().glob("*.toml"))
        }
        self._shipped: Callable[[], Iterable[tuple[Path, str]]] | None = (
            shipped if callable(shipped) else (lambda: shipped)
        )
        self._lookup = lookup

    def _add(self, shipped: Iterable[tuple[Path, str]]) -> None:
        for path, plugin in shipped:
            self._found.setdefault(path.stem, (path, f"plugin {plugin}"))

    def known(self) -> list[str]:
        """The recipe names found so far, without asking any plugin (for suggestions)."""
        return sorted(self._found)

    def _all(self) -> dict[str, tuple[Path, str]]:
        if self._shipped is not None:
            shipped, self._shipped = self._shipped, None
            self._add(shipped())
        return self._found

    def _find(self, name: str) -> dict[str, tuple[Path, str]]:
        if name in self._found:
            return self._found
        if self._lookup is not None:
            self._add(self._lookup(name))
            return self._found
        return self._all()

    def __getitem__(self, name: str) -> tuple[Path, str]:
        return self._find(name)[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._find(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def find_recipes(
    shipped: Iterable[tuple[Path, str]] | Callable[[], Iterable[tuple[Path, str]]] = (),
    lookup: Callable[[str], Iterable[tuple[Path, str]]] | None = None,
) -> RecipeIndex:
    """Every recipe by name: built-ins, then *shipped* ones (pairs, or a function giving them).

    With *lookup*, a name that is not a built-in is found by *lookup(name)* alone.
    """
    return RecipeIndex(shipped, lookup)


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*(\[[^\]]*\b{re.escape(key)}\b[^\]]*\]|\"?{re.escape(key)}\"?\s*=)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _fail(path: Path, text: str, key: str | None, reason: str, hint: str) -> RecipeError:
    line = _line_of(text, key) if key else None
    where = f"{path}:{line}" if line else str(path)
    return RecipeError(f"{where}: {reason}", hint=hint)


def _at(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _name_line(text: str, key: str, name: str) -> int | None:
    """The line of *name* (quoted) in the list under *key*, else the line of *key*."""
    start = _line_of(text, key)
    quoted = re.compile(rf"""["']{re.escape(name)}["']""")
    for number, line in enumerate(text.splitlines()[(start or 1) - 1 :], start=start or 1):
        if quoted.search(line):
            return number
    return start


def _option_lines(
    text: str, component: str, keys: Iterable[str]
) -> tuple[int | None, dict[str, int]]:
    """The line of ``[options.COMPONENT]`` and of each of its *keys* under it."""
    header = re.compile(rf"""^\s*\[\s*options\s*\.\s*["']?{re.escape(component)}["']?\s*\]""")
    wanted = set(keys)
    found: dict[str, int] = {}
    table: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            table = number
        elif table is not None and line.lstrip().startswith("["):
            break
        elif table is not None:
            key = line.partition("=")[0].strip().strip("\"'")
            if key in wanted and key not in found:
                found[key] = number
    return table or _line_of(text, "options"), found


def _read(path: Path) -> tuple[dict[str, Any], str]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecipeError(
            f"cannot read recipe {path}: {error.strerror}", hint="check the path and permissions"
        ) from error
    hint = "TOML files are UTF-8: save the recipe as UTF-8 and run again"
    text = decode_utf8(data, f"{path}:{{line}}", RecipeError, hint)
    try:
        return tomllib.loads(text), text
    except RecursionError:
        raise RecipeError(
            f"{path}: arrays or tables nested too deeply to read",
            hint="a recipe names components and option values: flatten it",
        ) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _DECODE_POSITION.search(message)
        reason = _DECODE_POSITION.sub("", message).replace("(at end of document)", "").strip()
        if match:
            where = f"{path}:{match.group(1)}:{match.group(2)}"
        else:  # "at end of document": point at the last line
            where = f"{path}:{max(1, len(text.splitlines()))}"
        raise RecipeError(
            f"{where}: malformed TOML: {reason}", hint="fix the recipe file and run again"
        ) from error


def _check(path: Path, text: str, data: dict[str, Any]) -> None:
    for key in data:
        if key not in _KEYS:
            raise _fail(path, text, key, f"unknown key {key!r}", suggest(key, _KEYS))
    for key in ("name", "description", "extends"):
        if key in data and not isinstance(data[key], str):
            raise _fail(path, text, key, f"{key!r} must be a string", f'write {key} = "..."')
    for key in ("components", "exclude"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _fail(
                path,
                text,
                key,
                f"{key!r} must be a list of component names",
                f'write {key} = ["a", "b"]',
            )
    options = data.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise _fail(
            path,
            text,
            "options",
            "'options' must hold one table per component",
            "write [options.COMPONENT] followed by OPTION = VALUE lines",
        )


def load_recipe(
    ref: str, available: Mapping[str, tuple[Path, str]], _seen: tuple[Path, ...] = ()
) -> Recipe:
    """Load recipe *ref*: a known recipe name, or a path to a TOML file."""
    path, source = _locate(ref, available, _seen[-1].parent if _seen else None)
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise RecipeError(f"recipe extends itself: {chain}", hint="remove one 'extends'")
    data, text = _read(path)
    _check(path, text, data)
    options = {name: dict(values) for name, values in data.get("options", {}).items()}
    components = list(data.get("components", []))
    where: dict[tuple[str, ...], str] = {}
    for name in components:
        where["component", name] = _at(path, _name_line(text, "components", name))
    for name, values in options.items():
        table, lines = _option_lines(text, name, values)
        where["options", name] = _at(path, table)
        for key in values:
            where["option", name, key] = _at(path, lines.get(key, table))
    excluded = list(dict.fromkeys(data.get("exclude", [])))
    if "extends" in data:
        base = load_recipe(data["extends"], available, (*_seen, path))
        merged = {name: dict(values) for name, values in base.options.items()}
        for name, values in options.items():
            merged.setdefault(name, {}).update(values)
        options = merged
        components = [*base.components, *(c for c in components if c not in base.components)]
        where = {**base.where, **where}
        # What the base excludes stays out unless this recipe lists it again.
        excluded = [*(c for c in base.exclude if c not in components), *excluded]
    for name in data.get("exclude", []):
        where["exclude", name] = _at(path, _name_line(text, "exclude", name))
    components = [c for c in dict.fromkeys(components) if c not in excluded]
    options = {name: values for name, values in options.items() if name not in excluded}
    return Recipe(
        name=data.get("name", path.stem),
        description=data.get("description", ""),
        components=components,
        options=options,
        path=path,
        source=source,
        exclude=tuple(dict.fromkeys(excluded)),
        where=where,
    )


def check_recipe(
    recipe: Recipe,
    registry: Registry,
    with_: Iterable[str] = (),
    without: Iterable[str] = (),
    sets: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Refuse, naming the recipe's file and line, what the command line would refuse.

    An unknown component, in ``components`` or ``exclude``; an ``exclude`` of a component
    another one requires; an option value a component refuses or options for a component
    that is not in the project. *with_*, *without* and *sets* are the command line's
    additions: a component it adds back or drops, and an option it sets, are its own.
    """
    names = registry.names()
    with_, without, sets = list(with_), list(without), sets or {}
    for kind in ("component", "exclude"):
        listed = recipe.components if kind == "component" else recipe.exclude
        for name in listed:
            if name not in names:
                error = registry.unknown(name)
                what = "exclude names " if kind == "exclude" and "unknown" in error.message else ""
                error.message = f"{recipe.where[kind, name]}: {what}{error.message}"
                raise error
    removed = {
        name: f"the recipe's exclude removes ({recipe.where['exclude', name]})"
        for name in recipe.exclude
        if name not in with_
    }
    removed.update({name: "--without removes" for name in without})
    resolution = resolve(
        registry.metadata, [*recipe.components, *with_], list(removed), registry.unknown, removed
    )
    for name, values in recipe.options.items():
        if name in without:
            continue  # its values go with it
        if name not in resolution.order:
            hint = "add it to the recipe's components, or drop its options"
            if name not in names:
                hint = suggest(name, names)
            raise OptionError(
                f"{recipe.where['options', name]}: options given for {name!r}, which is not "
                "part of this project",
                hint=hint,
            )
        component = registry.metadata[name]
        for key, value in values.items():
            if key in sets.get(name, {}):
                continue  # the command line's value replaces it
            try:
                option = component.option(key)
                if option is None:
                    known = [option.name for option in component.options]
                    raise OptionError(
                        f"component {name!r} has no option {key!r}",
                        hint=suggest(key, known) if known else f"{name!r} takes no options",
                    )
                option.coerce(value, name)
            except OptionError as error:
                error.message = f"{recipe.where['option', name, key]}: {error.message}"
                if error.hint and "--set" in error.hint:  # the value is the recipe's
                    error.hint = f"fix {key} under [options.{name}] in the recipe"
                raise


def _locate(
    ref: str, available: Mapping[str, tuple[Path, str]], relative_to: Path | None
) -> tuple[Path, str]:
    looks_like_path = ref.endswith(".toml") or "/" in ref or "\\" in ref
    if looks_like_path:
        path = Path(ref)
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        if not path.is_file():
            raise RecipeError(f"recipe file {ref} does not exist", hint="check the path")
        return path, "file"
    if ref in available:
        return available[ref]
    # Suggest from the names known without importing plugins: a typo must not run them.
    known = available.known() if isinstance(available, RecipeIndex) else available
    raise RecipeError(
        f"unknown recipe {ref!r}", hint=suggest(ref, known) + " (uts recipes lists them)"
    )
