"""uts.testing, the pytest plugin for component authors, tested the way pytest tests plugins."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from uts.testing import read_tree, render_tree

pytest_plugins = ["pytester"]

# A component defined inside the test files pytester runs: uts_kit.with_plugins() adds it.
PLUGIN = """
from pathlib import Path

from uts.plugin import Component, Option, impl


class Greeter:
    @impl
    def uts_component(self):
        return Component(
            name="greeter",
            version="1.0.0",
            summary="Greets.",
            requires=("project",),
            options=(Option("word", default="hello"),),
        )

    @impl
    def uts_contribute(self, ctx, out):
        word = ctx.options("greeter")["word"]
        out.file(f"{ctx.package}/greeting.py", f"WORD = {word!r}\\n")
        out.fragment("readme", {"title": "Greeting", "body": f"Says {word}."})


@pytest.fixture
def kit(uts_kit):
    return uts_kit.with_plugins({"greeter": Greeter()})
"""


def write_test(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(
        test_it="import pytest\n" + PLUGIN + "\n\n" + textwrap.dedent(body),
    )


def test_the_plugin_registers_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    [entry] = [ep for ep in entry_points(group="pytest11") if ep.name == "uts"]
    assert entry.value == "uts.testing"


def test_a_run_that_uses_no_fixture_imports_nothing_of_uts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            assert "uts.testing" in sys.modules  # loaded through the pytest11 entry point
            heavy = {"uts.engine", "uts.plugin.manager", "jinja2", "tomlkit", "typer"}
            assert not heavy & set(sys.modules), heavy & set(sys.modules)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_compose_and_assertions_pass_on_a_real_project(pytester: pytest.Pytester) -> None:
    write_test(
        pytester,
        """
        def test_it(kit):
            project = kit.compose("mvp", with_=["greeter"], options={"greeter": {"word": "hi"}})
            project.assert_file("demo/greeting.py", "WORD = 'hi'", owner="greeter")
            project.assert_file("demo/main.py", "FastAPI", owner="fastapi")
            project.assert_fragment("readme", title="Greeting", body="Says hi.")
            project.assert_no_file("demo/nothing.py")
            assert list(project.owned_by("greeter")) == ["demo/greeting.py"]
            assert "WORD = 'hi'" in project.select("demo/greet*")["demo/greeting.py"].decode()
            project.check_code()
        """,
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_assert_file_names_what_is_missing(pytester: pytest.Pytester) -> None:
    write_test(
        pytester,
        """
        def test_missing_text(kit):
            kit.compose("mvp", with_=["greeter"]).assert_file("demo/greeting.py", "WORD = 'bye'")

        def test_missing_file(kit):
            kit.compose("mvp", with_=["greeter"]).assert_file("demo/greetings.py")

        def test_wrong_owner(kit):
            kit.compose("mvp", with_=["greeter"]).assert_file("demo/greeting.py", owner="fastapi")

        def test_fragment(kit):
            kit.compose("mvp", with_=["greeter"]).assert_fragment("readme", title="Nope")
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*demo/greeting.py lacks [[]\"WORD = 'bye'\"[]]; it reads:",
            "*1 | WORD = 'hello'",
            "*the project has no file demo/greetings.py (did you mean demo/greeting.py*",
            "*demo/greeting.py is written by 'greeter', not 'fastapi'",
            "*no fragment in slot 'readme' matches {'title': 'Nope'}; it has:",
            "*'title': 'Greeting'*",
        ]
    )


