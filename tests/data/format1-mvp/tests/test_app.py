"""The application itself: routes, OpenAPI schema and error responses."""

from fastapi.testclient import TestClient

from demo import __version__


def test_openapi_schema_describes_the_app(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "demo"
    assert schema["info"]["version"] == __version__
    assert {"/health", "/health/live", "/health/ready"} <= set(schema["paths"])


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/no-such-route")

    assert response.status_code == 404
    assert response.json()["detail"] == "Not Found"
