"""The celery component end to end: render checks, one installed CORE project with celery,
and a real worker of that project against the real Redis and the real RabbitMQ.

Redis is the server at 127.0.0.1:6379 and RabbitMQ the one at 127.0.0.1:5672
(guest/guest). Each check there gets a queue of its own and, on Redis, a key prefix of
its own, and removes what it created. When a server is unreachable its check is skipped
with the reason, unless ``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import IN_CI, Result, snapshot
from tests.e2e.conftest import clean_env, generated_pytest, make_venv, run

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]

PACKAGE = "shop"
OWN_FILES = {
    f"{PACKAGE}/workers/__init__.py",
    f"{PACKAGE}/workers/celery_app.py",
    f"{PACKAGE}/workers/outbound.py",
    f"{PACKAGE}/workers/tasks.py",
    "tests/fixtures/workers.py",
    "tests/integration/test_tasks.py",
    "tests/unit/test_celery_app.py",
    "tests/unit/test_outbound.py",
}
# Files of other components that celery changes, each through fragments only.
FRAGMENT_READERS = {
    ".env.example",  # env
    ".gitignore",  # gitignore
    "README.md",  # readme, env, next-steps
    "pyproject.toml",  # dependencies
    f"{PACKAGE}/core/config/settings.py",  # settings
    f"{PACKAGE}/health.py",  # health-checks
    "tests/conftest.py",  # pytest-plugins
    "tests/test_health.py",  # health-checks
}
SETTINGS = (
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_DEFAULT_QUEUE",
    "CELERY_KEY_PREFIX",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERY_TASK_TIME_LIMIT",
    "WEBHOOK_ALLOWED_NETWORKS",
)


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(".uts/")
    }  # uts's own state (.uts/) is checked in tests/unit/test_state.py


def new(uts: Uts, target: Path, *args: str) -> Path:
    result = uts("new", PACKAGE, "--recipe", "core", *args, "--dir", target, "--no-input")
    assert result.code == 0, result.err
    return target


# Fast checks: rendering, `uts info`, add and remove -----------------------------------


def test_info_lists_options_files_and_fragments(uts: Uts) -> None:
    result = uts("info", "celery")
    assert result.code == 0, result.err
    assert "requires:  config" in result.out
    assert "broker (str, default 'redis') one of ['redis', 'rabbitmq']" in result.out

    data = json.loads(uts("info", "celery", "--json").out)
    assert data["requires"] == ["config"]
    assert [(o["name"], o["choices"]) for o in data["options"]] == [
        ("broker", ["redis", "rabbitmq"])
    ]
    assert set(data["files"]) == {path.replace(PACKAGE, "{{ package }}") for path in OWN_FILES}
    slots = {(item["slot"], item["key"]) for item in data["fragments"]}
    assert {
        ("dependencies", "celery"),
        ("dependencies:dev", "celery-types"),
        ("pytest-plugins", "tests.fixtures.workers"),
        ("next-steps", "celery-worker"),
        ("next-steps", "celery-beat"),
        *(("env", name) for name in SETTINGS),
        *(("settings", name.lower()) for name in SETTINGS),
    } <= slots
    assert ("readme", None) in slots


def test_new_with_celery_wires_settings_health_and_docs(uts: Uts, tmp_path: Path) -> None:
    target = new(uts, tmp_path / "shop", "--with", "celery")

    app = (target / PACKAGE / "workers" / "celery_app.py").read_text()
    for line in (
        'accept_content=["json"]',
        "task_acks_late=True",
        "broker_connection_retry_on_startup=True",
        "task_time_limit=settings.celery_task_time_limit",
        '"task": "shop.workers.tasks.heartbeat"',
    ):
        assert line in app, line
    assert "pickle" not in app.replace("pickled", "")
    settings = (target / PACKAGE / "core" / "config" / "settings.py").read_text()
    assert '    celery_broker_url: str = "redis://localhost:6379/0"\n' in settings
    assert "    celery_task_time_limit: int = 300\n" in settings
    env = (target / ".env.example").read_text()
    for name in SETTINGS:
        assert f"\n{name}=" in env, name
    assert "\nCELERY_RESULT_BACKEND=redis://localhost:6379/1\n" in env
    health = (target / PACKAGE / "health.py").read_text()
    assert "from shop.workers import celery_app\n" in health
    assert '    "broker": celery_app.check_broker,\n' in health
    assert '"tests.fixtures.workers",' in (target / "tests" / "conftest.py").read_text()
    readme = (target / "README.md").read_text()
    assert "## Background jobs" in readme
    assert "celery -A shop.workers.celery_app worker --loglevel=INFO" in readme
    assert "celery -A shop.workers.celery_app beat --loglevel=INFO" in readme
    pyproject = (target / "pyproject.toml").read_text()
    assert '"celery[redis]>=5.7"' in pyproject and '"celery-types>=0.26"' in pyproject
    gitignore = (target / ".gitignore").read_text()
    assert gitignore.endswith("htmlcov/\n\n# Celery beat's schedule state\ncelerybeat-schedule*\n")


def test_the_broker_option_points_the_defaults_at_rabbitmq(uts: Uts, tmp_path: Path) -> None:
    target = new(uts, tmp_path / "shop", "--with", "celery", "--set", "celery.broker=rabbitmq")

    env = (target / ".env.example").read_text()
    assert "\nCELERY_BROKER_URL=amqp://guest:guest@localhost:5672//\n" in env
    assert "\nCELERY_RESULT_BACKEND=rpc://\n" in env
    pyproject = (target / "pyproject.toml").read_text()
    assert '"celery>=5.7"' in pyproject and "celery[redis]" not in pyproject
    assert "RabbitMQ by default" in (target / "README.md").read_text()

    bad = uts(
        "new", PACKAGE, "--recipe", "core", "--with", "celery", "--set", "celery.broker=sqs",
        "--dir", tmp_path / "bad", "--no-input",
    )  # fmt: skip
    assert bad.code == 4
    assert "celery.broker" in bad.err


def test_celery_changes_others_files_only_through_fragments(uts: Uts, tmp_path: Path) -> None:
    without = files(new(uts, tmp_path / "without"))
    with_ = files(new(uts, tmp_path / "with", "--with", "celery"))

    assert set(with_) - set(without) == OWN_FILES
    assert set(without) <= set(with_)
    assert {path for path in without if without[path] != with_[path]} == FRAGMENT_READERS


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_with_docker_the_stack_gets_a_worker_and_beat(
    uts: Uts, tmp_path: Path, broker: str
) -> None:
    import yaml

    from tests.e2e.validators import jsonschema, report, yamllint

    target = tmp_path / "shop"
    args = ["--with", "celery", "--with", "docker", "--set", f"celery.broker={broker}"]
    result = uts("new", "shop", "--recipe", "core", "--dir", target, "--no-input", *args)
    assert result.code == 0, result.err
    compose_file = target / "compose.yaml"
    for proc in (jsonschema("compose-spec", compose_file), yamllint(compose_file)):
        assert proc.returncode == 0, report(proc)
    services = yaml.safe_load(compose_file.read_text())["services"]
    assert {"app", "worker", "beat", broker, "postgres", "migrate"} <= set(services)
    for name in ("worker", "beat"):
        service = services[name]
        assert service["command"][:4] == ["celery", "-A", "shop.workers.celery_app", name]
        assert service["depends_on"][broker] == {"condition": "service_healthy"}
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        # Built from the app's image: the same settings, pointing at the stack's services.
        assert service["environment"] == services["app"]["environment"]
    port = 5672 if broker == "rabbitmq" else 6379
    assert f"{broker}:{port}" in services["worker"]["environment"]["CELERY_BROKER_URL"]


def test_add_then_remove_gives_back_the_same_bytes(uts: Uts, tmp_path: Path) -> None:
    root = new(uts, tmp_path / "shop")
    before = snapshot(root)

    added = uts("add", "celery", "--project", root)
    assert added.code == 0, added.err
    assert (root / PACKAGE / "workers" / "tasks.py").is_file()
    assert uts("add", "celery", "--project", root).code == 0
    assert files(root) == files(new(uts, tmp_path / "fresh", "--with", "celery"))

    removed = uts("remove", "celery", "--project", root)
    assert removed.code == 0, removed.err
    assert snapshot(root) == before


# One installed CORE project with celery ------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("celery") / PACKAGE
    command = ["new", PACKAGE, "--recipe", "core", "--with", "celery", "--dir", root]
    run([sys.executable, "-m", "uts", *command, "--no-input"])
    return root


@pytest.fixture(scope="module")
def venv(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment for every check below, installed the way the README says."""
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{project}[dev]")


