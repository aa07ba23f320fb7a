"""Generated projects pass the security scanners a reviewer runs on them.

checkov (offline, the frameworks of :data:`CHECKOV_FRAMEWORKS`) on the FULL project and on
each infrastructure component added to CORE (and the option variants that change deploy
files), and bandit on the package of every tier: no failed check, no medium or high
finding. A check that does not fit is skipped in the generated file itself, with a
reason, and the project's README lists each skip with that reason; nothing is skipped
here. Broken copies prove the scans can fail.

Projects are rendered in-process (no venv); checkov runs from an environment of its own
(the ``checkov_bin`` session fixture), bandit from uts's test extra.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import new_demo
from tests.e2e.scanners import (
    BANDIT,
    BIN,
    CHECKOV,
    CHECKOV_FRAMEWORKS,
    CheckovReport,
    bandit,
    checkov,
)

pytestmark = pytest.mark.e2e

# The framework that scans the files each infrastructure component writes.
INFRA = {
    "docker": "dockerfile",
    "ci": "github_actions",
    "kubernetes": "kubernetes",
    "terraform": "terraform",
}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_demo(tmp_path_factory.mktemp("security") / "full", "full")


def skip_reason(check: dict[str, object]) -> str:
    result = check.get("check_result")
    comment = result.get("suppress_comment", "") if isinstance(result, dict) else ""
    return str(comment).strip()


def assert_clean(reports: dict[str, CheckovReport], readme: str) -> None:
    """No failed check and no parsing error; every skip has a reason the README gives."""
    figures = "; ".join(report.figures() for report in reports.values())
    for report in reports.values():
        assert report.failures() == [], figures
        assert report.parsing_errors == [], report.framework
        for check in report.skipped:
            reason = skip_reason(check)
            assert reason and reason != "No comment provided", check["check_id"]
            # The README lists the skip with the same reason (whitespace aside).
            flat = " ".join(readme.split())
            assert check["check_id"] in flat, check["check_id"]
            assert " ".join(reason.split()) in flat, (check["check_id"], reason)


def test_the_full_project_passes_checkov(full: Path, checkov_bin: Path) -> None:
    reports = checkov(checkov_bin, full)
    assert {"kubernetes", "terraform", "dockerfile", "github_actions"} <= set(reports)
    for framework in ("kubernetes", "terraform", "dockerfile", "github_actions"):
        assert reports[framework].passed > 0, framework
    assert_clean(reports, (full / "README.md").read_text())


@pytest.mark.parametrize("component", sorted(INFRA))
def test_each_infrastructure_component_on_core_passes_checkov(
    component: str, checkov_bin: Path, tmp_path: Path
) -> None:
    project = new_demo(tmp_path / "demo", "core", "--with", component)
    reports = checkov(checkov_bin, project)
    assert reports[INFRA[component]].passed > 0
    assert_clean(reports, (project / "README.md").read_text())


@pytest.mark.parametrize(
    ("recipe", "options"),
    [
        # Images pinned by digest: the skip of the digest check goes away.
        ("core", (
            "--with", "kubernetes", "--with", "celery",
            "--set", "kubernetes.digest=sha256:" + "ab" * 32,
        )),
        # RabbitMQ instead of Redis: the broker's port, compose's broker URL.
        ("core", ("--with", "kubernetes", "--with", "celery", "--with", "docker",
                  "--with", "ci", "--set", "celery.broker=rabbitmq")),
        # SQLite (no PostgreSQL in compose or CI).
        ("core", ("--with", "kubernetes", "--with", "docker", "--with", "ci",
                  "--set", "database.postgresql=false")),
        # No settings that read secret files: the Secret stays in the environment.
        ("mvp", ("--with", "kubernetes", "--with", "docker", "--with", "ci")),
    ],
    ids=["digest", "rabbitmq", "sqlite", "mvp"],
)  # fmt: skip
def test_option_variants_pass_checkov(
    recipe: str, options: tuple[str, ...], checkov_bin: Path, tmp_path: Path
) -> None:
    project = new_demo(tmp_path / "demo", recipe, *options)
    reports = checkov(checkov_bin, project)
    assert reports["kubernetes"].passed > 0
    assert_clean(reports, (project / "README.md").read_text())
    skipped = {check["check_id"] for check in reports["kubernetes"].skipped}
    assert ("CKV_K8S_43" in skipped) == (not any("digest=" in o for o in options))
    assert ("CKV_K8S_35" in skipped) == (recipe == "mvp")


@pytest.mark.parametrize("recipe", ["mvp", "core", "full"])
def test_bandit_finds_nothing_medium_or_high(recipe: str, tmp_path: Path) -> None:
    project = new_demo(tmp_path / "demo", recipe)
    paths = [project / "demo"] + [p for p in [project / "scripts"] if p.is_dir()]
    report = bandit(*paths)
    assert report.errors == []
    assert report.at_least_medium() == [], report.figures()


def test_the_projects_ci_runs_the_same_scanners_and_they_pass(
    full: Path, checkov_bin: Path
) -> None:
    """The security job of the generated workflow, run here as CI would run it."""
    workflow = yaml.safe_load((full / ".github/workflows/ci.yml").read_text())
    steps = [step for step in workflow["jobs"]["security"]["steps"] if "run" in step]
    pins, tools = [], {"bandit": BIN / "bandit", "checkov": checkov_bin}
    for step in steps:
        words = shlex.split(step["run"])
        assert words[0] == "uvx"
        at = words.index("--from")
        pin, tool, args = words[at + 1], words[at + 2], words[at + 3 :]
        pins.append(pin)
        if tool == "checkov":
            at = args.index("--framework")
            assert tuple(args[at + 1 : at + 1 + len(CHECKOV_FRAMEWORKS)]) == CHECKOV_FRAMEWORKS
        proc = subprocess.run(
            [str(tools[tool]), *args], cwd=full, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{step['run']}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert pins == [BANDIT, CHECKOV]


# The scans can fail ---------------------------------------------------------------


def test_checkov_fails_a_public_database_and_a_pod_without_network_policy(
    full: Path, checkov_bin: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(full / "deploy", broken / "deploy")
    main_tf = broken / "deploy/terraform/main.tf"
    main_tf.write_text(
        main_tf.read_text().replace("ipv4_enabled    = false", "ipv4_enabled    = true")
    )
    (broken / "deploy/k8s/networkpolicy.yaml").unlink()
    reports = checkov(checkov_bin, broken, "terraform", "kubernetes")
    failed = {check["check_id"] for report in reports.values() for check in report.failed}
    assert {"CKV_GCP_60", "CKV2_K8S_6"} <= failed


def test_an_unexplained_skip_is_caught(full: Path, checkov_bin: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(full / "deploy/terraform", broken)
    main_tf = broken / "main.tf"
    main_tf.write_text(
        re.sub(
            r'(resource "google_sql_database_instance" "main" \{\n)',
            r"\1  # checkov:skip=CKV_GCP_79: an old version on purpose\n",
            main_tf.read_text(),
        )
    )
    reports = checkov(checkov_bin, broken, "terraform")
    assert [check["check_id"] for check in reports["terraform"].skipped] == ["CKV_GCP_79"]
    with pytest.raises(AssertionError, match="CKV_GCP_79"):
        assert_clean(reports, (full / "README.md").read_text())


def test_bandit_finds_an_unchecked_urlopen(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "hook.py").write_text(
        "import urllib.request\n\n\n"
        "def send(url: str) -> int:\n"
        "    with urllib.request.urlopen(url, timeout=5) as response:\n"
        "        return int(response.status)\n"
    )
    assert [line.split()[0] for line in bandit(package).at_least_medium()] == ["B310"]
