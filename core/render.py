"""Render a component's template directory into project-relative files."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from uts.errors import RenderError
from uts.model import GeneratedFile

__all__ = ["check_relative", "render_templates", "template_files"]

TEMPLATE_SUFFIX = ".jinja"
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def template_files(root: Path) -> list[str]:
    """Every template file under *root*, as sorted POSIX paths relative to it."""
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel = Path(directory).relative_to(root)
        for filename in filenames:
            if Path(filename).suffix not in _SKIP_SUFFIXES:
                found.append((rel / filename).as_posix())
    return sorted(found)


def check_relative(path: str, origin: str) -> str:
    """Return *path* normalised, refusing absolute paths, ``..`` and empty segments."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        raise RenderError(
            f"{origin}: output path {path!r} is absolute", hint="write inside the project"
        )
    parts = pure.parts
    if not parts or any(part in ("", ".", "..") for part in parts):
        raise RenderError(
            f"{origin}: output path {path!r} leaves the project or is empty",
            hint="template paths must stay inside the project",
        )
    return pure.as_posix()


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates cached per user; compiling dominates rendering otherwise."""
    if os.environ.get("UTS_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "uts", "jinja")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(directory)


def _environment(root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )


def render_templates(root: Path, owner: str, variables: dict[str, Any]) -> dict[str, GeneratedFile]:
    """Render every file under *root* for component *owner*."""
    env = _environment(root)
    out: dict[str, GeneratedFile] = {}
    segments: dict[str, str] = {}
    for rel in template_files(root):
        where = f"component {owner!r}, template {rel}"
        target = _render_path(env, rel, variables, where, segments)
        source = root / rel
        executable = bool(source.stat().st_mode & 0o111)
        if target.endswith(TEMPLATE_SUFFIX):
            target = target[: -len(TEMPLATE_SUFFIX)]
            text = _render(lambda rel=rel: env.get_template(rel).render(variables), where)
            data = text.replace("\r\n", "\n").encode("utf-8")
        else:
            data = source.read_bytes()
        target = check_relative(target, where)
        if target in out:
            raise RenderError(f"{where}: two templates render to {target}")
        out[target] = GeneratedFile(data, owner, executable)
    return out


def _render_path(
    env: jinja2.Environment, rel: str, variables: dict[str, Any], where: str, cache: dict[str, str]
) -> str:
    """Render the Jinja expressions in *rel*, each distinct segment once per *cache*."""
    if "{" not in rel:
        return rel
    parts = []
    for part in rel.split("/"):
        if "{" in part and part not in cache:
            cache[part] = _render(lambda part=part: env.from_string(part).render(variables), where)
        parts.append(cache.get(part, part))
    return "/".join(parts)


def _render(render: Any, where: str) -> str:
    try:
        return str(render())
    except jinja2.UndefinedError as error:
        raise RenderError(
            f"{where}: undefined variable: {error.message}",
            hint="the template uses a name the context does not define",
        ) from error
    except jinja2.TemplateSyntaxError as error:
        raise RenderError(f"{where}, line {error.lineno}: {error.message}") from error
    except jinja2.TemplateError as error:
        raise RenderError(f"{where}: {error}") from error
