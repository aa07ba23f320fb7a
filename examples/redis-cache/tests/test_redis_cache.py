"""The redis-cache component, tested with uts.testing (``uts_kit``, ``uts_snapshot``)."""

from __future__ import annotations

import os

import pytest
import yaml
from uts.errors import OptionError
from uts.testing import Kit, Snapshot

NAME = "redis-cache"


def test_core_with_it_gets_the_module_fixtures_and_tests(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME])
    assert sorted(project.owned_by(NAME)) == [
        "demo/redis_cache.py",
        "tests/fixtures/redis_cache.py",
        "tests/test_redis_cache.py",
    ]
    project.assert_file("demo/redis_cache.py", "def check_cache() -> None:", "Redis.from_url(")
    project.check_code()


def test_settings_reach_settings_py_and_env_example(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME], options={NAME: {"ttl": 60}})
    project.assert_fragment("settings", name="redis_cache_ttl", type="int", default="60")
    project.assert_file(
        "demo/core/config/settings.py",
        'redis_cache_url: str = "redis://localhost:6379/0"',
        "redis_cache_ttl: int = 60",
        'redis_cache_prefix: str = "demo:"',
    )
    project.assert_file(".env.example", "REDIS_CACHE_URL=redis://localhost:6379/0")


def test_the_health_check_lifespan_and_test_overrides_are_wired(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME])
    project.assert_fragment(
        "health-checks", name="cache", module="demo.redis_cache", function="check_cache"
    )
    project.assert_file("demo/health.py", '"cache": redis_cache.check_cache')
    project.assert_file("demo/main.py", "redis_cache.close_cache")
    project.assert_file("tests/conftest.py", '"tests.fixtures.redis_cache"')
    project.assert_file(
        "tests/fixtures/client.py", "app.dependency_overrides.update(redis_cache_overrides)"
    )
    project.assert_file("pyproject.toml", '"redis>=6.4"', '"fakeredis>=2.31"')


def test_with_docker_a_cache_service_the_app_waits_for(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME, "docker"])
    services = yaml.safe_load(project.text("compose.yaml"))["services"]
    assert services["cache"]["image"].startswith("redis:")
    assert services["cache"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["app"]["environment"]["REDIS_CACHE_URL"] == "redis://cache:6379/0"
    assert services["app"]["depends_on"]["cache"] == {"condition": "service_healthy"}


def test_with_kubernetes_the_cluster_url_goes_to_the_configmap(uts_kit: Kit) -> None:
    project = uts_kit.compose("core", with_=[NAME, "kubernetes"])
    configmap = yaml.safe_load(project.text("deploy/k8s/configmap.yaml"))
    assert configmap["data"]["REDIS_CACHE_URL"] == "redis://redis:6379/0"
    assert "REDIS_CACHE_URL" not in project.text("deploy/k8s/secrets.env.example")


def test_with_kubernetes_a_url_with_a_password_goes_to_the_secret(uts_kit: Kit) -> None:
    url = "rediss://:pw@cache.example.internal:6380/1"
    options = {NAME: {"cluster_url": url}}
    project = uts_kit.compose("core", with_=[NAME, "kubernetes"], options=options)
    project.assert_file("deploy/k8s/secrets.env.example", "\nREDIS_CACHE_URL=\n")
    assert "REDIS_CACHE_URL" not in project.text("deploy/k8s/configmap.yaml")
    assert url not in "".join(data.decode() for data in project.select("deploy/*").values())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "redis-cache.ttl must be a positive number of seconds"),
        ({"url": "http://localhost:6379"}, "redis-cache.url"),
    ],
)
def test_bad_options_are_refused(uts_kit: Kit, options: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        uts_kit.compose("core", with_=[NAME], options={NAME: options})


def test_the_module_matches_its_snapshot(uts_kit: Kit, uts_snapshot: Snapshot) -> None:
    uts_snapshot.assert_match(uts_kit.compose("core", with_=[NAME]).select("demo/redis_cache.py"))


def test_add_then_remove_gives_back_the_same_bytes(uts_kit: Kit) -> None:
    added = uts_kit.assert_add_remove_roundtrip(NAME, recipe="core", with_=["docker"])
    assert "cache:" in added.files["compose.yaml"].decode()


@pytest.mark.uts_slow
def test_the_generated_project_passes_its_tests_and_lints_clean(uts_kit: Kit) -> None:
    """On fakeredis by default; against a real Redis when TEST_REDIS_URL is set."""
    project = uts_kit.new("core", with_=[NAME])
    env = {"TEST_REDIS_URL": os.environ["TEST_REDIS_URL"]} if "TEST_REDIS_URL" in os.environ else {}
    uts_kit.install_and_test(project, lint=True, env=env)
