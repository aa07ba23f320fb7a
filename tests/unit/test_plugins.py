"""Plugin loading: entry points, isolation of broken plugins, env switches, fast startup."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Result
from uts.errors import PluginError
from uts.plugin import discovery
from uts.plugin.manager import load_registry

GOOD = """
from uts.plugin import Component, Option, impl

@impl
def uts_component():
    return Component(name="{name}", version="9.9", summary="A third-party component.",
                     options=(Option("flavour", default="plain"),))

@impl
def uts_contribute(ctx, out):
    out.file("{name}.txt", "made by {name} " + ctx.options("{name}")["flavour"] + "\\n")
"""


def fake_distribution(site: Path, dist: str, plugins: dict[str, str]) -> None:
    """Make *site* look like an installed distribution exposing *plugins* as entry points."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"  # as installers name it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = ["[uts.components]"] + [f"{name} = {module}" for name, module in plugins.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in list(sys.modules):
        if name.startswith("uts_test_"):
            del sys.modules[name]


def add_plugin(site: Path, dist: str, name: str, source: str) -> None:
    module = f"uts_test_{name}"
    (site / f"{module}.py").write_text(textwrap.dedent(source.format(name=name)))
    fake_distribution(site, dist, {name: module})


def test_entry_point_plugins_are_found(site: Path) -> None:
    add_plugin(site, "uts-shop", "shop", GOOD)
    registry = load_registry()
    assert registry.components["shop"].source == "uts-shop 1.0"
    assert registry.components["shop"].component.version == "9.9"
    assert "project" in registry.components  # built-ins still there
    assert registry.errors == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("raise RuntimeError('kaboom at import')", "RuntimeError: kaboom at import"),
        ("import does_not_exist_anywhere", "ModuleNotFoundError"),
        ("x = 1", "implements no uts_component hook"),
        (GOOD.replace('name="{name}"', 'name="other"'), "declares component 'other'"),
        (
            "from uts.plugin import impl\n@impl\ndef uts_component():\n    return 42\n",
            "returned int, not Component",
        ),
        (
            GOOD + "\n@impl\ndef uts_contribut(ctx, out):\n    pass\n",
            "unknown hook 'uts_contribut'",
        ),
        ("import sys\nsys.exit(3)", "it called sys.exit(3)"),
        ("class Boom(BaseException):\n    pass\nraise Boom('loud')", "Boom: loud"),
        (
            "import argparse\nparser = argparse.ArgumentParser()\nparser.add_argument('target')\n"
            "parser.parse_args()\n",
            "it called sys.exit(2) (it printed: ",
        ),
    ],
)
def test_a_broken_plugin_is_reported_by_name_and_others_still_load(
    site: Path, source: str, message: str
) -> None:
    add_plugin(site, "uts-broken", "broken", source)
    add_plugin(site, "uts-fine", "fine", GOOD)
    registry = load_registry()
    assert "fine" in registry.components
    assert "broken" not in registry.components
    [error] = registry.errors
    assert error.name == "broken"
    assert error.source == "uts-broken 1.0"
    assert message in error.message


