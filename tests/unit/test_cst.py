"""Reversible LibCST edits of user modules: wiring after the app or in its factory, imports."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from uts.adopt import detect
from uts.cst import add_imports, insert_wiring, parse_module, remove_imports, remove_wiring
from uts.errors import ConflictError, UtsError

FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"
IMPORT = "from .uts_monitoring import instrument"

ODD = '''\
#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Service entry point."""
from __future__ import annotations

import os  # noqa: F401 -- kept for the deploy scripts
from fastapi import (
    FastAPI,   # the framework
)
from .routes import router as api_router ; from .deps import db

# --- application -------------------------------------------------------------
app = FastAPI(
        title = os.environ.get("TITLE",
                               "svc"),   # trailing comment stays
)
# routers come next
app.include_router(api_router)


def create_app( *, debug : bool=False ) -> FastAPI :
    application = FastAPI(debug = debug)
    application.include_router(api_router)   # same routes

    # done: hand it over
    return application
'''


def wire(source: str, variable: str, function: str | None) -> str:
    code = [f"instrument({variable})"]
    return insert_wiring(
        add_imports(source, "svc/main.py", [IMPORT]), "svc/main.py", variable, function, code
    )


def unwire(source: str, variable: str, function: str | None) -> str:
    code = [f"instrument({variable})"]
    return remove_imports(
        remove_wiring(source, "svc/main.py", variable, function, code), "svc/main.py", [IMPORT]
    )


def test_after_the_module_level_app_keeping_comments_and_odd_formatting() -> None:
    wired = wire(ODD, "app", None)
    assert wired == ODD.replace(
        "from .routes import router as api_router ; from .deps import db\n",
        "from .routes import router as api_router ; from .deps import db\n" + IMPORT + "\n",
    ).replace(
        '"svc"),   # trailing comment stays\n)\n',
        '"svc"),   # trailing comment stays\n)\ninstrument(app)\n',
    )
    ast.parse(wired)
    assert unwire(wired, "app", None) == ODD


def test_inside_the_factory_before_its_return() -> None:
    wired = wire(ODD, "application", "create_app")
    assert (
        "    application.include_router(api_router)   # same routes\n"
        "    instrument(application)\n\n    # done: hand it over\n    return application\n" in wired
    )
    assert "\ninstrument(app)" not in wired
    assert unwire(wired, "application", "create_app") == ODD


def test_tab_indented_factory_keeps_its_tabs() -> None:
    source = "from fastapi import FastAPI\n\ndef make():\n\tapi = FastAPI()\n\treturn api\n"
    wired = insert_wiring(source, "m.py", "api", "make", ["instrument(api)"])
    assert wired == source.replace("\treturn api", "\tinstrument(api)\n\treturn api")
    assert remove_wiring(wired, "m.py", "api", "make", ["instrument(api)"]) == source


def test_inserting_twice_changes_nothing() -> None:
    once = wire(ODD, "app", None)
    assert wire(once, "app", None) == once
    once = wire(ODD, "application", "create_app")
    assert wire(once, "application", "create_app") == once


def test_user_edits_around_the_wiring_survive_its_removal() -> None:
    wired = wire(ODD, "app", None)
    edited = wired.replace("instrument(app)\n", "instrument(app)\n# mine\nprint('hi')\n")
    edited = edited.replace('"""Service entry point."""', '"""Service entry point (edited)."""')
    assert unwire(edited, "app", None) == ODD.replace(
        "# routers come next\n", "# mine\nprint('hi')\n# routers come next\n"
    ).replace('"""Service entry point."""', '"""Service entry point (edited)."""')


def test_a_blank_line_the_user_put_above_the_wiring_stays() -> None:
    wired = wire(ODD, "app", None).replace("\ninstrument(app)", "\n\ninstrument(app)")
    assert unwire(wired, "app", None) == ODD.replace("\n# routers", "\n\n# routers")


def test_the_users_own_identical_line_elsewhere_stays() -> None:
    source = "from fastapi import FastAPI\n\ninstrument(None)\napp = FastAPI()\nx = 1\n"
    mine = source.replace("instrument(None)", "instrument(app)")
    wired = insert_wiring(mine, "m.py", "app", None, ["instrument(app)"])
    assert wired == mine.replace("FastAPI()\n", "FastAPI()\ninstrument(app)\n")
    assert remove_wiring(wired, "m.py", "app", None, ["instrument(app)"]) == mine
    factory = "def make():\n    instrument(app)\n    app = FastAPI()\n    return app\n"
    wired = insert_wiring(factory, "m.py", "app", "make", ["instrument(app)"])
    assert remove_wiring(wired, "m.py", "app", "make", ["instrument(app)"]) == factory


def test_windows_line_ends_are_kept() -> None:
    source = ODD.replace("\n", "\r\n")
    wired = wire(source, "app", None)
    assert "\r\ninstrument(app)\r\n" in wired and "\n" not in wired.replace("\r\n", "")
    assert unwire(wired, "app", None) == source


def test_edited_wiring_is_a_conflict_not_a_guess() -> None:
    wired = wire(ODD, "app", None).replace("instrument(app)", "instrument(app, buckets=3)")
    with pytest.raises(ConflictError, match=r"svc/main.py: the lines uts added are no longer"):
        remove_wiring(wired, "svc/main.py", "app", None, ["instrument(app)"])


def test_imports_go_after_the_docstring_when_there_are_none() -> None:
    source = '"""Doc."""\n\n\nAPP = 1\n'
    added = add_imports(source, "m.py", ["import os"])
    assert added == '"""Doc."""\nimport os\n\n\nAPP = 1\n'
    assert remove_imports(added, "m.py", ["import os"]) == source
    assert add_imports("x = 1\n", "m.py", ["import os"]) == "import os\nx = 1\n"


def test_an_import_already_there_is_not_added_again() -> None:
    source = "import os\nfrom .uts_monitoring import instrument\n\napp = 1\n"
    assert add_imports(source, "m.py", [IMPORT]) == source


def test_factory_returning_fastapi_directly_is_refused_with_what_to_do() -> None:
    source = "from fastapi import FastAPI\n\ndef create_app():\n    return FastAPI()\n"
    with pytest.raises(UtsError, match=r"m.py: create_app\(\) does not end with 'return app'"):
        insert_wiring(source, "m.py", "app", "create_app", ["instrument(app)"])


def test_a_moved_app_is_reported() -> None:
    with pytest.raises(UtsError, match=r"no module-level 'app = \.\.\.' assignment"):
        insert_wiring("x = 1\n", "m.py", "app", None, ["instrument(app)"])
    with pytest.raises(UtsError, match=r"no function create_app\(\) at module level"):
        insert_wiring("x = 1\n", "m.py", "app", "create_app", ["instrument(app)"])


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(UtsError, match=r"^m.py:2:5: syntax error: '\(' was never closed$"):
        parse_module("x = 1\ny = (\n", "m.py")


@pytest.mark.parametrize("name", sorted(p.name for p in FOREIGN.iterdir()))
def test_each_foreign_app_module_is_wired_and_given_back_byte_for_byte(name: str) -> None:
    adoption = detect(FOREIGN / name)
    site = adoption.insertion
    assert site is not None
    source = (FOREIGN / name / site.file).read_text()
    code = [f"instrument({site.variable})"]
    wired = insert_wiring(
        add_imports(source, site.file, [IMPORT]), site.file, site.variable, site.function, code
    )
    tree = ast.parse(wired)
    calls = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Expr)]
    assert f"instrument({site.variable})" in calls
    assert wired.count("\n") == source.count("\n") + 2  # two lines added, nothing else moved
    back = remove_imports(
        remove_wiring(wired, site.file, site.variable, site.function, code), site.file, [IMPORT]
    )
    assert back == source


def test_the_odd_module_really_is_odd() -> None:
    # Guard against the sample being tidied by a formatter: the test is about keeping this.
    assert "title = os.environ" in ODD and " ; from .deps" in ODD
    assert textwrap.dedent(ODD) == ODD


@pytest.mark.parametrize(
    ("source", "line", "expected"),
    [
        (  # no first-party section yet: one of its own, before the code's blank lines
            "from typing import Any\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n",
            "from svc import metrics",
            "from typing import Any\n\nfrom fastapi import FastAPI\n\nfrom svc import metrics"
            "\n\napp = FastAPI()\n",
        ),
        (  # inside the first-party section, in order: before a submodule of the package
            "import os\n\nfrom svc.api import router\nfrom svc.z import q\n",
            "from svc import metrics",
            "import os\n\nfrom svc import metrics\nfrom svc.api import router\nfrom svc.z import q\n",
        ),
        (  # first of its section: it takes the section's blank line
            "import os\n\nimport svc.z\n",
            "from svc import metrics",
            "import os\n\nimport svc.z\nfrom svc import metrics\n",
        ),
        (  # before the relative imports, in a section of its own
            "import os\n\nfrom .store import Store\n",
            "from svc import metrics",
            "import os\n\nfrom svc import metrics\n\nfrom .store import Store\n",
        ),
        (  # top-level modules of a single-module project are first-party too
            '"""Doc."""\nfrom fastapi import FastAPI\n\n# the app\napp = FastAPI()\n',
            "import metrics",
            '"""Doc."""\nfrom fastapi import FastAPI\n\nimport metrics\n\n# the app\napp = FastAPI()\n',
        ),
    ],
    ids=["new section", "in order", "after straight imports", "before relative", "module"],
)
def test_imports_go_where_isort_wants_them(source: str, line: str, expected: str) -> None:
    """Each expected text was checked with ``ruff check --select I`` (svc/ and metrics.py
    being the project's own), as was its source."""
    assert add_imports(source, "m.py", [line], {"svc", "metrics"}) == expected
