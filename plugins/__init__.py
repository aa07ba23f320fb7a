"""Built-in uts components: the pieces the stock recipes compose projects from.

Each sub-package is one component (a pluggy plugin module with ``uts_component`` and,
optionally, ``uts_contribute``) and ships its files as templates in ``templates/``.
``BUILTINS`` lists their module names in the order they build on each other.
"""

BUILTINS = (
    "project",
    "fastapi",
    "database",
    "crud",
    "monitoring",
    "testing",
    "config",
    "errors",
    "logging",
    "layers",
    "auth",
    "migrations",
    "scripts",
    "celery",
    "docker",
    "ci",
    "kubernetes",
    "terraform",
    "host",
)
