"""Monitoring: Prometheus metrics at ``/metrics`` and OpenTelemetry tracing over OTLP.

Everything it changes in files other components own goes through fragments
(``app-setup``, ``routers``, ``env``, ``pytest-plugins``, ``readme``), so adding or
removing it touches only those and its own files. It adapts to what else is present:
with ``database`` it traces SQL statements, with ``crud`` it counts the resource's
creations in a business counter.
"""

from __future__ import annotations

from pathlib import Path

from uts.errors import ConflictError
from uts.plugin import Component, Context, Contributions, Option, impl

_PATH = r"/[a-z0-9_-]+(?:/[a-z0-9_-]+)*"
TEMPLATES = Path(__file__).parent / "templates"


@impl
def uts_component() -> Component:
    return Component(
        name="monitoring",
        version="0.2.0",
        summary="Prometheus metrics per route template, and OpenTelemetry tracing (OTLP).",
        requires=("fastapi",),
        conflicts=(),
        options=(
            Option(
                name="metrics_path",
                type=str,
                default="/metrics",
                pattern=_PATH,
                help="Path Prometheus scrapes, e.g. /metrics or /internal/metrics.",
            ),
        ),
        templates=TEMPLATES / "code",
        adoptable=True,
    )


def _route_path(detail: str) -> str | None:
    return next((word for word in detail.split() if word.startswith("/")), None)


def _reused_metrics_route(ctx: Context) -> bool:
    """Whether an adopted app serves the metrics path already, in a way uts can reuse.

    A ``prometheus_client.make_asgi_app()`` mounted there serves the default registry,
    where uts's HTTP metrics go too: it is reused. Any other route there, Prometheus
    instrumentation of another kind (it would count every request twice, under the same
    metric names) or OpenTelemetry already set up (uts would instrument the app a
    second time) is refused with its file and line.
    """
    assert ctx.host is not None
    path = ctx.options("monitoring")["metrics_path"]
    for finding in ctx.host.found("instrumentator", "opentelemetry"):
        if finding.detail == "import prometheus_client":
            continue  # the client library alone measures nothing by itself
        what = "OpenTelemetry" if finding.kind == "opentelemetry" else "Prometheus instrumentation"
        raise ConflictError(
            f"{finding.file}:{finding.line} sets up {what} already ({finding.detail}); "
            "uts's monitoring would measure every request a second time",
            hint="keep yours and leave monitoring out, or take yours out first",
        )
    for finding in ctx.host.found("middleware"):
        name = finding.detail.rpartition(".")[2]
        if "Prometheus" in name or "OpenTelemetry" in name:
            raise ConflictError(
                f"{finding.file}:{finding.line} adds {finding.detail} already; uts's "
                "monitoring would add the same kind of middleware a second time",
                hint="keep yours and leave monitoring out, or take yours out first",
            )
    reused = False
    for finding in ctx.host.found("metrics-route"):
        served = _route_path(finding.detail)
        if served is None or not (served == path or served.startswith(path + "/")):
            continue
        if finding.detail.endswith("make_asgi_app()"):
            reused = True
            continue
        raise ConflictError(
            f"{finding.file}:{finding.line} serves {served} already ({finding.detail}); "
            f"uts would serve its metrics at {path}",
            hint="serve them elsewhere: --set monitoring.metrics_path=/internal/metrics",
        )
    return reused


