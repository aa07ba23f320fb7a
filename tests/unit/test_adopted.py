"""Adopted projects in uts's state: the host, wiring by LibCST, refusals, clashes, merges."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FakePlugin, Result, snapshot
from uts.adopt import detect
from uts.adopted import adopted_spec, host_from_record
from uts.change import current_spec
from uts.engine import compose
from uts.errors import ConflictError, RenderError, ResolutionError
from uts.model import Component, Host
from uts.plugin.manager import load_registry, registry_from
from uts.state import find_project, load_project

Uts = Callable[..., Result]
FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"
HOSTS = {
    "single_file": Host(
        adopted=True,
        package_dir="",
        module_prefix="",
        app_module="main",
        packaging="requirements",
        requirements=("requirements.txt", "requirements-dev.txt"),
        sources=("*.py",),
        tests="",
        insertion=("main.py", "app", None),
        dependency_file="requirements.txt",
    ),
    "src_hatch": Host(
        adopted=True,
        package_dir="src/inventory",
        module_prefix="inventory.",
        app_module="inventory.main",
        sources=("src",),
        insertion=("src/inventory/main.py", "app", None),
    ),
    "poetry_factory": Host(
        adopted=True,
        package_dir="orders",
        module_prefix="orders.",
        app_module="orders.main",
        packaging="poetry",
        sources=("orders",),
        insertion=("orders/main.py", "application", "get_application"),
    ),
    "uv_lifespan": Host(
        adopted=True,
        package_dir="notes",
        module_prefix="notes.",
        app_module="notes.main",
        sources=("notes",),
        insertion=("notes/main.py", "app", None),
    ),
    "has_health": Host(
        adopted=True,
        package_dir="billing",
        module_prefix="billing.",
        app_module="billing.main",
        packaging="requirements",
        requirements=("requirements.txt", "requirements-test.txt"),
        sources=("billing",),
        insertion=("billing/main.py", "app", None),
        dependency_file="requirements.txt",
    ),
    "routers_pkg": Host(
        adopted=True,
        package_dir="shop",
        module_prefix="shop.",
        app_module="shop.main",
        sources=("shop",),
        insertion=("shop/app.py", "app", "create_app"),
    ),
}


def copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FOREIGN / name, tmp_path / name))


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def adopted(uts: Uts, root: Path) -> dict[str, bytes]:
    result = uts("adopt", "-C", root)
    assert result.code == 0, result.err
    return snapshot(root)


def svc(tmp_path: Path, main: str, **more: str) -> Path:
    """A small foreign project: svc/main.py holds *main*, requirements.txt the packaging."""
    return write(
        tmp_path / "svc",
        {"requirements.txt": "fastapi\n", "svc/__init__.py": "", "svc/main.py": main, **more},
    )


# ---- the record is uts's state, and ctx.host comes from it -----------------------------------


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_ctx_host_is_built_from_the_record(name: str, uts: Uts, tmp_path: Path) -> None:
    root = copy(name, tmp_path)
    adopted(uts, root)
    state = load_project(find_project(root / HOSTS[name].package_dir))
    assert list(state.tool["components"]) == ["host"]
    assert state.tool["recipe"] == "adopted"
    host = compose(load_registry(autoload=False), current_spec(state)).context.host
    assert host is not None
    assert host.findings == detect(root).findings
    assert dataclasses.replace(host, findings=()) == HOSTS[name]
    assert host == host_from_record(state.tool["adopt"])


def test_every_project_command_finds_an_adopted_project(uts: Uts, tmp_path: Path) -> None:
    root = copy("uv_lifespan", tmp_path)
    adopted(uts, root)
    status = uts("status", "-C", root / "notes")
    assert status.code == 0, status.err
    assert "recipe 'adopted'" in status.out and "  host 0.1.0" in status.out
    assert "no changes" in status.out
    assert uts("check", "-C", root).code == 0
    assert uts("add", "monitoring", "-C", root).code == 0
    main = root / "notes" / "main.py"
    main.write_text(main.read_text() + "# edited\n")
    assert "modified  notes/main.py  (host)" in uts("status", "-C", root).out
    assert "+# edited" in uts("diff", "-C", root).out
    check = uts("check", "-C", root)  # host provides the fastapi monitoring requires
    assert check.code == 0, check.out
    assert uts("repair", "--dry-run", "-C", root).code == 0


# ---- add and remove on each layout -------------------------------------------------------------

WIRED = {
    "single_file": (
        "main.py",
        # first-party modules: a section of their own, sorted as ruff's isort wants
        "from pydantic import BaseModel\n\nimport health\nimport lifespan_steps\nimport metrics\n"
        "import tracing\n\n",
        '              version="0.3.1")   # bump with every release\n'
        "metrics.install(app)\ntracing.configure_tracing(app)\n"
        "app.include_router(metrics.router)\napp.include_router(health.router)\n"
        "lifespan_steps.add(app, shutdown=tracing.shutdown_tracing)\n",
    ),
    "poetry_factory": (
        "orders/main.py",
        "from fastapi import FastAPI\n\nfrom orders import health, lifespan_steps, metrics, tracing\n"
        "from orders.api.routes import router as api_router\n",
        '    application.include_router(api_router, prefix="/api")\n'
        "    metrics.install(application)\n    tracing.configure_tracing(application)\n"
        "    application.include_router(metrics.router)\n"
        "    application.include_router(health.router)\n"
        "    lifespan_steps.add(application, shutdown=tracing.shutdown_tracing)\n\n"
        "    # everything is wired: hand it to the server\n    return application\n",
    ),
    "routers_pkg": (
        "shop/app.py",
        "CORSMiddleware\n\nfrom shop import health, lifespan_steps, metrics, tracing\n"
        "from shop.routers import",
        "        app.include_router(module.router)\n    metrics.install(app)\n",
    ),
    "has_health": (  # /metrics is served by the app's own make_asgi_app(): reused
        "billing/main.py",
        # main.py defines a health() route: the module is imported under another name
        "make_asgi_app\n\nfrom billing import health as uts_health\n"
        "from billing import lifespan_steps, metrics, tracing\n\napp = ",
        'app = FastAPI(title="Billing")\nmetrics.install(app)\ntracing.configure_tracing(app)\n'
        "app.include_router(uts_health.router)\n"
        "lifespan_steps.add(app, shutdown=tracing.shutdown_tracing)\n",
    ),
}
DEPENDENCY = {
    "single_file": "pydantic>=2.7\nprometheus-client>=0.26\nopentelemetry-api>=1.45\n",
    "src_hatch": '  "opentelemetry-sdk>=1.45",\n  "prometheus-client>=0.26",\n',
    "poetry_factory": 'prometheus-client = ">=0.26"\nopentelemetry-api = ">=1.45"\n',
    "uv_lifespan": 'dependencies = ["fastapi[standard]>=0.115", "opentelemetry-api>=1.45",',
    "has_health": "prometheus-client>=0.20\nuvicorn>=0.29\nopentelemetry-api>=1.45\n",
    "routers_pkg": "    'opentelemetry-sdk>=1.45',\n    'prometheus-client>=0.26',\n",
}
NEW_FILES = {
    "single_file": [
        "health.py",
        "lifespan_steps.py",
        "metrics.py",
        "test_metrics.py",
        "test_tracing.py",
        "tracing.py",
    ],
    "src_hatch": [
        "src/inventory/health.py",
        "src/inventory/lifespan_steps.py",
        "src/inventory/metrics.py",
        "src/inventory/tracing.py",
        "tests/test_metrics.py",
        "tests/test_tracing.py",
    ],
}


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_add_then_remove_monitoring_gives_back_every_byte(
    name: str, uts: Uts, tmp_path: Path
) -> None:
    root = copy(name, tmp_path)
    before = adopted(uts, root)
    added = uts("add", "monitoring", "-C", root)
    assert added.code == 0, added.err
    host = HOSTS[name]
    assert host.insertion is not None
    if name in WIRED:
        path, imports, wiring = WIRED[name]
        text = (root / path).read_text()
        assert imports in text and wiring in text
    assert DEPENDENCY[name] in (root / host.dependency_file).read_text()
    created = sorted(set(snapshot(root)) - set(before) - {".uts/components/monitoring.toml"})
    assert created == NEW_FILES.get(name, created)
    assert "starlette" not in (root / host.dependency_file).read_text().replace(
        (FOREIGN / name / host.dependency_file).read_text(), ""
    )
    again = uts("add", "monitoring", "-C", root)
    assert again.code == 0 and "already part of this project" in again.err
    removed = uts("remove", "monitoring", "-C", root)
    assert removed.code == 0, removed.err
    assert snapshot(root) == before


def test_remove_keeps_the_users_edits_and_add_merges_into_them(uts: Uts, tmp_path: Path) -> None:
    root = copy("poetry_factory", tmp_path)
    adopted(uts, root)
    main = root / "orders" / "main.py"
    # Between adopt and add: a line of the user's own, away from where uts wires in.
    main.write_text(main.read_text().replace("from fastapi", "import logging\nfrom fastapi", 1))
    assert uts("add", "monitoring", "-C", root).code == 0
    text = main.read_text()
    assert text.startswith("import logging\nfrom fastapi import FastAPI\n")
    assert "    metrics.install(application)\n" in text
    # Between add and remove: another edit of the user's, kept by the remove.
    main.write_text(text.replace('title="Orders"', 'title="Orders API"'))
    result = uts("remove", "monitoring", "-C", root)
    assert result.code == 0, result.err
    assert "merged with your edits" in result.out
    expected = (FOREIGN / "poetry_factory" / "orders" / "main.py").read_text()
    expected = expected.replace("from fastapi", "import logging\nfrom fastapi", 1)
    assert main.read_text() == expected.replace('title="Orders"', 'title="Orders API"')


def test_an_edit_of_the_lines_uts_wired_in_is_a_conflict_on_remove(
    uts: Uts, tmp_path: Path
) -> None:
    root = copy("single_file", tmp_path)
    adopted(uts, root)
    assert uts("add", "monitoring", "-C", root).code == 0
    main = root / "main.py"
    main.write_text(
        main.read_text().replace(
            "tracing.configure_tracing(app)\n", "tracing.configure_tracing(app)  # on in prod\n"
        )
    )
    before = snapshot(root)
    result = uts("remove", "monitoring", "-C", root)
    assert result.code == ConflictError.exit_code
    assert "main.py" in result.err
    assert snapshot(root) == before


# ---- refusals -----------------------------------------------------------------------------------


def test_a_component_that_needs_uts_layout_is_refused_in_one_line(uts: Uts, tmp_path: Path) -> None:
    root = copy("src_hatch", tmp_path)
    before = adopted(uts, root)
    result = uts("add", "auth", "-C", root)
    assert result.code == ResolutionError.exit_code
    error, hint = result.err.splitlines()[-2:]
    assert error.startswith("error: component 'auth' does not work on an adopted project: ")
    assert hint.startswith("hint: ")
    assert snapshot(root) == before


def test_the_host_is_never_removed(uts: Uts, tmp_path: Path) -> None:
    root = copy("single_file", tmp_path)
    before = adopted(uts, root)
    result = uts("remove", "host", "-C", root)
    assert result.code == ResolutionError.exit_code
    assert "cannot remove 'host': it holds this adopted project's own app" in result.err
    assert snapshot(root) == before


def test_host_is_for_adopted_projects_only(uts: Uts, tmp_path: Path) -> None:
    result = uts("new", "demo", "--dir", tmp_path / "demo", "--recipe", "mvp", "--with", "host")
    assert result.code != 0
    assert not (tmp_path / "demo").exists()


def _compose_with(plugin: FakePlugin, root: Path):  # type: ignore[no-untyped-def]
    import uts_plugins.host

    adoption = detect(root)
    originals = {
        p: (root / p).read_bytes()
        for p in (adoption.insertion.file, adoption.packaging.dependency_file)  # type: ignore[union-attr]
    }
    registry = registry_from({"host": uts_plugins.host, plugin.component.name: plugin})
    spec = adopted_spec("svc", adoption.to_dict(), originals, ["host", plugin.component.name])
    return compose(registry, spec)


def test_third_party_components_are_refused_unless_they_opt_in(tmp_path: Path) -> None:
    root = svc(tmp_path, "from fastapi import FastAPI\n\napp = FastAPI()\n")
    plain = FakePlugin(Component("extra", "1.0", "x", requires=("fastapi",)))
    with pytest.raises(ResolutionError, match="'extra' does not work on an adopted project"):
        _compose_with(plain, root)

    def contribute(ctx, out):  # type: ignore[no-untyped-def]
        out.fragment("app-setup", {"module": f"{ctx.host.module_prefix}extra", "function": "go"})
        out.dependency("attrs>=23")
        out.file(f"{ctx.host.package_dir}/extra.py", "def go(app):\n    pass\n")

    opted = FakePlugin(Component("extra", "1.0", "x", adoptable=True), contribute)
    files = _compose_with(opted, root).files
    assert files["svc/main.py"].content == (
        b"from fastapi import FastAPI\n\nfrom svc import extra\n\napp = FastAPI()\nextra.go(app)\n"
    )
    assert files["requirements.txt"].content == b"fastapi\nattrs>=23\n"
    assert files["svc/extra.py"].owner == "extra"


@pytest.mark.parametrize(
    ("slot", "value", "message"),
    [
        ("dependencies:dev", "pytest", "adds 'pytest' to the 'dev' dependency group"),
    ],
)
def test_what_an_adopted_project_cannot_take_is_named(
    tmp_path: Path, slot: str, value: object, message: str
) -> None:
    root = svc(tmp_path, "from fastapi import FastAPI\n\napp = FastAPI()\n")

    def contribute(ctx, out):  # type: ignore[no-untyped-def]
        out.fragment(slot, value)

    plugin = FakePlugin(Component("extra", "1.0", "x", adoptable=True), contribute)
    with pytest.raises(RenderError, match=rf"component 'extra' {message}"):
        _compose_with(plugin, root)


def test_names_already_taken_in_the_app_module_are_aliased(uts: Uts, tmp_path: Path) -> None:
    root = svc(
        tmp_path,
        """\
        from fastapi import FastAPI

        metrics = {"started": 0}
        app = FastAPI()
        """,
    )
    adopted(uts, root)
    assert uts("add", "monitoring", "-C", root).code == 0
    text = (root / "svc" / "main.py").read_text()
    assert "from svc import health, lifespan_steps, tracing\n" in text
    assert "from svc import metrics as uts_metrics\n" in text
    assert (
        "uts_metrics.install(app)\n" in text and "app.include_router(uts_metrics.router)\n" in text
    )


# ---- clashes ------------------------------------------------------------------------------------

CLASHES = {
    "instrumentator": (
        """\
        from fastapi import FastAPI
        from prometheus_fastapi_instrumentator import Instrumentator

        app = FastAPI()
        Instrumentator().instrument(app).expose(app)
        """,
        "svc/main.py:2 sets up Prometheus instrumentation already",
    ),
    "opentelemetry": (
        """\
        from fastapi import FastAPI
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        app = FastAPI()
        FastAPIInstrumentor.instrument_app(app)
        """,
        "svc/main.py:2 sets up OpenTelemetry already",
    ),
    "middleware": (
        """\
        from fastapi import FastAPI

        from svc.prom import PrometheusMiddleware

        app = FastAPI()
        app.add_middleware(PrometheusMiddleware)
        """,
        "svc/main.py:6 adds PrometheusMiddleware already; uts's monitoring would add the same",
    ),
    "metrics route": (
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/metrics")
        def metrics() -> str:
            return ""
        """,
        "svc/main.py:6 serves /metrics already (GET /metrics); uts would serve its metrics",
    ),
    "one probe": (
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/health/live")
        def live() -> str:
            return "ok"
        """,
        "svc/main.py:6 serves /health/live already, but not /health/ready",
    ),
}


@pytest.mark.parametrize("name", sorted(CLASHES))
def test_clashes_are_refused_with_file_and_line(uts: Uts, tmp_path: Path, name: str) -> None:
    main, message = CLASHES[name]
    root = svc(tmp_path, main)
    before = adopted(uts, root)
    result = uts("add", "monitoring", "-C", root)
    assert result.code == ConflictError.exit_code, result.err
    assert message in result.err
    assert snapshot(root) == before


def test_another_metrics_path_avoids_the_clash(uts: Uts, tmp_path: Path) -> None:
    root = svc(tmp_path, CLASHES["metrics route"][0])
    adopted(uts, root)
    result = uts(
        "add", "monitoring", "--set", "monitoring.metrics_path=/internal/metrics", "-C", root
    )
    assert result.code == 0, result.err
    assert '@router.get("/internal/metrics"' in (root / "svc" / "metrics.py").read_text()


def test_an_app_serving_both_probes_keeps_its_own(uts: Uts, tmp_path: Path) -> None:
    both = textwrap.dedent(CLASHES["one probe"][0])
    root = svc(
        tmp_path, both + '\n\n@app.get("/health/ready")\ndef ready() -> str:\n    return "ok"\n'
    )
    adopted(uts, root)
    assert uts("add", "monitoring", "-C", root).code == 0
    assert not (root / "svc" / "health.py").exists()
    text = (root / "svc" / "main.py").read_text()
    assert "from svc import lifespan_steps, metrics, tracing\n" in text
    assert "health.router" not in text


def test_a_module_uts_would_create_that_exists_is_refused(uts: Uts, tmp_path: Path) -> None:
    root = svc(tmp_path, "from fastapi import FastAPI\n\napp = FastAPI()\n")
    (root / "svc" / "tracing.py").write_text("# the team's own\n")
    before = adopted(uts, root)
    result = uts("add", "monitoring", "-C", root)
    assert result.code == ConflictError.exit_code
    assert "already exist: svc/tracing.py" in result.err
    assert snapshot(root) == before


# ---- where the originals come from ----------------------------------------------------------


def _git(root: Path, *args: str) -> None:
    names = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
    env = {**os.environ, **dict.fromkeys(names, "t")}
    subprocess.run(["git", *args], cwd=root, check=True, env=env)


def _empty_object_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-cache"))


def test_the_originals_come_back_from_git_when_the_cache_is_gone(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy("single_file", tmp_path)
    before = adopted(uts, root)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "adopted")
    _empty_object_cache(monkeypatch, tmp_path)
    main = root / "main.py"
    main.write_text(main.read_text() + "\n# a note of the team's\n")
    assert uts("add", "monitoring", "-C", root).code == 0
    assert main.read_text().endswith("# a note of the team's\n")
    assert uts("remove", "monitoring", "-C", root).code == 0
    assert {p: d for p, d in snapshot(root).items() if not p.startswith(".git")} == {
        **before,
        "main.py": before["main.py"] + b"\n# a note of the team's\n",
    }


def test_originals_found_nowhere_stop_the_command(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy("single_file", tmp_path)
    adopted(uts, root)
    _empty_object_cache(monkeypatch, tmp_path)
    (root / "main.py").write_text((root / "main.py").read_text() + "# edited\n")
    before = snapshot(root)
    result = uts("add", "monitoring", "-C", root)
    assert result.code == ConflictError.exit_code
    assert "uts cannot find main.py as 'uts adopt' found it" in result.err
    assert "hint: commit your project to git right after 'uts adopt'" in result.err
    assert snapshot(root) == before


def test_the_probes_stay_while_a_component_needs_them(tmp_path: Path) -> None:
    import uts_plugins.host
    import uts_plugins.monitoring

    root = copy("routers_pkg", tmp_path)

    def probes(ctx, out):  # type: ignore[no-untyped-def]
        out.fragment("health", {"component": "probes"}, key="probes")
        out.fragment("health-checks", {"name": "disk", "module": "shop.disk", "function": "ok"})

    plugins = {
        "host": uts_plugins.host,
        "monitoring": uts_plugins.monitoring,
        "probes": FakePlugin(Component("probes", "1.0", "x", adoptable=True), probes),
    }
    adoption = detect(root)
    originals = {p: (root / p).read_bytes() for p in ("shop/app.py", "pyproject.toml")}
    record = adoption.to_dict()

    def files(*names: str) -> dict[str, bytes]:
        spec = adopted_spec("shop", record, originals, ["host", *names])
        composition = compose(registry_from(dict(plugins)), spec)
        return {p: f.content for p, f in composition.files.items() if not p.startswith(".uts")}

    both, probes_only, none = files("monitoring", "probes"), files("probes"), files()
    assert both["shop/health.py"] == probes_only["shop/health.py"]
    assert b'    "disk": disk.ok,\n' in both["shop/health.py"]
    assert b"from shop import disk\n" in both["shop/health.py"]
    assert probes_only["shop/app.py"] == (
        originals["shop/app.py"]
        .replace(b"\nfrom shop.routers", b"\nfrom shop import health\nfrom shop.routers")
        .replace(b"    return app\n", b"    app.include_router(health.router)\n    return app\n")
    )
    assert none == {p: d for p, d in originals.items()}


def test_a_lock_file_is_named_when_the_dependencies_change(uts: Uts, tmp_path: Path) -> None:
    root = copy("uv_lifespan", tmp_path)
    (root / "uv.lock").write_text("version = 1\n")
    adopted(uts, root)
    result = uts("add", "monitoring", "-C", root)
    assert result.code == 0, result.err
    assert "note: uts does not touch uv.lock: regenerate it after this change" in result.err
    assert (root / "uv.lock").read_text() == "version = 1\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('kind = "module"', 'knd = "module"'),
        ("line = 8", 'line = "8"'),
        ('attr = "app"', "attr = 1"),
    ],
)
def test_a_damaged_adopt_record_is_a_state_error(
    uts: Uts, tmp_path: Path, old: str, new: str
) -> None:
    root = copy("single_file", tmp_path)
    adopted(uts, root)
    project = root / ".uts" / "project.toml"
    project.write_text(project.read_text().replace(old, new, 1))
    before = snapshot(root)
    result = uts("add", "monitoring", "-C", root)
    assert result.code == 9, result.err
    assert ".uts/project.toml [adopt] is not a valid uts adoption record" in result.err
    assert snapshot(root) == before


def test_lifespan_steps_run_around_the_apps_own_lifespan(tmp_path: Path) -> None:
    """What uts wires for ``lifespan`` fragments on an adopted app: start-up steps in order
    before the app's own lifespan, shutdown steps in reverse after it, even when it fails."""
    import asyncio
    import contextlib
    import types

    root = svc(tmp_path, "from fastapi import FastAPI\n\napp = FastAPI()\n")

    def contribute(ctx, out):  # type: ignore[no-untyped-def]
        out.fragment("lifespan", {"module": "svc.db", "function": "connect", "shutdown": "close"})
        out.fragment("lifespan", {"module": "svc.cache", "function": "warm"})
        out.fragment("lifespan", {"module": "svc.tracing", "shutdown": "flush"})

    plugin = FakePlugin(Component("extra", "1.0", "x", adoptable=True), contribute)
    files = _compose_with(plugin, root).files
    assert files["svc/main.py"].content.endswith(
        b"app = FastAPI()\n"
        b"lifespan_steps.add(app, startup=db.connect, shutdown=db.close)\n"
        b"lifespan_steps.add(app, startup=cache.warm)\n"
        b"lifespan_steps.add(app, shutdown=tracing.flush)\n"
    )
    steps = types.ModuleType("lifespan_steps")
    exec(files["svc/lifespan_steps.py"].content, steps.__dict__)
    seen: list[str] = []

    @contextlib.asynccontextmanager
    async def own(app: object):  # type: ignore[no-untyped-def]
        seen.append("own start")
        try:
            yield {"state": 1}
        finally:
            seen.append("own stop")

    app = types.SimpleNamespace(router=types.SimpleNamespace(lifespan_context=own))
    for name, start, stop in (("db", True, True), ("cache", True, False), ("tr", False, True)):
        steps.add(
            app,
            startup=(lambda n=name: seen.append(f"{n} start")) if start else None,
            shutdown=(lambda n=name: seen.append(f"{n} stop")) if stop else None,
        )

    async def serve(fail: bool) -> None:
        async with app.router.lifespan_context(app) as state:
            assert state == {"state": 1}
            if fail:
                raise RuntimeError("the app failed")

    asyncio.run(serve(False))
    assert seen == [
        "db start", "cache start", "own start", "own stop", "tr stop", "db stop"
    ]  # fmt: skip
    seen.clear()
    with pytest.raises(RuntimeError):
        asyncio.run(serve(True))
    assert seen[-2:] == ["tr stop", "db stop"]


def test_a_foreign_project_not_adopted_yet_points_at_uts_adopt(uts: Uts, tmp_path: Path) -> None:
    root = copy("single_file", tmp_path)
    result = uts("add", "monitoring", "-C", root)
    assert result.code == 9
    assert "run 'uts adopt' there first" in result.err


def test_an_app_with_no_place_to_wire_in_refuses_what_must_wire_itself(
    uts: Uts, tmp_path: Path
) -> None:
    root = svc(
        tmp_path,
        """\
        from fastapi import FastAPI


        def create_app() -> FastAPI:
            return FastAPI(title="svc")
        """,
    )
    before = adopted(uts, root)
    assert "wiring: no place to wire components in" in uts("adopt", "-C", root).out
    result = uts("add", "monitoring", "-C", root)
    assert result.code == RenderError.exit_code
    assert "uts adopt found no place to do it in svc.main" in result.err
    assert snapshot(root) == before
