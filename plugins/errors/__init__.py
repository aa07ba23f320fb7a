"""Errors: a business-exception hierarchy and handlers giving one JSON error shape.

Services raise ``AppError`` subclasses (``NotFoundError``, ``ConflictError``, ...);
the handlers, installed through the ``app-setup`` slot, answer every error, the
framework's own included, as ``{"detail": ..., "code": ...}``, and an unhandled
exception as a bare ``500`` whose traceback goes to the log, never to the client.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl


@impl
def uts_component() -> Component:
    return Component(
        name="errors",
        version="0.2.0",
        summary="Business exceptions and handlers: every error as {detail, code}.",
        requires=("fastapi", "config"),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    module = f"{ctx.package}.core.errors.handlers"
    # The handlers catch Starlette's HTTPException, which the router raises.
    out.dependency("starlette>=1.6")
    out.fragment(
        "app-setup", {"module": module, "function": "register_exception_handlers"}, key=module
    )
    out.fragment(
        "readme",
        {
            "title": "Errors",
            "body": (
                f"Services raise the business exceptions of `{ctx.package}.core.errors` "
                "(`NotFoundError`, `ConflictError`, `AuthenticationError`, "
                "`PermissionDeniedError`, `BadRequestError`, or a subclass with its own "
                "`code`), never HTTP errors. Every error response has one shape, "
                '`{"detail": ..., "code": ...}`: business exceptions, HTTP errors of the '
                "framework (`404` for an unknown route), validation errors (`422`, "
                "`detail` lists where and why, never the values sent) and unexpected "
                'exceptions (`500` with `"code": "internal_error"`; the traceback goes to '
                "the log only)."
            ),
        },
    )
