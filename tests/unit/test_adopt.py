"""``uts adopt``: detection on six hand-written foreign projects, the record, errors, cost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, snapshot
from uts.adopt import ADOPT_PATH, Adoption, AppSite, Insertion, Layout, detect
from uts.errors import StateError, UsageError, UtsError
from uts.packaging import Packaging
from uts.state import PROJECT_FILE, find_project, load_project

Uts = Callable[..., Result]
FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"


def copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FOREIGN / name, tmp_path / name))


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def kinds(adoption: Adoption) -> list[tuple[str, str, int | None, str]]:
    return [tuple(f) for f in adoption.findings]  # type: ignore[misc]


def recorded(root: Path) -> Adoption:
    """What adopt recorded in the project's state, read the way every command reads it."""
    state = load_project(find_project(root))
    return Adoption.from_dict(state.tool["adopt"])


# ---- the six foreign projects -------------------------------------------------------------


def test_single_file_with_requirements() -> None:
    adoption = detect(FOREIGN / "single_file")
    assert adoption.packaging == Packaging(
        "requirements", None, "requirements.txt", ("requirements-dev.txt",), None
    )
    assert adoption.layout == Layout("module", "main", "main.py")
    assert adoption.app == AppSite("main", "main.py", "app", 8)
    assert adoption.insertion == Insertion("main.py", "app", None, 8)
    assert kinds(adoption) == [("tests", "test_main.py", None, "test module")]
    assert "settings" in adoption.missing and "health-route" in adoption.missing


def test_src_layout_hatchling_and_pydantic_settings() -> None:
    adoption = detect(FOREIGN / "src_hatch")
    assert adoption.packaging == Packaging(
        "pep621", "hatchling", "pyproject.toml", ("project.optional-dependencies.test",), None
    )
    assert adoption.layout == Layout("src", "inventory", "src/inventory")
    assert adoption.app == AppSite("inventory.main", "src/inventory/main.py", "app", 7)
    assert adoption.insertion == Insertion("src/inventory/main.py", "app", None, 7)
    # config.py is read because main.py imports it; nothing else under src/ is needed.
    assert kinds(adoption) == [
        ("settings", "src/inventory/config.py", 6, "Settings(BaseSettings)"),
        ("tests", "tests/", None, "test directory"),
        ("dockerfile", "Dockerfile", None, "Dockerfile"),
    ]


def test_poetry_1_with_get_application_factory_and_event_handlers() -> None:
    adoption = detect(FOREIGN / "poetry_factory")
    assert adoption.packaging == Packaging(
        "poetry", "poetry", "pyproject.toml", ("tool.poetry.group.dev",), None
    )
    assert adoption.layout == Layout("package", "orders", "orders")
    assert adoption.app == AppSite(
        "orders.main", "orders/main.py", "app", 19, "get_application", "orders/main.py"
    )
    # Inside the factory, so every app it builds (the tests build their own) is wired.
    assert adoption.insertion == Insertion("orders/main.py", "application", "get_application", 16)
    assert kinds(adoption) == [
        ("event-handler", "orders/main.py", 10, "add_event_handler('startup')"),
        ("event-handler", "orders/main.py", 11, "add_event_handler('shutdown')"),
        ("tests", "tests/", None, "test directory"),
        ("ci", ".github/workflows/tests.yml", None, "GitHub Actions"),
    ]


def test_uv_project_with_dependency_groups_module_level_app_and_lifespan() -> None:
    adoption = detect(FOREIGN / "uv_lifespan")
    assert adoption.packaging == Packaging(
        "pep621", "uv", "pyproject.toml", ("dependency-groups.dev",), None
    )
    assert adoption.layout == Layout("package", "notes", "notes")
    assert adoption.app == AppSite("notes.main", "notes/main.py", "app", 18)
    assert adoption.insertion == Insertion("notes/main.py", "app", None, 18)
    assert kinds(adoption)[0] == ("lifespan", "notes/main.py", 18, "lifespan=lifespan")


