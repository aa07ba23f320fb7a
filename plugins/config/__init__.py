"""Settings: a pydantic-settings ``Settings`` class every component adds its fields to.

Other components contribute settings through the ``settings`` fragment slot (one field
of ``Settings`` each) and the ``env`` slot (its line in ``.env.example``); the
:func:`setting` helper below adds both at once, so the two never disagree. A setting
marked ``secret`` defaults to a placeholder that works in development and tests and
is refused, with a pydantic ``ValidationError``, in any other environment.
"""

from __future__ import annotations

import re
from pathlib import Path

from uts.escape import py_str
from uts.plugin import Component, Context, Contributions, Field, Slot, impl

PLACEHOLDER = "change-this-to-a-long-random-secret-key"
"""Default of every secret setting; the generated ``Settings`` refuses it in production."""

_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
# The generated settings module is formatted with this line length (ruff's default 88).
_MAX_LINE = 88


def setting(
    out: Contributions,
    name: str,
    default: str | int | bool,
    doc: str,
    *,
    annotation: str | None = None,
    source: str | None = None,
    secret: bool = False,
) -> None:
    """Add setting *name*: a field of ``Settings`` and its line in ``.env.example``.

    :param name: the field name (snake_case); the environment variable is upper-case.
    :param default: the default value, also shown in ``.env.example``.
    :param doc: one sentence; the field's docstring and the ``.env.example`` comment.
    :param annotation: the field's type as Python source (derived from *default*).
    :param source: the default as Python source (derived from *default*).
    :param secret: a ``SecretStr`` whose default is :data:`PLACEHOLDER`, refused
        outside development and tests.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"setting name {name!r} must be snake_case")
    if secret:
        annotation, source, shown = "SecretStr", "SecretStr(PLACEHOLDER)", PLACEHOLDER
    elif isinstance(default, bool):
        shown = "true" if default else "false"
        annotation, source = annotation or "bool", source or repr(default)
    elif isinstance(default, int):
        shown = str(default)
        annotation, source = annotation or "int", source or str(default)
    else:
        shown = default
        annotation, source = annotation or "str", source or py_str(default)
    if len(f"    {name}: {annotation} = {source}") > _MAX_LINE:
        raise ValueError(f"setting {name!r} renders longer than {_MAX_LINE} characters")
    if '"""' in doc or "\\" in doc or "\n" in doc:
        raise ValueError(f"setting {name!r}: the doc must be one plain sentence")
    out.fragment(
        "settings",
        {"name": name, "type": annotation, "default": source, "doc": doc, "secret": secret},
        key=name,
    )
    env = {"name": name.upper(), "value": shown, "comment": doc, "secret": secret}
    out.fragment("env", env, key=name.upper())


SLOTS = (
    Slot(
        "settings",
        "A field of the generated `Settings` class; use `setting()` of "
        "`uts_plugins.config`, which adds the matching `env` fragment too.",
        fields=(
            Field("name", help="The field's name, snake_case (the variable is upper case)."),
            Field("type", help="Its annotation, as Python source (`int`, `SecretStr`)."),
            Field("default", help="Its default, as Python source."),
            Field("doc", help="One plain sentence: the field's docstring."),
            Field(
                "secret",
                bool,
                required=False,
                default=False,
                help="A `SecretStr` whose placeholder is refused outside development and "
                "tests (`SECRETS`); deployment files generate or ask for it.",
            ),
        ),
        keyed="the name",
    ),
)


@impl
def uts_component() -> Component:
    return Component(
        name="config",
        version="0.2.0",
        summary="Typed settings (pydantic-settings) from the environment and .env.",
        requires=("project", "testing"),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("pydantic>=2.11")
    out.dependency("pydantic-settings>=2.16")
    setting(
        out,
        "environment",
        "development",
        "Where the service runs: development, test, staging or production.",
        annotation="Environment",
    )
    # Deployed, the service runs as production (refusing placeholder secrets).
    out.fragment("k8s-env", {"name": "ENVIRONMENT", "value": "production"}, key="ENVIRONMENT")
    # Settings reads SECRETS_DIR: the cluster's Secret is mounted there, not in the environment.
    out.fragment("k8s-secret-files", {"path": f"/run/secrets/{ctx.package}"}, key="secrets")
    module = f"{ctx.package}.core.config"
    out.fragment(
        "readme",
        {
            "title": "Settings",
            "body": (
                f"`{module}.settings` defines `Settings` (pydantic-settings): every field "
                "is read from the environment variable of the same name in upper case, "
                "or from a `.env` file in the working directory (copy `.env.example`). "
                "`get_settings()` returns the cached instance. In a container, secrets "
                f"can come as files instead: where `/run/secrets/{ctx.package}` exists "
                "(`SECRETS_DIR`; the Kubernetes manifests mount the Secret there), each "
                "file named after a setting (`SECRET_KEY`) holds its value, read after "
                "the environment and `.env`, so no secret has to sit in an environment "
                "variable. Secrets such as "
                "`SECRET_KEY` default to a placeholder that only works while "
                "`ENVIRONMENT` is `development` or `test`: in `staging` or `production` "
                "the service refuses to start until they are set. Generate one with "
                '`python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
            ),
        },
    )
