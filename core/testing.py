"""Test uts components with pytest: compose projects, assert files, snapshot, round-trip.

A pytest plugin, loaded automatically wherever uts is installed (entry point ``pytest11``,
name ``uts``; ``-p no:uts`` turns it off). It imports only pytest and the standard
library at start-up; uts itself is imported by the first test that uses a fixture.

Fixtures:

- ``uts_kit`` (:class:`Kit`): ``compose`` a project in memory from a recipe, extra
  components and options, or create it on disk with ``new`` (the real ``uts new``);
  ``run`` any ``uts`` command in-process; ``assert_add_remove_roundtrip``; and
  ``install_and_test``, which installs a generated project in a throwaway virtual
  environment (uv) and runs its own tests.
- ``uts_snapshot`` (:class:`Snapshot`): compare a tree of files with a stored snapshot,
  showing a unified diff on mismatch; ``--uts-update-snapshots`` writes them.

Tests marked ``@pytest.mark.uts_slow`` (those that install a project) are skipped unless
pytest runs with ``--uts-slow`` or the ini option ``uts_slow = true``.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import functools
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from uts.engine import Composition
    from uts.plugin.manager import Registry

__all__ = ["Kit", "Project", "Result", "Snapshot", "read_tree", "render_tree"]

SLOW_MARKER = "uts_slow"
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "htmlcov",
    }
)
"""Directories :func:`read_tree` leaves out: tools' caches, not what uts wrote."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("uts", "uts components")
    group.addoption(
        "--uts-slow",
        action="store_true",
        default=False,
        help="run tests marked uts_slow (they install generated projects and run their tests)",
    )
    group.addoption(
        "--uts-update-snapshots",
        action="store_true",
        default=False,
        help="write uts_snapshot files instead of comparing with them",
    )
    parser.addini("uts_slow", type="bool", default=False, help="run tests marked uts_slow")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SLOW_MARKER}: installs a generated project and runs its tests "
        "(skipped unless --uts-slow)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--uts-slow") or config.getini("uts_slow"):
        return
    skip = pytest.mark.skip(reason="slow (installs a generated project): run with --uts-slow")
    for item in items:
        if item.get_closest_marker(SLOW_MARKER) is not None:
            item.add_marker(skip)


@pytest.fixture
def uts_kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """Compose, create, change and install uts projects (see :class:`Kit`)."""
    return Kit(tmp_path_factory)


