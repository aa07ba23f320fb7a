"""How a foreign project declares its dependencies, and exact, reversible edits to them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from uts.errors import UtsError

__all__ = [
    "Packaging",
    "add_requirement",
    "detect_packaging",
    "read_pyproject",
    "remove_requirement",
]

# build-backend module -> the tool a user would name
_BACKENDS = {
    "setuptools.build_meta": "setuptools",
    "setuptools.build_meta:__legacy__": "setuptools",
    "hatchling.build": "hatchling",
    "pdm.backend": "pdm",
    "pdm.pep517.api": "pdm",
    "flit_core.buildapi": "flit",
    "poetry.core.masonry.api": "poetry",
    "poetry.masonry.api": "poetry",
    "uv_build": "uv",
    "maturin": "maturin",
}
_LOCKS = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")
_DEV_WORDS = ("dev", "test", "lint", "doc", "ci", "extra")


class Packaging(NamedTuple):
    """Where a project's runtime dependencies are declared, and what else is there."""

    kind: str  # "pep621" ([project]), "poetry" ([tool.poetry.dependencies]) or "requirements"
    backend: str | None  # build backend by tool name; None without [build-system]
    dependency_file: str  # the file uts adds runtime requirements to
    groups: tuple[str, ...] = ()  # other dependency lists (dev, test, ...) by where they are
    lock: str | None = None  # a lock file to regenerate after a dependency changes


def read_pyproject(root: Path) -> dict[str, Any] | None:
    """The parsed ``pyproject.toml`` of *root*, None when there is none."""
    path = root / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UtsError(
            f"{path}: cannot read it: {error}", hint="fix the file's permissions or encoding"
        ) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        line = found.group(1) if found else _tomlkit_line(text)
        where = f"{path}:{line}" if line else str(path)
        reason = re.sub(r"\s*\(at line.*\)$", "", str(error))
        raise UtsError(
            f"{where}: not valid TOML: {reason}",
            hint="fix the file (python -c 'import tomllib' reads it the same way), then rerun",
        ) from error


def _tomlkit_line(text: str) -> str | None:
    """The line tomlkit blames, for the errors tomllib reports without one (end of file)."""
    import tomlkit
    import tomlkit.exceptions

    try:
        tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as error:
        return str(error.line)
    return None


def _backend(data: dict[str, Any]) -> str | None:
    name = data.get("build-system", {}).get("build-backend")
    if not isinstance(name, str):
        return None
    return _BACKENDS.get(name, name)


def _requirement_files(root: Path) -> list[str]:
    return sorted(
        p.name for p in root.glob("requirements*.txt") if p.is_file()
    )  # one directory listing; never walks the tree


def _main_requirements(files: list[str]) -> str | None:
    if "requirements.txt" in files:
        return "requirements.txt"
    runtime = [f for f in files if not any(word in f for word in _DEV_WORDS)]
    return runtime[0] if runtime else None


def detect_packaging(root: Path, data: dict[str, Any] | None) -> Packaging:
    """The packaging of the project at *root* (*data*: its parsed pyproject.toml or None)."""
    data = data or {}
    project = data.get("project")
    poetry = data.get("tool", {}).get("poetry", {})
    backend = _backend(data)
    lock = next((name for name in _LOCKS if (root / name).is_file()), None)
    requirements = _requirement_files(root)
    groups: list[str] = []
    if isinstance(project, dict):
        groups += [
            f"project.optional-dependencies.{g}" for g in project.get("optional-dependencies", {})
        ]
    groups += [f"dependency-groups.{g}" for g in data.get("dependency-groups", {})]
    groups += [f"tool.poetry.group.{g}" for g in poetry.get("group", {})]
    if "dev-dependencies" in poetry:
        groups.append("tool.poetry.dev-dependencies")
    main = _main_requirements(requirements)
    static = isinstance(project, dict) and "dependencies" not in project.get("dynamic", [])
    if static and (
        "dependencies" in (project or {}) or ("dependencies" not in poetry and main is None)
    ):
        others = [f for f in requirements if f != "requirements.txt"]
        return Packaging("pep621", backend, "pyproject.toml", (*groups, *others), lock)
    if isinstance(poetry.get("dependencies"), dict):
        return Packaging("poetry", backend, "pyproject.toml", (*groups, *requirements), lock)
    dynamic = data.get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("dependencies")
    if isinstance(dynamic, dict) and dynamic.get("file"):
        files = dynamic["file"]
        first = files if isinstance(files, str) else files[0]
        rest = [f for f in requirements if f != first]
        return Packaging("requirements", backend, first, (*groups, *rest), lock)
    if main is None:
        raise UtsError(
            f"{root}: no dependencies declared: no [project] or [tool.poetry.dependencies] in "
            "pyproject.toml and no requirements.txt",
            hint="declare the project's dependencies (a requirements.txt will do), then rerun",
        )
    rest = [f for f in requirements if f != main]
    return Packaging("requirements", backend, main, (*groups, *rest), lock)