def test_a_uts_error_reaches_the_test_as_itself(pytester: pytest.Pytester) -> None:
    write_test(
        pytester,
        """
        from uts.errors import OptionError, ResolutionError

        def test_it(kit):
            with pytest.raises(ResolutionError, match="unknown component 'greeterr'"):
                kit.compose("mvp", with_=["greeterr"])
            with pytest.raises(OptionError, match="component 'greeter' has no option 'nope'"):
                kit.compose("mvp", with_=["greeter"], options={"greeter": {"nope": "x"}})
        """,
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_new_writes_what_compose_gives_and_runs_the_real_cli(pytester: pytest.Pytester) -> None:
    write_test(
        pytester,
        """
        from uts.testing import read_tree

        def test_it(kit):
            project = kit.new("mvp", with_=["greeter"], options={"greeter": {"word": "hey"}})
            assert (project.root / "demo" / "greeting.py").read_text() == "WORD = 'hey'\\n"
            assert read_tree(project.root) == project.files
            status = kit.run("status", "--project", project.root)
            assert status.code == 0, status.err
            assert "greeter" in status.out
        """,
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_new_fails_on_output_that_is_not_deterministic(pytester: pytest.Pytester) -> None:
    write_test(
        pytester,
        """
        import itertools

        COUNTER = itertools.count()

        class Counter:
            @impl
            def uts_component(self):
                return Component(name="counter", version="1.0.0", summary="Counts.")

            @impl
            def uts_contribute(self, ctx, out):
                out.file("COUNT.txt", f"{next(COUNTER)}\\n")

        def test_it(uts_kit):
            uts_kit.with_plugins({"counter": Counter()}).new("mvp", with_=["counter"])
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*uts new wrote other bytes than the same composition in memory:",
            "*-| 0",
            "*+| 1",
        ]
    )


def test_add_remove_roundtrip(pytester: pytest.Pytester) -> None:
    write_test(
        pytester,
        """
        def test_roundtrip(kit):
            added = kit.assert_add_remove_roundtrip("greeter", recipe="mvp", add_options={"greeter": {"word": "yo"}})
            assert added.files["demo/greeting.py"] == b"WORD = 'yo'\\n"
            assert not (added.root / "demo" / "greeting.py").exists()

        def test_refused_add(kit):
            kit.assert_add_remove_roundtrip("greeter", recipe="mvp", add_options={"greeter": {"nope": "1"}})
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*uts add greeter * exited 4*", "error: component 'greeter' has no option 'nope'"]
    )


def test_snapshot_is_written_on_request_then_compared(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_test(
        pytester,
        """
        import os

        def test_snap(kit, uts_snapshot):
            word = os.environ.get("WORD", "hello")
            project = kit.compose("mvp", with_=["greeter"], options={"greeter": {"word": word}})
            uts_snapshot.assert_match(project.owned_by("greeter"))
        """,
    )
    missing = pytester.runpytest("-p", "no:cacheprovider")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(
        ["*no snapshot *test_snap.txt: run pytest with --uts-update-snapshots*"]
    )

    pytester.runpytest("-p", "no:cacheprovider", "--uts-update-snapshots").assert_outcomes(passed=1)
    stored = pytester.path / "snapshots" / "test_it" / "test_snap.txt"
    assert stored.read_text() == "==> demo/greeting.py\n| WORD = 'hello'\n"
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    monkeypatch.setenv("WORD", "bye")
    changed = pytester.runpytest("-p", "no:cacheprovider")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*the tree differs from its snapshot (--uts-update-snapshots rewrites it):",
            "*-| WORD = 'hello'",
            "*+| WORD = 'bye'",
        ]
    )


def test_slow_tests_are_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_slow="""
        import pytest

        @pytest.mark.uts_slow
        def test_installs():
            pass

        def test_fast():
            pass
        """
    )
    default = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--strict-markers")
    default.assert_outcomes(passed=1, skipped=1)
    default.stdout.fnmatch_lines(["*slow (installs a generated project): run with --uts-slow*"])
    pytester.runpytest("-p", "no:cacheprovider", "--uts-slow").assert_outcomes(passed=2)
    pytester.makeini("[pytest]\nuts_slow = true\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_render_tree_is_deterministic_and_shows_every_kind_of_file(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "text.txt").write_bytes(b"one\n\ntwo")
    (tmp_path / "a.bin").write_bytes(b"\xff\x00")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"cache")
    (tmp_path / "link").symlink_to("b/text.txt")
    tree = read_tree(tmp_path)
    assert list(tree) == ["a.bin", "b/text.txt", "link"]
    assert render_tree(tree) == render_tree(dict(reversed(tree.items())))
    digest = hashlib.sha256(b"\xff\x00").hexdigest()
    assert render_tree(tree) == (
        f"==> a.bin\n(binary: 2 bytes, sha256 {digest})\n"
        "==> b/text.txt\n| one\n|\n| two\n\\ no newline at end of file\n"
        "==> link\n| -> b/text.txt\n\\ no newline at end of file\n"
    )


def test_the_guide_documents_every_public_call() -> None:
    from uts.testing import Kit, Project, Snapshot

    docs = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()
    for cls in (Kit, Project, Snapshot):
        for name in vars(cls):
            if not name.startswith("_") and callable(getattr(cls, name)):
                assert f"{name}(" in docs, (
                    f"docs/plugins.md does not document {cls.__name__}.{name}"
                )
    for option in ("--uts-slow", "--uts-update-snapshots", "uts_slow", "uts_kit", "uts_snapshot"):
        assert option in docs
