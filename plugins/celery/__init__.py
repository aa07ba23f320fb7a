"""Celery: background jobs and periodic tasks, on Redis or RabbitMQ.

The generated ``<package>.workers`` package holds the Celery app, configured from the
typed settings (``settings`` slot), and example tasks with a beat schedule; webhooks go
out through ``outbound``, which sends only to public http(s) addresses (or the networks
of ``WEBHOOK_ALLOWED_NETWORKS``), connecting to the address it checked. Everything
it changes in files other components own goes through fragments (``settings``,
``env``, ``health-checks`` when ``fastapi`` is present, ``pytest-plugins``, ``readme``,
``next-steps``), so adding or removing it touches only those and its own files.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Option, impl
from uts_plugins.config import setting

BROKERS = {
    "redis": ("redis://localhost:6379/0", "redis://localhost:6379/1"),
    "rabbitmq": ("amqp://guest:guest@localhost:5672//", "rpc://"),
}
"""Default broker URL and result backend for each choice of the ``broker`` option."""


@impl
def uts_component() -> Component:
    return Component(
        name="celery",
        version="0.2.0",
        summary="Celery worker and beat: typed settings, example tasks with retries, tests.",
        requires=("config",),
        conflicts=(),
        options=(
            Option(
                name="broker",
                type=str,
                default="redis",
                choices=tuple(BROKERS),
                help="Broker the default settings point at: redis, or rabbitmq (amqp).",
            ),
        ),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    package = ctx.package
    broker = ctx.options("celery")["broker"]
    broker_url, backend_url = BROKERS[broker]
    module = f"{package}.workers.celery_app"
    # The redis extra brings the client for the Redis broker and result backend;
    # amqp, for RabbitMQ, comes with kombu whatever the extras.
    out.dependency("celery[redis]>=5.7" if broker == "redis" else "celery>=5.7")
    out.dependency("celery-types>=0.26", group="dev")
    setting(out, "celery_broker_url", broker_url, "Where Celery sends and receives tasks.")
    setting(
        out,
        "celery_result_backend",
        backend_url,
        "Where Celery keeps task results (rpc:// sends them back over AMQP).",
    )
    setting(
        out,
        "celery_default_queue",
        "celery",
        "Queue the tasks go to and the workers consume unless told otherwise.",
    )
    setting(
        out,
        "celery_key_prefix",
        "",
        "Prefix of every Redis key Celery writes, to share one Redis between services.",
    )
    setting(
        out,
        "celery_task_soft_time_limit",
        240,
        "Seconds after which a running task gets SoftTimeLimitExceeded.",
    )
    setting(
        out,
        "celery_task_time_limit",
        300,
        "Seconds after which the worker kills a task that is still running.",
    )
    setting(
        out,
        "webhook_allowed_networks",
        "[]",
        "Private networks webhooks may also reach (a JSON list of CIDR ranges); "
        "public addresses are always allowed.",
        annotation="list[str]",
        source="[]",
    )
    if ctx.has("fastapi"):
        out.fragment(
            "health-checks",
            {"name": "broker", "module": module, "function": "check_broker"},
            key="broker",
        )
    out.fragment(
        "pytest-plugins", {"module": "tests.fixtures.workers"}, key="tests.fixtures.workers"
    )
    out.fragment(
        "next-steps",
        {
            "text": (
                f"Start a Celery worker (it needs the broker at `CELERY_BROKER_URL`, "
                f"default `{broker_url}`):"
            ),
            "command": f"celery -A {module} worker --loglevel=INFO",
            "order": 92,
        },
        key="celery-worker",
    )
    out.fragment(
        "next-steps",
        {
            "text": "Start Celery beat, which sends the periodic tasks (run exactly one):",
            "command": f"celery -A {module} beat --loglevel=INFO",
            "order": 93,
        },
        key="celery-beat",
    )
    out.fragment("readme", {"title": "Background jobs", "body": _readme(ctx, module, broker)})
    out.fragment(
        "gitignore",
        {"comment": "Celery beat's schedule state", "patterns": ["celerybeat-schedule*"]},
        key="celery",
    )
    if ctx.has("docker"):
        _compose_services(ctx, out, module, broker)


def _compose_services(ctx: Context, out: Contributions, module: str, broker: str) -> None:
    """A worker and a beat container in docker's ``compose.yaml``, from the app's image."""
    waits: dict[str, dict[str, str]] = {broker: {"condition": "service_healthy"}}
    if ctx.has("migrations"):
        waits["migrate"] = {"condition": "service_completed_successfully"}
    if ctx.has("database") and ctx.options("database").get("postgresql"):
        waits["postgres"] = {"condition": "service_healthy"}
    for name, command in (
        ("worker", ["celery", "-A", module, "worker", "--loglevel=INFO"]),
        # The image's root filesystem is not the user's: beat keeps its state in /tmp.
        (
            "beat",
            ["celery", "-A", module, "beat", "--loglevel=INFO", "--schedule=/tmp/beat-schedule"],
        ),
    ):
        service = {
            "build": ".",
            "command": command,
            "depends_on": waits,
            "restart": "unless-stopped",
        }
        out.fragment("compose-services", {"name": name, "service": service}, key=name)


def _readme(ctx: Context, module: str, broker: str) -> str:
    package = ctx.package
    server = "Redis" if broker == "redis" else "RabbitMQ"
    ready = (
        " `GET /health/ready` reports `broker` unavailable while the broker cannot be reached."
        if ctx.has("fastapi")
        else ""
    )
    return "\n".join(
        [
            f"`{module}` defines the Celery app from the settings: broker "
            f"`CELERY_BROKER_URL` ({server} by default), results in "
            "`CELERY_RESULT_BACKEND`, tasks on the queue `CELERY_DEFAULT_QUEUE`. Tasks "
            "and results travel as JSON only; a task is acknowledged once it has run, "
            "so a worker that dies mid-task leaves it to another one (write tasks that "
            "can run twice), and `CELERY_TASK_SOFT_TIME_LIMIT` / "
            "`CELERY_TASK_TIME_LIMIT` bound how long one may run. Importing the module "
            f"connects to nothing.{ready}",
            "",
            f"`{package}/workers/tasks.py` holds the tasks: `deliver_webhook` POSTs a "
            "JSON event to a URL and retries with exponential backoff when the receiver "
            "is unreachable or answers 429 or 5xx. A webhook URL comes from a user, so "
            f"it goes through `{package}/workers/outbound.py`: http(s) only, no "
            "credentials in the URL, and the host must resolve to public addresses only "
            "(never loopback, private, link-local such as the cloud metadata service "
            "169.254.169.254, shared or reserved ones) unless they are inside "
            "`WEBHOOK_ALLOWED_NETWORKS` (a JSON list of CIDR ranges, for internal "
            "receivers); the request then goes to the address that was checked (a "
            "second DNS answer cannot turn it elsewhere), with TLS verified against the "
            "host name, a timeout on connecting and reading, and no redirects followed. "
            "A refused URL fails at once, without retries. `heartbeat` logs that the workers "
            "are alive. `BEAT_SCHEDULE` in the app module lists the periodic tasks "
            "beat sends: `heartbeat` every minute and Celery's own cleanup of expired "
            "results every night. Send a task from your code with "
            '`deliver_webhook.delay(url, {"event": "order.paid"})`.',
            "",
            "The tests need no broker: `tests/fixtures/workers.py` points Celery at an "
            "in-memory broker and result backend, and the `celery_worker` fixture "
            "(`celery.contrib.pytest`) runs a real worker in a thread of the test "
            "process. Run one beat per deployment (it would otherwise send every "
            "periodic task twice); it keeps its state in `celerybeat-schedule` in the "
            "working directory (ignored by git), which `--schedule PATH` moves elsewhere.",
        ]
    )
