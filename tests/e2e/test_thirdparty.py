"""A real third-party plugin distribution, and a broken one, installed next to uts in a fresh venv."""

from __future__ import annotations

import json
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, copy_source, make_venv, run
from uts import __version__

PLUGIN_DIST = "uts-shout"
PLUGIN_VERSION = "1.2.3"
BROKEN_DIST = "uts-broken-plugin"
BROKEN_NAME = "broken"
BROKEN_MESSAGE = "uts-broken-plugin cannot start"


def plugin_pyproject(dist: str, version: str, component: str, package: str) -> str:
    """The pyproject.toml of a plugin distribution shipping one component and its templates."""
    return f"""\
[build-system]
requires = ["setuptools>=75"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "{version}"
requires-python = ">=3.11"
dependencies = ["uts"]

[project.entry-points."uts.components"]
{component} = "{package}"

[tool.setuptools]
packages = ["{package}"]

[tool.setuptools.package-data]
{package} = ["templates/**/*"]
"""


PLUGIN_PYPROJECT = plugin_pyproject(PLUGIN_DIST, PLUGIN_VERSION, "shout", "uts_shout")

PLUGIN_MODULE = '''\
"""A third-party uts component that shouts."""

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name="shout",
        version="0.4.0",
        summary="Says it loudly.",
        options=(Option("word", default="hello", help="What to shout."),),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.file("SHOUT.txt", ctx.options("shout")["word"].upper() + "!\\n")
'''

PLUGIN_TEMPLATE = 'WORD = "{{ options.word }}"\nPACKAGE = "{{ package }}"\n'

BROKEN_PYPROJECT = f"""\
[build-system]
requires = ["setuptools>=75"]
build-backend = "setuptools.build_meta"

[project]
name = "{BROKEN_DIST}"
version = "0.1.0"

[project.entry-points."uts.components"]
{BROKEN_NAME} = "uts_broken_plugin"

[tool.setuptools]
py-modules = ["uts_broken_plugin"]
"""


