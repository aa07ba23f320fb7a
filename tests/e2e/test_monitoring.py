"""The monitoring component end to end: metrics, tracing and probes of a generated project.

The fast tests render projects in-process; the others install one MVP project with
monitoring in a fresh venv, run its tests (also with the network cut), lint and
type-check it, and serve it with uvicorn to check the endpoints over real HTTP and the
export of traces to an OTLP collector.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import Result
from tests.e2e.conftest import clean_env, generated_pytest, make_venv, request, run, serving

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]

OWN_FILES = {
    "demo/metrics.py",
    "demo/tracing.py",
    "tests/fixtures/tracing.py",
    "tests/test_metrics.py",
    "tests/test_tracing.py",
}
# Files of other components that monitoring changes, each through fragments only.
FRAGMENT_READERS = {
    ".env.example",  # env
    "README.md",  # readme, env
    "demo/main.py",  # app-setup, routers
    "pyproject.toml",  # dependencies
    "tests/conftest.py",  # pytest-plugins
}


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(".uts/")
    }  # uts's own state (.uts/) is checked in tests/unit/test_state.py


# Fast checks: rendering and `uts info` ----------------------------------------------


def test_info_lists_options_files_and_fragments(uts: Uts) -> None:
    result = uts("info", "monitoring")
    assert result.code == 0, result.err
    assert "requires:  fastapi" in result.out
    assert "metrics_path (str, default '/metrics')" in result.out

    data = json.loads(uts("info", "monitoring", "--json").out)
    assert data["requires"] == ["fastapi"]
    assert [option["name"] for option in data["options"]] == ["metrics_path"]
    assert {
        "{{ host.package_dir }}/metrics.py",
        "{{ host.package_dir }}/tracing.py",
        "tests/fixtures/tracing.py",
        "{{ host.tests }}/test_metrics.py",
        "{{ host.tests }}/test_tracing.py",
    } == set(data["files"])
    slots = {(item["slot"], item["key"]) for item in data["fragments"]}
    assert {
        ("app-setup", "example.metrics"),
        ("app-setup", "example.tracing"),
        ("routers", "example.metrics"),
        ("lifespan", "example.tracing"),
        ("pytest-plugins", "tests.fixtures.tracing"),
        ("env", "TRACING_ENABLED"),
        ("env", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ("env", "OTEL_SERVICE_NAME"),
        ("dependencies", "prometheus-client"),
        ("dependencies", "opentelemetry-exporter-otlp-proto-http"),
        ("dependencies", "opentelemetry-instrumentation-fastapi"),
    } <= slots
    assert ("readme", None) in slots
    assert not any("jaeger" in str(item["value"]) for item in data["fragments"])


def test_new_with_monitoring_wires_it_into_the_app(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = uts("new", "demo", "--with", "monitoring", "--dir", target, "--no-input")
    assert result.code == 0, result.err

    main = (target / "demo" / "main.py").read_text()
    assert "metrics.install(app)\ntracing.configure_tracing(app)\n" in main
    assert (
        "    finally:\n        tracing.shutdown_tracing()\n        database.dispose_engine()\n"
        in main
    )
    # Fragment lines never end the file: the probes' router stays last, so what a team
    # appends to main.py merges cleanly when components are added or removed.
    assert main.endswith(
        "app.include_router(metrics.router)\n"
        "# The probes, GET /health/live and /health/ready: see health.py.\n"
        "app.include_router(health.router)\n"
    )
    metrics = (target / "demo" / "metrics.py").read_text()
    assert '@router.get("/metrics", include_in_schema=False)' in metrics
    assert 'ITEMS_CREATED = Counter(\n    "items_created",' in metrics
    tracing = (target / "demo" / "tracing.py").read_text()
    assert "class QueryTracer" in tracing and "OTLPSpanExporter" in tracing
    pyproject = (target / "pyproject.toml").read_text()
    for requirement in (
        '"opentelemetry-exporter-otlp-proto-http>=1.45"',
        '"opentelemetry-instrumentation-fastapi>=0.66b2"',
        '"opentelemetry-sdk>=1.45"',
        '"prometheus-client>=0.26"',
    ):
        assert requirement in pyproject
    assert "jaeger" not in pyproject
    env = (target / ".env.example").read_text()
    assert "\nTRACING_ENABLED=false\n" in env
    assert "\nOTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318\n" in env
    assert "## Monitoring" in (target / "README.md").read_text()
    assert '"tests.fixtures.tracing",' in (target / "tests" / "conftest.py").read_text()


def test_it_adapts_to_the_components_present(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "bare"
    result = uts(
        "new", "demo", "--with", "monitoring", "--without", "database", "--without", "crud",
        "--dir", target, "--no-input",
    )  # fmt: skip
    assert result.code == 0, result.err

    metrics = (target / "demo" / "metrics.py").read_text()
    tracing = (target / "demo" / "tracing.py").read_text()
    assert "sqlalchemy" not in metrics + tracing and "sqlmodel" not in metrics
    assert "_CREATED" not in metrics and "QueryTracer" not in tracing
    assert "opentelemetry-instrumentation-fastapi" in (target / "pyproject.toml").read_text()


def test_adding_monitoring_changes_others_files_only_through_fragments(
    uts: Uts, tmp_path: Path
) -> None:
    assert uts("new", "demo", "--dir", tmp_path / "without", "--no-input").code == 0
    assert (
        uts("new", "demo", "--with", "monitoring", "--dir", tmp_path / "with", "--no-input").code
        == 0
    )
    without, with_ = files(tmp_path / "without"), files(tmp_path / "with")

    assert set(with_) - set(without) == OWN_FILES
    assert set(without) <= set(with_)
    changed = {path for path in without if without[path] != with_[path]}
    assert changed == FRAGMENT_READERS


def test_metrics_path_is_an_option(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = uts(
        "new", "demo", "--with", "monitoring", "--set", "monitoring.metrics_path=/internal/metrics",
        "--dir", target, "--no-input",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert '@router.get("/internal/metrics"' in (target / "demo" / "metrics.py").read_text()
    assert "`GET /internal/metrics`" in (target / "README.md").read_text()

    bad = uts(
        "new", "demo", "--with", "monitoring", "--set", "monitoring.metrics_path=metrics",
        "--dir", tmp_path / "bad", "--no-input",
    )  # fmt: skip
    assert bad.code != 0
    assert "metrics_path" in bad.err


# The generated project, installed ---------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitoring") / "demo"
    run(
        [
            sys.executable, "-m", "uts", "new", "demo", "--recipe", "mvp",
            "--with", "monitoring", "--dir", root, "--no-input",
        ]
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def venv(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment for every check below, installed the way the README says."""
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{project}[dev]")