@pytest.fixture
def uts_snapshot(request: pytest.FixtureRequest) -> Snapshot:
    """Compare trees of files with snapshots stored next to the test module."""
    path = Path(str(request.node.path))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return Snapshot(
        path.parent / "snapshots" / path.stem,
        name,
        update=bool(request.config.getoption("--uts-update-snapshots")),
    )


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under *root* by posix path, tools' caches and ``*.egg-info`` left out.

    A symbolic link reads as ``-> target``; an executable file's path ends in ``*``
    in :func:`render_tree` (its mode is part of what uts writes).
    """
    files: dict[str, bytes] = {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                files[rel] = b"-> " + os.readlink(path).encode()
            else:
                files[rel] = path.read_bytes()
    return dict(sorted(files.items()))


def render_tree(files: Mapping[str, bytes]) -> str:
    """*files* as one deterministic, reviewable text: a header per file, lines prefixed.

    Text files show every line after ``| ``; a file without a final newline ends with
    ``\\ no newline at end of file``; other files show their size and SHA-256.
    """
    import hashlib

    out: list[str] = []
    for path in sorted(files):
        data = files[path]
        out.append(f"==> {path}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            digest = hashlib.sha256(data).hexdigest()
            out.append(f"(binary: {len(data)} bytes, sha256 {digest})")
            continue
        lines = text.split("\n")
        for line in lines[:-1]:
            out.append(f"| {line}" if line else "|")
        if lines[-1]:
            out.append(f"| {lines[-1]}")
            out.append("\\ no newline at end of file")
    return "\n".join(out) + "\n"


def tree_diff(expected: Mapping[str, bytes], actual: Mapping[str, bytes], label: str) -> str:
    """A unified diff between two trees, only the files that differ."""
    paths = sorted(p for p in {*expected, *actual} if expected.get(p) != actual.get(p))
    before = render_tree({p: expected[p] for p in paths if p in expected})
    after = render_tree({p: actual[p] for p in paths if p in actual})
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"{label} (expected)",
        f"{label} (actual)",
    )
    return "".join(diff)


@dataclass
class Result:
    """What one in-process ``uts`` command did."""

    code: int
    out: str
    err: str

    def check(self, *args: str) -> Result:
        """This result, or a test failure with its output if the command failed."""
        if self.code != 0:
            pytest.fail(
                f"uts {' '.join(args)} exited {self.code}\n{self.out}{self.err}", pytrace=False
            )
        return self


@dataclass
class Project:
    """A generated project: its files (in memory), and its directory once on disk.

    ``files`` maps posix paths to bytes (uts's state under ``.uts/`` included);
    ``owners`` the component that wrote each file and ``fragments`` what every slot
    received, when the project was composed by this kit.
    """

    files: dict[str, bytes]
    owners: dict[str, str] = field(default_factory=dict)
    fragments: Mapping[str, list[Any]] = field(default_factory=dict)
    root: Path | None = None
    composition: Composition | None = None

    def __contains__(self, path: object) -> bool:
        return path in self.files

    def __getitem__(self, path: str) -> bytes:
        return self.files[path]

    def text(self, path: str) -> str:
        """The file at *path* as text (a test failure naming the file if there is none)."""
        if path not in self.files:
            pytest.fail(f"the project has no file {path}{_near(path, self.files)}", pytrace=False)
        return self.files[path].decode("utf-8")

    def owned_by(self, component: str) -> dict[str, bytes]:
        """The files *component* wrote."""
        return {p: data for p, data in self.files.items() if self.owners.get(p) == component}

    def select(self, *patterns: str) -> dict[str, bytes]:
        """The files whose path matches one of *patterns* (fnmatch, ``*`` crosses ``/``)."""
        return {
            p: data
            for p, data in self.files.items()
            if any(fnmatch.fnmatchcase(p, pattern) for pattern in patterns)
        }

    def assert_file(self, path: str, *contains: str, owner: str | None = None) -> str:
        """Assert the file exists, holds every text of *contains*, and (if given) its owner.

        Returns the file's text.
        """
        text = self.text(path)
        missing = [piece for piece in contains if piece not in text]
        if missing:
            pytest.fail(f"{path} lacks {missing!r}; it reads:\n{_numbered(text)}", pytrace=False)
        if owner is not None and self.owners.get(path) != owner:
            pytest.fail(
                f"{path} is written by {self.owners.get(path)!r}, not {owner!r}", pytrace=False
            )
        return text

    def assert_no_file(self, path: str) -> None:
        if path in self.files:
            pytest.fail(f"the project has {path}, which it should not", pytrace=False)

    def assert_fragment(self, slot: str, value: Any = None, **fields: Any) -> Any:
        """Assert *slot* received a fragment equal to *value*, or having every one of *fields*.

        Returns the fragment found.
        """
        if self.composition is None:
            pytest.fail("fragments are known for projects made by uts_kit", pytrace=False)
        received = list(self.fragments.get(slot, []))
        for fragment in received:
            if value is not None and fragment == value:
                return fragment
            if (
                value is None
                and isinstance(fragment, Mapping)
                and all(k in fragment and fragment[k] == v for k, v in fields.items())
            ):
                return fragment
        wanted = value if value is not None else fields
        shown = "\n".join(f"  {f!r}" for f in received) or "  (none)"
        pytest.fail(
            f"no fragment in slot {slot!r} matches {wanted!r}; it has:\n{shown}", pytrace=False
        )

    def check_code(self) -> None:
        """Compile every generated Python file (a syntax error fails, naming the file)."""
        errors = []
        for path, data in self.files.items():
            if path.endswith(".py"):
                try:
                    compile(data, path, "exec", dont_inherit=True)
                except SyntaxError as error:
                    errors.append(f"{path}:{error.lineno}: {error.msg}")
        if errors:
            pytest.fail("\n".join(errors), pytrace=False)


class Snapshot:
    """Trees of files compared with text snapshots in ``snapshots/<module>/<test>.txt``."""

    def __init__(self, directory: Path, name: str, update: bool = False) -> None:
        self.directory = directory
        self.name = name
        self.update = update

    def path(self, name: str | None = None) -> Path:
        return self.directory / f"{self.name}{'-' + name if name else ''}.txt"

    def assert_match(
        self, tree: Mapping[str, bytes] | Project | Path, name: str | None = None
    ) -> None:
        """Assert *tree* (files by path, a project, or a directory) equals its snapshot.

        A mismatch fails with a unified diff; ``--uts-update-snapshots`` writes the
        snapshot instead (review it, and commit it with the test).
        """
        if isinstance(tree, Path):
            files = read_tree(tree)
        elif isinstance(tree, Project):
            files = tree.files
        else:
            files = dict(tree)
        actual = render_tree(files)
        path = self.path(name)
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        if not path.is_file():
            pytest.fail(
                f"no snapshot {path}: run pytest with --uts-update-snapshots to write it",
                pytrace=False,
            )
        expected = path.read_text(encoding="utf-8")
        if expected != actual:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                str(path),
                "actual",
            )
            pytest.fail(
                "the tree differs from its snapshot (--uts-update-snapshots rewrites it):\n"
                + "".join(diff),
                pytrace=False,
            )


class Kit:
    """Make and change uts projects the way users do, for tests of components.

    Components come from the installed distributions (built-ins and entry points), as
    for ``uts`` itself; :meth:`with_plugins` adds plugin objects that are not installed.
    """

    def __init__(
        self, tmp_path_factory: pytest.TempPathFactory, plugins: Mapping[str, object] = {}
    ) -> None:
        self._tmp = tmp_path_factory
        self.plugins = dict(plugins)

    def with_plugins(self, plugins: Mapping[str, object]) -> Kit:
        """A kit that also knows *plugins* (component name to plugin object or module)."""
        return Kit(self._tmp, {**self.plugins, **plugins})

    def registry(self) -> Registry:
        """A registry like the command line's, plus this kit's plugins; load errors raise."""
        from uts.plugin.manager import load_registry

        registry = load_registry(strict=True, lazy=True)
        registry._add(
            (name, "test", functools.partial(_same, plugin), None)
            for name, plugin in self.plugins.items()
        )
        return registry

    def compose(
        self,
        recipe: str = "mvp",
        *,
        with_: Iterable[str] = (),
        without: Iterable[str] = (),
        options: Mapping[str, Mapping[str, Any]] | None = None,
        name: str = "demo",
    ) -> Project:
        """Compose a project in memory, as ``uts new NAME --recipe RECIPE --with ...`` would.

        A uts error (unknown component, bad option, a clash) is raised as it is, for
        ``pytest.raises``.
        """
        from uts.engine import ProjectSpec, compose
        from uts.recipe import find_recipes, load_recipe

        without = list(without)
        registry = self.registry()
        chosen = load_recipe(recipe, find_recipes(lookup=registry.recipes_named))
        merged = {k: dict(v) for k, v in chosen.options.items() if k not in without}
        for component, values in (options or {}).items():
            merged.setdefault(component, {}).update(values)
        spec = ProjectSpec(
            project_name=name,
            recipe=chosen.name,
            components=[*chosen.components, *with_],
            options=merged,
            without=without,
        )
        composition = compose(registry, spec)
        return Project(
            files={path: item.content for path, item in composition.files.items()},
            owners={path: item.owner for path, item in composition.files.items()},
            fragments=composition.fragments,
            composition=composition,
        )

    def run(self, *args: str | Path, cwd: Path | None = None) -> Result:
        """Run ``uts ARGS`` in this process (with this kit's plugins); never raises."""
        import importlib

        from uts.__main__ import main

        # The module uts's entry point will run (not a stale attribute of the package,
        # should something have reloaded it since).
        cli: Any = importlib.import_module("uts.cli")

        argv = [str(arg) for arg in args]
        out, err = io.StringIO(), io.StringIO()
        original = cli._registry
        with contextlib.ExitStack() as stack:
            if self.plugins:
                cli._registry = self._cli_registry
                stack.callback(setattr, cli, "_registry", original)
            if cwd is not None:
                stack.enter_context(contextlib.chdir(cwd))
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            code = main(argv)
        return Result(code, out.getvalue(), err.getvalue())

    def _cli_registry(self) -> Registry:
        return self.registry()

    def new(
        self,
        recipe: str = "mvp",
        *,
        with_: Iterable[str] = (),
        without: Iterable[str] = (),
        options: Mapping[str, Mapping[str, Any]] | None = None,
        name: str = "demo",
        directory: Path | None = None,
    ) -> Project:
        """Create the project on disk with ``uts new`` (in a fresh temporary directory).

        The files on disk are checked to be exactly what :meth:`compose` gives for the
        same inputs (output is deterministic), so ``owners`` and ``fragments`` hold.
        """
        with_, without = list(with_), list(without)
        composed = self.compose(recipe, with_=with_, without=without, options=options, name=name)
        root = directory or self._tmp.mktemp("uts-project") / name
        args = ["new", name, "--recipe", recipe, "--dir", str(root), "--no-input"]
        args += [f"--with={c}" for c in with_] + [f"--without={c}" for c in without]
        args += _sets(options)
        self.run(*args).check(*args)
        on_disk = read_tree(root)
        if on_disk != composed.files:
            pytest.fail(
                "uts new wrote other bytes than the same composition in memory:\n"
                + tree_diff(composed.files, on_disk, name),
                pytrace=False,
            )
        composed.root = root
        return composed

    def add(
        self,
        project: Project | Path,
        *components: str,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Result:
        """``uts add COMPONENTS`` in the project; a failure fails the test with its output."""
        args = ["add", *components, "--no-input", "--project", str(_root(project))]
        args += _sets(options)
        return self.run(*args).check(*args)

    def remove(self, project: Project | Path, *components: str) -> Result:
        """``uts remove COMPONENTS`` in the project; a failure fails the test."""
        args = ["remove", *components, "--project", str(_root(project))]
        return self.run(*args).check(*args)

    def assert_add_remove_roundtrip(
        self,
        component: str,
        *,
        recipe: str = "core",
        with_: Iterable[str] = (),
        options: Mapping[str, Mapping[str, Any]] | None = None,
        add_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Project:
        """Prove ``uts add COMPONENT`` then ``uts remove COMPONENT`` gives back the same bytes.

        On a fresh project from *recipe* (plus *with_*): the add must change the tree,
        a second add must change nothing, and the remove must restore every byte and
        file mode. Returns the project as it was after the add (files read from disk).
        """
        base = self.new(recipe, with_=with_, options=options)
        root = _root(base)
        before = _tree_with_modes(root)
        self.add(root, component, options=add_options)
        added = _tree_with_modes(root)
        if added == before:
            pytest.fail(f"uts add {component} changed nothing", pytrace=False)
        self.add(root, component)
        if (again := _tree_with_modes(root)) != added:
            pytest.fail(
                f"a second uts add {component} changed the project:\n"
                + tree_diff(added, again, "after add"),
                pytrace=False,
            )
        self.remove(root, component)
        after = _tree_with_modes(root)
        if after != before:
            pytest.fail(
                f"uts add {component} then uts remove {component} changed the project:\n"
                + tree_diff(before, after, "project"),
                pytrace=False,
            )
        files = {p.removesuffix(" *"): data for p, data in added.items()}
        return Project(files=files, root=root)

    def install_and_test(
        self,
        project: Project | Path,
        *pytest_args: str,
        extras: Iterable[str] = ("dev",),
        install: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        lint: bool = False,
        allow_skips: bool = False,
        timeout: float = 1800,
    ) -> subprocess.CompletedProcess[str]:
        """Install the project (``-e .[dev]``) in a fresh virtual environment made with uv,
        then run its own ``pytest`` there; a failing step fails the test with its output.

        *install* adds requirements to the same install (a local plugin, say); *env*
        adds environment variables for the tests. With *lint*, ``ruff check`` and ``ruff
        format --check`` must pass too, with the project's own configuration (what the
        files a plugin adds must meet). A skipped test fails it unless *allow_skips*.
        Returns pytest's run. Slow: mark such tests ``uts_slow``.
        """
        root = _root(project)
        venv = self._tmp.mktemp("uts-venv") / "venv"
        uv = _uv()
        _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], timeout=timeout)
        bindir = venv / ("Scripts" if os.name == "nt" else "bin")
        target = f"{root}[{','.join(extras)}]" if extras else str(root)
        python = str(bindir / "python")
        _run(
            [*uv, "pip", "install", "--quiet", "--python", python, "-e", target, *install],
            timeout=timeout,
        )
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "VIRTUAL_ENV", "UTS_", "PYTHONPATH"))
        }
        environment.update(
            PATH=f"{bindir}{os.pathsep}{environment.get('PATH', '')}",
            VIRTUAL_ENV=str(venv),
            PYTHONDONTWRITEBYTECODE="1",
        )
        environment.update(env or {})
        if lint:
            for check in (["check"], ["format", "--check"]):
                _run([python, "-m", "ruff", *check, "--no-cache", "."], cwd=root, env=environment)
        proc = _run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
            cwd=root,
            env=environment,
            timeout=timeout,
        )
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if not allow_skips and re.search(r"\bskipped\b", summary):
            pytest.fail(
                f"the project's tests skipped some ({summary}): a generated project's suite "
                "skips nothing by default (pass allow_skips=True if yours must)\n"
                + proc.stdout[-8000:],
                pytrace=False,
            )
        return proc