@impl
def uts_configure(ctx: Context) -> None:
    if ctx.host is not None and ctx.host.adopted:
        _reused_metrics_route(ctx)


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    host = ctx.host
    assert host is not None
    package = ctx.package
    adopted = host.adopted
    metrics, tracing = f"{host.module_prefix}metrics", f"{host.module_prefix}tracing"
    out.dependency("prometheus-client>=0.26")
    if not adopted:  # an adopted app keeps the Starlette its FastAPI pins
        # The middleware speaks ASGI and matches routes with Starlette's types.
        out.dependency("starlette>=1.6")
    out.dependency("opentelemetry-api>=1.45")
    out.dependency("opentelemetry-sdk>=1.45")
    out.dependency("opentelemetry-exporter-otlp-proto-http>=1.45")
    out.dependency("opentelemetry-instrumentation-fastapi>=0.66b2")
    out.fragment("app-setup", {"module": metrics, "function": "install"}, key=metrics)
    out.fragment("app-setup", {"module": tracing, "function": "configure_tracing"}, key=tracing)
    out.fragment(
        "k8s-egress",
        {
            "name": "the OpenTelemetry collector, once tracing is on",
            "ports": [4318],
            "pods": ["api"],
        },
        key="otlp",
    )
    if not (adopted and _reused_metrics_route(ctx)):
        out.fragment("routers", {"module": metrics, "attr": "router"}, key=metrics)
    # Spans wait in batches. uvicorn re-raises SIGTERM once it has shut down, so atexit
    # handlers never run: the app's shutdown must send the last batch.
    out.fragment("lifespan", {"module": tracing, "shutdown": "shutdown_tracing"}, key=tracing)
    if host.tests is not None:
        out.templates(TEMPLATES / "tests")
    if adopted:
        # The probes the tests request.
        out.fragment("health", {"component": "monitoring"}, key="monitoring")
        return
    out.templates(TEMPLATES / "fixtures")
    out.fragment(
        "pytest-plugins", {"module": "tests.fixtures.tracing"}, key="tests.fixtures.tracing"
    )
    out.fragment(
        "env",
        {
            "name": "TRACING_ENABLED",
            "value": "false",
            "comment": (
                "Export traces (true/false); when unset, tracing is on only if "
                "OTEL_EXPORTER_OTLP_ENDPOINT is set."
            ),
        },
        key="TRACING_ENABLED",
    )
    out.fragment(
        "env",
        {
            "name": "OTEL_EXPORTER_OTLP_ENDPOINT",
            "value": "http://localhost:4318",
            "comment": "OTLP/HTTP collector that receives the traces.",
        },
        key="OTEL_EXPORTER_OTLP_ENDPOINT",
    )
    out.fragment(
        "env",
        {
            "name": "OTEL_SERVICE_NAME",
            "value": ctx.project_name,
            "comment": "Service name the traces carry.",
        },
        key="OTEL_SERVICE_NAME",
    )
    path = ctx.options("monitoring")["metrics_path"]
    sql = " and every SQL statement the database engine runs" if ctx.has("database") else ""
    business = (
        f" `{package}/metrics.py` also holds the business metrics: add a `Counter`, "
        "`Gauge` or `Histogram` there and call `.inc()`/`.set()`/`.observe()` where the "
        "event happens"
    )
    if ctx.has("crud"):
        from uts_plugins.crud import resource_names

        crud = ctx.options("crud")
        names = resource_names(crud["resource"], crud["plural"])
        business += (
            f"; the example, `{names['plural']}_created_total`, counts each "
            f"{names['label']} stored, from an SQLAlchemy `after_insert` listener, so "
            "the service layer needs no monitoring code"
        )
    out.fragment(
        "readme",
        {
            "title": "Monitoring",
            "body": "\n".join(
                [
                    f"`GET {path}` serves Prometheus metrics: `http_requests_total` "
                    "(labels `method`, `route`, `status`) and "
                    "`http_request_duration_seconds` (labels `method`, `route`), where "
                    "`route` is the route template, e.g. `/items/{item_id}`, never the raw "
                    "path (unknown paths are counted as `<unmatched>`), plus the "
                    f"process metrics of `prometheus-client`.{business}. Serve `{path}` "
                    "to your Prometheus only, not to the internet. With several worker "
                    "processes, each one keeps its own counters: see `prometheus-client`'s "
                    "multiprocess mode.",
                    "",
                    f"`{package}/tracing.py` traces, with OpenTelemetry, each request{sql}, "
                    "and exports the spans over OTLP/HTTP. It is off by default, so the "
                    "app and its tests need no collector. Turn it on with "
                    "`TRACING_ENABLED=true` (spans go to `OTEL_EXPORTER_OTLP_ENDPOINT`, "
                    "default `http://localhost:4318`), or leave `TRACING_ENABLED` unset "
                    "and set `OTEL_EXPORTER_OTLP_ENDPOINT`. The standard `OTEL_*` "
                    "variables apply: `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`, "
                    "`OTEL_TRACES_SAMPLER`, `OTEL_PYTHON_FASTAPI_EXCLUDED_URLS` (e.g. "
                    "`health,metrics` to skip the probes), and `OTEL_SDK_DISABLED=true` "
                    "turns tracing off whatever else is set.",
                ]
            ),
        },
    )
