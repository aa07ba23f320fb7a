"""Logging: structured records (JSON or text) carrying a per-request id.

``setup_logging`` runs through the ``app-setup`` slot: it configures the root logger
from the ``LOG_LEVEL`` and ``LOG_FORMAT`` settings and installs a pure-ASGI
middleware that gives each request an id (``X-Request-ID``) and logs one access
record per request (uvicorn's access log is switched off). Tokens and password hashes
are redacted from every record written.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl
from uts_plugins.config import setting


@impl
def uts_component() -> Component:
    return Component(
        name="logging",
        version="0.2.0",
        summary="Structured JSON logs with a request id per request (X-Request-ID).",
        requires=("fastapi", "config"),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    module = f"{ctx.package}.core.utils.logger"
    # The middleware speaks ASGI with Starlette's types.
    out.dependency("starlette>=1.6")
    setting(
        out,
        "log_level",
        "INFO",
        "Lowest level logged: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        annotation='Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]',
    )
    setting(
        out,
        "log_format",
        "json",
        "json for one JSON object per line (log collectors), text for people.",
        annotation='Literal["json", "text"]',
    )
    out.fragment("app-setup", {"module": module, "function": "setup_logging"}, key=module)
    out.fragment(
        "readme",
        {
            "title": "Logging",
            "body": (
                f"`{module}` writes every record to stdout, one JSON object per line "
                "(`LOG_FORMAT=text` for a readable format while developing), from "
                "`LOG_LEVEL` up. Each request gets an id (the client's `X-Request-ID` "
                "when it sends a safe one), returned in the `X-Request-ID` response "
                "header and attached to every record logged while serving it; one access "
                "record per request gives method, path, status and `duration_ms` "
                "(uvicorn's own access log is off; its other records share the handler). "
                "Tokens, bearer credentials and password hashes are replaced by "
                "`[REDACTED]` in whatever is written, and the database engine never puts "
                "the values of a statement in its errors. Pass "
                'fields with `logger.info("Order placed", extra={"order_id": 7})`.'
            ),
        },
    )
