"""The package is installed and its version matches the distribution metadata."""

from importlib.metadata import version

import demo


def test_version_matches_installed_distribution() -> None:
    installed = version("demo")

    assert demo.__version__ == installed
