"""Dependencies in a foreign project's own format: one requirement in, exactly out again."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from uts.packaging import add_requirement, remove_requirement

FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"
REQUIREMENT = "prometheus-client>=0.20"

REQUIREMENTS = """\
# runtime dependencies -- keep pinned
fastapi==0.115.*
-c constraints.txt
uvicorn[standard]>=0.30   # the server
--extra-index-url https://example.com/simple
"""

PEP621 = """\
[project]
name = "svc"
dependencies = [
    "fastapi>=0.110",   # web
    # the server
    'uvicorn>=0.30',
]

[tool.ruff]
line-length = 120
"""

POETRY = """\
[tool.poetry]
name = "svc"

[tool.poetry.dependencies]
python = "^3.11"
fastapi = "^0.115"  # web
uvicorn = { version = "^0.30", extras = ["standard"] }
[tool.poetry.group.dev.dependencies]
pytest = "^8"
"""


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("requirements", REQUIREMENTS, REQUIREMENTS + REQUIREMENT + "\n"),
        (
            "requirements",
            "fastapi\r\nuvicorn",  # Windows line ends and no final newline: both kept
            "fastapi\r\nuvicorn\r\n" + REQUIREMENT,
        ),
        (
            "pep621",
            PEP621,
            # in name order, quoted like its neighbour
            PEP621.replace("    # the server", f"    '{REQUIREMENT}',\n    # the server"),
        ),
        (
            "pep621",
            '[project]\nname = "x"\ndependencies = ["fastapi"]',
            f'[project]\nname = "x"\ndependencies = ["fastapi", "{REQUIREMENT}"]',
        ),
        (
            "poetry",
            POETRY,
            POETRY.replace('["standard"] }\n', '["standard"] }\nprometheus-client = ">=0.20"\n'),
        ),
        (
            "poetry",
            '[tool.poetry.dependencies]\npython = "^3.11"',
            '[tool.poetry.dependencies]\npython = "^3.11"\nprometheus-client = ">=0.20"',
        ),
    ],
    ids=["requirements", "crlf", "pep621", "pep621 inline", "poetry", "poetry at end"],
)
def test_one_requirement_in_and_exactly_out(kind: str, text: str, expected: str) -> None:
    added = add_requirement(kind, text, REQUIREMENT)
    assert added == expected
    assert add_requirement(kind, added, REQUIREMENT) == added  # idempotent
    assert remove_requirement(kind, added, REQUIREMENT) == text


def test_poetry_extras_and_markers_become_a_poetry_table() -> None:
    requirement = "opentelemetry-exporter-otlp[grpc]>=1.25; python_version >= '3.11'"
    added = add_requirement("poetry", POETRY, requirement)
    value = tomlkit.parse(added)["tool"]["poetry"]["dependencies"]["opentelemetry-exporter-otlp"]
    assert value == {
        "version": ">=1.25",
        "extras": ["grpc"],
        "markers": 'python_version >= "3.11"',
    }
    assert remove_requirement("poetry", added, requirement) == POETRY


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("requirements", "Prometheus_Client==0.19\nfastapi\n"),
        ("pep621", '[project]\ndependencies = ["prometheus-client~=0.19"]\n'),
        ("poetry", '[tool.poetry.dependencies]\nPrometheus-Client = "0.19"\n'),
    ],
)
def test_a_distribution_the_project_declares_already_is_left_to_it(kind: str, text: str) -> None:
    assert add_requirement(kind, text, REQUIREMENT) == text


def test_removal_keeps_the_users_edits_elsewhere() -> None:
    added = add_requirement("requirements", REQUIREMENTS, REQUIREMENT)
    edited = "httpx\n" + added.replace("fastapi==0.115.*", "fastapi==0.116.*")
    assert remove_requirement("requirements", edited, REQUIREMENT) == "httpx\n" + (
        REQUIREMENTS.replace("fastapi==0.115.*", "fastapi==0.116.*")
    )


def test_a_requirement_the_user_changed_is_not_removed() -> None:
    added = add_requirement("poetry", POETRY, REQUIREMENT)
    edited = added.replace('prometheus-client = ">=0.20"', 'prometheus-client = ">=0.21"')
    assert remove_requirement("poetry", edited, REQUIREMENT) == edited


@pytest.mark.parametrize(
    ("name", "kind", "file"),
    [
        ("single_file", "requirements", "requirements.txt"),
        ("src_hatch", "pep621", "pyproject.toml"),
        ("poetry_factory", "poetry", "pyproject.toml"),
        ("uv_lifespan", "pep621", "pyproject.toml"),
        ("routers_pkg", "pep621", "pyproject.toml"),
    ],
)
def test_each_foreign_dependency_file_round_trips(name: str, kind: str, file: str) -> None:
    text = (FOREIGN / name / file).read_text()
    added = add_requirement(kind, text, REQUIREMENT)
    assert added != text
    changed = [line for line in added.splitlines() if line not in text.splitlines()]
    assert len(changed) <= 1 or kind == "pep621"  # an inline array is one changed line
    assert remove_requirement(kind, added, REQUIREMENT) == text
