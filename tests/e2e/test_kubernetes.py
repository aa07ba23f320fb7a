"""The kubernetes component: its manifests pass strict schema validation offline.

Projects are rendered in-process (no venv): a CORE project (with migrations), an MVP
project with every option set, and a CORE project with celery, whose worker and beat
Deployments are checked the same way. Every document is validated with ``kubernetes-validate``
(strict: unknown fields fail; a missing schema, as for a removed API, fails too),
linted with yamllint and checked for what a production Deployment needs. Broken copies
prove each validator can fail.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.conftest import Result, snapshot
from tests.e2e.conftest import new_demo
from uts.testing import Kit, read_tree

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]

# The oldest and the newest Kubernetes versions the manifests are checked against.
K8S_VERSIONS = ("1.31", "1.37")
REMOVED_APIS = {
    "extensions/v1beta1",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "policy/v1beta1",
    "networking.k8s.io/v1beta1",
}
MANIFESTS = {
    "namespace.yaml": "Namespace",
    "configmap.yaml": "ConfigMap",
    "deployment.yaml": "Deployment",
    "service.yaml": "Service",
    "ingress.yaml": "Ingress",
    "hpa.yaml": "HorizontalPodAutoscaler",
    "pdb.yaml": "PodDisruptionBudget",
}
# One NetworkPolicy per document: the default deny, then one per Deployment.
POLICIES = "networkpolicy.yaml"
MVP_OPTIONS = {
    "image": "ghcr.io/acme/shop-api",
    "tag": "1.4.2",
    "namespace": "shop",
    "host": "api.shop.example.org",
    "ingress_class": "traefik",
    "replicas": "3",
    "max_replicas": "9",
    "run_as_user": "20000",
}


new = new_demo


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new(tmp_path_factory.mktemp("k8s") / "core", "core", "--with", "kubernetes")


@pytest.fixture(scope="module")
def mvp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sets = [
        arg for key, value in MVP_OPTIONS.items() for arg in ("--set", f"kubernetes.{key}={value}")
    ]
    return new(tmp_path_factory.mktemp("k8s") / "mvp", "mvp", "--with", "kubernetes", *sets)


@pytest.fixture(params=["core", "mvp"])
def project(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(request.param))


def manifests(project: Path) -> dict[str, dict[str, Any]]:
    """The one document of each manifest file, by file name."""
    docs = {}
    for name in MANIFESTS:
        loaded = list(yaml.safe_load_all((project / "deploy/k8s" / name).read_text()))
        assert len(loaded) == 1, name
        docs[name] = loaded[0]
    return docs


def validate(doc: dict[str, Any]) -> None:
    """Strict schema validation for every version; a missing schema is a failure too."""
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError as error:
            pytest.fail(f"{doc['apiVersion']}/{doc['kind']} has no schema in {version}: {error}")


def yaml_problems(text: str, config: str = "extends: relaxed") -> list[str]:
    return [str(problem) for problem in linter.run(text, YamlLintConfig(config))]


def env_file(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


def pod(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return docs["deployment.yaml"]["spec"]["template"]


def policies(project: Path) -> dict[str, dict[str, Any]]:
    """The NetworkPolicies, by name."""
    docs = yaml.safe_load_all((project / "deploy/k8s" / POLICIES).read_text())
    return {doc["metadata"]["name"]: doc for doc in docs}


def secret_refs(spec: dict[str, Any]) -> dict[str, frozenset[str]]:
    """The Secrets each container of a pod spec reads: by environment or mounted as files."""
    volumes = {
        volume["name"]: volume["secret"]["secretName"]
        for volume in spec.get("volumes", [])
        if "secret" in volume
    }
    refs = {}
    for container in spec["containers"] + spec.get("initContainers", []):
        names = {ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref}
        names |= {volumes[m["name"]] for m in container["volumeMounts"] if m["name"] in volumes}
        refs[container["name"]] = frozenset(names)
    return refs


# Validators -----------------------------------------------------------------------


def test_every_manifest_passes_strict_schema_validation(project: Path) -> None:
    files = sorted(path.name for path in (project / "deploy/k8s").iterdir())
    assert files == sorted(
        [*MANIFESTS, POLICIES, "kustomization.yaml", "secrets.env.example", ".gitignore"]
    )
    for name, doc in manifests(project).items():
        assert doc["kind"] == MANIFESTS[name]
        assert doc["apiVersion"] not in REMOVED_APIS
        validate(doc)
    for doc in policies(project).values():
        assert doc["kind"] == "NetworkPolicy"
        validate(doc)


def test_the_generated_secret_passes_too(project: Path) -> None:
    """The Secret kustomize builds from secrets.env (keys of the example, filled in)."""
    kustomization = yaml.safe_load((project / "deploy/k8s/kustomization.yaml").read_text())
    keys = env_file((project / "deploy/k8s/secrets.env.example").read_text())
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": kustomization["secretGenerator"][0]["name"],
            "namespace": kustomization["namespace"],
        },
        "type": "Opaque",
        "stringData": {key: "filled-in" for key in keys},
    }
    validate(secret)


def test_yamllint_finds_nothing(project: Path) -> None:
    for path in sorted((project / "deploy/k8s").glob("*.yaml")):
        # Clean under the relaxed profile, and free of errors under the default one.
        assert yaml_problems(path.read_text()) == [], path.name
        assert not [p for p in yaml_problems(path.read_text(), "extends: default") if "error" in p]


def test_broken_copies_fail_each_validator(core: Path) -> None:
    docs = manifests(core)
    deployment = docs["deployment.yaml"]

    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, K8S_VERSIONS[-1], strict=True)

    unknown_field = copy.deepcopy(deployment)
    unknown_field["spec"]["template"]["metadata"]["labelz"] = {"a": "b"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown_field, K8S_VERSIONS[-1], strict=True)

    removed_api = copy.deepcopy(docs["hpa.yaml"])
    removed_api["apiVersion"] = "autoscaling/v2beta2"
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(removed_api, K8S_VERSIONS[-1], strict=True)

    text = (core / "deploy/k8s/service.yaml").read_text()
    assert yaml_problems(text.replace("  ports:\n", "  ports:\n  - bad: [1,\n")) != []
    assert yaml_problems(text + "  type: NodePort\n") != []  # a duplicated key


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl is not installed: kustomize build not tried"
)
@pytest.mark.parametrize("name", ["core", "celery"])
def test_kustomize_builds_and_points_the_pods_at_the_generated_secret(
    request: pytest.FixtureRequest, name: str, tmp_path: Path
) -> None:
    k8s = tmp_path / "k8s"
    shutil.copytree(Path(request.getfixturevalue(name)) / "deploy/k8s", k8s)
    (k8s / "secrets.env").write_text(
        (k8s / "secrets.env.example").read_text().replace("SECRET_KEY=", "SECRET_KEY=s3", 1)
    )
    built = subprocess.run(
        ["kubectl", "kustomize", str(k8s)], capture_output=True, text=True, check=True
    ).stdout
    docs = list(yaml.safe_load_all(built))
    for doc in docs:
        validate(doc)
    (secret,) = [doc for doc in docs if doc["kind"] == "Secret"]
    assert secret["metadata"]["name"].startswith("demo-secrets-")  # hashed: rolls the pods
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    expected = {"demo"} | ({"demo-worker", "demo-beat"} if name == "celery" else set())
    assert set(deployments) == expected
    for deployment in deployments.values():
        refs = secret_refs(deployment["spec"]["template"]["spec"])
        assert set(refs.values()) == {frozenset({secret["metadata"]["name"]})}


# What a production Deployment needs ----------------------------------------------


def test_the_deployment_probes_limits_and_runs_unprivileged(project: Path) -> None:
    spec = pod(manifests(project))["spec"]
    containers = spec["containers"] + spec.get("initContainers", [])
    api = spec["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    port_names = {port["name"] for port in api["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert api[probe]["httpGet"]["port"] in port_names
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert isinstance(spec["securityContext"]["runAsUser"], int)
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["automountServiceAccountToken"] is False
    for container in containers:
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert "/tmp" in mounts  # the one writable place
        repository, _, tag = container["image"].rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag


def test_labels_and_selectors_agree(project: Path) -> None:
    docs = manifests(project)
    deployment = docs["deployment.yaml"]
    labels = pod(docs)["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert docs["service.yaml"]["spec"]["selector"] == selector
    assert docs["pdb.yaml"]["spec"]["selector"]["matchLabels"] == selector
    target = docs["hpa.yaml"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    service = docs["service.yaml"]
    backend = docs["ingress.yaml"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in {
        port["name"] for port in pod(docs)["spec"]["containers"][0]["ports"]
    }
    # The HPA owns the replica count: a replicas field would reset it on every apply.
    assert "replicas" not in deployment["spec"]


def test_kustomization_lists_every_manifest_and_generates_the_secret(project: Path) -> None:
    kustomization = yaml.safe_load((project / "deploy/k8s/kustomization.yaml").read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert sorted(kustomization["resources"]) == sorted([*MANIFESTS, POLICIES])
    docs = manifests(project)
    namespaces = {doc["metadata"].get("namespace") for doc in docs.values()} - {None}
    assert (
        namespaces == {kustomization["namespace"]} == {docs["namespace.yaml"]["metadata"]["name"]}
    )
    (generator,) = kustomization["secretGenerator"]
    assert generator["envs"] == ["secrets.env"]
    assert (project / "deploy/k8s/.gitignore").read_text().splitlines()[-1] == "secrets.env"
    spec = pod(docs)["spec"]
    for container in spec["containers"] + spec.get("initContainers", []):
        config = {
            ref["configMapRef"]["name"] for ref in container["envFrom"] if "configMapRef" in ref
        }
        assert config == {docs["configmap.yaml"]["metadata"]["name"]}
    assert set(secret_refs(spec).values()) == {frozenset({generator["name"]})}


def test_settings_are_split_into_configmap_and_secret(core: Path) -> None:
    data = manifests(core)["configmap.yaml"]["data"]
    secrets = env_file((core / "deploy/k8s/secrets.env.example").read_text())
    assert data["ENVIRONMENT"] == "production"
    assert data["LOG_FORMAT"] == "json"
    assert {"DATABASE_URL", "SECRET_KEY", "FIRST_SUPERUSER_PASSWORD"} == set(secrets)
    assert not set(secrets) & set(data)
    assert set(secrets.values()) == {""}  # a template: no value, real or placeholder
    # Every setting of the project lands in exactly one of the two.
    env = env_file((core / ".env.example").read_text())
    assert set(env) == set(data) | set(secrets)


def test_migrations_run_in_an_init_container_only_with_migrations(core: Path, mvp: Path) -> None:
    (init,) = pod(manifests(core))["spec"]["initContainers"]
    assert init["command"] == ["alembic", "upgrade", "head"]
    assert init["image"] == pod(manifests(core))["spec"]["containers"][0]["image"]
    assert "initContainers" not in pod(manifests(mvp))["spec"]


def test_options_reach_the_manifests(mvp: Path) -> None:
    docs = manifests(mvp)
    assert pod(docs)["spec"]["containers"][0]["image"] == "ghcr.io/acme/shop-api:1.4.2"
    assert pod(docs)["spec"]["securityContext"]["runAsUser"] == 20000
    assert {doc["metadata"].get("namespace", "shop") for doc in docs.values()} == {"shop"}
    ingress = docs["ingress.yaml"]["spec"]
    assert ingress["ingressClassName"] == "traefik"
    assert ingress["rules"][0]["host"] == "api.shop.example.org"
    assert ingress["tls"][0]["hosts"] == ["api.shop.example.org"]
    hpa = docs["hpa.yaml"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 9)
    assert list(manifests(mvp)["configmap.yaml"]["data"]) == []  # MVP: DATABASE_URL only
    assert set(env_file((mvp / "deploy/k8s/secrets.env.example").read_text())) == {"DATABASE_URL"}
    # In a cluster the database is PostgreSQL, so the MVP project gains its driver.
    assert '"psycopg[binary]>=3.3"' in (mvp / "pyproject.toml").read_text()
    readme = (mvp / "README.md").read_text()
    assert "## Kubernetes" in readme and "kubectl apply -k deploy/k8s" in readme


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("kubernetes.tag=latest", "does not match"),
        ("kubernetes.image=Not An Image", "does not match"),
        ("kubernetes.namespace=Shop_NS", "does not match"),
        ("kubernetes.host=localhost", "does not match"),
        ("kubernetes.replicas=0", "at least 1"),
        ("kubernetes.max_replicas=1", "at most"),
        ("kubernetes.run_as_user=0", "non-root"),
        ("kubernetes.digest=sha256:abc", "does not match"),
        ("kubernetes.digest=" + "a" * 64, "does not match"),
    ],
)
def test_bad_options_are_refused(uts: Uts, tmp_path: Path, setting: str, message: str) -> None:
    result = uts(
        "new",
        "demo",
        "--with",
        "kubernetes",
        "--set",
        setting,
        "--dir",
        tmp_path / "p",
        "--no-input",
    )
    assert result.code == 4, result.err
    assert message in result.err
    assert not (tmp_path / "p").exists()


# uts add / remove ---------------------------------------------------------------------


def test_add_then_remove_gives_back_the_same_bytes(uts_kit: Kit, core: Path) -> None:
    added = uts_kit.assert_add_remove_roundtrip("kubernetes", recipe="core")
    # The same manifests as a project created with the component.
    deploy = added.select("deploy/*")
    assert {path.removeprefix("deploy/"): data for path, data in deploy.items()} == read_tree(
        core / "deploy"
    )
    assert "## Kubernetes" in added.files["README.md"].decode()


# With celery: a worker and a beat Deployment ---------------------------------------------

CELERY_MANIFESTS = {
    "worker.yaml": "Deployment",
    "worker-pdb.yaml": "PodDisruptionBudget",
    "beat.yaml": "Deployment",
}
CELERY_APP = "demo.workers.celery_app"


@pytest.fixture(scope="module")
def celery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("k8s") / "celery"
    return new(root, "core", "--with", "celery", "--with", "kubernetes")


def celery_manifests(project: Path) -> dict[str, dict[str, Any]]:
    """The one document of each manifest file, the celery ones included."""
    docs = manifests(project)
    for name in CELERY_MANIFESTS:
        (docs[name],) = yaml.safe_load_all((project / "deploy/k8s" / name).read_text())
    return docs


def exec_probe(container: dict[str, Any], probe: str) -> str:
    """The shell command of an exec probe, which must run through ``sh -c``."""
    shell, flag, command = container[probe]["exec"]["command"]
    assert (shell, flag) == ("sh", "-c")
    assert isinstance(command, str)
    return command


def test_with_celery_every_manifest_passes_strict_validation_and_yamllint(celery: Path) -> None:
    k8s = celery / "deploy/k8s"
    files = sorted(path.name for path in k8s.iterdir())
    expected = [
        *MANIFESTS,
        *CELERY_MANIFESTS,
        POLICIES,
        "kustomization.yaml",
        "secrets.env.example",
    ]
    assert files == sorted([*expected, ".gitignore"])
    for name, doc in celery_manifests(celery).items():
        assert doc["kind"] == {**MANIFESTS, **CELERY_MANIFESTS}[name]
        validate(doc)
    for path in sorted(k8s.glob("*.yaml")):
        assert yaml_problems(path.read_text()) == [], path.name
        assert not [p for p in yaml_problems(path.read_text(), "extends: default") if "error" in p]


def test_worker_and_beat_run_celery_from_the_app_image_and_settings(celery: Path) -> None:
    docs = celery_manifests(celery)
    api = pod(docs)["spec"]["containers"][0]
    worker = docs["worker.yaml"]["spec"]["template"]["spec"]["containers"][0]
    beat = docs["beat.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"][:5] == ["celery", "-A", CELERY_APP, "worker", "--loglevel=INFO"]
    assert beat["command"][:5] == ["celery", "-A", CELERY_APP, "beat", "--loglevel=INFO"]
    assert "--schedule=/tmp/beat-schedule" in beat["command"]
    # Beat answers `inspect ping` only with remote control on (its liveness probe).
    assert "--enable-remote-control" in beat["command"]
    for container in (worker, beat):
        assert container["image"] == api["image"]
        assert container["envFrom"] == api["envFrom"]
        assert container["env"] == api["env"]
        assert "ports" not in container


def test_worker_and_beat_probe_their_own_node_and_are_hardened(celery: Path) -> None:
    docs = celery_manifests(celery)
    for name, node, probes in (
        ("worker.yaml", "celery", ("readinessProbe", "livenessProbe")),
        ("beat.yaml", "celerybeat", ("readinessProbe", "livenessProbe")),
    ):
        spec = docs[name]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        for probe in probes:
            command = exec_probe(container, probe)
            assert command.startswith(f"celery -A {CELERY_APP} inspect ping ")
            # Kubernetes expands no $(VAR) in probes: the shell reads the pod's name.
            assert f'--destination="{node}@${{HOSTNAME}}"' in command
            # Celery's own reply timeout fits well inside the probe's.
            timeout = int(command.rpartition("--timeout=")[2])
            assert timeout < container[probe]["timeoutSeconds"] <= container[probe]["periodSeconds"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert (
            spec["securityContext"]["runAsUser"]
            == pod(docs)["spec"]["securityContext"]["runAsUser"]
        )
        assert spec["automountServiceAccountToken"] is False
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
        assert set(mounts) == {"/tmp", "/run/secrets/demo"}
        assert mounts["/run/secrets/demo"]["readOnly"] is True
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
        assert "secret" in volumes[mounts["/run/secrets/demo"]["name"]]


def test_a_stopping_worker_outlasts_the_task_time_limit(celery: Path) -> None:
    limit = int(env_file((celery / ".env.example").read_text())["CELERY_TASK_TIME_LIMIT"])
    assert limit == 300
    worker = celery_manifests(celery)["worker.yaml"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > limit


def test_exactly_one_beat_and_never_two_during_a_rollout(celery: Path) -> None:
    docs = celery_manifests(celery)
    beat = docs["beat.yaml"]["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"] == {"type": "Recreate"}
    # No autoscaler or other owner may change its count: the HPA scales the app only.
    target = docs["hpa.yaml"]["spec"]["scaleTargetRef"]["name"]
    assert target == docs["deployment.yaml"]["metadata"]["name"]
    assert target != docs["beat.yaml"]["metadata"]["name"]


def test_celery_selectors_are_their_own(celery: Path) -> None:
    docs = celery_manifests(celery)
    service = docs["service.yaml"]["spec"]["selector"]
    selectors = {}
    for name in ("deployment.yaml", "worker.yaml", "beat.yaml"):
        deployment = docs[name]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        selectors[name] = selector
    labels = {
        name: docs[name]["spec"]["template"]["metadata"]["labels"]
        for name in ("worker.yaml", "beat.yaml")
    }
    assert (
        labels["worker.yaml"]["app.kubernetes.io/component"],
        labels["beat.yaml"]["app.kubernetes.io/component"],
    ) == ("worker", "beat")
    for pod_labels in labels.values():
        # Neither the Service, nor the app's Deployment, HPA target or PDB take these pods.
        assert not service.items() <= pod_labels.items()
        assert not selectors["deployment.yaml"].items() <= pod_labels.items()
        assert not docs["pdb.yaml"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # Each Deployment selects only its own pods.
    assert not selectors["worker.yaml"].items() <= labels["beat.yaml"].items()
    assert not selectors["beat.yaml"].items() <= labels["worker.yaml"].items()
    assert docs["worker-pdb.yaml"]["spec"]["selector"]["matchLabels"] == selectors["worker.yaml"]
    assert docs["worker-pdb.yaml"]["metadata"]["name"] != docs["pdb.yaml"]["metadata"]["name"]
    names = {docs[name]["metadata"]["name"] for name in ("deployment.yaml", *labels)}
    assert len(names) == 3


def test_kustomization_and_readme_name_worker_and_beat(celery: Path) -> None:
    kustomization = yaml.safe_load((celery / "deploy/k8s/kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted([*MANIFESTS, *CELERY_MANIFESTS, POLICIES])
    docs = celery_manifests(celery)
    assert {doc["metadata"].get("namespace") for doc in docs.values()} - {None} == {
        kustomization["namespace"]
    }
    readme = (celery / "README.md").read_text()
    section = readme.split("## Kubernetes", 1)[1].split("\n## ", 1)[0]
    for word in ("worker.yaml", "worker-pdb.yaml", "beat.yaml", "strategy: Recreate"):
        assert word in section, word


def test_without_celery_no_worker_or_beat(project: Path) -> None:
    k8s = project / "deploy/k8s"
    assert not [name for name in CELERY_MANIFESTS if (k8s / name).exists()]
    kustomization = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    assert not set(CELERY_MANIFESTS) & set(kustomization["resources"])
    readme = (project / "README.md").read_text()
    assert "worker.yaml" not in readme and "beat.yaml" not in readme


def test_adding_celery_adds_worker_and_beat_and_removing_gives_back_the_bytes(
    uts: Uts, core: Path, celery: Path, tmp_path: Path
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(core, root)
    before = snapshot(root)
    result = uts("add", "celery", "--project", root)
    assert result.code == 0, result.err
    assert snapshot(root / "deploy") == snapshot(celery / "deploy")
    result = uts("remove", "celery", "--project", root)
    assert result.code == 0, result.err
    assert snapshot(root) == before


# Security: network policies, secrets as files, the image pinned ---------------------------


def egress_ports(policy: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """The ports a policy lets a pod connect to, each with its destinations ([] = any)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for rule in policy["spec"]["egress"]:
        for port in rule["ports"]:
            found[port["port"]] = rule.get("to", [])
    return found


