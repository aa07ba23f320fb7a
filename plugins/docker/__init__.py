"""Docker: a multi-stage image of the app and a local stack with Docker Compose.

It owns ``Dockerfile``, ``.dockerignore`` and ``compose.yaml``, and knows no other
component: what the others need in them comes through the slots it declares
(:data:`SLOTS`, see ``docs/plugins.md``). The image installs the dependencies in a layer
of their own, before the source, and runs uvicorn as a numeric non-root user with a
health check on ``/health/live`` that needs no curl; ``docker-build`` and
``docker-runtime`` add files, settings and commands to its stages. The stack runs the
app, and every service of ``compose-services`` (a ``migrate`` one-shot job from the
``migrate`` slot): the app and the services run from its image read ``.env``, get
``compose-environment`` and ``compose-volumes``, and wait for the services that ask it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uts.model import Field, Slot
from uts.plugin import Component, Context, Contributions, Option, impl

# Exact tags, so that a rebuild gets the same images; bump them deliberately.
PYTHON_VERSION = "3.11.14"
UV_VERSION = "0.13.9"
POSTGRES_IMAGE = "postgres:17.6-alpine"
REDIS_IMAGE = "redis:8.2.1-alpine"
RABBITMQ_IMAGE = "rabbitmq:4.1.3-alpine"

_IMAGES = {
    "postgres_image": POSTGRES_IMAGE,
    "redis_image": REDIS_IMAGE,
    "rabbitmq_image": RABBITMQ_IMAGE,
}

_IMAGE = r"[a-z0-9]+(?:[._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]*"


def _image(name: str, default: str, what: str) -> Option:
    return Option(
        name=name,
        type=str,
        default=default,
        pattern=_IMAGE,
        help=f"{what} image with an exact tag (never latest), e.g. {default}.",
    )


_README = Field("readme", str, False, "A sentence on it for the README's Docker section.")
_COMMENT = Field("comment", str, False, "A one-line comment above it.")

MIGRATE = Slot(
    "migrate",
    "How to bring the database schema up to date; one component gives it (key `migrate`).",
    (Field("command", list, True, 'The command, e.g. `["alembic", "upgrade", "head"]`.'),),
)
"""Read by every component that runs the project somewhere: docker (a one-shot compose
service the app waits for), kubernetes (an init container), terraform (a Cloud Run job)."""

SLOTS = (
    Slot(
        "compose-services",
        'A service of `compose.yaml` (key: its name). With `build: "."` it runs the app\'s '
        "image and gets its image name, `.env`, environment, volumes and waits unless it "
        "sets them.",
        (
            Field("name", str, True, "The service name."),
            Field("service", dict, True, "The service, as Compose Spec keys."),
            Field("order", int, False, "Place among the services after the app (default 50)."),
            Field(
                "wait",
                str,
                False,
                "The condition the app and the services from its image wait for: "
                "`service_healthy`, `service_started` or `service_completed_successfully`.",
            ),
            Field("volumes", list, False, "Named volumes it mounts, declared at the top."),
            Field(
                "addresses",
                list,
                False,
                "`host:port` addresses it stands for (`localhost:6379`): a setting naming "
                "one is pointed at `<name>:<port>` in the stack.",
            ),
            _COMMENT,
            _README,
        ),
    ),
    Slot(
        "compose-environment",
        "An environment variable of the app service and of the services from its image "
        "(key: its name).",
        (Field("name", str, True, "The variable."), Field("value", str, True, "Its value.")),
    ),
    Slot(
        "compose-volumes",
        "A named volume mounted in the app service and the services from its image "
        "(key: the volume).",
        (
            Field("volume", str, True, "The volume name."),
            Field("path", str, True, "Where it is mounted, e.g. `/app/data`."),
            _README,
        ),
    ),
    Slot(
        "docker-build",
        "Additions to the image's build stage.",
        (
            _COMMENT,
            Field("copy", list, False, "Project paths the package build needs."),
            Field("run", str, False, "A shell command run once the project is installed."),
        ),
    ),
    Slot(
        "docker-runtime",
        "Additions to the image's runtime stage.",
        (
            _COMMENT,
            Field("env", dict, False, "Environment variables of the image."),
            Field("copy", list, False, "Project paths copied to `/app/<path>`."),
            Field("run", str, False, "A shell command run as root before `USER`."),
            Field(
                "volumes",
                dict,
                False,
                "Directories the app writes, by name: `docker run` keeps each in the volume "
                "`<project>-<name>`.",
            ),
            _README,
        ),
    ),
    MIGRATE,
)


@impl
def uts_component() -> Component:
    return Component(
        name="docker",
        version="0.2.0",
        summary="Multi-stage Dockerfile (uv, non-root, health check) and a Compose stack.",
        requires=("fastapi",),
        conflicts=(),
        options=(
            Option(
                name="python_version",
                type=str,
                default=PYTHON_VERSION,
                pattern=r"3\.(1[1-9])\.[0-9]+",
                help="Exact Python version of the python:X.Y.Z-slim-trixie base image.",
            ),
            Option(
                name="uv_version",
                type=str,
                default=UV_VERSION,
                pattern=r"[0-9]+\.[0-9]+\.[0-9]+",
                help="Exact version of the ghcr.io/astral-sh/uv image the build copies uv from.",
            ),
            Option(
                name="port",
                type=int,
                default=8000,
                help="Port uvicorn listens on in the container, published on 127.0.0.1.",
            ),
            _image("postgres_image", POSTGRES_IMAGE, "PostgreSQL service"),
            _image("redis_image", REDIS_IMAGE, "Redis service (celery's broker)"),
            _image("rabbitmq_image", RABBITMQ_IMAGE, "RabbitMQ service (celery's broker)"),
        ),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
    )


@impl
def uts_configure(ctx: Context) -> None:
    from uts.errors import OptionError

    options = ctx.options("docker")
    if not 1 <= options["port"] <= 65535:
        raise OptionError(
            f"option docker.port must be a TCP port, got {options['port']}", hint="e.g. 8000"
        )
    for name, default in _IMAGES.items():
        if options[name].endswith(":latest"):
            raise OptionError(
                f"option docker.{name} must name an exact tag, got {options[name]!r}",
                hint=f"pin the version, e.g. {default}",
            )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.fragment(
        "dependabot",
        {"ecosystem": "docker", "readme": "the Dockerfile's base images"},
        key="docker",
    )
    out.later(lambda fragments: _describe(ctx, fragments, out))


def services(fragments: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stack's services after the app, in their order (as ``compose.yaml`` lists them)."""
    found = [
        {"name": "migrate", "order": 10, "wait": "service_completed_successfully"}
        for _ in fragments["migrate"]
    ]
    found += [{**item, "order": item.get("order", 50)} for item in fragments["compose-services"]]
    return sorted(found, key=lambda item: item["order"])


