"""Recipes: TOML data naming components and option values, optionally extending another."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from uts.errors import RecipeError, decode_utf8
from uts.resolve import suggest

__all__ = ["Recipe", "RecipeIndex", "builtin_recipe_dir", "find_recipes", "load_recipe"]

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
        self._shipped = shipped if callable(shipped) else (lambda: shipped)
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
    if "extends" in data:
        base = load_recipe(data["extends"], available, (*_seen, path))
        merged = {name: dict(values) for name, values in base.options.items()}
        for name, values in options.items():
            merged.setdefault(name, {}).update(values)
        options = merged
        components = [*base.components, *(c for c in components if c not in base.components)]
    excluded = set(data.get("exclude", []))
    components = [c for c in dict.fromkeys(components) if c not in excluded]
    options = {name: values for name, values in options.items() if name not in excluded}
    return Recipe(
        name=data.get("name", path.stem),
        description=data.get("description", ""),
        components=components,
        options=options,
        path=path,
        source=source,
    )


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
