"""redis-cache: a Redis cache for a generated FastAPI service, as a third-party uts component.

What it adds to a project, and through which slot (docs/plugins.md, docs/slots.md):

- ``<package>/redis_cache.py``: the client, made lazily from the settings (importing
  the module connects to nothing), a small ``Cache`` (prefixed keys, a default TTL), the
  FastAPI dependency ``get_cache``, the readiness check ``check_cache`` and
  ``close_cache`` for shutdown. Its own template; the module lives in the project's
  package (``ctx.host.package_dir``).
- settings ``REDIS_CACHE_URL``, ``REDIS_CACHE_TTL``, ``REDIS_CACHE_PREFIX``: ``settings``
  and ``env`` (``uts_plugins.config.setting``).
- the readiness check: ``health-checks``; closing the client at shutdown: ``lifespan``.
- test doubles: ``tests/fixtures/redis_cache.py`` (``pytest-plugins``) swaps the client
  for fakeredis in every test, or for a real Redis when ``TEST_REDIS_URL`` is set, and
  ``redis_cache_overrides`` (``test-client-overrides``) hands the app the same cache.
- with ``docker``: a ``cache`` service in ``compose.yaml`` (``compose-services``) that the
  app waits for, and ``REDIS_CACHE_URL`` pointing at it (``compose-environment``).
- with ``kubernetes``: ``REDIS_CACHE_URL`` is ``cluster_url`` in the cluster's ConfigMap,
  or a key of its Secret when that URL carries a password (``k8s-env``).
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Option, impl
from uts_plugins.config import setting

NAME = "redis-cache"
TEMPLATES = Path(__file__).parent / "templates"

REDIS_IMAGE = "redis:8.2.1-alpine"
"""The compose service's image: an exact tag (docker's ``redis_image`` option pins it)."""


@impl
def uts_component() -> Component:
    return Component(
        name=NAME,
        version="0.1.0",
        summary="Redis cache: lazy client, settings, readiness check, fakeredis in tests.",
        requires=("config", "fastapi"),
        options=(
            Option(
                "url",
                default="redis://localhost:6379/0",
                pattern=r"rediss?://[^\s'\"\\]+",
                help="The Redis URL of development (redis:// or rediss://).",
            ),
            Option("ttl", type=int, default=300, help="Seconds a cached value lives by default."),
            Option(
                "cluster_url",
                default="redis://redis:6379/0",
                pattern=r"rediss?://[^\s'\"\\]+",
                help="The Redis URL in the cluster (in its Secret if it has a password).",
            ),
        ),
    )


@impl
def uts_configure(ctx: Context) -> None:
    from uts.errors import OptionError

    if ctx.options(NAME)["ttl"] <= 0:
        raise OptionError(
            f"option {NAME}.ttl must be a positive number of seconds",
            hint=f"set it with --set {NAME}.ttl=300",
        )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    options = ctx.options(NAME)
    module = f"{ctx.host.module_prefix}redis_cache"
    out.templates(TEMPLATES / "code")
    out.dependency("redis>=6.4")
    out.dependency("fakeredis>=2.31", group="dev")
    setting(out, "redis_cache_url", options["url"], "Where the cache's Redis listens.")
    setting(out, "redis_cache_ttl", options["ttl"], "Seconds a cached value lives by default.")
    setting(
        out,
        "redis_cache_prefix",
        f"{ctx.project_name}:",
        "Prefix of every cache key, to share one Redis between services.",
    )
    out.fragment(
        "health-checks",
        {"name": "cache", "module": module, "function": "check_cache"},
        key="cache",
    )
    out.fragment("lifespan", {"module": module, "shutdown": "close_cache"}, key=module)
    if ctx.host.tests is not None:
        out.templates(TEMPLATES / "tests")
        fixtures = "tests.fixtures.redis_cache"
        out.fragment("pytest-plugins", {"module": fixtures}, key=fixtures)
        out.fragment(
            "test-client-overrides",
            {"fixture": "redis_cache_overrides"},
            key="redis_cache_overrides",
        )
    out.fragment("readme", {"title": "Cache", "body": _readme(module)})
    _compose(out)
    # In the cluster: the ConfigMap, unless the URL carries a password (then the Secret,
    # which you fill in: the value is not written anywhere).
    cluster_url = options["cluster_url"]
    out.fragment(
        "k8s-env",
        {"name": "REDIS_CACHE_URL", "value": cluster_url, "secret": "@" in cluster_url},
        key="REDIS_CACHE_URL",
    )


def _compose(out: Contributions) -> None:
    """A Redis for the cache in the compose stack; the app's REDIS_CACHE_URL points at it.

    Read by docker only when it is active: a fragment nobody consumes is dropped.
    """
    out.fragment(
        "compose-services",
        {
            "name": "cache",
            "order": 35,
            "wait": "service_healthy",
            "comment": "The cache: in memory only, the least recently used keys evicted.",
            "readme": "`cache` is the Redis behind `REDIS_CACHE_URL` (nothing kept on disk).",
            "service": {
                "image": REDIS_IMAGE,
                "command": [
                    "redis-server",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--maxmemory",
                    "256mb",
                    "--maxmemory-policy",
                    "allkeys-lru",
                ],
                "healthcheck": {
                    "test": ["CMD", "redis-cli", "ping"],
                    "interval": "5s",
                    "timeout": "5s",
                    "retries": 10,
                },
                "restart": "unless-stopped",
            },
        },
        key="cache",
    )
    out.fragment(
        "compose-environment",
        {"name": "REDIS_CACHE_URL", "value": "redis://cache:6379/0"},
        key="REDIS_CACHE_URL",
    )


def _readme(module: str) -> str:
    return (
        f"`{module}` holds the cache: `get_cache()` (also a FastAPI dependency) returns a "
        "`Cache` whose `get`, `set` and `delete` prefix every key with "
        "`REDIS_CACHE_PREFIX`; values live `REDIS_CACHE_TTL` seconds unless `set` says "
        "otherwise. The client is made from `REDIS_CACHE_URL` on first use, so importing "
        "the module connects to nothing; `GET /health/ready` reports `cache` unavailable "
        "while Redis cannot be reached. The tests need no server: "
        "`tests/fixtures/redis_cache.py` gives every test an empty fakeredis, or, with "
        "`TEST_REDIS_URL` set, a real Redis under a key prefix of its own, emptied after "
        "each test."
    )
