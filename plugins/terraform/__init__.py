"""Terraform: the service on Google Cloud Run with Cloud SQL for PostgreSQL.

``deploy/terraform/`` is one small root module: a Cloud Run service running the image,
a Cloud SQL PostgreSQL instance on a private address only (private services access in a
network of its own) that the service reaches over the Cloud SQL connector (a unix
socket; mutual TLS) through a Serverless VPC Access connector, with connection, lock,
error and DDL logging, pgAudit, deletion protection and point-in-time recovery; a
service account with only the roles it needs, and the secrets in Secret Manager:
``DATABASE_URL`` built from the generated database password, and every secret setting
(``SecretStr`` fields, read from the ``settings`` fragments) as a generated random value.
The non-secret settings become the default of a ``environment_variables`` map. A Cloud
Run job runs the ``migrate`` slot's command (migrations' ``alembic upgrade head``) when a
component gives one.

Nothing is written to files other components own except through the ``readme`` and
``next-steps`` slots and one dependency (the PostgreSQL driver).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uts.model import Field, Slot
from uts.plugin import Component, Context, Contributions, Option, impl

REGION = r"[a-z]+-[a-z]+[0-9]+"
POSTGRES_DRIVER = "psycopg[binary]>=3.3"

MIGRATE = Slot(
    "migrate",
    "How to bring the database schema up to date; one component gives it (key `migrate`).",
    (Field("command", list, True, 'The command, e.g. `["alembic", "upgrade", "head"]`.'),),
)
"""Read by every component that runs the project somewhere: docker (a one-shot compose
service the app waits for), kubernetes (an init container), terraform (a Cloud Run job)."""


@impl
def uts_component() -> Component:
    return Component(
        name="terraform",
        version="0.2.0",
        summary="Terraform for Google Cloud: Cloud Run service, Cloud SQL PostgreSQL, secrets.",
        requires=("fastapi", "database"),
        conflicts=(),
        options=(
            Option(
                name="region",
                default="europe-west1",
                pattern=REGION,
                help="Google Cloud region of the service and the database, e.g. us-central1.",
            ),
            Option(
                name="database_tier",
                default="db-f1-micro",
                pattern=r"db-[a-z0-9-]+",
                help="Cloud SQL machine tier, e.g. db-f1-micro or db-custom-2-7680.",
            ),
        ),
        templates=Path(__file__).parent / "templates",
        slots=(MIGRATE,),
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    # Cloud SQL is PostgreSQL: the app needs its driver.
    out.dependency(POSTGRES_DRIVER)
    out.later(lambda fragments: _readme(fragments, out))
    out.fragment(
        "next-steps",
        {
            "text": (
                "Deploy to Google Cloud: set project_id and image in "
                "deploy/terraform/terraform.tfvars (from terraform.tfvars.example), then:"
            ),
            "command": "cd deploy/terraform && terraform init && terraform apply",
            "order": 96,
        },
        key="terraform",
    )


def _readme(fragments: Mapping[str, Any], out: Contributions) -> None:
    migrate = "".join(
        "\n".join(
            [
                "",
                "",
                "The migrations run as a Cloud Run job with the same image and settings; "
                "run it before sending traffic to a new image:",
                "",
                "```bash",
                'gcloud run jobs execute "$(terraform output -raw migrate_job_name)" '
                '--region "$(terraform output -raw region)" --wait',
                "```",
            ]
        )
        for _ in fragments["migrate"]
    )
    out.fragment(
        "readme",
        {
            "title": "Terraform",
            "body": "\n".join(
                [
                    "`deploy/terraform/` deploys the service to Google Cloud: Cloud Run "
                    "runs the image (scaling to zero by default, probes on `/health/live`), "
                    "Cloud SQL runs PostgreSQL on a private address only: the instance has "
                    "no public IP, lives in a network of its own (private services access) "
                    "and the service reaches it through a Serverless VPC Access connector "
                    "(`connector_cidr`, egress to private ranges only) and the Cloud SQL "
                    "connector's unix socket, which requires a client certificate (mutual "
                    "TLS, `TRUSTED_CLIENT_CERTIFICATE_REQUIRED`). It logs connections, "
                    "disconnections, lock waits, checkpoints, durations, errors with their "
                    "statement and schema changes (`log_statement = ddl`: `all` would put "
                    "the values of every statement in the logs), with pgAudit on "
                    "(`pgaudit.log = ddl,role`; run `CREATE EXTENSION pgaudit;` once as "
                    "the database's owner to start auditing), keeps daily backups "
                    "(`database_backups_kept`) with 7 days of point-in-time recovery, and "
                    "is protected from deletion. "
                    "Secret Manager holds `DATABASE_URL` and a generated value for every "
                    "`SecretStr` setting (such as `SECRET_KEY`); `main.tf` names the "
                    "other secret settings, which it leaves for you to add. The service "
                    "account gets only `roles/cloudsql.client` and access to those "
                    "secrets. Build and push the image first (Artifact Registry), "
                    "with a pinned tag:",
                    "",
                    "```bash",
                    "cd deploy/terraform",
                    "cp terraform.tfvars.example terraform.tfvars",
                    "terraform init",
                    "terraform plan -out=tfplan",
                    "terraform apply tfplan",
                    "```",
                    "",
                    "`terraform.tfvars` (ignored by git) sets `project_id` and `image`; "
                    "`variables.tf` lists the rest with their defaults. The generated "
                    "passwords are kept in the Terraform state: use a remote backend with "
                    "restricted access (a `gcs` backend block in `versions.tf`). The "
                    "database has deletion protection on; set `deletion_protection = false` "
                    f"before `terraform destroy`.{migrate}",
                ]
            ),
        },
    )
