"""Docker: a multi-stage image of the app and a local stack with Docker Compose.

It owns ``Dockerfile``, ``.dockerignore`` and ``compose.yaml``; everything else goes
through fragments (``readme``, ``next-steps``). The image installs the dependencies in
a layer of their own, before the source, and runs uvicorn as a numeric non-root user
with a health check on ``/health/live`` that needs no curl. The stack adapts to the
components present:

- ``database``: the data lives in a volume (SQLite), or with ``database.postgresql``
  in a PostgreSQL service the app waits for until it is healthy;
- ``migrations``: a one-shot ``migrate`` service runs ``alembic upgrade head`` first;
- ``celery``: a Redis service (or RabbitMQ with ``celery.broker = "rabbitmq"``), and
  the settings that point at ``localhost`` are pointed at that service instead.

Other components add services of their own (a worker, say) through the
``compose-services`` slot: ``{"name", "service"}``, the service as a mapping.
"""

from __future__ import annotations

from pathlib import Path

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

# Credentials of the local PostgreSQL service (compose) and of CI's service container.
POSTGRES_USER = POSTGRES_PASSWORD = POSTGRES_DB = "app"


def postgres_url(host: str) -> str:
    """The ``DATABASE_URL`` of the local PostgreSQL service, reached at *host*."""
    return f"postgresql+psycopg://{POSTGRES_USER}:{POSTGRES_PASSWORD}@{host}:5432/{POSTGRES_DB}"


_IMAGE = r"[a-z0-9]+(?:[._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]*"


def _image(name: str, default: str, what: str) -> Option:
    return Option(
        name=name,
        type=str,
        default=default,
        pattern=_IMAGE,
        help=f"{what} image with an exact tag (never latest), e.g. {default}.",
    )


@impl
def uts_component() -> Component:
    return Component(
        name="docker",
        version="0.1.0",
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
    )


def broker(ctx: Context) -> str | None:
    """The broker service celery needs, if celery is there: ``redis`` or ``rabbitmq``."""
    if not ctx.has("celery"):
        return None
    return "rabbitmq" if ctx.options("celery").get("broker") == "rabbitmq" else "redis"


def postgresql(ctx: Context) -> bool:
    """Whether the project's database component is set up for PostgreSQL."""
    return ctx.has("database") and bool(ctx.options("database")["postgresql"])


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
    services = ["app"]
    if ctx.has("migrations"):
        services.append("migrate")
    if postgresql(ctx):
        services.append("postgres")
    service = broker(ctx)
    if service:
        services += [service, "worker", "beat"]  # celery adds its two through compose-services
    port = ctx.options("docker")["port"]
    out.fragment(
        "next-steps",
        {
            "text": (
                f"Or run the whole stack in containers ({', '.join(services)}), "
                f"on http://127.0.0.1:{port}, with the settings of `.env` if there is one:"
            ),
            "command": "docker compose up --build",
            "order": 95,
        },
        key="docker",
    )
    out.fragment("readme", {"title": "Docker", "body": _readme(ctx, services)})


def _run_commands(ctx: Context) -> list[str]:
    name, port = ctx.project_name, ctx.options("docker")["port"]
    if not ctx.has("database"):
        return [f"docker run --rm -p 127.0.0.1:{port}:{port} {name}"]
    # Without DATABASE_URL the image uses SQLite in /app/data: keep it in a volume.
    volume = f"-v {name}-data:/app/data"
    commands = [f"docker run --rm {volume} {name} alembic upgrade head"]
    if not ctx.has("migrations"):
        commands = []
    return [*commands, f"docker run --rm -p 127.0.0.1:{port}:{port} {volume} {name}"]


def _readme(ctx: Context, services: list[str]) -> str:
    options = ctx.options("docker")
    port = options["port"]
    lines = [
        "`Dockerfile` builds the image in two stages: the first copies uv from "
        f"`ghcr.io/astral-sh/uv:{options['uv_version']}` and installs the dependencies "
        "listed in `pyproject.toml` into `/app/.venv` before it copies the source, so "
        "that a change to the code reuses the dependency layer; the second, on "
        f"`python:{options['python_version']}-slim-trixie`, gets only that environment "
        f"and runs `uvicorn {ctx.package}.main:app` on port {port} as the unprivileged "
        "user 10001"
        + (
            f" (unless `DATABASE_URL` says otherwise, its database is SQLite in "
            f"`/app/data/{ctx.package}.db`)"
            if ctx.has("database")
            else ""
        )
        + ". Its `HEALTHCHECK` asks `/health/live` with Python's `urllib` (the "
        "slim image has no curl). `.dockerignore` keeps the virtual environment, caches, "
        "local databases and `.env` out of the build context.",
        "",
        "```bash",
        f"docker build -t {ctx.project_name} .",
        *_run_commands(ctx),
        "```",
        "",
        f"`compose.yaml` runs the local stack ({', '.join(f'`{s}`' for s in services)}): "
        "the app reads `.env` (copy `.env.example`), and Compose points the settings "
        "that name a service at that service's container",
    ]
    if postgresql(ctx):
        lines[-1] += (
            f"; `DATABASE_URL` is `{postgres_url('postgres')}`, whose data lives in the "
            "`postgres-data` volume, and the app starts once PostgreSQL answers its "
            "health check"
        )
    elif ctx.has("database"):
        lines[-1] += (
            f"; the SQLite database is `/app/data/{ctx.package}.db`, in the `app-data` volume"
        )
    if ctx.has("migrations"):
        lines[-1] += "; `migrate` runs `alembic upgrade head` before the app starts"
    lines[-1] += (
        f". The API is published on http://127.0.0.1:{port} only. "
        "`docker compose down -v` stops the stack and deletes its volumes."
    )
    return "\n".join(lines)