def test_network_policies_deny_all_but_what_each_pod_needs(celery: Path) -> None:
    found = policies(celery)
    deny = found.pop("default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    docs = celery_manifests(celery)
    deployments = {
        docs[name]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: name
        for name in ("deployment.yaml", "worker.yaml", "beat.yaml")
    }
    assert set(found) == {f"demo-{component}" for component in deployments}
    for component, manifest in deployments.items():
        spec = found[f"demo-{component}"]["spec"]
        labels = docs[manifest]["spec"]["template"]["metadata"]["labels"]
        assert spec["podSelector"]["matchLabels"].items() <= labels.items()
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        ports = egress_ports(found[f"demo-{component}"])
        # DNS, PostgreSQL and Redis for every pod, and only the worker goes further.
        assert {53, 5432, 6379} <= set(ports)
        assert all(ports[port] == [] for port in (53, 5432, 6379))
        if component == "worker":
            assert set(ports) == {53, 5432, 6379, 80, 443}
            for port in (80, 443):
                blocks = [to["ipBlock"] for to in ports[port]]
                assert {block["cidr"] for block in blocks} == {"0.0.0.0/0", "::/0"}
                excepted = {cidr for block in blocks for cidr in block["except"]}
                assert {"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7"} <= excepted
        else:
            assert set(ports) == {53, 5432, 6379}
        if component == "api":
            (rule,) = spec["ingress"]
            assert rule == {"ports": [{"port": "http", "protocol": "TCP"}]}
            api = pod(docs)["spec"]["containers"][0]
            assert "http" in {port["name"] for port in api["ports"]}
        else:
            assert spec["ingress"] == []


def test_the_broker_port_follows_the_broker(tmp_path: Path) -> None:
    root = new(tmp_path / "demo", "core", "--with", "celery", "--with", "kubernetes",
               "--set", "celery.broker=rabbitmq")  # fmt: skip
    for name in ("demo-api", "demo-worker", "demo-beat"):
        ports = set(egress_ports(policies(root)[name]))
        assert 5672 in ports and 6379 not in ports


def test_secrets_reach_the_pods_as_files_when_the_settings_read_them(core: Path, mvp: Path) -> None:
    # CORE: the config component's settings read /run/secrets/<package>.
    spec = pod(manifests(core))["spec"]
    for container in spec["containers"] + spec["initContainers"]:
        assert not [ref for ref in container["envFrom"] if "secretRef" in ref]
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/run/secrets/demo"]
        assert mount["readOnly"] is True
    (volume,) = [v for v in spec["volumes"] if "secret" in v]
    assert volume["secret"] == {"secretName": "demo-secrets", "defaultMode": 0o440}
    deployment = manifests(core)["deployment.yaml"]
    assert "checkov.io/skip2" not in deployment["metadata"].get("annotations", {})
    assert "/run/secrets/demo" in (core / "README.md").read_text()
    # MVP has no such settings: the environment, and the check skipped with its reason.
    spec = pod(manifests(mvp))["spec"]
    assert [ref for ref in spec["containers"][0]["envFrom"] if "secretRef" in ref]
    annotations = manifests(mvp)["deployment.yaml"]["metadata"]["annotations"]
    assert annotations["checkov.io/skip2"].startswith("CKV_K8S_35=")


def test_the_image_is_pinned_by_tag_or_by_digest(core: Path, tmp_path: Path) -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    pinned = new(tmp_path / "demo", "core", "--with", "celery", "--with", "kubernetes",
                 "--set", f"kubernetes.digest={digest}")  # fmt: skip
    docs = celery_manifests(pinned)
    for name in ("deployment.yaml", "worker.yaml", "beat.yaml"):
        spec = docs[name]["spec"]["template"]["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["image"] == f"demo:0.1.0@{digest}"
            # A digest cannot change: the node's copy is the image.
            assert container["imagePullPolicy"] == "IfNotPresent"
        assert "annotations" not in docs[name]["metadata"]
        validate(docs[name])
    assert "CKV_K8S_43" not in (pinned / "README.md").read_text()
    # By tag, the kubelet asks the registry every time, and the digest check is skipped.
    deployment = manifests(core)["deployment.yaml"]
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert container["imagePullPolicy"] == "Always"
    skip = deployment["metadata"]["annotations"]["checkov.io/skip1"]
    check, _, reason = skip.partition("=")
    assert check == "CKV_K8S_43" and "kubernetes.digest" in reason
    assert f"- `CKV_K8S_43`: {reason}" in (core / "README.md").read_text()
