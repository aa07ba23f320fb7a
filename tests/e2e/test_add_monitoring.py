"""`uts add monitoring` on a CORE project its team has edited, then served over real HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import clean_env, make_venv, request, run, serving

pytestmark = pytest.mark.e2e

PACKAGE = "myshop"


def uts(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "uts", *map(str, args)], cwd=cwd, check=check)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def team_edits(root: Path) -> None:
    """Months of hand edits to the wiring, the settings and pyproject.toml, none on uts's lines."""
    main = root / PACKAGE / "main.py"
    main.write_text(
        main.read_text() + '\n\n@app.get("/version")\ndef version() -> dict[str, str]:\n'
        '    """Which build is running."""\n    return {"version": __version__}\n'
    )
    settings = root / PACKAGE / "core" / "config" / "settings.py"
    settings.write_text(settings.read_text() + '\n\nSUPPORT_EMAIL = "ops@example.com"\n')
    edit(
        root / "pyproject.toml",
        "dependencies = [\n",
        "dependencies = [\n    'orjson>=3.10',  # ours: fast JSON\n",
    )
    pyproject = root / "pyproject.toml"
    pyproject.write_text("# Owned by the shop team.\n" + pyproject.read_text())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("core") / "myshop"
    uts("new", PACKAGE, "--recipe", "core", "--dir", root, "--no-input", cwd=root.parent)
    return root


@pytest.fixture(scope="module")
def edited(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edited") / "myshop"
    shutil.copytree(generated, root)
    team_edits(root)
    return root


@pytest.fixture(scope="module")
def with_monitoring(edited: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitored") / "myshop"
    shutil.copytree(edited, root)
    result = uts("add", "monitoring", cwd=root)
    assert "merged with your edits" in result.stdout
    return root


@pytest.fixture(scope="module")
def venv(with_monitoring: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{with_monitoring}[dev]")


def test_edits_are_kept_and_monitoring_is_wired(with_monitoring: Path) -> None:
    main = (with_monitoring / PACKAGE / "main.py").read_text()
    assert '@app.get("/version")' in main and "metrics" in main
    settings = (with_monitoring / PACKAGE / "core/config/settings.py").read_text()
    assert 'SUPPORT_EMAIL = "ops@example.com"' in settings
    pyproject = (with_monitoring / "pyproject.toml").read_text()
    assert pyproject.startswith("# Owned by the shop team.\n")
    assert "    'orjson>=3.10',  # ours: fast JSON\n" in pyproject
    assert "prometheus-client" in pyproject and "[tool.uts" not in pyproject
    assert (with_monitoring / ".uts/components/monitoring.toml").is_file()


def test_the_project_still_passes_its_tests_lint_and_types(
    with_monitoring: Path, venv: Path
) -> None:
    env = clean_env(venv, PYTHONDONTWRITEBYTECODE="1")
    proc = run(
        [venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=with_monitoring,
        env=env,
    )
    assert "skipped" not in proc.stdout.splitlines()[-1]
    run([venv / "ruff", "check", "--no-cache", "."], cwd=with_monitoring, env=env)
    run([venv / "ruff", "format", "--no-cache", "--check", "."], cwd=with_monitoring, env=env)
    run([venv / "mypy", "--cache-dir", "/dev/null"], cwd=with_monitoring, env=env)


def test_uvicorn_serves_metrics_and_readiness(
    with_monitoring: Path, venv: Path, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "ENVIRONMENT": "development"}
    run([venv / "alembic", "upgrade", "head"], cwd=with_monitoring, env=clean_env(venv, **env))
    with serving(venv, with_monitoring, f"{PACKAGE}.main:app", **env) as server:
        status, body, _ = request(f"{server.base}/health/ready")
        assert status == 200, body
        assert body["checks"]["database"] == "ok"
        assert request(f"{server.base}/version")[0] == 200
        status, metrics, _ = request(f"{server.base}/metrics")
        assert status == 200
        assert "http_requests_total{" in metrics and 'route="/version"' in metrics


def test_remove_gives_back_the_edited_tree(
    with_monitoring: Path, edited: Path, tmp_path: Path
) -> None:
    root = tmp_path / "myshop"
    shutil.copytree(with_monitoring, root, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    uts("remove", "monitoring", cwd=root)
    assert snapshot(root) == snapshot(edited)


def test_overlapping_edits_stop_and_change_nothing(edited: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    shutil.copytree(edited, probe)
    diff = uts("add", "monitoring", "--dry-run", cwd=probe).stdout
    section = diff.split(f"--- a/{PACKAGE}/main.py\n", 1)[1].split("\n--- ", 1)[0]
    changed = next(
        line[1:] for line in section.splitlines() if line.startswith("-") and line[1:].strip()
    )
    root = tmp_path / "myshop"
    shutil.copytree(edited, root)
    edit(root / PACKAGE / "main.py", changed, changed + "  # tuned by us")
    before = snapshot(root)
    result = uts("add", "monitoring", cwd=root, check=False)
    assert result.returncode == 8, result.stderr
    assert f"{PACKAGE}/main.py" in result.stderr and "nothing was changed" in result.stderr
    assert snapshot(root) == before
    # Asked to, uts writes the conflict markers instead (and still exits 8).
    result = uts("add", "monitoring", "--conflict", "markers", cwd=root, check=False)
    assert result.returncode == 8
    assert ">>>>>>> uts" in (root / PACKAGE / "main.py").read_text()
