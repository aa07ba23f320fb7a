"""Pytest configuration: registers the fixture modules of ``tests/fixtures``."""

pytest_plugins = [
    "tests.fixtures.client",
    "tests.fixtures.database",
]
