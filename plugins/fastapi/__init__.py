"""The FastAPI application: app factory module, lifespan, health check and test client."""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl


@impl
def uts_component() -> Component:
    return Component(
        name="fastapi",
        version="0.1.0",
        summary="FastAPI app with lifespan, /health endpoint and a TestClient fixture.",
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
        },
    )
    out.fragment(
        "readme",
        {
            "title": "API",
            "body": (
                f"`{ctx.package}/main.py` builds the FastAPI application: it runs each "
                "component's startup and shutdown work in its lifespan and mounts their "
                "routers. `GET /health` answers `200` with the state of every backing "
                "service, or `503` when one of them is down. The OpenAPI schema is served "
                "at `/openapi.json`."
            ),
        },
    )