def in_project(
    venv: Path, project: Path, *args: str | Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return run(list(args), cwd=project, env=clean_env(venv, **env))


# One test per point the component promises; each must run and pass.
PROMISED = [
    "tests/unit/test_celery_app.py::test_every_task_in_the_beat_schedule_is_registered",
    "tests/unit/test_celery_app.py::test_messages_are_json_only",
    "tests/unit/test_celery_app.py::test_tasks_are_acknowledged_once_run_and_time_limited",
    "tests/unit/test_celery_app.py::test_creating_the_app_connects_to_nothing",
    "tests/unit/test_celery_app.py::test_the_broker_check_raises_when_the_broker_is_unreachable",
    "tests/integration/test_tasks.py::test_a_worker_runs_the_heartbeat",
    "tests/integration/test_tasks.py::test_a_worker_retries_a_webhook_after_a_transient_error",
    "tests/integration/test_tasks.py::test_a_delivery_is_given_up_after_the_last_retry",
    # Webhooks reach only public http(s) addresses (server-side request forgery).
    "tests/integration/test_tasks.py::test_a_webhook_to_anything_but_a_public_http_address_is_refused_at_once[file:///etc/passwd]",
    "tests/integration/test_tasks.py::test_a_webhook_to_anything_but_a_public_http_address_is_refused_at_once[http://127.0.0.1:8000/hook]",
    "tests/integration/test_tasks.py::test_a_webhook_to_anything_but_a_public_http_address_is_refused_at_once[http://169.254.169.254/latest/meta-data/]",
    "tests/integration/test_tasks.py::test_a_webhook_to_anything_but_a_public_http_address_is_refused_at_once[http://localhost:8000/hook]",
    "tests/integration/test_tasks.py::test_a_webhook_to_anything_but_a_public_http_address_is_refused_at_once[http://db.internal:5432/]",
    "tests/integration/test_tasks.py::test_allowed_networks_reach_internal_receivers",
    "tests/unit/test_outbound.py::test_a_second_dns_answer_never_gets_a_say",
    "tests/unit/test_outbound.py::test_the_request_goes_to_the_vetted_address_with_the_host_name",
    "tests/unit/test_outbound.py::test_https_checks_the_certificate_against_the_host_name",
    "tests/test_health.py::test_not_ready_when_a_backing_service_is_down[broker]",
]


def test_generated_suite_passes_without_network_nothing_skipped(venv: Path, project: Path) -> None:
    # Even with the shell pointing at a real broker, the tests keep to the in-memory one.
    env = clean_env(venv, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    proc = generated_pytest(venv, project, "-rA", offline=True, min_passed=150, env=env)
    for test in PROMISED:
        assert f"PASSED {test}" in proc.stdout, test


def test_ruff_format_and_mypy_strict_are_clean(venv: Path, project: Path) -> None:
    in_project(venv, project, venv / "ruff", "check", "--no-cache", ".")
    in_project(venv, project, venv / "ruff", "format", "--no-cache", "--check", ".")
    in_project(venv, project, venv / "mypy", "--cache-dir", "/dev/null")


# The RabbitMQ variant (celery.broker=rabbitmq), installed on its own --------------------


@pytest.fixture(scope="module")
def rabbitmq_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("celery-rabbitmq") / PACKAGE
    command = ["new", PACKAGE, "--recipe", "core", "--with", "celery", "--dir", root]
    run([sys.executable, "-m", "uts", *command, "--set", "celery.broker=rabbitmq", "--no-input"])
    return root


@pytest.fixture(scope="module")
def rabbitmq_venv(rabbitmq_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv-rabbitmq") / ".venv"
    return make_venv(root, "-e", f"{rabbitmq_project}[dev]")


def test_rabbitmq_variant_passes_its_suite_ruff_and_mypy(
    rabbitmq_venv: Path, rabbitmq_project: Path
) -> None:
    venv, project = rabbitmq_venv, rabbitmq_project
    assert "amqp://guest:guest@localhost:5672//" in (project / ".env.example").read_text()
    proc = generated_pytest(venv, project, "-rA", offline=True, min_passed=150)
    for test in PROMISED:
        assert f"PASSED {test}" in proc.stdout, test
    in_project(venv, project, venv / "ruff", "check", "--no-cache", ".")
    in_project(venv, project, venv / "ruff", "format", "--no-cache", "--check", ".")
    in_project(venv, project, venv / "mypy", "--cache-dir", "/dev/null")


# A real worker against real brokers -----------------------------------------------------


def reachable(port: int) -> str | None:
    """None if something listens on 127.0.0.1:*port*, else why not."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError as error:
        return str(error)
    return None


def require(server: str, port: int) -> None:
    error = reachable(port)
    if error is None:
        return
    reason = f"{server} at 127.0.0.1:{port} is unreachable: {error}"
    if IN_CI:
        pytest.fail(reason + " (CI=true: the server is required)", pytrace=False)
    pytest.skip(reason + " (start it, or run in CI=true to make this a failure)")


class _Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: answers 503 to the first delivery, 202 to the next ones."""

    received: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(body)
        self.send_response(503 if len(self.received) == 1 else 202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    """The URL of a webhook receiver on a free local port."""
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


SEND = """
import json, sys
from shop.workers import tasks

heartbeat = tasks.heartbeat.delay().get(timeout=60)
status = tasks.deliver_webhook.delay(sys.argv[1], {"event": "order.paid", "id": 7}).get(
    timeout=60
)
print(json.dumps({"heartbeat": heartbeat, "status": status}))
"""


def work(venv: Path, project: Path, url: str, **env: str) -> dict[str, Any]:
    """Run a worker of the project, send it tasks from the project's code; their results."""
    # The receiver listens on loopback, which webhooks may reach only when allowed.
    env = {"WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]', **env}
    worker = subprocess.Popen(
        [
            venv / "celery", "-A", f"{PACKAGE}.workers.celery_app", "worker", "--pool=solo",
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"uts-e2e-{secrets.token_hex(4)}@%h",
        ],
        cwd=project,
        env=clean_env(venv, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        sent = run([venv / "python", "-c", SEND, url], cwd=project, env=clean_env(venv, **env))
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        output = worker.communicate(timeout=60)[0]
    assert worker.returncode == 0, output
    assert "shop.workers.tasks.deliver_webhook" in output  # the worker registered it
    assert "Retry in" in output, output  # the 503 was retried with a countdown
    return {**json.loads(sent.stdout), "output": output}


def check_results(results: dict[str, Any]) -> None:
    assert results["heartbeat"]["at"].endswith("+00:00")
    assert results["status"] == 202
    assert _Receiver.received == [{"event": "order.paid", "id": 7}] * 2


REDIS_KEYS = """
import sys, redis
client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
keys = sorted(k.decode() for k in client.scan_iter(match=sys.argv[1] + "*"))
if sys.argv[2] == "delete" and keys:
    client.delete(*keys)
print("\\n".join(keys))
"""


def test_a_worker_runs_tasks_through_the_real_redis(
    venv: Path, project: Path, receiver: str
) -> None:
    require("Redis", 6379)
    name = f"uts-e2e-{secrets.token_hex(6)}"
    prefix = f"{name}:"
    url = "redis://127.0.0.1:6379/0"
    keys = [venv / "python", "-c", REDIS_KEYS, prefix]
    try:
        results = work(
            venv, project, receiver,
            CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url,
            CELERY_DEFAULT_QUEUE=name, CELERY_KEY_PREFIX=prefix,
        )  # fmt: skip
        check_results(results)
        assert "Connected to redis://:**@127.0.0.1:6379/0" in results["output"]
        # Every key the broker and the results used carries the prefix.
        written = run([*keys, "list"], cwd=project).stdout.split()
        assert f"{prefix}_kombu.binding.{name}" in written
        assert any(key.startswith(f"{prefix}celery-task-meta-") for key in written), written
    finally:
        run([*keys, "delete"], cwd=project)
    assert run([*keys, "list"], cwd=project).stdout.split() == []


RABBITMQ_DELETE = """
import sys
from kombu import Connection

with Connection(sys.argv[1]) as connection:
    channel = connection.default_channel
    channel.queue_delete(sys.argv[2])
    channel.exchange_delete(sys.argv[2])
"""


def test_a_worker_runs_tasks_through_the_real_rabbitmq(
    rabbitmq_venv: Path, rabbitmq_project: Path, receiver: str
) -> None:
    # The RabbitMQ variant as generated: its default broker URL and result backend.
    require("RabbitMQ", 5672)
    venv, project = rabbitmq_venv, rabbitmq_project
    name = f"uts-e2e-{secrets.token_hex(6)}"
    url = "amqp://guest:guest@127.0.0.1:5672//"
    try:
        results = work(venv, project, receiver, CELERY_DEFAULT_QUEUE=name)
        check_results(results)
        assert ".> transport:   amqp://guest:**@localhost:5672//" in results["output"]
        assert ".> results:     rpc://" in results["output"]
        assert "Connected to amqp://guest:**@127.0.0.1:5672//" in results["output"]
        assert f".> {name}" in results["output"]
    finally:
        run([venv / "python", "-c", RABBITMQ_DELETE, url, name], cwd=project)


def test_the_redis_variant_reaches_rabbitmq_when_pointed_there(
    venv: Path, project: Path, receiver: str
) -> None:
    require("RabbitMQ", 5672)
    name = f"uts-e2e-{secrets.token_hex(6)}"
    url = "amqp://guest:guest@127.0.0.1:5672//"
    try:
        results = work(
            venv, project, receiver,
            CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND="rpc://", CELERY_DEFAULT_QUEUE=name,
        )  # fmt: skip
        check_results(results)
        assert "Connected to amqp://guest:**@127.0.0.1:5672//" in results["output"]
        assert f".> {name}" in results["output"]
    finally:
        run([venv / "python", "-c", RABBITMQ_DELETE, url, name], cwd=project)