@dataclass(frozen=True)
class Installed:
    """A venv holding uts (non-editable), the shout plugin and the broken plugin."""

    bindir: Path
    work: Path

    def uts(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
        return run(
            [self.bindir / "uts", *args],
            cwd=self.work,
            env=clean_env(self.bindir, XDG_CACHE_HOME=str(self.work / "cache"), **env),
            check=False,
        )


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_plugin(root: Path) -> Path:
    write(root / "pyproject.toml", PLUGIN_PYPROJECT)
    write(root / "uts_shout" / "__init__.py", PLUGIN_MODULE)
    write(root / "uts_shout" / "templates" / "{{ package }}" / "shout.py.jinja", PLUGIN_TEMPLATE)
    return root


def write_broken(root: Path) -> Path:
    write(root / "pyproject.toml", BROKEN_PYPROJECT)
    write(root / "uts_broken_plugin.py", f"raise RuntimeError({BROKEN_MESSAGE!r})\n")
    return root


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("thirdparty")
    source = tmp / "uts-src"  # a clean copy, so builds never touch (or reuse) the shared checkout
    copy_source(source)
    plugin = write_plugin(tmp / "plugin")
    broken = write_broken(tmp / "broken")
    bindir = make_venv(tmp / "venv", str(source), str(plugin), str(broken))
    work = tmp / "work"
    work.mkdir()
    return Installed(bindir, work)


def test_version(installed: Installed) -> None:
    result = installed.uts("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"uts {__version__}\n"


def test_plugin_is_a_real_install_outside_its_source(installed: Installed) -> None:
    code = "import uts_shout, uts; print(uts_shout.__file__); print(uts.__file__)"
    result = run(
        [installed.bindir / "python", "-c", code],
        cwd=installed.work,
        env=clean_env(installed.bindir),
    )
    venv = installed.bindir.parent
    for module_file in result.stdout.split():
        assert Path(module_file).is_relative_to(venv), module_file
    templates = Path(result.stdout.split()[0]).parent / "templates"
    assert (templates / "{{ package }}" / "shout.py.jinja").read_text() == PLUGIN_TEMPLATE


def test_list_shows_the_plugin_and_names_the_broken_one(installed: Installed) -> None:
    result = installed.uts("list")
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.split()[:1] == ["shout"]]
    assert row.split()[1] == "0.4.0"
    assert f"{PLUGIN_DIST} {PLUGIN_VERSION}" in row
    assert "project" in result.stdout and "built-in" in result.stdout
    assert f"{BROKEN_NAME} ({BROKEN_DIST} 0.1.0): RuntimeError: {BROKEN_MESSAGE}" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_json_reports_the_error(installed: Installed) -> None:
    result = installed.uts("list", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    shout = next(c for c in data["components"] if c["name"] == "shout")
    assert shout["source"] == f"{PLUGIN_DIST} {PLUGIN_VERSION}"
    assert data["errors"] == [
        {
            "name": BROKEN_NAME,
            "source": f"{BROKEN_DIST} 0.1.0",
            "error": f"RuntimeError: {BROKEN_MESSAGE}",
        }
    ]


def test_new_with_the_plugin_renders_its_templates(installed: Installed) -> None:
    target = installed.work / "D"
    result = installed.uts(
        "new",
        "demo",
        "--recipe",
        "mvp",
        "--with",
        "shout",
        "--set",
        "shout.word=x",
        "--dir",
        target,
    )
    assert result.returncode == 0, result.stderr
    assert (target / "demo" / "shout.py").read_text() == 'WORD = "x"\nPACKAGE = "demo"\n'
    assert (target / "SHOUT.txt").read_text() == "X!\n"
    state = tomllib.loads((target / ".uts/components/shout.toml").read_text())
    # The distribution that provided the component is recorded with its version.
    assert state["provider"] == f"{PLUGIN_DIST} {PLUGIN_VERSION}"
    assert state["version"] == "0.4.0" and state["options"] == {"word": "x"}
    assert "demo/shout.py" in state["files"]
    assert "[tool.uts" not in (target / "pyproject.toml").read_text()


def test_strict_mode_fails_on_the_broken_plugin(installed: Installed) -> None:
    result = installed.uts("list", UTS_STRICT_PLUGINS="1")
    assert result.returncode == 6
    assert f"plugin {BROKEN_NAME!r} ({BROKEN_DIST} 0.1.0) failed to load" in result.stderr
    assert BROKEN_MESSAGE in result.stderr
    assert f"UTS_BLOCK_PLUGINS={BROKEN_NAME}" in result.stderr  # the hint
    assert "Traceback" not in result.stderr


def test_blocking_the_broken_plugin_silences_it(installed: Installed) -> None:
    result = installed.uts("list", UTS_BLOCK_PLUGINS=BROKEN_NAME)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "shout" in result.stdout
    strict = installed.uts("list", UTS_BLOCK_PLUGINS=BROKEN_NAME, UTS_STRICT_PLUGINS="1")
    assert strict.returncode == 0, strict.stderr


def test_a_typo_is_answered_without_importing_any_plugin(installed: Installed) -> None:
    # Strict mode turns importing the broken plugin into exit 6: a typo must not import it.
    project = installed.work / "typo"
    made = installed.uts("new", "demo", "--dir", project, UTS_STRICT_PLUGINS="1")
    assert made.returncode == 0, made.stderr
    typos = [
        (["add", "monitorin", "--project", str(project)], 3, "did you mean 'monitoring'"),
        (["new", "x", "--dir", str(installed.work / "x"), "--with", "shou"], 3, "'shout'"),
        (["info", "monitorin"], 3, "did you mean 'monitoring'"),
        (["new", "x", "--dir", str(installed.work / "x"), "--recipe", "ful"], 5, "'full'"),
    ]
    for args, code, hint in typos:
        result = installed.uts(*args, UTS_STRICT_PLUGINS="1")
        assert result.returncode == code, (args, result.stderr)
        assert hint in result.stderr
        assert BROKEN_NAME not in result.stderr and "Traceback" not in result.stderr
