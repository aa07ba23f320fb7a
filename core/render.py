"""Render a component's template directory into project-relative files.

Compiling Jinja templates costs far more than rendering them, so every template
directory keeps its compiled code in one cache file (see :class:`TemplateCache`).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2

from uts import __version__
from uts.cache import cache_dir, store
from uts.errors import PluginError, RenderError, decode_utf8
from uts.escape import FILTERS, EscapeError
from uts.model import GeneratedFile, TemplateHelpers, refuse_state_path

__all__ = [
    "TemplateCache",
    "check_relative",
    "merge_helpers",
    "render_templates",
    "template_files",
]

TEMPLATE_SUFFIX = ".jinja"
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEEP = 64  # cache files: one per template directory (per component, per installation)
_ENV_SETTINGS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "keep_trailing_newline": True,
    "autoescape": False,
}
# Everything compiled code depends on besides the source: a change to any of it
# invalidates every cache file.
_CACHE_HEADER = repr(
    (
        "uts-templates",
        1,
        __version__,
        jinja2.__version__,
        sys.version,
        sorted(map(str, _ENV_SETTINGS.items())),
        sorted(FILTERS),
    )
)


def _walk(root: str, rel: str, found: list[tuple[str, os.stat_result]]) -> None:
    with os.scandir(os.path.join(root, rel) if rel else root) as entries:
        items = sorted(entries, key=lambda entry: entry.name)
    for entry in items:
        path = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir():
            if entry.name not in _SKIP_DIRS:
                _walk(root, path, found)
        elif not entry.name.endswith(_SKIP_SUFFIXES):
            found.append((path, entry.stat()))


def _template_stats(root: Path) -> list[tuple[str, os.stat_result]]:
    found: list[tuple[str, os.stat_result]] = []
    _walk(str(root), "", found)
    return sorted(found)


def _checked_stats(root: Path, owner: str) -> list[tuple[str, os.stat_result]]:
    """:func:`_template_stats`, with a missing or unreadable directory as a RenderError."""
    hint = f"the plugin {owner!r} declares templates it does not ship; reinstall or fix it"
    try:
        return _template_stats(root)
    except (FileNotFoundError, NotADirectoryError):
        raise RenderError(
            f"component {owner!r}: templates directory {root} does not exist", hint=hint
        ) from None
    except OSError as error:
        raise RenderError(
            f"component {owner!r}: cannot read templates in {root}: {error.strerror}", hint=hint
        ) from error


def template_files(root: Path, owner: str = "?") -> list[str]:
    """Every template file under *root*, as sorted POSIX paths relative to it.

    A missing or unreadable *root* is a :class:`RenderError` naming component *owner*.
    """
    return [rel for rel, _ in _checked_stats(root, owner)]


def check_relative(path: str, origin: str) -> str:
    """Return *path* normalised, refusing absolute paths, ``..`` and empty segments."""
    posix = path.replace("\\", "/")
    if _CONTROL.search(path):
        # A NUL cannot be in a file name at all; the others would reach terminals and scripts.
        raise RenderError(
            f"{origin}: output path {path!r} contains a control character",
            hint="file names must be printable text",
        )
    if posix.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise RenderError(
            f"{origin}: output path {path!r} is absolute", hint="write inside the project"
        )
    # As PurePosixPath would: drop "." segments and repeated or trailing slashes.
    parts = [part for part in posix.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise RenderError(
            f"{origin}: output path {path!r} leaves the project or is empty",
            hint="template paths must stay inside the project",
        )
    refuse_state_path("/".join(parts), origin)
    return "/".join(parts)


class TemplateCache:
    """The compiled code of one template directory, kept in one file between runs.

    An entry is reused while its source has the same size and ``st_mtime_ns`` (the
    check Python itself makes for ``.pyc`` files, at finer resolution); the file is
    dropped whole when uts, Jinja or Python change. Without a writable cache
    directory (or with ``UTS_NO_CACHE=1``) everything is compiled in memory.
    """

    def __init__(self, root: Path, names: Iterable[str] = ()) -> None:
        directory = cache_dir("templates")
        # Code compiled with plugins' helpers is kept apart (see _compiled_with).
        source = os.fsencode(os.path.abspath(root))
        extra = sorted(names)
        if extra:
            source += b"\0" + ",".join(extra).encode()
        key = hashlib.sha256(source).hexdigest()[:32]
        self.path = os.path.join(directory, f"{key}.bin") if directory else None
        self.entries: dict[str, tuple[int, int, CodeType]] = {}
        self.dirty = False
        if self.path:
            with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
                with open(self.path, "rb") as handle:
                    # marshal.load() on a file reads object by object: 10x slower.
                    header, entries = marshal.loads(handle.read())
                if header == _CACHE_HEADER and isinstance(entries, dict):
                    self.entries = entries

    def code(self, key: str, size: int, mtime: int, compile: Callable[[], CodeType]) -> CodeType:
        """The code for *key*, compiled with *compile* unless cached for (*size*, *mtime*)."""
        entry = self.entries.get(key)
        if entry is not None and entry[0] == size and entry[1] == mtime:
            return entry[2]
        code = compile()
        self.entries[key] = (size, mtime, code)
        self.dirty = True
        return code

    def save(self, keep: set[str]) -> None:
        """Write the cache if anything was compiled, keeping only the keys in *keep*."""
        if not (self.path and (self.dirty or keep != self.entries.keys())):
            return
        entries = {key: value for key, value in self.entries.items() if key in keep}
        store(self.path, marshal.dumps((_CACHE_HEADER, entries)), keep=_KEEP)


class _Loader(jinja2.BaseLoader):
    """Loads templates of one directory through a :class:`TemplateCache`."""

    def __init__(self, root: Path, stats: dict[str, os.stat_result], cache: TemplateCache) -> None:
        self.root = root
        self.stats = stats
        self.cache = cache
        self.globals: dict[str, Any] | None = None

    def load(
        self,
        environment: jinja2.Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        info = self.stats.get(name)
        if info is None:
            raise jinja2.TemplateNotFound(name)
        filename = os.path.join(self.root, name)

        def compile_source() -> CodeType:
            with open(filename, "rb") as handle:
                data = handle.read()
            hint = "save the template as UTF-8, or drop its .jinja suffix to copy it as is"
            source = decode_utf8(data, f"template {name}, line {{line}}", RenderError, hint)
            return environment.compile(source, name, filename)

        code = self.cache.code(name, info.st_size, info.st_mtime_ns, compile_source)
        if globals is None:  # render_templates: one plain dict for every template, as
            # copying the ChainMap jinja passes (make_globals) into each context is slow
            if self.globals is None:
                self.globals = dict(environment.globals)
            globals = self.globals
        return environment.template_class.from_code(environment, code, globals, lambda: True)


_FILTER_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", re.ASCII)
_GLOBAL_NAME = re.compile(r"[A-Za-z_]\w*", re.ASCII)


def merge_helpers(given: Iterable[tuple[str, Any]], variables: Iterable[str]) -> TemplateHelpers:
    """One set of helpers from each component's ``uts_template_helpers`` result.

    *given* pairs a component with what its hook returned; *variables* are the names
    templates get as variables. A name is one component's: a name given twice, or
    taken by uts's filters, Jinja's built-ins or a template variable, is an error.
    """
    from jinja2.defaults import DEFAULT_NAMESPACE
    from jinja2.filters import FILTERS as DEFAULT_FILTERS
    from jinja2.tests import TESTS as DEFAULT_TESTS

    taken: dict[tuple[str, str], str] = {}
    for name in DEFAULT_FILTERS:
        taken["filter", name] = "a Jinja built-in filter"
    for name in FILTERS:
        taken["filter", name] = "one of uts's own filters"
    for name in DEFAULT_TESTS:
        taken["test", name] = "a Jinja built-in test"
    for name in DEFAULT_NAMESPACE:
        taken["global", name] = "a Jinja built-in global"
    for name in variables:
        taken["global", name] = "a template variable of uts"
    filters: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    globals_: dict[str, Any] = {}
    for owner, result in given:
        if result is None:
            continue
        if not isinstance(result, TemplateHelpers):
            raise PluginError(
                f"component {owner!r}: uts_template_helpers returned "
                f"{type(result).__name__}, not TemplateHelpers",
                hint="return uts.plugin.TemplateHelpers(filters=..., tests=..., globals=...)",
            )
        for kind, names, into, pattern in (
            ("filter", result.filters, filters, _FILTER_NAME),
            ("test", result.tests, tests, _FILTER_NAME),
            ("global", result.globals, globals_, _GLOBAL_NAME),
        ):
            for name, value in names.items():
                if not isinstance(name, str) or not pattern.fullmatch(name):
                    raise PluginError(
                        f"component {owner!r}: template {kind} name {name!r} is not a name "
                        "templates can use",
                        hint="use letters, digits and underscores"
                        + (" (dots to namespace it)" if kind != "global" else ""),
                    )
                if kind != "global" and not callable(value):
                    raise PluginError(
                        f"component {owner!r}: template {kind} {name!r} is not callable",
                        hint="give a function",
                    )
                other = taken.get((kind, name))
                if other is not None:
                    raise _clash(owner, other, kind, name)
                taken[kind, name] = owner
                into[name] = value
    return TemplateHelpers(filters=filters, tests=tests, globals=globals_)


def _clash(owner: str, other: str, kind: str, name: str) -> RenderError:
    if " " in other:  # uts's or Jinja's own
        return RenderError(
            f"component {owner!r} gives template {kind} {name!r}, which is {other}",
            hint=f"rename it, e.g. {owner.replace('-', '_')}_{name}",
        )
    return RenderError(
        f"components {other!r} and {owner!r} both give template {kind} {name!r}",
        hint="a helper name belongs to one component: rename one of them",
    )


def _compiled_with(helpers: TemplateHelpers) -> list[str]:
    """What of *helpers* the compiled code depends on: the filters' and tests' names, and
    whether each asks for the context (``pass_context``), which Jinja decides at compile
    time."""
    return [
        f"{kind}:{name}:{getattr(function, 'jinja_pass_arg', '')}"
        for kind, functions in (("filter", helpers.filters), ("test", helpers.tests))
        for name, function in functions.items()
    ]


def render_templates(
    root: Path,
    owner: str,
    variables: dict[str, Any],
    helpers: TemplateHelpers | None = None,
) -> dict[str, GeneratedFile]:
    """Render every file under *root* for component *owner*, with plugins' *helpers*."""
    helpers = helpers or TemplateHelpers()
    stats = _checked_stats(root, owner)
    cache = TemplateCache(root, _compiled_with(helpers))
    loader = _Loader(root, dict(stats), cache)
    env = jinja2.Environment(loader=loader, **_ENV_SETTINGS)
    env.filters.update(FILTERS)
    env.filters.update(helpers.filters)
    env.tests.update(helpers.tests)
    env.globals.update(helpers.globals)
    out: dict[str, GeneratedFile] = {}
    segments: dict[str, str] = {}
    used: set[str] = set()
    try:
        for rel, info in stats:
            where = f"component {owner!r}, template {rel}"
            target = _render_path(env, cache, rel, variables, where, segments)
            if target.endswith(TEMPLATE_SUFFIX):
                target = target[: -len(TEMPLATE_SUFFIX)]
                used.add(rel)
                # Straight from the loader: each template renders once, so jinja's
                # template cache (env.get_template, still used by includes) buys nothing.
                text = _render(lambda rel=rel: loader.load(env, rel).render(variables), where)
                data = text.replace("\r\n", "\n").encode("utf-8")
            else:
                data = _read_verbatim(os.path.join(root, rel), where)
            target = check_relative(target, where)
            if target in out:
                raise RenderError(f"{where}: two templates render to {target}")
            out[target] = GeneratedFile(data, owner, bool(stat.S_IMODE(info.st_mode) & 0o111))
    finally:
        cache.save(used | {f"/{part}" for part in segments})
    return out


