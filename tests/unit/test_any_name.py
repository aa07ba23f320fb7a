"""Generated projects lint clean whatever their (valid) name: short, long up to the
limit, sorting before or after ``alembic``, with ``-``, ``.`` and ``_``.

Each variant is composed in memory, written to a temporary directory and checked with
the ``ruff`` of the test environment under the project's own configuration: the
package's name changes line lengths (E501, ruff format) and import order (I001).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruff.__main__ import find_ruff_bin

from uts.engine import MAX_PROJECT_NAME, ProjectSpec, compose
from uts.plugin.manager import load_registry
from uts.recipe import find_recipes, load_recipe

BUILTINS = load_registry(autoload=False)
RUFF = find_ruff_bin()
INFRA = ("monitoring", "docker", "kubernetes", "terraform")

# (recipe, components added to it, options): every tier and each option that changes code.
VARIANTS: dict[str, tuple[str, tuple[str, ...], Mapping[str, Mapping[str, Any]]]] = {
    "mvp": ("mvp", (), {}),
    "mvp+infra": ("mvp", INFRA, {}),
    "core-sqlite": ("core", (), {"database": {"postgresql": False}}),
    "core-postgresql": ("core", (), {"database": {"postgresql": True}}),
    "core+infra": ("core", INFRA, {}),
    "full-redis": ("full", (), {"celery": {"broker": "redis"}}),
    "full-rabbitmq": ("full", (), {"celery": {"broker": "rabbitmq"}}),
}

NAMES = [
    "a",
    "ab",
    "abacus",  # sorts before "alembic", the project's own alembic/ directory
    "zoo",
    "my-shop.v2",
    "a-thirty-character-name-x_y.z9",
    "m" * (MAX_PROJECT_NAME - 10) + "-long.name",
]


def test_the_names_cover_the_limits() -> None:
    assert len(NAMES[5]) == 30
    assert len(NAMES[-1]) == MAX_PROJECT_NAME


def _write(variant: str, name: str, root: Path) -> None:
    recipe_name, extra, options = VARIANTS[variant]
    recipe = load_recipe(recipe_name, find_recipes(lambda: BUILTINS.recipe_files))
    merged = {k: dict(v) for k, v in recipe.options.items()}
    for component, values in options.items():
        merged.setdefault(component, {}).update(values)
    spec = ProjectSpec(
        project_name=name,
        recipe=recipe_name,
        components=[*recipe.components, *extra],
        options=merged,
    )
    for path, item in compose(BUILTINS, spec).files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.content)


def _ruff(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUFF, *args, "--no-cache", "--config", "pyproject.toml", "."],
        cwd=root,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_generated_project_lints_clean_whatever_its_name(
    variant: str, name: str, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    _write(variant, name, root)
    check = _ruff(root, "check", "--output-format", "concise")
    fmt = _ruff(root, "format", "--check", "--diff")
    assert check.returncode == 0, check.stdout + check.stderr
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_from_import_wraps_as_ruff_does_at_the_project_s_line_length() -> None:
    from uts_plugins.project import from_import

    assert from_import("shop.core.errors", "NotFoundError") == (
        "from shop.core.errors import NotFoundError"
    )
    module = "s" * 50 + ".core.errors"
    assert from_import(module, "ConflictError", "NotFoundError").splitlines() == [
        f"from {module} import (",
        "    ConflictError,",
        "    NotFoundError,",
        ")",
    ]
    fits = "s" * 64 + ".workers"  # 88 characters at the top, 92 indented
    assert from_import(fits, "app") == f"from {fits} import app"
    assert from_import(fits, "app", indent=4).splitlines() == [
        f"    from {fits} import (",
        "        app,",
        "    )",
    ]
    with pytest.raises(ValueError, match="names nothing"):
        from_import("shop")