def _describe(ctx: Context, fragments: Mapping[str, Any], out: Contributions) -> None:
    """The README section and the next step, once every service is known."""
    names = ["app", *(service["name"] for service in services(fragments))]
    port = ctx.options("docker")["port"]
    out.fragment(
        "next-steps",
        {
            "text": (
                f"Or run the whole stack in containers ({', '.join(names)}), "
                f"on http://127.0.0.1:{port}, with the settings of `.env` if there is one:"
            ),
            "command": "docker compose up --build",
            "order": 95,
        },
        key="docker",
    )
    out.fragment("readme", {"title": "Docker", "body": _readme(ctx, fragments, names)})


def _run_commands(ctx: Context, fragments: Mapping[str, Any]) -> list[str]:
    name, port = ctx.project_name, ctx.options("docker")["port"]
    volumes = "".join(
        f" -v {name}-{volume}:{path}"
        for item in fragments["docker-runtime"]
        for volume, path in item.get("volumes", {}).items()
    )
    commands = [
        f"docker run --rm{volumes} {name} {' '.join(migrate['command'])}"
        for migrate in fragments["migrate"]
    ]
    return [*commands, f"docker run --rm -p 127.0.0.1:{port}:{port}{volumes} {name}"]


def _readme(ctx: Context, fragments: Mapping[str, Any], names: list[str]) -> str:
    assert ctx.host is not None  # Context fills it in
    options = ctx.options("docker")
    port = options["port"]
    runtime = "".join(
        f" ({item['readme']})" for item in fragments["docker-runtime"] if item.get("readme")
    )
    lines = [
        "`Dockerfile` builds the image in two stages: the first copies uv from "
        f"`ghcr.io/astral-sh/uv:{options['uv_version']}` and installs the dependencies "
        "listed in `pyproject.toml` into `/app/.venv` before it copies the source, so "
        "that a change to the code reuses the dependency layer; the second, on "
        f"`python:{options['python_version']}-slim-trixie`, gets only that environment "
        f"and runs `uvicorn {ctx.host.app}` on port {port} as the unprivileged "
        f"user 10001{runtime}. Its `HEALTHCHECK` asks `/health/live` with Python's `urllib` "
        "(the slim image has no curl). `.dockerignore` keeps the virtual environment, "
        "caches, local databases and `.env` out of the build context.",
        "",
        "```bash",
        f"docker build -t {ctx.project_name} .",
        *_run_commands(ctx, fragments),
        "```",
        "",
        f"`compose.yaml` runs the local stack ({', '.join(f'`{s}`' for s in names)}): "
        "the app reads `.env` (copy `.env.example`), and Compose points the settings "
        "that name a service at that service's container",
    ]
    notes = [item["readme"] for item in fragments["compose-volumes"] if item.get("readme")]
    notes += [item["readme"] for item in services(fragments) if item.get("readme")]
    for migrate in fragments["migrate"]:
        notes.append(f"`migrate` runs `{' '.join(migrate['command'])}` before the app starts")
    lines[-1] += "".join(f"; {note}" for note in notes)
    lines[-1] += (
        f". The API is published on http://127.0.0.1:{port} only. "
        "`docker compose down -v` stops the stack and deletes its volumes."
    )
    return "\n".join(lines)