def test_app_that_already_serves_health_and_metrics() -> None:
    adoption = detect(FOREIGN / "has_health")
    # pyproject.toml holds tool settings only: the requirements files are the packaging.
    assert adoption.packaging == Packaging(
        "requirements", None, "requirements.txt", ("requirements-test.txt",), None
    )
    assert kinds(adoption) == [
        ("event-handler", "billing/main.py", 14, "on_event('startup') remember_start"),
        ("health-route", "billing/main.py", 19, "GET /health"),
        ("health-route", "billing/main.py", 24, "GET /health/uptime"),
        ("metrics-route", "billing/main.py", 9, "mount /metrics prometheus_client.make_asgi_app()"),
        ("instrumentator", "billing/main.py", 4, "import prometheus_client"),
        ("tests", "tests/", None, "test directory"),
        ("dockerfile", "Dockerfile", None, "Dockerfile"),
    ]


def test_package_with_routers_over_several_modules_and_a_factory_elsewhere() -> None:
    adoption = detect(FOREIGN / "routers_pkg")
    assert adoption.packaging == Packaging(
        "pep621", "setuptools", "pyproject.toml", ("project.optional-dependencies.dev",), None
    )
    # main.py assigns app = create_app(); the factory lives in app.py and is where wiring goes.
    assert adoption.app == AppSite(
        "shop.main", "shop/main.py", "app", 5, "create_app", "shop/app.py"
    )
    assert adoption.insertion == Insertion("shop/app.py", "app", "create_app", 14)
    assert kinds(adoption) == [
        ("middleware", "shop/app.py", 9, "CORSMiddleware"),
        ("tests", "tests/", None, "test directory"),
        ("alembic", "alembic.ini", None, "Alembic configuration"),
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in FOREIGN.iterdir()))
def test_record_round_trips_through_toml(name: str) -> None:
    adoption = detect(FOREIGN / name)
    text = adoption.to_toml()
    assert Adoption.from_toml(text) == adoption
    assert detect(FOREIGN / name).to_toml() == text  # deterministic


def test_damaged_record_is_a_state_error() -> None:
    text = detect(FOREIGN / "single_file").to_toml().replace('kind = "module"', 'knd = "module"')
    with pytest.raises(StateError, match=r"not a valid uts adoption record.*Layout"):
        Adoption.from_toml(text)


# ---- what else it recognises ---------------------------------------------------------------

PEP621 = """\
[project]
name = "svc"
version = "1"
dependencies = ["fastapi"]
"""


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        ("setuptools.build_meta", "setuptools"),
        ("hatchling.build", "hatchling"),
        ("pdm.backend", "pdm"),
        ("flit_core.buildapi", "flit"),
        ("poetry.core.masonry.api", "poetry"),  # Poetry 2 writes PEP 621 [project]
        ("uv_build", "uv"),
    ],
)
def test_pep621_with_any_build_backend(tmp_path: Path, backend: str, name: str) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": PEP621 + f'\n[build-system]\nbuild-backend = "{backend}"\n',
            "svc/__init__.py": "",
            "svc/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        },
    )
    assert detect(root).packaging == Packaging("pep621", name, "pyproject.toml", (), None)


