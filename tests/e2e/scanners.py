"""The security scanners a reviewer runs on a generated project: checkov and bandit.

checkov scans the deploy files (Kubernetes, Terraform, Dockerfile, GitHub Actions and
secrets), offline (``--skip-download``). It cannot share uts's test environment: it pins
``packaging<24`` (uts needs 24) and its ``bc-python-hcl2`` overwrites the ``hcl2`` module
of python-hcl2 the terraform tests parse with. So it gets an environment of its own,
made once per test session by :func:`checkov_environment` with the version the
generated CI workflow runs (:data:`uts_plugins.ci.CHECKOV`). bandit (test extra) scans
the generated package.

Checks that do not fit are skipped in the generated files themselves, each with its
reason (``checkov:skip=ID: reason`` comments, ``checkov.io/skip`` annotations in
Kubernetes), never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uts_plugins.ci import BANDIT, CHECKOV, CHECKOV_FRAMEWORKS

__all__ = [
    "BANDIT",
    "CHECKOV",
    "CHECKOV_FRAMEWORKS",
    "BanditReport",
    "CheckovReport",
    "bandit",
    "checkov",
    "checkov_environment",
]

BIN = Path(sys.executable).parent


@dataclass
class CheckovReport:
    """What checkov found in one framework: counts, and each failed and skipped check."""

    framework: str
    passed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)

    def figures(self) -> str:
        return (
            f"{self.framework}: {self.passed} passed, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped"
        )

    def failures(self) -> list[str]:
        """One line per failed check: id, name, file and resource."""
        return [
            f"{check['check_id']} {check['check_name']} ({check['file_path']}: {check['resource']})"
            for check in self.failed
        ]


def checkov_environment(target: Path) -> Path:
    """A virtual environment at *target* with :data:`CHECKOV`; returns its ``checkov``."""
    from tests.e2e.conftest import make_venv

    return make_venv(target, CHECKOV) / "checkov"


def checkov(executable: Path, directory: Path, *frameworks: str) -> dict[str, CheckovReport]:
    """Scan *directory* with checkov, offline; one report per framework that found files."""
    command = [
        str(executable),
        "--directory",
        str(directory),
        "--skip-download",
        "--framework",
        *(frameworks or CHECKOV_FRAMEWORKS),
        "--output",
        "json",
        "--compact",
    ]
    proc = subprocess.run(
        command, cwd=directory, capture_output=True, text=True, timeout=600, check=False
    )
    # rc 1 when a check failed; anything else that prints no JSON is checkov's own error.
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(
            f"checkov printed no JSON (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        ) from error
    reports: dict[str, CheckovReport] = {}
    for item in data if isinstance(data, list) else [data]:
        if "check_type" not in item:  # "no files found" summary of an empty framework
            continue
        results = item.get("results", {})
        reports[item["check_type"]] = CheckovReport(
            framework=item["check_type"],
            passed=int(item["summary"]["passed"]),
            failed=results.get("failed_checks", []),
            skipped=results.get("skipped_checks", []),
            parsing_errors=list(results.get("parsing_errors", [])),
        )
    return reports


@dataclass
class BanditReport:
    """What bandit found: every issue, with its severity."""

    issues: list[dict[str, Any]]
    errors: list[dict[str, Any]]

    def at_least_medium(self) -> list[str]:
        return [
            f"{issue['test_id']} {issue['issue_severity']} {issue['filename']}:"
            f"{issue['line_number']} {issue['issue_text']}"
            for issue in self.issues
            if issue["issue_severity"] in ("MEDIUM", "HIGH")
        ]

    def figures(self) -> str:
        counts = {
            level: sum(issue["issue_severity"] == level for issue in self.issues)
            for level in ("LOW", "MEDIUM", "HIGH")
        }
        return ", ".join(f"{count} {level.lower()}" for level, count in counts.items())


def bandit(*paths: Path) -> BanditReport:
    """``bandit -r PATHS`` from uts's test environment, as JSON."""
    proc = subprocess.run(
        [str(BIN / "bandit"), "--recursive", "--format", "json", "--quiet", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(
            f"bandit printed no JSON (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
        ) from error
    return BanditReport(issues=data["results"], errors=data["errors"])
