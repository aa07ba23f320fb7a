"""CI: a GitHub Actions workflow that lints, type-checks and tests, and Dependabot.

It owns ``.github/workflows/ci.yml`` and ``.github/dependabot.yml`` and knows no other
component: the workflow runs what the README's quick start runs (ruff, mypy, pytest) on
each Python version of the ``python_versions`` option, and what the others need comes
through the slots it declares (:data:`SLOTS`): service containers and the environment
that points the tests at them (``ci-services``: database's PostgreSQL), steps between
type-checking and the tests (``ci-steps``: migrations up, checked and down), the command
that runs the tests (``ci-tests``: testing's coverage) and Dependabot's ecosystems
(``dependabot``: docker's base images).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uts.model import Field, Slot
from uts.plugin import Component, Context, Contributions, Option, impl

POSTGRES_IMAGE = "postgres:17.6-alpine"

SLOTS = (
    Slot(
        "ci-services",
        "A service container of the test job (key: its name).",
        (
            Field("name", str, True, "The service name."),
            Field("service", dict, True, "The service: image, env, ports, options."),
            Field("env", dict, False, "Environment of the job that points the tests at it."),
            Field("readme", str, False, "A sentence for the README's CI section."),
        ),
    ),
    Slot(
        "ci-steps",
        "A step of the test job, after lint and type-check and before the tests (key: name).",
        (
            Field("name", str, True, "The step's name."),
            Field("run", str, True, "Its shell command."),
            Field("order", int, False, "Place among the contributed steps (default 50)."),
            Field("readme", str, False, "How the README's list of steps names it."),
        ),
    ),
    Slot(
        "ci-tests",
        "The command that runs the tests instead of `pytest` (key: `tests`).",
        (
            Field("run", str, True, "The shell command."),
            Field("readme", str, False, "How the README names it."),
        ),
    ),
    Slot(
        "dependabot",
        "One more ecosystem Dependabot updates weekly (key: the ecosystem).",
        (
            Field("ecosystem", str, True, "Its package-ecosystem, e.g. `docker`."),
            Field("directory", str, False, "Where its manifests are (default `/`)."),
            Field("readme", str, False, "What it updates, for the README."),
        ),
    ),
)

# The security scanners the workflow runs, pinned so that a new release's new checks
# arrive through a reviewed change (uts's own tests run the same versions).
CHECKOV = "checkov==3.3.30"
BANDIT = "bandit==1.9.4"
CHECKOV_FRAMEWORKS = ("kubernetes", "terraform", "dockerfile", "github_actions", "secrets")


@impl
def uts_component() -> Component:
    return Component(
        name="ci",
        version="0.3.0",
        summary="GitHub Actions workflow (ruff, mypy, pytest; PostgreSQL service) and Dependabot.",
        requires=("project",),
        conflicts=(),
        options=(
            Option(
                name="python_versions",
                type=str,
                default="3.11,3.13",
                pattern=r"3\.1[1-9](?:,3\.1[1-9])*",
                help="Comma-separated Python versions the tests run on, e.g. 3.11,3.13.",
            ),
            Option(
                name="postgres_image",
                type=str,
                default=POSTGRES_IMAGE,
                pattern=r"[a-z0-9]+(?:[._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]*",
                help=f"PostgreSQL service image with an exact tag, e.g. {POSTGRES_IMAGE}.",
            ),
        ),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
        adoptable=True,
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    assert ctx.host is not None
    if not ctx.host.adopted:  # an adopted project has no README uts writes
        out.later(lambda fragments: _readme(ctx, fragments, out))


def _readme(ctx: Context, fragments: Mapping[str, Any], out: Contributions) -> None:
    *first, last = ctx.options("ci")["python_versions"].split(",")
    versions = f"{', '.join(first)} and {last}" if first else last
    steps = ["`ruff check`", "`ruff format --check`", "`mypy`"]
    contributed = sorted(fragments["ci-steps"], key=lambda step: step.get("order", 50))
    steps += [step.get("readme") or f"`{step['run']}`" for step in contributed]
    tests = [item.get("readme") or f"`{item['run']}`" for item in fragments["ci-tests"]]
    steps.append(tests[0] if tests else "`pytest`")
    body = (
        "`.github/workflows/ci.yml` runs on every push to `main` and every pull request, "
        f"on Python {versions}: it installs the project with its development "
        f"tools (uv), then runs {', '.join(steps[:-1])} and {steps[-1]}."
    )
    body += "".join(f" {item['readme']}" for item in fragments["ci-services"] if "readme" in item)
    extra = [item["readme"] for item in fragments["dependabot"] if item.get("readme")]
    body += " `.github/dependabot.yml` opens weekly pull requests for the Python " + (
        f"dependencies, the pinned actions and {', '.join(extra)}."
        if extra
        else "dependencies and the pinned actions."
    )
    body += (
        " A second job runs the security scanners, pinned: bandit on the code (a medium or "
        "high finding fails it) and checkov on the deploy files (Dockerfile, Kubernetes, "
        "Terraform, workflows, secrets), offline. A check that does not fit is skipped in "
        "the file it is about, with its reason, never in the workflow."
    )
    out.fragment("readme", {"title": "Continuous integration", "body": body})
