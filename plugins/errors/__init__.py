"""Errors: a business-exception hierarchy and handlers giving one JSON error shape.

Services raise ``AppError`` subclasses (``NotFoundError``, ``ConflictError``, ...);
the handlers, installed through the ``app-setup`` slot, answer every error, the
framework's own included, as ``{"detail": ..., "code": ...}``, and an unhandled
exception as a bare ``500`` whose traceback goes to the log, never to the client.

In the layered layout (``layers``) they live in ``<package>.core.errors``
(``exceptions`` and ``handlers``); in the flat one (MVP) in ``<package>.errors``.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl

_TEMPLATES = Path(__file__).parent / "templates"


def errors_module(ctx: Context) -> str:
    """Where the exceptions and the handlers live: layered or flat."""
    return f"{ctx.package}.core.errors" if ctx.has("layers") else f"{ctx.package}.errors"


@impl
def uts_component() -> Component:
    return Component(
        name="errors",
        version="0.2.0",
        summary="Business exceptions and handlers: every error as {detail, code}.",
        requires=("fastapi",),
        conflicts=(),
        options=(),
        templates=_TEMPLATES / "common",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    layered = ctx.has("layers")
    out.templates(_TEMPLATES / ("layered" if layered else "flat"))
    package = errors_module(ctx)
    module = f"{package}.handlers" if layered else package
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
                f"Services raise the business exceptions of `{package}` "
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