def _same(plugin: object) -> object:
    return plugin


def _root(project: Project | Path) -> Path:
    if isinstance(project, Path):
        return project
    if project.root is None:
        pytest.fail("this project is in memory only: make it with uts_kit.new()", pytrace=False)
    return project.root


def _sets(options: Mapping[str, Mapping[str, Any]] | None) -> list[str]:
    sets = []
    for component, values in (options or {}).items():
        for key, value in values.items():
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            sets.append(f"--set={component}.{key}={text}")
    return sets


def _tree_with_modes(root: Path) -> dict[str, bytes]:
    """The tree, an executable file's path marked with `` *`` (its mode counts too)."""
    return {
        (f"{path} *" if os.access(root / path, os.X_OK) else path): data
        for path, data in read_tree(root).items()
    }


def _uv() -> list[str]:
    with contextlib.suppress(ImportError):
        import uv  # noqa: F401

        return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uts_kit.install_and_test needs uv: pip install uv", pytrace=False)
    return [found]


def _run(
    command: list[str],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"command failed ({proc.returncode}): {' '.join(command)}\n"
            f"--- stdout ---\n{proc.stdout[-8000:]}\n--- stderr ---\n{proc.stderr[-8000:]}",
            pytrace=False,
        )
    return proc


def _near(path: str, files: Iterable[str]) -> str:
    close = difflib.get_close_matches(path, list(files), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _numbered(text: str) -> str:
    return "\n".join(f"{n:4} | {line}" for n, line in enumerate(text.splitlines(), 1))
