"""uts.testing's install_and_test, for real: a fresh venv, the install, the project's pytest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def small_project(root: Path, test_body: str) -> Path:
    """A one-module distribution with one test (installs in seconds, no uts inside)."""
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "__init__.py").write_text("ANSWER = 42\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_tiny.py").write_text(
        "import pytest\n\nimport tiny\n\n\ndef test_it():\n" + test_body
    )
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=75"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "tiny"\nversion = "1.0"\ndependencies = ["pytest>=8"]\n\n'
        '[tool.setuptools]\npackages = ["tiny"]\n'
    )
    return root


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        ("    assert tiny.ANSWER == 42\n", None),
        ("    assert tiny.ANSWER == 41\n", "1 failed"),
        ("    pytest.skip('no server')\n", "the project's tests skipped some (1 skipped"),
    ],
)
def test_install_and_test_installs_runs_and_refuses_skips(
    tmp_path_factory: pytest.TempPathFactory, body: str, failure: str | None
) -> None:
    from uts.testing import Kit

    kit = Kit(tmp_path_factory)
    project = small_project(tmp_path_factory.mktemp("tiny"), body)
    if failure is None:
        proc = kit.install_and_test(project, extras=())
        assert proc.stdout.strip().splitlines()[-1].startswith("1 passed")
        return
    with pytest.raises(pytest.fail.Exception, match=re.escape(failure)):
        kit.install_and_test(project, extras=())