# ---- edits: each add_* has an exact inverse remove_* -------------------------------------


def add_requirement(kind: str, text: str, requirement: str) -> str:
    """*text* (the dependency file of a *kind* project) declaring *requirement* too.

    A project that already declares the distribution keeps its own line: *text* comes
    back unchanged, and :func:`remove_requirement` will leave that line alone too.
    """
    return _EDITS[kind][0](text, requirement)


def remove_requirement(kind: str, text: str, requirement: str) -> str:
    """Undo :func:`add_requirement`: the exact bytes from before it, other edits kept."""
    return _EDITS[kind][1](text, requirement)


def _name(requirement: str) -> str:
    from uts.pyproject import requirement_name

    return requirement_name(requirement)


# requirements.txt: one line per requirement, appended at the end


def _requirement_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _declared_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        stripped = line.split("#", 1)[0].strip()
        if stripped and not stripped.startswith(("-", "git+", "http", ".", "/")):
            try:
                names.add(_name(stripped))
            except ValueError:
                continue
    return names


def _add_line(text: str, requirement: str) -> str:
    if _name(requirement) in _declared_names(_requirement_lines(text)):
        return text
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith("\n"):
        return f"{text}{newline}{requirement}"  # the file keeps its missing final newline
    return f"{text}{requirement}{newline}"


def _remove_line(text: str, requirement: str) -> str:
    lines = _requirement_lines(text)
    for index, line in enumerate(lines):
        if line.rstrip("\r\n") != requirement:
            continue
        if not line.endswith("\n") and index > 0:  # undo the newline added before it
            lines[index - 1] = lines[index - 1].removesuffix("\n").removesuffix("\r")
        del lines[index]
        return "".join(lines)
    return text


# PEP 621: [project].dependencies, in the array's own style (see uts.pyproject)


def _pep621(text: str, requirement: str, add: bool) -> str:
    import tomlkit

    from uts.pyproject import _array, _delete, _insert, _split_array

    doc = tomlkit.parse(text)
    project = doc.get("project")
    if not add and (project is None or "dependencies" not in project):
        return text
    array = _array(doc, None)
    items, rest = _split_array(array.as_string())
    values = [str(tomlkit.parse(f"x = {item.value}")["x"]) for item in items]
    if add:
        if _name(requirement) in {_name(value) for value in values}:
            return text
        new = _insert(items, rest, requirement)
    else:
        if requirement not in values:
            return text
        new = _delete(items, rest, values.index(requirement))
    doc["project"]["dependencies"] = tomlkit.parse(f"x = {new}")["x"]
    return tomlkit.dumps(doc)


# Poetry 1.x: [tool.poetry.dependencies], a key per distribution, appended like `poetry add`


def _poetry_value(requirement: str) -> Any:
    import tomlkit
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    version = str(parsed.specifier) or "*"
    if not parsed.extras and parsed.marker is None:
        return version
    value = tomlkit.inline_table()
    value["version"] = version
    if parsed.extras:
        value["extras"] = sorted(parsed.extras)
    if parsed.marker is not None:  # markers quote with ": a literal string needs no escapes
        value["markers"] = tomlkit.string(str(parsed.marker), literal="'" not in str(parsed.marker))
    return value


def _poetry_table(text: str) -> tuple[Any, Any]:
    import tomlkit

    doc = tomlkit.parse(text)
    return doc, doc["tool"]["poetry"]["dependencies"]


def _poetry_key(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name


def _poetry_add(text: str, requirement: str) -> str:
    import tomlkit

    doc, table = _poetry_table(text)
    if _name(requirement) in {_name(key) for key in table if key != "python"}:
        return text
    table.add(_poetry_key(requirement), _poetry_value(requirement))
    return _same_end(text, tomlkit.dumps(doc))


def _poetry_remove(text: str, requirement: str) -> str:
    import tomlkit

    doc, table = _poetry_table(text)
    key = _poetry_key(requirement)
    if key not in table or table[key] != _poetry_value(requirement):
        return text  # not what uts wrote: the user's own declaration stays
    del table[key]
    return _same_end(text, tomlkit.dumps(doc))


def _same_end(before: str, after: str) -> str:
    """*after*, ending with a newline only if *before* did (tomlkit adds one after a new key
    appended at the very end, and keeps it when that key is deleted)."""
    if not before.endswith("\n") and after.endswith("\n"):
        return after[:-1].removesuffix("\r")
    return after


_EDITS = {
    "requirements": (_add_line, _remove_line),
    "pep621": (
        lambda text, req: _pep621(text, req, add=True),
        lambda text, req: _pep621(text, req, add=False),
    ),
    "poetry": (_poetry_add, _poetry_remove),
}
