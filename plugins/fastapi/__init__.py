"""The FastAPI application: app module, lifespan, health endpoints and test client."""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl


@impl
def uts_component() -> Component:
    return Component(
        name="fastapi",
        version="0.1.0",
        summary="FastAPI app with lifespan, liveness and readiness probes, and a TestClient.",
        requires=("project",),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("fastapi>=0.165")
    out.dependency("uvicorn[standard]>=0.54")
    # Starlette's TestClient warns when it runs on httpx; httpx2 is what it expects.
    out.dependency("httpx2>=2.16", group="dev")
    out.fragment("pytest-plugins", {"module": "tests.fixtures.client"}, key="tests.fixtures.client")
    out.fragment(
        "next-steps",
        {
            "text": (
                "Serve the API on http://127.0.0.1:8000, with interactive docs at "
                "http://127.0.0.1:8000/docs (add `--env-file .env` to load settings "
                "from a `.env` file):"
            ),
            "command": f"uvicorn {ctx.package}.main:app --reload",
            "order": 90,
        },
    )
    out.fragment(
        "readme",
        {
            "title": "API",
            "body": (
                f"`{ctx.package}/main.py` builds the FastAPI application: it runs each "
                "component's startup and shutdown work in its lifespan and mounts their "
                f"routers. `{ctx.package}/health.py` serves the probes: `GET /health/live` "
                "answers `200` while the process runs and checks nothing else (a "
                "liveness probe); `GET /health/ready` runs every registered check and "
                "answers `200`, or `503` with the failing checks named in `failing` "
                "(a readiness probe); `GET /health` gives the same report as readiness. "
                "Add a check with `health.register(name, function)`, the function raising "
                "when its service is down. The OpenAPI schema is served at `/openapi.json`."
            ),
        },
    )
