"""Tests of the component, with the fixtures of uts.testing (``uts_kit``)."""

from __future__ import annotations

import pytest
from uts.errors import OptionError
from uts.testing import Kit

NAME = "@name@"
MODULE = "demo/@mod@.py"
TESTS = "tests/test_@mod@.py"
SETTING = "@mod@_greeting"


def test_core_with_it_gets_the_module_and_its_tests(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME])
    project.assert_file(MODULE, "def check(", "router = APIRouter(", owner=NAME)
    project.assert_file(TESTS, f'"Hello from {NAME}"', owner=NAME)
    project.check_code()


def test_it_reaches_settings_app_health_checks_and_readme(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME])
    module = MODULE.removesuffix(".py").replace("/", ".")
    project.assert_fragment("settings", name=SETTING, type="str")
    project.assert_fragment("routers", module=module, attr="router")
    project.assert_fragment("health-checks", name=NAME, module=module, function="check")
    project.assert_file(".env.example", f"{SETTING.upper()}=")
    project.assert_file("demo/main.py", module.rsplit(".", 1)[1])


def test_the_option_reaches_the_files(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME], options={NAME: {"greeting": "Hi there"}})
    project.assert_file(".env.example", f"{SETTING.upper()}='Hi there'")
    project.assert_file(TESTS, '"Hi there"')


@pytest.mark.parametrize("greeting", [" padded ", "{braces}"])
def test_bad_greetings_are_refused(uts_kit: Kit, greeting: str) -> None:
    with pytest.raises(OptionError, match=f"{NAME}.greeting"):
        uts_kit.compose("core", with_=[NAME], options={NAME: {"greeting": greeting}})


def test_its_recipe_is_core_with_it(uts_kit: Kit) -> None:
    project = uts_kit.compose(NAME)
    assert project.owned_by(NAME)
    assert "auth" in project.composition.context.components


def test_add_then_remove_gives_back_the_same_bytes(uts_kit: Kit) -> None:
    added = uts_kit.assert_add_remove_roundtrip(NAME, recipe="core")
    assert MODULE in added


@pytest.mark.uts_slow
def test_the_generated_project_passes_its_tests_and_lints_clean(uts_kit: Kit) -> None:
    project = uts_kit.new("core", with_=[NAME])
    uts_kit.install_and_test(project, lint=True)
