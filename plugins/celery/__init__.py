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
from typing import Any

from uts.plugin import Component, Context, Contributions, Option, impl
from uts_plugins.config import setting

BROKERS = {
    "redis": ("redis://localhost:6379/0", "redis://localhost:6379/1"),
    "rabbitmq": ("amqp://guest:guest@localhost:5672//", "rpc://"),
}
"""Default broker URL and result backend for each choice of the ``broker`` option."""

TASK_TIME_LIMIT = 300
"""Default of ``celery_task_time_limit``: seconds after which a running task is killed."""


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
        TASK_TIME_LIMIT,
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
    _compose_services(out, module, broker)
    _workloads(ctx, out, module)


# The broker of the local stack: exact tags, bumped deliberately.
BROKER_SERVICES: dict[str, dict[str, Any]] = {
    "redis": {
        "addresses": ["localhost:6379", "127.0.0.1:6379"],
        "volumes": ["redis-data"],
        "service": {
            "image": "redis:8.2.1-alpine",
            "volumes": ["redis-data:/data"],
            "healthcheck": {
                "test": ["CMD", "redis-cli", "ping"],
                "interval": "5s",
                "timeout": "5s",
                "retries": 10,
            },
            "restart": "unless-stopped",
        },
    },
    "rabbitmq": {
        "addresses": ["localhost:5672", "127.0.0.1:5672"],
        "volumes": ["rabbitmq-data"],
        "service": {
            "image": "rabbitmq:4.1.3-alpine",
            "volumes": ["rabbitmq-data:/var/lib/rabbitmq"],
            "healthcheck": {
                "test": ["CMD", "rabbitmq-diagnostics", "--quiet", "ping"],
                "interval": "10s",
                "timeout": "10s",
                "retries": 10,
                "start_period": "20s",
            },
            "restart": "unless-stopped",
        },
    },
}


def _compose_services(out: Contributions, module: str, broker: str) -> None:
    """The broker, a worker and a beat in the compose stack; the last two from the app's image."""
    extra = BROKER_SERVICES[broker]
    if broker == "rabbitmq":
        # The password from RABBITMQ_PASSWORD (.env or the shell), "guest" when unset: no
        # credentials written out in the file (secret scanners look for them).
        password = "${RABBITMQ_PASSWORD:-guest}"
        service = {**extra["service"], "environment": {"RABBITMQ_DEFAULT_PASS": password}}
        extra = {**extra, "service": service}
        out.fragment(
            "compose-environment",
            {"name": "CELERY_BROKER_URL", "value": f"amqp://guest:{password}@rabbitmq:5672//"},
            key="CELERY_BROKER_URL",
        )
    out.fragment(
        "compose-services",
        {"name": broker, "order": 30, "wait": "service_healthy", **extra},
        key=broker,
    )
    for order, name, command in (
        (60, "worker", ["celery", "-A", module, "worker", "--loglevel=INFO"]),
        # The image's root filesystem is not the user's: beat keeps its state in /tmp.
        (
            61,
            "beat",
            ["celery", "-A", module, "beat", "--loglevel=INFO", "--schedule=/tmp/beat-schedule"],
        ),
    ):
        service = {"build": ".", "command": command, "restart": "unless-stopped"}
        out.fragment(
            "compose-services", {"name": name, "order": order, "service": service}, key=name
        )


def _ping(module: str, node: str) -> list[str]:
    """A probe command: this pod's own node answers a ping through the broker."""
    return [
        "sh",
        "-c",
        f'celery -A {module} inspect ping --destination="{node}@${{HOSTNAME}}" --timeout=10',
    ]


BROKER_PORTS = {"redis": 6379, "rabbitmq": 5672}


