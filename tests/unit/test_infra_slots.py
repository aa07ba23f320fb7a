"""Infrastructure slots: ``Contributions.later``, the consumers' declarations, every field.

docker, ci, kubernetes and terraform know no other component: what the built-ins add to
their files goes through the slots they declare, and each declared field changes the
output. Projects are composed in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from tests.conftest import FakePlugin
from tests.e2e.test_kubernetes import validate as validate_manifest
from uts.engine import ProjectSpec, compose
from uts.errors import PluginError
from uts.model import Component, Context, Contributions, GeneratedFile, Slot, matches
from uts.plugin.manager import load_registry, registry_from

CONSUMERS = ("docker", "ci", "kubernetes", "terraform")
FULL = [
    "project", "fastapi", "config", "database", "errors", "logging", "testing", "layers",
    "auth", "migrations", "scripts", "monitoring", "celery", "docker", "ci", "kubernetes",
    "terraform",
]  # fmt: skip


def builtins(*names: str) -> dict[str, object]:
    import importlib

    return {name: importlib.import_module(f"uts_plugins.{name}") for name in names}


def files_of(
    extra: FakePlugin | None = None, components: list[str] | None = None, **options: Any
) -> dict[str, GeneratedFile]:
    names = components or ["project", "fastapi", "config", "database", "docker", "ci"]
    names = [*names, "kubernetes"] if "kubernetes" not in names else names
    plugins = builtins(*names)
    if extra is not None:
        plugins[extra.component.name] = extra
        names = [*names, extra.component.name]
    spec = ProjectSpec("demo", "test", names, options=options)
    return compose(registry_from(plugins), spec).files


def text(files: dict[str, GeneratedFile], path: str) -> str:
    return files[path].content.decode()


def plugin(name: str, contribute: Callable[[Context, Contributions], None]) -> FakePlugin:
    return FakePlugin(Component(name=name, version="1.0.0", summary=name), contribute)


# Contributions.later -------------------------------------------------------------------


def test_later_sees_fragments_of_components_after_it_and_keeps_the_component_order() -> None:
    seen: list[tuple[Any, ...]] = []

    def first(ctx: Context, out: Contributions) -> None:
        def describe(fragments: Mapping[str, Any]) -> None:
            seen.append(fragments["things"])
            assert fragments["nobody"] == ()
            out.fragment("sections", f"first saw {len(fragments['things'])}")

        out.later(describe)

    def second(ctx: Context, out: Contributions) -> None:
        out.fragment("things", "a")
        out.fragment("sections", "second")

    registry = registry_from({"a": plugin("a", first), "b": plugin("b", second)})
    result = compose(registry, ProjectSpec("demo", "test", ["a", "b"]))
    assert seen == [("a",)]
    # Added after every contribution, yet in a's place: before b's section.
    assert result.fragments["sections"] == ["first saw 1", "second"]


def test_a_failing_later_callback_names_its_component() -> None:
    def broken(ctx: Context, out: Contributions) -> None:
        out.later(lambda fragments: fragments["x"][3])

    registry = registry_from({"bad": plugin("bad", broken)})
    with pytest.raises(PluginError, match=r"component 'bad' raised IndexError"):
        compose(registry, ProjectSpec("demo", "test", ["bad"]))


# Declarations -------------------------------------------------------------------------


def declared() -> dict[str, dict[str, Slot]]:
    components = load_registry(autoload=False).metadata
    return {name: {slot.name: slot for slot in components[name].slots} for name in CONSUMERS}


def test_consumers_declare_their_slots_and_share_one_migrate_declaration() -> None:
    slots = declared()
    assert set(slots["docker"]) == {
        "compose-services", "compose-environment", "compose-volumes", "docker-build",
        "docker-runtime", "migrate",
    }  # fmt: skip
    assert set(slots["ci"]) == {"ci-services", "ci-steps", "ci-tests", "dependabot"}
    assert set(slots["kubernetes"]) == {
        "k8s-workloads", "k8s-containers", "k8s-env", "k8s-egress", "k8s-secret-files",
        "k8s-requirements", "migrate",
    }  # fmt: skip
    assert slots["docker"]["migrate"] == slots["kubernetes"]["migrate"]
    assert slots["docker"]["migrate"] == slots["terraform"]["migrate"]


def test_every_builtin_fragment_in_an_infrastructure_slot_fits_its_declaration() -> None:
    slots = {name: slot for per in declared().values() for name, slot in per.items()}
    for broker in ("redis", "rabbitmq"):
        for postgresql in (True, False):
            options = {"celery": {"broker": broker}, "database": {"postgresql": postgresql}}
            spec = ProjectSpec("demo", "full", FULL, options=options)
            fragments = compose(load_registry(autoload=False), spec).fragments
            for name, slot in slots.items():
                for value in fragments[name]:
                    fields = {field.name: field for field in slot.fields}
                    assert set(value) <= set(fields), (name, value)
                    for field in fields.values():
                        if field.required:
                            assert field.name in value, (name, field.name)
                        if field.name in value:
                            assert matches(value[field.name], field.type), (name, field)
    assert fragments["migrate"] == [{"command": ["alembic", "upgrade", "head"]}]


def test_no_infrastructure_component_names_another_component() -> None:
    from pathlib import Path

    import uts_plugins

    root = Path(uts_plugins.__file__).parent
    others = [p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    for consumer in ("docker", "ci", "kubernetes"):
        sources = [
            path.read_text()
            for path in (root / consumer).rglob("*")
            if path.is_file() and path.suffix in (".py", ".jinja")
        ]
        for other in others:
            if other == consumer:
                continue
            for needle in (f'"{other}" in components', f"components.{other}", f'has("{other}")'):
                assert not any(needle in source for source in sources), (consumer, needle)
            assert not any(f"uts_plugins.{other}" in source for source in sources), consumer


# Every field changes the output --------------------------------------------------------


def everything(ctx: Context, out: Contributions) -> None:
    out.fragment("env", {"name": "CACHE_URL", "value": "cache://127.0.0.1:7000/0"})
    out.fragment(
        "compose-services",
        {
            "name": "cache",
            "order": 5,
            "wait": "service_started",
            "volumes": ["cache-data"],
            "addresses": ["127.0.0.1:7000"],
            "comment": "A cache.",
            "readme": "`cache` keeps the cache",
            "service": {"image": "redis:1.0", "volumes": ["cache-data:/data"]},
        },
        key="cache",
    )
    out.fragment(
        "compose-services",
        {"name": "job", "wait": "service_completed_successfully", "service": {"build": "."}},
        key="job",
    )
    out.fragment("compose-volumes", {"volume": "uploads", "path": "/app/uploads"}, key="uploads")
    out.fragment("docker-build", {"comment": "Assets.", "copy": ["assets"], "run": "true"})
    out.fragment(
        "docker-runtime",
        {"run": "mkdir /app/uploads", "volumes": {"uploads": "/app/uploads"}, "readme": "R1"},
    )
    out.fragment("migrate", {"command": ["flyway", "migrate"]}, key="migrate")
    out.fragment("ci-tests", {"run": "tox", "readme": "`tox`"}, key="tests")
    out.fragment(
        "ci-steps", {"name": "Late", "run": "echo late", "order": 70, "readme": "late"}, key="L"
    )
    out.fragment("ci-steps", {"name": "Early", "run": "echo early", "order": 10}, key="E")
    out.fragment("dependabot", {"ecosystem": "npm", "directory": "/web"}, key="npm")
    out.fragment(
        "k8s-workloads",
        {
            "name": "cron",
            "command": ["run"],
            "strategy": "Recreate",
            "resources": {"requests": {"cpu": "10m"}},
            "grace_period": 99,
            "spread": True,
            "comment": "Why so.",
            "readme": "`cron.yaml` runs it.",
        },
        key="cron",
    )
    out.fragment(
        "k8s-containers",
        {
            "name": "proxy",
            "image": "envoyproxy/envoy:v1.35.0",
            "args": ["--config-path", "/etc/envoy.yaml"],
            "ports": [{"name": "proxy", "containerPort": 9901}],
            "env": {"MODE": "sidecar"},
            "comment": "A proxy beside the app.",
        },
        key="proxy",
    )
    out.fragment(
        "k8s-containers",
        {"name": "warm", "command": ["python", "-m", "warm"], "init": True, "resources": {}},
        key="warm",
    )
    out.fragment("k8s-env", {"name": "CACHE_URL", "value": "http://cache"}, key="CACHE_URL")
    out.fragment("k8s-env", {"name": "TOKEN", "value": "x", "secret": True}, key="TOKEN")
    out.fragment("k8s-egress", {"name": "the cache", "ports": [7000, 7001]}, key="cache")
    out.fragment(
        "k8s-egress",
        {"name": "feeds", "ports": [443], "pods": ["cron"], "public": True},
        key="feeds",
    )
    out.fragment("k8s-secret-files", {"path": "/run/secrets/demo"}, key="secrets")


@pytest.fixture(scope="module")
def files() -> dict[str, GeneratedFile]:
    components = ["project", "fastapi", "database", "docker", "ci", "kubernetes"]
    return files_of(plugin("everything", everything), components)


def test_compose_honours_every_field(files: dict[str, GeneratedFile]) -> None:
    compose_text = text(files, "compose.yaml")
    data = yaml.safe_load(compose_text)
    services = data["services"]
    # By order: cache (5), the migrate job (10), job (the default, 50).
    assert list(services) == ["app", "cache", "migrate", "job"]
    assert services["migrate"]["command"] == ["flyway", "migrate"]
    app = services["app"]
    assert app["depends_on"] == {
        "cache": {"condition": "service_started"},
        "migrate": {"condition": "service_completed_successfully"},
        "job": {"condition": "service_completed_successfully"},
    }
    assert app["environment"]["CACHE_URL"] == "cache://cache:7000/0"
    assert "uploads:/app/uploads" in app["volumes"]
    assert services["cache"]["image"] == "redis:8.2.1-alpine"  # pinned by docker's option
    assert "  # A cache.\n  cache:" in compose_text
    # A one-shot job from the app's image waits only for services not from the image.
    assert services["job"]["depends_on"] == {"cache": {"condition": "service_started"}}
    assert {"cache-data", "uploads", "app-data"} <= set(data["volumes"])


def test_the_dockerfile_honours_every_field(files: dict[str, GeneratedFile]) -> None:
    dockerfile = text(files, "Dockerfile")
    build, runtime = dockerfile.split("AS runtime")
    assert "# Assets.\nCOPY assets ./assets\n" in build
    assert build.index("COPY assets") < build.index("--no-deps .") < build.index("RUN true")
    assert "RUN mkdir /app/uploads\n" in runtime
    assert runtime.index("RUN mkdir") < runtime.index("USER 10001")


def test_the_readme_honours_every_field(files: dict[str, GeneratedFile]) -> None:
    readme = text(files, "README.md")
    assert "`cache` keeps the cache" in readme and "(R1)" in readme
    volumes = "-v demo-data:/app/data -v demo-uploads:/app/uploads"
    assert f"docker run --rm {volumes} demo flyway migrate" in readme
    assert "`migrate` runs `flyway migrate` before the app starts" in readme
    assert "init container runs `flyway migrate`" in readme
    assert "`cron.yaml` runs it." in readme
    assert (
        "then runs `ruff check`, `ruff format --check`, `mypy`, `echo early`, late and `tox`"
        in (readme)
    )
    # Sections keep the component order although their text is written late.
    assert readme.index("## Docker") < readme.index("## Continuous integration")
    assert readme.index("## Continuous integration") < readme.index("## Kubernetes")


def test_ci_honours_every_field(files: dict[str, GeneratedFile]) -> None:
    job = yaml.safe_load(text(files, ".github/workflows/ci.yml"))["jobs"]["test"]
    names = [step.get("name") for step in job["steps"]]
    assert names[-3:] == ["Early", "Late", "Tests"]
    assert job["steps"][-1]["run"] == "tox"
    dependabot = yaml.safe_load(text(files, ".github/dependabot.yml"))["updates"]
    assert {"package-ecosystem": "npm", "directory": "/web"}.items() <= dependabot[-1].items()


def test_kubernetes_honours_every_field(files: dict[str, GeneratedFile]) -> None:
    cron = yaml.safe_load(text(files, "deploy/k8s/cron.yaml"))
    assert cron["spec"]["strategy"] == {"type": "Recreate"}
    pod = cron["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 99
    assert pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "demo",
        "app.kubernetes.io/component": "cron",
    }
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "10m"}}
    assert "  # Why so.\n  replicas: 1\n" in text(files, "deploy/k8s/cron.yaml")
    assert "deploy/k8s/cron-pdb.yaml" not in files
    deployment = yaml.safe_load(text(files, "deploy/k8s/deployment.yaml"))
    validate_manifest(deployment)
    validate_manifest(cron)
    pod = deployment["spec"]["template"]["spec"]
    migrate, warm = pod["initContainers"]
    assert migrate["command"] == ["flyway", "migrate"]
    assert warm["command"] == ["python", "-m", "warm"] and warm["image"] == "demo:0.1.0"
    api, proxy = pod["containers"]
    assert api["name"] == "api"
    assert proxy["image"] == "envoyproxy/envoy:v1.35.0"
    assert proxy["args"] == ["--config-path", "/etc/envoy.yaml"]
    assert proxy["ports"] == [{"name": "proxy", "containerPort": 9901}]
    assert {"name": "MODE", "value": "sidecar"} in proxy["env"]
    assert proxy["securityContext"]["readOnlyRootFilesystem"] is True
    assert "        # A proxy beside the app.\n        - name: proxy\n" in text(
        files, "deploy/k8s/deployment.yaml"
    )
    config = yaml.safe_load(text(files, "deploy/k8s/configmap.yaml"))["data"]
    # The cluster value, and its http URL is no secret; TOKEN is, though only k8s-env has it.
    assert config["CACHE_URL"] == "http://cache" and "TOKEN" not in config
    secrets = text(files, "deploy/k8s/secrets.env.example")
    assert "\nTOKEN=" in secrets and "CACHE_URL" not in secrets
    assert "cron.yaml" in yaml.safe_load(text(files, "deploy/k8s/kustomization.yaml"))["resources"]


def test_kubernetes_honours_every_security_field(files: dict[str, GeneratedFile]) -> None:
    policies = {
        doc["metadata"]["name"]: doc["spec"]
        for doc in yaml.safe_load_all(text(files, "deploy/k8s/networkpolicy.yaml"))
    }
    assert set(policies) == {"default-deny", "demo-api", "demo-cron"}

    def ports(spec: dict[str, Any]) -> dict[int, list[Any]]:
        return {p["port"]: rule.get("to", []) for rule in spec["egress"] for p in rule["ports"]}

    # Every pod reaches the cache (no `pods`) and database's PostgreSQL; only cron the
    # feeds, at public addresses.
    assert ports(policies["demo-api"]) == {53: [], 5432: [], 7000: [], 7001: []}
    cron = ports(policies["demo-cron"])
    assert set(cron) == {53, 5432, 7000, 7001, 443}
    assert {block["ipBlock"]["cidr"] for block in cron[443]} == {"0.0.0.0/0", "::/0"}
    readme = text(files, "README.md")
    assert "the cache (port 7000, 7001; every pod)" in readme
    assert "feeds (port 443, public addresses only; `cron`)" in readme
    # The Secret is mounted where k8s-secret-files says, in every Deployment.
    for name in ("deployment.yaml", "cron.yaml"):
        pod = yaml.safe_load(text(files, f"deploy/k8s/{name}"))["spec"]["template"]["spec"]
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert "/run/secrets/demo" in mounts
        assert not [ref for ref in pod["containers"][0]["envFrom"] if "secretRef" in ref]
