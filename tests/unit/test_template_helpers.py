"""Template helpers: components give Jinja filters, tests and globals through a hook,
each name one component's; the built-in helpers are tested as plain functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_templates
from uts.engine import ProjectSpec, compose
from uts.errors import PluginError, RenderError
from uts.model import Component, Context, TemplateHelpers
from uts.plugin import impl
from uts.plugin.manager import Registry, registry_from
from uts.render import merge_helpers, render_templates
from uts_plugins.project import is_sensitive


class Helper:
    """A plugin whose component gives *helpers* and renders *templates*."""

    def __init__(
        self,
        name: str,
        helpers: Any = None,
        templates: Path | None = None,
        requires: tuple[str, ...] = (),
    ) -> None:
        self.component = Component(
            name=name, version="1", summary="", requires=requires, templates=templates
        )
        self.helpers = helpers

    @impl
    def uts_component(self) -> Component:
        return self.component

    @impl
    def uts_template_helpers(self, ctx: Context) -> Any:
        return self.helpers(ctx) if callable(self.helpers) else self.helpers


def registry(*plugins: Helper) -> Registry:
    return registry_from({plugin.component.name: plugin for plugin in plugins})


def spec(*components: str) -> ProjectSpec:
    return ProjectSpec("shop", "test", list(components))


def shout(text: str) -> str:
    return text.upper() + "!"


def test_a_component_s_helpers_reach_every_template_of_the_project(tmp_path: Path) -> None:
    templates = write_templates(
        tmp_path / "t",
        {
            "a.txt.jinja": "{{ package | shout }} {{ greeting(package) }}"
            "{% if package is short %} short{% endif %}\n",
        },
    )
    helpers = TemplateHelpers(
        filters={"shout": shout},
        tests={"short": lambda text: len(text) < 5},
        globals={"greeting": lambda name: f"hello {name}"},
    )
    giver = Helper("giver", helpers)
    user = Helper("user", templates=templates, requires=("giver",))
    files = compose(registry(giver, user), spec("user")).files
    assert files["a.txt"].content == b"SHOP! hello shop short\n"


def test_the_hook_sees_the_project(tmp_path: Path) -> None:
    templates = write_templates(tmp_path / "t", {"a.txt.jinja": "{{ made_for }}\n"})
    giver = Helper(
        "giver", lambda ctx: TemplateHelpers(globals={"made_for": ctx.project_name}), templates
    )
    assert compose(registry(giver), spec("giver")).files["a.txt"].content == b"shop\n"


def test_two_components_giving_one_name_is_an_error_naming_both() -> None:
    one = Helper("one", TemplateHelpers(filters={"shout": shout}))
    two = Helper("two", TemplateHelpers(filters={"shout": str.lower}), requires=("one",))
    with pytest.raises(
        RenderError, match="components 'one' and 'two' both give template filter 'shout'"
    ):
        compose(registry(one, two), spec("two"))


@pytest.mark.parametrize(
    ("helpers", "which"),
    [
        (TemplateHelpers(filters={"md": shout}), "filter 'md', which is one of uts's own filters"),
        (TemplateHelpers(filters={"upper": shout}), "filter 'upper', which is a Jinja built-in"),
        (TemplateHelpers(tests={"defined": bool}), "test 'defined', which is a Jinja built-in"),
        (TemplateHelpers(globals={"range": range}), "global 'range', which is a Jinja built-in"),
        (TemplateHelpers(globals={"package": "x"}), "global 'package', which is a template var"),
        (TemplateHelpers(globals={"options": {}}), "global 'options', which is a template var"),
    ],
)
def test_a_name_uts_or_jinja_already_uses_is_refused(helpers: TemplateHelpers, which: str) -> None:
    with pytest.raises(RenderError, match=f"component 'giver' gives template {which}"):
        compose(registry(Helper("giver", helpers)), spec("giver"))


@pytest.mark.parametrize(
    ("helpers", "problem"),
    [
        ({"filters": {"shout": shout}}, "returned dict, not TemplateHelpers"),
        (TemplateHelpers(filters={"shout": "SHOUT"}), "template filter 'shout' is not callable"),
        (TemplateHelpers(filters={"sh-out": shout}), "template filter name 'sh-out' is not"),
        (TemplateHelpers(globals={"a.b": 1}), "template global name 'a.b' is not"),
    ],
)
def test_a_malformed_result_is_a_plugin_error_naming_the_component(
    helpers: Any, problem: str
) -> None:
    with pytest.raises(PluginError, match=f"component 'giver': .*{problem}"):
        compose(registry(Helper("giver", helpers)), spec("giver"))


def test_a_dotted_filter_name_namespaces_it(tmp_path: Path) -> None:
    templates = write_templates(tmp_path / "t", {"a.txt.jinja": "{{ 'hi' | giver.shout }}\n"})
    giver = Helper("giver", TemplateHelpers(filters={"giver.shout": shout}), templates)
    assert compose(registry(giver), spec("giver")).files["a.txt"].content == b"HI!\n"


def test_code_compiled_with_one_helper_is_not_reused_with_another(tmp_path: Path) -> None:
    """Jinja decides at compile time whether a filter gets the context (pass_context):
    the compiled-template cache keeps code per set of helpers, so a filter of the same
    name from another plugin is called its own way."""
    from jinja2 import pass_context

    root = write_templates(tmp_path / "t", {"a.txt.jinja": "{{ name | pick }}\n"})

    @pass_context
    def from_context(context: Any, value: str) -> str:
        return f"{context['name']} via context"

    for pick, expected in ((from_context, b"x via context\n"), (shout, b"X!\n")) * 2:
        helpers = merge_helpers([("giver", TemplateHelpers(filters={"pick": pick}))], ["name"])
        assert render_templates(root, "demo", {"name": "x"}, helpers)["a.txt"].content == expected


@pytest.mark.parametrize(
    ("entry", "sensitive"),
    [
        ({"name": "SECRET_KEY", "value": "placeholder", "secret": True}, True),
        ({"name": "SECRET_KEY", "value": "placeholder", "secret": False}, False),
        ({"name": "FIRST_SUPERUSER_PASSWORD", "value": ""}, True),
        ({"name": "GITHUB_TOKEN", "value": "x"}, True),
        ({"name": "WEBHOOK_SECRET", "value": "x"}, True),
        ({"name": "DATABASE_URL", "value": "sqlite:///./shop.db"}, True),
        ({"name": "CELERY_BROKER_URL", "value": "redis://localhost:6379/0"}, True),
        ({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4318"}, False),
        ({"name": "PAYMENT_API_URL", "value": "https://api.example.com"}, False),
        ({"name": "LOG_LEVEL", "value": "INFO"}, False),
        ({"name": "PASSWORD_MIN_LENGTH", "value": 8}, False),
        ({"name": "RETRY_URL", "value": 5}, True),  # not an http(s) URL: kept secret
    ],
)
def test_sensitive_says_which_env_entries_are_secrets(
    entry: dict[str, Any], sensitive: bool
) -> None:
    assert is_sensitive(entry) is sensitive


def test_sensitive_is_the_project_component_s_test() -> None:
    import uts_plugins.project as project

    assert project.uts_template_helpers().tests == {"sensitive": is_sensitive}


def test_python_imports_groups_sorts_and_wraps_as_ruff_does() -> None:
    from uts_plugins.fastapi import python_imports

    paths = [
        "shop.metrics.router",
        "shop.api.deps.get_user",
        "shop.api.deps.CurrentUser",
        "shop.api.deps.MAX_PAGE",
        "shop.metrics.router",  # twice: imported once
        "Shop.Legacy.thing",
        "shop.health",
    ]
    assert python_imports(paths) == "\n".join(
        [
            "from shop import health",
            "from shop.api.deps import MAX_PAGE, CurrentUser, get_user",
            "from Shop.Legacy import thing",
            "from shop.metrics import router",
        ]
    )
    long = [f"shop.module_{n}.function_with_a_long_name_{n}" for n in (1, 2)]
    assert python_imports(
        [*long, "shop.module_1.second_function_with_a_rather_long_name_too"]
    ) == "\n".join(
        [
            "from shop.module_1 import (",
            "    function_with_a_long_name_1,",
            "    second_function_with_a_rather_long_name_too,",
            ")",
            "from shop.module_2 import function_with_a_long_name_2",
        ]
    )
    assert python_imports([]) == ""
    with pytest.raises(ValueError, match="not a dotted path"):
        python_imports(["toplevel"])


def test_python_imports_output_is_what_ruff_wants(tmp_path: Path) -> None:
    """Checked by ruff itself: isort (I001) and format find nothing to change."""
    import subprocess
    import sys

    from uts_plugins.fastapi import python_imports

    paths = [
        "app.api.deps.get_user",
        "app.api.deps.CurrentUser",
        "app.api.deps.MAX_PAGE",
        "app.metrics.router",
        "app.core.security.permissions.a_very_long_function_name_for_permissions",
        "app.core.security.permissions.another_very_long_function_name",
        "app.health",
    ]
    source = tmp_path / "imports.py"
    source.write_text(python_imports(paths) + "\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 88\n[tool.ruff.lint]\nselect = ["I"]\n'
        '[tool.ruff.lint.isort]\nknown-first-party = ["app"]\n'
    )
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run(
        [*ruff, "check", "--no-cache", "imports.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [*ruff, "format", "--no-cache", "--check", "imports.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout


def test_python_imports_is_the_fastapi_component_s_global() -> None:
    import uts_plugins.fastapi as fastapi

    assert fastapi.uts_template_helpers().globals == {"python_imports": fastapi.python_imports}


def test_cluster_env_puts_k8s_env_values_over_env_and_decides_what_is_secret() -> None:
    from uts_plugins.kubernetes import cluster_env

    env = [
        {"name": "ENVIRONMENT", "value": "development", "comment": "Where.", "secret": False},
        {"name": "SECRET_KEY", "value": "placeholder", "comment": "Key.", "secret": True},
        {"name": "CACHE_URL", "value": "redis://localhost:6379/0", "comment": "", "secret": False},
        {"name": "LOG_LEVEL", "value": "INFO", "comment": "Level.", "secret": False},
    ]
    k8s_env = [
        {"name": "ENVIRONMENT", "value": "production"},
        {"name": "CACHE_URL", "value": "http://cache:8080", "secret": True},  # it says so
        {"name": "LOG_LEVEL", "value": "WARNING", "secret": False},
        {"name": "POD_TOKEN", "value": "x"},  # no env fragment: comes last, secret by name
    ]
    settings = cluster_env(env, k8s_env, is_sensitive)
    assert [(s["name"], s["value"], s["secret"], s["generate"]) for s in settings] == [
        ("ENVIRONMENT", "production", False, False),
        ("SECRET_KEY", "placeholder", True, True),
        ("CACHE_URL", "http://cache:8080", True, False),
        ("LOG_LEVEL", "WARNING", False, False),
        ("POD_TOKEN", "x", True, False),
    ]
    assert settings[0]["comment"] == "Where." and settings[4]["comment"] == ""
    # A URL's secrecy follows the value the cluster gets.
    plain = cluster_env(
        [{"name": "API_URL", "value": "postgres://x"}],
        [{"name": "API_URL", "value": "https://x"}],
        is_sensitive,
    )
    assert plain[0]["secret"] is False


def test_kubernetes_gives_its_helpers_for_the_project() -> None:
    from types import MappingProxyType

    import uts_plugins.kubernetes as kubernetes
    from uts.model import Context

    ctx = Context("My_Shop.api", "my_shop_api", "", "", MappingProxyType({}), "")
    helpers = kubernetes.uts_template_helpers(ctx)
    assert helpers.globals["k8s_name"] == "my-shop-api"
    assert helpers.globals["cluster_env"] is kubernetes._cluster_env
    # It asks Jinja for the sensitive test of the component reading env, by its name.
    import jinja2

    environment = jinja2.Environment()
    with pytest.raises(RenderError, match="needs the template test 'sensitive'"):
        kubernetes._cluster_env(environment, [], [])
    environment.tests["sensitive"] = is_sensitive
    entry = {"name": "A_TOKEN", "value": "x"}
    assert kubernetes._cluster_env(environment, [entry], [])[0]["secret"] is True