def _workloads(ctx: Context, out: Contributions, module: str) -> None:
    """The worker and beat Deployments of the kubernetes component (``k8s-workloads``),
    and where their pods (and the app's, which sends tasks) connect to."""
    broker = ctx.options("celery")["broker"]
    out.fragment(
        "k8s-egress",
        {"name": "the Celery broker", "ports": [BROKER_PORTS[broker]]},
        key="broker",
    )
    out.fragment(
        "k8s-egress",
        {"name": "webhook receivers", "ports": [80, 443], "pods": ["worker"], "public": True},
        key="webhooks",
    )
    out.fragment(
        "k8s-workloads",
        {
            "name": "worker",
            "command": ["celery", "-A", module, "worker", "--loglevel=INFO", "--concurrency=2"],
            "replicas": 2,
            "comment": "No autoscaler: change this count to scale the workers. Two processes "
            "per pod, as the CPU limit allows (by default Celery starts one per CPU of the "
            "node). A worker serves no HTTP: its probes ask this pod's node "
            "(celery@<pod name>) for a pong through the broker. SIGTERM starts a warm "
            f"shutdown that outlasts the hard task time limit ({TASK_TIME_LIMIT} s).",
            "readiness": {
                "exec": {"command": _ping(module, "celery")},
                "initialDelaySeconds": 10,
                "periodSeconds": 60,
                "timeoutSeconds": 30,
                "failureThreshold": 2,
            },
            "liveness": {
                "exec": {"command": _ping(module, "celery")},
                "initialDelaySeconds": 60,
                "periodSeconds": 120,
                "timeoutSeconds": 30,
                "failureThreshold": 3,
            },
            "resources": {
                "requests": {"cpu": "250m", "memory": "384Mi"},
                "limits": {"cpu": "1", "memory": "768Mi"},
            },
            # A stopping worker finishes its running tasks first (warm shutdown).
            "grace_period": TASK_TIME_LIMIT + 60,
            "disruption_budget": True,
            "spread": True,
            "readme": _K8S_README.format(module=module),
        },
        key="worker",
    )
    out.fragment(
        "k8s-workloads",
        {
            "name": "beat",
            # The schedule file lives in the writable /tmp; with remote control on, beat
            # answers `celery inspect ping` as celerybeat@<pod name>.
            "command": [
                "celery",
                "-A",
                module,
                "beat",
                "--loglevel=INFO",
                "--schedule=/tmp/beat-schedule",
                "--enable-remote-control",
            ],
            "replicas": 1,
            "strategy": "Recreate",
            "comment": "Exactly one beat, and the old pod gone before the new one starts: "
            "two beats would send every periodic task twice. Restarted when it has not "
            "answered through the broker for six minutes.",
            # Beat serves nothing, but a beat that cannot reach the broker is not ready.
            "readiness": {
                "exec": {"command": _ping(module, "celerybeat")},
                "initialDelaySeconds": 10,
                "periodSeconds": 60,
                "timeoutSeconds": 30,
                "failureThreshold": 2,
            },
            "liveness": {
                "exec": {"command": _ping(module, "celerybeat")},
                "initialDelaySeconds": 60,
                "periodSeconds": 120,
                "timeoutSeconds": 30,
                "failureThreshold": 3,
            },
            "resources": {
                "requests": {"cpu": "50m", "memory": "192Mi"},
                "limits": {"cpu": "500m", "memory": "384Mi"},
            },
        },
        key="beat",
    )


_K8S_README = (
    "Celery runs beside the app, from the same image, settings and hardening: "
    "`worker.yaml` runs `celery -A {module} worker` (two pods of two processes, "
    "a PodDisruptionBudget in `worker-pdb.yaml`) and `beat.yaml` runs exactly one "
    "beat (`strategy: Recreate`, so a rollout never runs two and no periodic task "
    "is sent twice), its schedule in `/tmp/beat-schedule`. Neither serves HTTP nor "
    "sits behind the Service: their probes run `celery inspect ping` against the "
    "pod's own node through the broker, and a worker told to stop finishes its "
    "running tasks within the grace period, which outlasts "
    "`CELERY_TASK_TIME_LIMIT`. Scale the workers by changing `replicas` in "
    "`worker.yaml` (an apply resets what `kubectl scale` set)."
)


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
