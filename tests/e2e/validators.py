"""The offline validators of infrastructure files, as uts's test extra installs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def validate(tool: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run *tool* (hadolint, check-jsonschema, yamllint) from this venv; never raises."""
    return subprocess.run(
        [str(BIN / tool), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    args = ("--no-color", "--failure-threshold", "warning", dockerfile.name)
    return validate("hadolint", *args, cwd=dockerfile.parent)


def jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """``check-jsonschema --builtin-schema vendor.SCHEMA FILES...``."""
    return validate(
        "check-jsonschema", "--builtin-schema", f"vendor.{schema}", *files, cwd=files[0].parent
    )


def yamllint(*files: Path) -> subprocess.CompletedProcess[str]:
    return validate("yamllint", "-d", "relaxed", *files, cwd=files[0].parent)


def report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