def in_project(
    venv: Path, project: Path, *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return run(list(args), cwd=project, env=env or clean_env(venv), **kwargs)


# One test per point the component promises; each must run and pass.
PROMISED = [
    "tests/test_health.py::test_liveness_is_ok",
    "tests/test_health.py::test_ready_when_every_check_passes[/health/ready]",
    "tests/test_health.py::test_not_ready_names_the_failing_check[/health/ready]",
    "tests/test_health.py::test_not_ready_when_a_backing_service_is_down[database]",
    "tests/test_metrics.py::test_metrics_endpoint_serves_the_prometheus_text_format",
    "tests/test_metrics.py::test_requests_are_labelled_with_the_route_template",
    "tests/test_metrics.py::test_creating_an_item_through_the_api_counts_it",
    "tests/test_metrics.py::test_the_service_layer_counts_created_items",
    "tests/test_tracing.py::test_tracing_is_off_by_default_and_creates_no_exporter",
    "tests/test_tracing.py::test_switched_on_it_exports_over_otlp",
    "tests/test_tracing.py::test_a_request_makes_a_server_span_named_after_the_route_template",
    "tests/test_tracing.py::test_sql_statements_are_client_spans_inside_the_request",
    "tests/test_tracing.py::test_shutdown_sends_the_spans_still_waiting",
]


def test_generated_tests_pass_with_nothing_skipped(venv: Path, project: Path) -> None:
    proc = generated_pytest(venv, project, "-rA", min_passed=60)
    for test in PROMISED:
        assert f"PASSED {test}" in proc.stdout, test


def test_generated_tests_need_no_network(venv: Path, project: Path) -> None:
    generated_pytest(venv, project, offline=True, min_passed=60)


def test_generated_tests_never_export_even_if_the_shell_says_so(venv: Path, project: Path) -> None:
    env = clean_env(venv, TRACING_ENABLED="true", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    proc = generated_pytest(venv, project, offline=True, env=env)
    assert "failed" not in proc.stdout
    assert "export" not in proc.stderr.lower(), proc.stderr


IMPORT_SCAN = """
import ast, json, pathlib, re, sys, tomllib
from importlib.metadata import packages_distributions

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
declared = {norm(re.split(r"[\\s<>=!~\\[;]", r, maxsplit=1)[0]) for r in project["dependencies"]}
owners = packages_distributions()
missing = set()
for path in pathlib.Path("demo").rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "demo":
                continue
            if not {norm(d) for d in owners.get(top, [])} & declared:
                missing.add(name)
print(json.dumps(sorted(missing)))
"""


def test_every_import_is_a_declared_dependency(venv: Path, project: Path) -> None:
    proc = in_project(venv, project, str(venv / "python"), "-c", IMPORT_SCAN)
    assert json.loads(proc.stdout) == []


def test_ruff_check_and_format_are_clean(venv: Path, project: Path) -> None:
    in_project(venv, project, str(venv / "ruff"), "check", ".")
    in_project(venv, project, str(venv / "ruff"), "format", "--check", ".")


def test_mypy_is_clean(venv: Path, project: Path) -> None:
    in_project(venv, project, str(venv / "mypy"))


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_import_raises_no_deprecation_warning(venv: Path, project: Path, tracing: str) -> None:
    in_project(
        venv,
        project,
        str(venv / "python"),
        "-W",
        "error",
        "-c",
        "import demo.main",
        env=clean_env(venv, TRACING_ENABLED=tracing),
    )


def _request(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> tuple[int, str]:
    status, text, _ = request(url, method, body, raw=True)
    return status, text


@contextmanager
def _serving(venv: Path, project: Path, **env: str) -> Iterator[str]:
    with serving(venv, project, "demo.main:app", **env) as server:
        yield server.base


def test_uvicorn_serves_metrics_and_probes_over_http(
    venv: Path, project: Path, tmp_path: Path
) -> None:
    with _serving(venv, project, DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}") as base:
        assert _request(f"{base}/health/live") == (200, '{"status":"ok"}')
        status, ready = _request(f"{base}/health/ready")
        assert status == 200
        assert json.loads(ready) == {
            "status": "ok",
            "checks": {"database": "ok"},
            "failing": [],
        }
        status, created = _request(f"{base}/items", "POST", {"name": "Widget", "price": 9.5})
        assert status == 201, created
        item = json.loads(created)["id"]
        assert _request(f"{base}/items/{item}")[0] == 200
        assert _request(f"{base}/items/{item}")[0] == 200
        assert _request(f"{base}/items/999999")[0] == 404

        status, text = _request(f"{base}/metrics")

    assert status == 200
    assert 'http_requests_total{method="GET",route="/items/{item_id}",status="200"} 2.0' in text
    assert 'http_requests_total{method="GET",route="/items/{item_id}",status="404"} 1.0' in text
    assert 'http_requests_total{method="POST",route="/items",status="201"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/health/ready",status="200"} 1.0' in text
    assert f'route="/items/{item}"' not in text
    assert 'http_request_duration_seconds_count{method="GET",route="/items/{item_id}"} 3.0' in text
    assert "items_created_total 1.0" in text
    assert "process_resident_memory_bytes" in text


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_switched_on_it_exports_traces_to_an_otlp_collector(
    venv: Path, project: Path, tmp_path: Path
) -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    try:
        with _serving(
            venv,
            project,
            DATABASE_URL=f"sqlite:///{tmp_path / 'traced.db'}",
            TRACING_ENABLED="true",
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_SERVICE_NAME="demo-e2e",
        ) as base:
            status, created = _request(f"{base}/items", "POST", {"name": "W", "price": 1})
            assert status == 201
            assert _request(f"{base}/items/{json.loads(created)['id']}")[0] == 200
        # Spans are exported in batches; shutting down flushes the last one.
    finally:
        collector.shutdown()
        collector.server_close()

    assert _Collector.received, "the collector received no spans"
    paths = {path for path, _, _ in _Collector.received}
    assert paths == {"/v1/traces"}
    assert {kind for _, kind, _ in _Collector.received} == {"application/x-protobuf"}
    exported = b"".join(body for _, _, body in _Collector.received)
    # OTLP protobuf keeps strings as UTF-8 bytes: the span and service names show.
    assert b"GET /items/{item_id}" in exported
    assert b"POST /items" in exported
    assert b"demo-e2e" in exported
    assert b"INSERT" in exported  # the SQL statement's client span
