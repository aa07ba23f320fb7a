"""A uts component: @name@.

It adds to a generated project the module ``<package>/@mod@.py``
(a greeting served at ``GET /@name@`` and a readiness check),
a setting for the greeting, a README section and tests. Every hook uts calls has an
example below; delete the ones you do not need. Each names only the arguments it uses
(uts passes those by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from uts.errors import OptionError, RenderError
from uts.plugin import (
    Component,
    Context,
    Contributions,
    Migration,
    Option,
    TemplateHelpers,
    impl,
)
from uts_plugins.config import setting

NAME = "@name@"
SETTING = "@mod@_greeting"
HERE = Path(__file__).parent


@impl
def uts_component() -> Component:
    """Declare the component: its name, version, options and templates (once, at load)."""
    return Component(
        name=NAME,
        # Bump it whenever the output changes: `uts outdated` and `uts update` read it.
        version="0.1.0",
        summary="A greeting endpoint with its setting, readiness check and tests.",
        # Active with this one, added automatically: the settings and the FastAPI app.
        requires=("config", "fastapi"),
        options=(
            Option(
                "greeting",
                default="Hello from @name@",
                pattern=r"[A-Za-z0-9 ,.!'-]{1,80}",
                help=f"What GET /{NAME} answers (letters, digits, spaces, punctuation).",
            ),
        ),
        templates=HERE / "templates",
    )


@impl
def uts_recipes() -> list[Path]:
    """Recipes this plugin ships, named after the component (`uts new x --recipe NAME`)."""
    return [HERE / "recipes" / f"{NAME}.toml"]


@impl
def uts_migrate(from_version: str, project: Migration) -> None:
    """Carry a project from an older version of this component to this one.

    Called by `uts update` once per step; 0.0.x named the option `message`.
    """
    if from_version.startswith("0.0.") and "message" in project.options:
        project.rename_option("message", "greeting")


@impl
def uts_configure(ctx: Context) -> None:
    """Refuse a combination before anything is produced (the user sees one line)."""
    if ctx.options(NAME)["greeting"].strip() != ctx.options(NAME)["greeting"]:
        raise OptionError(
            f"option {NAME}.greeting has leading or trailing spaces",
            hint=f"set it without them: --set {NAME}.greeting=...",
        )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    """Add to the plan: dependencies, and fragments for files other components own."""
    module = f"{ctx.host.module_prefix}@mod@"
    # A field of the generated Settings and its line in .env.example, in one call.
    setting(
        out,
        SETTING,
        ctx.options(NAME)["greeting"],
        f"What GET /{NAME} answers.",
    )
    # The app mounts the router; readiness (GET /health/ready) runs the check.
    out.fragment("routers", {"module": module, "attr": "router"}, key=module)
    check = {"name": NAME, "module": module, "function": "check"}
    out.fragment("health-checks", check, key=NAME)
    out.fragment(
        "readme",
        {
            "title": "@Title@",
            "body": (
                f"`{module}` serves `GET /{NAME}`, answering the `{SETTING.upper()}` "
                f"setting, and registers the readiness check `{NAME}`."
            ),
        },
    )


def endpoint(name: str) -> str:
    """The URL path the component serves."""
    return f"/{name}"


@impl
def uts_template_helpers() -> TemplateHelpers:
    """Give the templates named helpers instead of expressions copied between them.

    Filters, tests and globals reach every template of the project: name them after
    the component, so that they cannot clash with another one's.
    """
    return TemplateHelpers(globals={"@mod@_path": endpoint(NAME)})


@impl
def uts_finalize(ctx: Context, files: Mapping[str, bytes]) -> None:
    """See every file of the plan once all components have contributed."""
    path = f"{ctx.host.package_dir}/@mod@.py"
    if b"def check(" not in files.get(path, b""):
        raise RenderError(f"{path} lost its check() function", hint="fix the template")
