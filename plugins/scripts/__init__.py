"""Operations scripts: ``scripts/init_db.py`` and ``scripts/create_user.py``.

``init_db`` runs the migrations and creates the first admin named by the
``FIRST_SUPERUSER_EMAIL`` and ``FIRST_SUPERUSER_PASSWORD`` settings; ``create_user``
creates one account, reading its password from a prompt or standard input. Both are
idempotent: a second run exits 0 and changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl
from uts_plugins.config import setting


@impl
def uts_component() -> Component:
    return Component(
        name="scripts",
        version="0.2.0",
        summary="scripts/init_db.py and scripts/create_user.py, both idempotent.",
        requires=("migrations", "auth"),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    setting(
        out,
        "first_superuser_email",
        "",
        "Admin that scripts/init_db.py creates if missing; empty for none.",
    )
    setting(
        out,
        "first_superuser_password",
        "",
        "Password of that admin (8 characters or more).",
        annotation="SecretStr",
        source='SecretStr("")',
    )
    out.fragment("docker-runtime", {"copy": ["scripts"]})
    out.fragment(
        "next-steps",
        {
            "text": "Create an admin account (the script asks for its password):",
            "command": "python scripts/create_user.py admin@example.com --admin",
            "order": 40,
        },
    )
    out.fragment(
        "readme",
        {
            "title": "Scripts",
            "body": (
                "Run them from the project root. `python scripts/init_db.py` applies "
                "the migrations, then creates the admin named by `FIRST_SUPERUSER_EMAIL` "
                "and `FIRST_SUPERUSER_PASSWORD` when both are set; run it at every "
                "deployment. `python scripts/create_user.py EMAIL [--admin] "
                "[--full-name NAME]` creates one account, asking for its password (or "
                "reading it from standard input with `--password-stdin`). Both leave "
                "existing accounts alone, so running them again changes nothing."
            ),
        },
    )