def test_setuptools_dynamic_dependencies_from_a_requirements_file(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": """\
                [project]
                name = "svc"
                dynamic = ["dependencies"]
                [tool.setuptools.dynamic]
                dependencies = {file = ["requirements/base.txt"]}
            """,
            "main.py": "import fastapi\n\napp = fastapi.FastAPI()\n",
            "uv.lock": "",
        },
    )
    packaging = detect(root).packaging
    assert packaging.kind == "requirements"
    assert packaging.dependency_file == "requirements/base.txt"
    assert packaging.lock == "uv.lock"


FACTORIES = {
    "annotated": """\
        from fastapi import FastAPI

        def create_app() -> FastAPI:
            application = build()
            return application
    """,
    "by its returned name": """\
        import fastapi

        def get_application():
            api = fastapi.FastAPI(title="x")
            api.include_router(router)
            return api
    """,
    "string annotation": """\
        def make() -> "FastAPI":
            from fastapi import FastAPI
            server = FastAPI()
            return server
    """,
}


@pytest.mark.parametrize("source", FACTORIES.values(), ids=FACTORIES.keys())
def test_a_factory_alone_is_the_app(tmp_path: Path, source: str) -> None:
    root = write(
        tmp_path, {"requirements.txt": "fastapi\n", "api/__init__.py": "", "api/factory.py": source}
    )
    adoption = detect(root)
    assert adoption.app.factory == adoption.app.attr
    assert adoption.insertion is not None and adoption.insertion.function == adoption.app.attr


def test_a_getter_of_the_module_level_app_is_no_second_app(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "main.py": """\
                from fastapi import FastAPI

                app = FastAPI()

                def get_app() -> FastAPI:
                    return app
            """,
        },
    )
    assert detect(root).app.ref == "main:app"


def test_factory_returning_fastapi_directly_has_no_wiring_place(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "main.py": """\
                from fastapi import FastAPI

                def create_app() -> FastAPI:
                    return FastAPI(title="direct")
            """,
        },
    )
    adoption = detect(root)
    assert adoption.insertion is None
    assert "does not end with 'return <name>'" in adoption.notes[0]


def test_factory_returning_directly_falls_back_to_the_module_level_app(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "main.py": """\
                from fastapi import FastAPI

                def create_app() -> FastAPI:
                    return FastAPI(title="direct")

                app = create_app()
            """,
        },
    )
    adoption = detect(root)
    assert adoption.insertion == Insertion("main.py", "app", None, 6)


def test_findings_in_imported_modules_and_router_prefixes(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "svc/__init__.py": "",
            "svc/main.py": """\
                from fastapi import FastAPI
                from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
                from prometheus_fastapi_instrumentator import Instrumentator

                from . import probes
                from .ops import router as ops_router

                app = FastAPI(on_startup=[print])
                app.include_router(probes.router)
                app.include_router(ops_router, prefix="/healthz")
                app.add_route("/metrics", lambda request: None)
                Instrumentator().instrument(app)
                FastAPIInstrumentor.instrument_app(app)

                @app.middleware("http")
                async def timing(request, call_next):
                    return await call_next(request)
            """,
            "svc/probes.py": """\
                from fastapi import APIRouter

                router = APIRouter(prefix="/health")

                @router.get("/ready")
                def ready():
                    return {}
            """,
            "svc/ops.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n",
            "svc/old/unused.py": "this module is never imported, so never parsed (",
        },
    )
    assert kinds(detect(root)) == [
        ("event-handler", "svc/main.py", 8, "FastAPI(on_startup=...)"),
        ("middleware", "svc/main.py", 15, "@app.middleware timing"),
        ("health-route", "svc/main.py", 10, "include_router prefix /healthz"),
        ("health-route", "svc/probes.py", 5, "GET /health/ready"),
        ("metrics-route", "svc/main.py", 11, "add_route /metrics"),
        ("instrumentator", "svc/main.py", 3, "import prometheus_fastapi_instrumentator"),
        ("instrumentator", "svc/main.py", 12, "Instrumentator()"),
        ("opentelemetry", "svc/main.py", 2, "import opentelemetry.instrumentation.fastapi"),
        ("opentelemetry", "svc/main.py", 13, "instrument_app"),
    ]


# ---- the command ---------------------------------------------------------------------------


def test_adopt_writes_only_its_record(uts: Uts, tmp_path: Path) -> None:
    root = copy("poetry_factory", tmp_path)
    before = snapshot(root)
    result = uts("adopt", "--project", root)
    assert result.code == 0, result.err
    assert "app: orders.main:app (orders/main.py:19) built by get_application()" in result.out
    assert "wiring: inside get_application() before 'return application'" in result.out
    assert "  event-handler   orders/main.py:10  add_event_handler('startup')" in result.out
    assert "not found: settings, lifespan, middleware, health-route" in result.out
    assert "no file of yours changed" in result.out
    after = snapshot(root)
    assert sorted(path for path in after if path.startswith(".uts/")) == [
        ".uts/",
        ".uts/components/",
        ".uts/components/host.toml",
        PROJECT_FILE,
    ]
    assert {p: d for p, d in after.items() if not p.startswith(".uts/")} == before
    assert recorded(root) == detect(root)
    again = uts("adopt", "--project", root)
    assert again.code == 0 and f"kept {PROJECT_FILE}" in again.out
    assert snapshot(root) == after


def test_adopt_dry_run_and_json_write_nothing(uts: Uts, tmp_path: Path) -> None:
    root = copy("src_hatch", tmp_path)
    before = snapshot(root)
    result = uts("adopt", "--project", root, "--dry-run")
    assert result.code == 0, result.err
    assert f"dry run: would write {PROJECT_FILE} and .uts/components/host.toml (create); " in (
        result.out
    )
    data = json.loads(uts("adopt", "--project", root, "--dry-run", "--json").out)
    assert data["app"] == {
        "module": "inventory.main",
        "file": "src/inventory/main.py",
        "attr": "app",
        "line": 7,
    }
    assert snapshot(root) == before


def test_two_apps_ask_for_app_and_app_chooses(uts: Uts, tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "svc/__init__.py": "",
            "svc/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "svc/admin.py": "from fastapi import FastAPI\n\n\nadmin = FastAPI()\n",
        },
    )
    result = uts("adopt", "--project", root)
    assert result.code == UsageError.exit_code
    assert result.err.splitlines() == [
        "error: 2 FastAPI applications found: svc.admin:admin (svc/admin.py:4), "
        "svc.main:app (svc/main.py:3)",
        "hint: choose one with --app MODULE:ATTR",
    ]
    assert not (root / ".uts").exists()
    chosen = uts("adopt", "--project", root, "--app", "svc.admin:admin")
    assert chosen.code == 0, chosen.err
    assert recorded(root).app.ref == "svc.admin:admin"
    wrong = uts("adopt", "--project", root, "--app", "svc.main:nothing")
    assert wrong.code == UsageError.exit_code
    assert "svc/main.py has no FastAPI app or app factory named 'nothing'" in wrong.err


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"requirements.txt": "fastapi\n", "main.py": "print('no app here')\n"},
            "no FastAPI application found (looked in main.py)",
        ),
        (
            {
                "requirements.txt": "fastapi\n",
                "main.py": "from fastapi import FastAPI\n\napp = (\n",
            },
            "main.py:3:7: syntax error: '(' was never closed",
        ),
        (
            {"pyproject.toml": '[project]\nname = "x\ndependencies = []\n', "main.py": ""},
            "pyproject.toml:2: not valid TOML: Illegal character",
        ),
        (
            {"pyproject.toml": '[project]\nname = "x"\ndependencies = [\n', "main.py": ""},
            "pyproject.toml:3: not valid TOML",
        ),
        ({"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "no dependencies declared"),
    ],
    ids=["no app", "syntax error", "invalid pyproject", "unclosed array", "no packaging"],
)
def test_a_project_uts_cannot_read_gets_one_line_and_nothing_written(
    uts: Uts, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    root = write(tmp_path / "p", files)
    before = snapshot(root)
    result = uts("adopt", "--project", root)
    assert result.code == UtsError.exit_code, result.err
    error, hint = result.err.splitlines()
    assert error.startswith("error: ") and message in error
    assert hint.startswith("hint: ")
    assert snapshot(root) == before


def test_unreadable_pyproject_is_named(uts: Uts, tmp_path: Path) -> None:
    root = write(tmp_path, {"requirements.txt": "fastapi\n", "main.py": ""})
    (root / "pyproject.toml").mkdir()  # reading it fails whatever the user's privileges
    result = uts("adopt", "--project", root)
    assert result.code == UtsError.exit_code
    assert f"{root / 'pyproject.toml'}: cannot read it" in result.err


def test_a_uts_project_needs_no_adopting(uts: Uts, tmp_path: Path) -> None:
    assert uts("new", "demo", "--dir", tmp_path / "demo").code == 0
    result = uts("adopt", "--project", tmp_path / "demo")
    assert result.code == UsageError.exit_code
    assert "is a project uts created" in result.err


# ---- it reads only what it needs -----------------------------------------------------------

_TRACE = """
import sys
from pathlib import Path
root = sys.argv[1]
seen = set()
def hook(event, args):
    if event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], str):
        if args[0].startswith(root):
            seen.add((event, args[0][len(root):]))
