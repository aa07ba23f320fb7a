"""The demo web application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from demo import __version__, database, health


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Prepare resources before the first request and release them at shutdown."""
    database.create_db_and_tables()
    try:
        yield
    finally:
        database.dispose_engine()


app = FastAPI(
    title="demo",
    version=__version__,
    lifespan=lifespan,
)
# The probes, GET /health/live and /health/ready: see health.py.
app.include_router(health.router)
