"""Liveness, readiness and the health checks, through HTTP."""

import pytest
from fastapi.testclient import TestClient

from demo import health


def fail() -> None:
    raise ConnectionError("service is down")


def test_the_registered_checks_are_the_components_ones() -> None:
    assert sorted(health.HEALTH_CHECKS) == ["database"]


def test_liveness_is_ok(client: TestClient) -> None:
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_liveness_runs_no_check(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(health.HEALTH_CHECKS, "broken", fail)

    assert client.get("/health/live").status_code == 200


@pytest.mark.parametrize("path", ["/health/ready", "/health"])
def test_ready_when_every_check_passes(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": dict.fromkeys(health.HEALTH_CHECKS, "ok"),
        "failing": [],
    }


@pytest.mark.parametrize("path", ["/health/ready", "/health"])
def test_not_ready_names_the_failing_check(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setitem(health.HEALTH_CHECKS, "broken", fail)

    response = client.get(path)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broken"]
    assert body["checks"]["broken"] == "unavailable"


@pytest.mark.parametrize("name", ["database"])
def test_not_ready_when_a_backing_service_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setitem(health.HEALTH_CHECKS, name, fail)

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["failing"] == [name]
    assert client.get("/health/live").status_code == 200


def test_register_adds_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty registry: the real checks would reach the configured services.
    monkeypatch.setattr(health, "HEALTH_CHECKS", {})

    health.register("cache", fail)

    report = health.run_checks()
    assert report.status == "unavailable"
    assert report.failing == ["cache"]
    assert report.checks == {"cache": "unavailable"}