sys.addaudithook(hook)
from uts.adopt import detect
detect(Path(root))
print("\\n".join(sorted(f"{e} {p}" for e, p in seen)))
"""


def _touched(root: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _TRACE, str(root)], capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


def test_extra_files_are_never_read_or_listed(tmp_path: Path) -> None:
    """The same files are opened and listed with or without hundreds of others around
    (the cost therefore does not grow with them; 10,000 is measured in the report)."""
    small = copy("routers_pkg", tmp_path / "small")
    big = copy("routers_pkg", tmp_path / "big")
    for directory in range(10):
        folder = big / "data" / f"batch{directory}"
        folder.mkdir(parents=True)
        for index in range(40):  # broken Python and second apps: fatal if ever parsed
            (folder / f"m{index}.py").write_text("from fastapi import FastAPI\napp = FastAPI(\n")
    (big / "shop" / "legacy").mkdir()
    (big / "shop" / "legacy" / "old.py").write_text("app = FastAPI(\n")
    assert detect(big) == detect(small)
    touched = _touched(small)
    assert touched == _touched(big)
    opened = sorted(line.split(" ", 1)[1] for line in touched if line.startswith("open "))
    assert opened == [
        "/pyproject.toml",
        "/shop/__init__.py",
        "/shop/app.py",
        "/shop/main.py",
        "/shop/routers/__init__.py",
        "/shop/routers/items.py",
        "/shop/routers/users.py",
    ]


def test_adopt_again_after_a_change_updates_the_record(uts: Uts, tmp_path: Path) -> None:
    root = copy("single_file", tmp_path)
    (root / ".uts").mkdir()
    (root / ADOPT_PATH).write_text("# what the first uts adopt wrote\n")
    assert uts("adopt", "-C", root).code == 0
    assert not (root / ADOPT_PATH).exists()  # the record lives in project.toml now
    (root / "Dockerfile").write_text("FROM python:3.12-slim\n")
    result = uts("adopt", "-C", root)
    assert result.code == 0 and f"wrote {PROJECT_FILE}" in result.out
    assert ("dockerfile", "Dockerfile", None, "Dockerfile") in kinds(recorded(root))


def test_project_must_be_a_directory(uts: Uts, tmp_path: Path) -> None:
    result = uts("adopt", "--project", tmp_path / "nowhere")
    assert result.code == UsageError.exit_code
    assert "is not a directory" in result.err


def test_a_dependency_file_that_is_not_there_is_named(uts: Uts, tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": """\
                [project]
                name = "svc"
                dynamic = ["dependencies"]
                [tool.setuptools.dynamic]
                dependencies = {file = ["requirements/base.txt"]}
            """,
            "main.py": "import fastapi\n\napp = fastapi.FastAPI()\n",
        },
    )
    before = snapshot(root)
    result = uts("adopt", "-C", root)
    assert result.code == UtsError.exit_code
    assert f"{root / 'requirements' / 'base.txt'}: cannot read it" in result.err
    assert snapshot(root) == before