def test_strict_mode_turns_a_load_failure_into_an_error(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_plugin(site, "uts-broken", "broken", "raise RuntimeError('kaboom')")
    with pytest.raises(PluginError, match=r"plugin 'broken' \(uts-broken 1.0\) failed to load"):
        load_registry(strict=True)
    monkeypatch.setenv("UTS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError):
        load_registry()


def test_a_plugin_cannot_take_a_builtin_name(site: Path) -> None:
    add_plugin(site, "uts-evil", "project", GOOD)
    registry = load_registry()
    assert registry.components["project"].source == "built-in"
    assert "already provided by built-in" in registry.errors[0].message


def test_env_switches_disable_autoload_and_block(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_plugin(site, "uts-shop", "shop", GOOD)
    add_plugin(site, "uts-broken", "broken", "raise RuntimeError('x')")
    monkeypatch.setenv("UTS_BLOCK_PLUGINS", "broken, crud")
    registry = load_registry()
    assert "shop" in registry.components
    assert "crud" not in registry.components
    assert registry.errors == []
    monkeypatch.setenv("UTS_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "shop" not in load_registry().components


def test_uts_list_names_a_broken_plugin_and_still_works(
    site: Path, uts: Callable[..., Result]
) -> None:
    add_plugin(site, "uts-broken", "broken", "raise RuntimeError('kaboom')")
    add_plugin(site, "uts-shop", "shop", GOOD)
    result = uts("list")
    assert result.code == 0
    assert "shop" in result.out and "uts-shop 1.0" in result.out
    assert "broken (uts-broken 1.0): RuntimeError: kaboom" in result.err
    data = json.loads(uts("list", "--json").out)
    assert [e["name"] for e in data["errors"]] == ["broken"]
    assert "shop" in [c["name"] for c in data["components"]]


def test_new_with_a_third_party_component(
    site: Path, tmp_path: Path, uts: Callable[..., Result]
) -> None:
    add_plugin(site, "uts-shop", "shop", GOOD)
    target = tmp_path / "out"
    result = uts("new", "demo", "--dir", target, "--with", "shop", "--set", "shop.flavour=spicy")
    assert result.code == 0, result.err
    assert (target / "shop.txt").read_text() == "made by shop spicy\n"
    assert (target / ".uts/components/shop.toml").is_file()


def _imported_modules(*args: str) -> set[str]:
    code = (
        "import sys\nfrom uts.__main__ import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\nprint('\\n@@' + ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    ).stdout
    return set(out.rsplit("@@", 1)[1].split())


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["new", "--help"]])
def test_help_and_version_import_no_plugin_jinja_or_tomlkit(args: list[str]) -> None:
    modules = _imported_modules(*args)
    heavy = {"jinja2", "tomlkit", "pluggy", "uts_plugins", "uts.plugin"} & modules
    assert heavy == set()
    if args == ["--version"]:
        assert {"typer", "typing"} & modules == set()  # typing alone costs ~8 ms


@pytest.mark.parametrize("command", ["check", "outdated", "status"])
def test_read_commands_do_not_import_the_renderer(command: str, tmp_path: Path) -> None:
    # They load the project's plugins (for versions) but render nothing: as cheap as `list`.
    root = tmp_path / "demo"
    made = subprocess.run(
        [sys.executable, "-m", "uts", "new", "demo", "--dir", str(root)], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    modules = _imported_modules(command, "--project", str(root))
    assert {"jinja2", "uts.engine", "uts.render", "merge3", "tomlkit"} & modules == set()


def test_new_imports_only_the_components_of_its_recipe(site: Path, tmp_path: Path) -> None:
    add_plugin(site, "uts-broken", "broken", "raise RuntimeError('kaboom')")
    code = (
        "import sys\nfrom uts.cli import run\n"
        "code = run(sys.argv[1:])\n"
        "print('@@' + ' '.join(sorted(m for m in sys.modules if m.startswith('uts_'))))\n"
        "sys.exit(code)\n"
    )
    args = ["new", "demo", "--recipe", "mvp", "--dir", str(tmp_path / "out"), "--no-input"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.rsplit("@@", 1)[1].split())
    mvp = {"project", "fastapi", "database", "errors", "testing", "crud"}
    assert {m for m in modules if m.count(".") == 1} == {f"uts_plugins.{n}" for n in mvp}
    assert "uts_test_broken" not in modules  # never imported, so never warned about
    assert "broken" not in done.stderr


def test_a_lazy_registry_loads_on_demand_and_reports_each_failure_once(site: Path) -> None:
    add_plugin(site, "uts-shop", "shop", GOOD)
    add_plugin(site, "uts-broken", "broken", "raise RuntimeError('kaboom')")
    heard: list[str] = []
    registry = load_registry(lazy=True, on_error=lambda error: heard.append(error.message))
    assert "uts_test_shop" not in sys.modules
    assert registry.components["shop"].source == "uts-shop 1.0"
    assert "uts_test_shop" in sys.modules
    assert "broken" not in registry.components
    assert "broken" not in registry.components
    assert heard == ["RuntimeError: kaboom"]
    assert "shop" in registry.names() and "broken" not in registry.names()
    with pytest.raises(PluginError, match="plugin 'broken'"):
        load_registry(lazy=True, strict=True).ensure("broken")


def test_entry_points_are_cached_until_a_distribution_changes(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_plugin(site, "uts-shop", "shop", GOOD)
    assert [ep.name for ep in discovery.entry_points()] == ["shop"]
    real_scan = discovery._scan
    monkeypatch.setattr(discovery, "_scan", lambda: pytest.fail("scanned despite the cache"))
    assert [ep.source for ep in discovery.entry_points()] == ["uts-shop 1.0"]

    monkeypatch.setattr(discovery, "_scan", real_scan)
    add_plugin(site, "uts-extra", "extra", GOOD)  # installing one: a new dist-info
    assert [ep.name for ep in discovery.entry_points()] == ["extra", "shop"]
    shutil.rmtree(site / "uts_extra-1.0.dist-info")  # uninstalling it
    assert [ep.name for ep in discovery.entry_points()] == ["shop"]
    info = site / "uts_shop-1.0.dist-info"  # reinstalling the same version, another module
    shutil.rmtree(info)
    fake_distribution(site, "uts-shop", {"shop": "uts_test_moved"})
    assert [ep.value for ep in discovery.entry_points()] == ["uts_test_moved"]


def test_a_damaged_entry_point_cache_is_rebuilt(site: Path) -> None:
    add_plugin(site, "uts-shop", "shop", GOOD)
    discovery.entry_points()
    (cached,) = Path(discovery._cache_file()).parent.glob(f"{discovery._key()}.json")
    cached.write_text('[{"nonsense": 1}]')
    assert [ep.name for ep in discovery.entry_points()] == ["shop"]
    assert json.loads(cached.read_text())[0]["name"] == "shop"


def test_a_warm_new_does_not_import_importlib_metadata(tmp_path: Path) -> None:
    args = ["new", "demo", "--recipe", "mvp", "--no-input", "--dir"]
    _imported_modules(*args, str(tmp_path / "first"))  # fills the cache
    modules = _imported_modules(*args, str(tmp_path / "second"))
    assert "uts_plugins.crud" in modules
    assert "importlib.metadata" not in modules
    assert (tmp_path / "second" / "pyproject.toml").is_file()


def test_an_unknown_component_is_suggested_without_importing_every_plugin() -> None:
    modules = _imported_modules("info", "kubernets")
    assert not [m for m in modules if m.startswith("uts_plugins.")]


ARGPARSE_AT_IMPORT = (
    "import argparse\n"
    "parser = argparse.ArgumentParser()\n"
    "parser.add_argument('--verbose', action='store_true')\n"
    "ARGS = parser.parse_args()\n"
)


def test_a_plugin_parsing_the_command_line_at_import_does_not_see_uts_arguments(
    site: Path, tmp_path: Path, uts: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_plugin(site, "uts-shop", "shop", ARGPARSE_AT_IMPORT + GOOD)
    args = ["new", "demo", "--dir", str(tmp_path / "out"), "--with", "shop"]
    monkeypatch.setattr(sys, "argv", ["uts", *args])  # as the console script sees it
    result = uts(*args)
    assert result.code == 0, result.err
    assert "usage:" not in result.err + result.out
    assert (tmp_path / "out" / "shop.txt").is_file()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("import sys\n    sys.exit(4)", "component 'shop' called sys.exit(4) in uts_contribute"),
        (
            "class Boom(BaseException):\n        pass\n    raise Boom('loud')",
            "component 'shop' raised Boom in uts_contribute: loud",
        ),
    ],
)
def test_a_plugin_exiting_in_a_hook_is_a_plugin_error_naming_it(
    site: Path, tmp_path: Path, uts: Callable[..., Result], body: str, message: str
) -> None:
    source = GOOD.replace('    out.file("{name}.txt"', f'    {body}\n    out.file("{{name}}.txt"')
    add_plugin(site, "uts-shop", "shop", source)
    result = uts("new", "demo", "--dir", tmp_path / "out", "--with", "shop")
    assert result.code == 6, result.err
    assert f"error: {message}" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "out").exists()


def test_a_needed_plugin_that_exits_at_import_is_a_plugin_error(
    site: Path, tmp_path: Path, uts: Callable[..., Result]
) -> None:
    add_plugin(site, "uts-broken", "broken", "import sys\nsys.exit(0)\n")
    result = uts("new", "demo", "--dir", tmp_path / "out", "--with", "broken")
    assert result.code == 6, result.err
    assert "warning: plugin 'broken' (uts-broken 1.0) failed to load: it called sys.exit(0)" in (
        result.err
    )
    assert "error: component 'broken' is not available: plugin 'broken'" in result.err
    assert uts("info", "broken").code == 6
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "source",
    [
        "raise KeyboardInterrupt\n",
        GOOD.replace('    out.file("{name}.txt"', '    raise KeyboardInterrupt\n    out.file("x"'),
    ],
    ids=["at-import", "in-a-hook"],
)
def test_ctrl_c_inside_a_plugin_still_interrupts(
    site: Path, tmp_path: Path, uts: Callable[..., Result], source: str
) -> None:
    add_plugin(site, "uts-shop", "shop", source)
    result = uts("new", "demo", "--dir", tmp_path / "out", "--with", "shop")
    assert result.code == 130  # (the line it prints is issue #9's signal work, not this)
    assert "plugin" not in result.err
    assert not (tmp_path / "out").exists()


SPY = """
import pathlib
pathlib.Path(__file__).with_suffix(".imported").touch()
raise RuntimeError("imported to make a suggestion")
"""


def test_typos_are_suggested_from_names_without_importing_any_plugin(
    site: Path, tmp_path: Path, uts: Callable[..., Result]
) -> None:
    add_plugin(site, "uts-spy", "spy", SPY)
    project = tmp_path / "demo"
    assert uts("new", "demo", "--dir", project).code == 0
    typos = {
        ("add", "monitorin", "--project", str(project)): 3,
        ("new", "x", "--dir", str(tmp_path / "x"), "--with", "monitorin"): 3,
        ("info", "monitorin"): 3,
        ("new", "x", "--dir", str(tmp_path / "x"), "--recipe", "ful"): 5,
    }
    for args, code in typos.items():
        result = uts(*args)
        assert result.code == code, (args, result.err)
        assert "did you mean 'monitoring'" in result.err or "did you mean 'full'" in result.err
        assert "spy" not in result.err
    assert not (site / "uts_test_spy.imported").exists()


SHOP_RECIPE = (
    GOOD
    + """
import pathlib

@impl
def uts_recipes():
    return [pathlib.Path(__file__).with_name("{recipe}.toml")]
"""
)


def test_a_plugin_recipe_is_found_by_its_name_importing_only_its_plugin(
    site: Path, tmp_path: Path, uts: Callable[..., Result]
) -> None:
    add_plugin(site, "uts-spy", "spy", SPY)
    add_plugin(site, "uts-shop", "shop", SHOP_RECIPE.replace("{recipe}", "shop-starter"))
    (site / "shop-starter.toml").write_text('extends = "mvp"\ncomponents = ["shop"]\n')
    result = uts("new", "demo", "--dir", tmp_path / "out", "--recipe", "shop-starter")
    assert result.code == 0, result.err
    assert (tmp_path / "out" / "shop.txt").is_file()
    assert not (site / "uts_test_spy.imported").exists()


def test_a_plugin_recipe_not_named_after_its_component_is_refused(site: Path) -> None:
    add_plugin(site, "uts-shop", "shop", SHOP_RECIPE.replace("{recipe}", "starter"))
    registry = load_registry()
    assert "shop" not in registry.components
    [error] = registry.errors
    assert "ships recipe 'starter.toml'" in error.message
    assert "shop.toml or shop-<recipe>.toml" in error.message


LOUD = """
from uts.plugin import Component, Option, impl

@impl
def uts_component():
    return Component(name="{name}", version="1\\x1b[2J", summary="A \\x1b]0;title\\x07 summary",
                     options=(Option("colour", default="red\\x1b[31m", help="\\u202eevil"),))

@impl
def uts_contribute(ctx, out):
    out.file("odd\\u00a0name.txt", "x\\n")
"""


def test_names_from_plugins_reach_the_terminal_escaped(
    site: Path, tmp_path: Path, uts: Callable[..., Result]
) -> None:
    add_plugin(site, "uts-loud", "loud", LOUD)
    results = [
        uts("new", "demo", "--dir", tmp_path / "out", "--with", "loud"),
        uts("new", "demo", "--dir", tmp_path / "dry", "--with", "loud", "--dry-run"),
        uts("list"),
        uts("info", "loud"),
        uts("status", "--project", tmp_path / "out"),
    ]
    for index, result in enumerate(results):
        assert result.code == 0, result.err
        shown = result.out + result.err
        # (The dry run's diff shows file content as it is: the manifest's JSON holds the
        # file name with U+2028 raw, as JSON allows; its ESC is written as \u001b.)
        unwanted = "\x7f" if index == 1 else "\x7f\u2028\u202e"
        assert not [c for c in shown if (c < " " and c != "\n") or c in unwanted], shown
    # (A file name with control characters is refused outright: test_bad_input.py.)
    assert "A \\x1b]0;title\\x07 summary" in results[2].out
    assert "colour=red\\x1b[31m" in results[4].out