def _render_path(
    env: jinja2.Environment,
    cache: TemplateCache,
    rel: str,
    variables: dict[str, Any],
    where: str,
    rendered: dict[str, str],
) -> str:
    """Render the Jinja expressions in *rel*, each distinct segment once per *rendered*."""
    if "{" not in rel:
        return rel
    parts = []
    for part in rel.split("/"):
        if "{" in part and part not in rendered:

            def render(part: str = part) -> str:
                # Cached under "/segment": no template path starts with a slash.
                code = cache.code(f"/{part}", 0, 0, lambda: env.compile(part, where))
                template = env.template_class.from_code(env, code, env.globals, None)
                return template.render(variables)

            rendered[part] = _render(render, where)
        part = rendered.get(part, part)
        if part:  # a segment that renders empty ({{ host.package_dir }} at the top) goes
            parts.append(part)
    return "/".join(parts)


def _read_verbatim(path: str, where: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise RenderError(
            f"{where}: cannot read it: {error.strerror}", hint="reinstall or fix the plugin"
        ) from error


def _template_line(error: BaseException) -> str:
    """ ", line N" of the innermost template frame of *error*'s traceback, if any.

    Jinja rewrites tracebacks so that template code shows as frames of the template's
    own file and line.
    """
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename.endswith(TEMPLATE_SUFFIX):
            line = trace.tb_lineno
        trace = trace.tb_next
    return f", line {line}" if line else ""


def _render(render: Any, where: str) -> str:
    try:
        return str(render())
    except RenderError as error:
        if where not in error.message:
            error.message = f"{where}: {error.message}"
        raise
    except jinja2.UndefinedError as error:
        raise RenderError(
            f"{where}: undefined variable: {error.message}",
            hint="the template uses a name the context does not define",
        ) from error
    except jinja2.TemplateSyntaxError as error:
        raise RenderError(f"{where}, line {error.lineno}: {error.message}") from error
    except (jinja2.TemplateError, EscapeError) as error:
        raise RenderError(f"{where}: {error}") from error
    except Exception as error:  # a template's own expression failed: {{ 1 // 0 }}, ...
        raise RenderError(
            f"{where}{_template_line(error)}: {type(error).__name__}: {error}",
            hint="this is a bug in the template; --debug shows the traceback",
        ) from error
