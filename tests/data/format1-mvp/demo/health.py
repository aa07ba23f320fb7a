"""Health endpoints: liveness, readiness, and the checks readiness runs.

``GET /health/live`` answers while the process can serve requests and touches no
backing service: restart the process when it fails. ``GET /health/ready`` runs every
check in ``HEALTH_CHECKS`` and answers ``503`` naming the failing ones: send no
traffic while it fails. ``GET /health`` is the same report as readiness.

Add a check with ``register("name", function)``; the function raises when its
service is down.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Response, status

from demo import database

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], object]
"""A check takes no argument and raises when its service is down."""

State = Literal["ok", "unavailable"]

HEALTH_CHECKS: dict[str, HealthCheck] = {
    "database": database.check_connection,
}
"""What readiness runs, by name."""


@dataclass
class Liveness:
    """The answer of the liveness probe."""

    status: Literal["ok"] = "ok"


@dataclass
class Readiness:
    """The state of every check, and the names of those that failed."""

    status: State
    checks: dict[str, State]
    failing: list[str]


def register(name: str, check: HealthCheck) -> None:
    """Make readiness run *check* under *name* (replacing a check of that name)."""
    HEALTH_CHECKS[name] = check


def run_checks() -> Readiness:
    """Run every check; one that raises makes its service ``unavailable``."""
    checks: dict[str, State] = {}
    for name, check in HEALTH_CHECKS.items():
        try:
            check()
        except Exception:
            logger.warning("Health check %r failed", name, exc_info=True)
            checks[name] = "unavailable"
        else:
            checks[name] = "ok"
    failing = [name for name, state in checks.items() if state != "ok"]
    return Readiness(
        status="unavailable" if failing else "ok", checks=checks, failing=failing
    )


router = APIRouter(prefix="/health", tags=["health"])

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "description": "A backing service is down; `failing` names it.",
        "model": Readiness,
    }
}


def _readiness(response: Response) -> Readiness:
    report = run_checks()
    if report.failing:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return report


@router.get("", responses=UNAVAILABLE)
def health(response: Response) -> Readiness:
    """Report whether the service and each of its backing services are up."""
    return _readiness(response)


@router.get("/live")
def live() -> Liveness:
    """Answer while the process serves requests; checks no backing service."""
    return Liveness()


@router.get("/ready", responses=UNAVAILABLE)
def ready(response: Response) -> Readiness:
    """Answer ``200`` when every check passes, else ``503`` naming the failing ones."""
    return _readiness(response)
