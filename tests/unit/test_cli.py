"""The command line: new, dry-run, errors and exit codes, list, recipes, info, prompting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, snapshot
from uts import cli as cli_module

Uts = Callable[..., Result]


def test_version(uts: Uts) -> None:
    result = uts("--version")
    assert result.code == 0
    assert result.out.startswith("uts 0.")


def test_new_mvp_writes_project_and_prints_next_steps(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = uts("new", "demo", "--recipe", "mvp", "--dir", target)
    assert result.code == 0, result.err
    for path in (
        "pyproject.toml",
        "README.md",
        "demo/main.py",
        "demo/models.py",
        "demo/api.py",
        "demo/services.py",
        "demo/database.py",
        ".uts/project.toml",
        ".uts/components/crud.toml",
    ):
        assert (target / path).is_file(), path
    assert "from recipe 'mvp'" in result.out
    assert "Next steps:" in result.out
    steps = result.out.split("Next steps:\n", 1)[1]
    commands = [line.strip() for line in steps.splitlines() if not line.strip().startswith("#")]
    assert commands == [
        f"cd {target}",  # outside the working directory: the absolute path
        'python -m venv .venv && .venv/bin/pip install -e ".[dev]" && . .venv/bin/activate',
        "pytest",
        "uvicorn demo.main:app --reload",
    ]
    from uts.state import load_project

    recorded = load_project(target).files
    written = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert set(recorded) == {p for p in written if not p.startswith(".uts/")}


def test_new_is_deterministic(uts: Uts, tmp_path: Path) -> None:
    assert uts("new", "demo", "--dir", tmp_path / "one").code == 0
    assert uts("new", "demo", "--dir", tmp_path / "two").code == 0
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_caches_do_not_change_a_single_byte(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = ["--recipe", "core", "--no-input", "--dir"]
    assert uts("new", "shop", *args, tmp_path / "cold").code == 0  # fills the caches
    assert uts("new", "shop", *args, tmp_path / "warm").code == 0  # reads them
    assert {p.name for p in (tmp_path / "cache" / "uts").iterdir()} >= {"templates"}
    monkeypatch.setenv("UTS_NO_CACHE", "1")
    assert uts("new", "shop", *args, tmp_path / "none").code == 0
    assert snapshot(tmp_path / "cold") == snapshot(tmp_path / "warm") == snapshot(tmp_path / "none")


def test_dry_run_prints_a_diff_and_writes_nothing(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = uts("new", "demo", "--dir", target, "--dry-run")
    assert result.code == 0, result.err
    assert "--- /dev/null\n+++ b/demo/main.py\n" in result.out
    assert "nothing was written" in result.out
    assert not target.exists()


def test_non_empty_directory_is_refused_and_untouched(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "README.md").write_text("my own readme\n")
    before = snapshot(target)
    result = uts("new", "demo", "--dir", target)
    assert result.code == 8
    assert "is not empty" in result.err and "--force" in result.err
    result = uts("new", "demo", "--dir", target, "--force")
    assert result.code == 8
    assert "README.md" in result.err
    assert snapshot(target) == before


def test_force_adds_next_to_unrelated_files(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "notes.txt").write_text("keep me\n")
    assert uts("new", "demo", "--dir", target, "--force").code == 0
    assert (target / "notes.txt").read_text() == "keep me\n"
    assert (target / "demo/main.py").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["new", "demo", "--with", "monitorng"], 3, "unknown component 'monitorng'"),
        (["new", "demo", "--recipe", "mvpp"], 5, "unknown recipe 'mvpp'"),
        (["new", "demo", "--set", "crud"], 2, "is not COMPONENT.OPTION=VALUE"),
        (["new", "demo", "--set", "crud.nope=1"], 4, "has no option 'nope'"),
        (["new", "demo", "--without", "project"], 3, "which --without removes"),
        (["new", "1demo"], 2, "project name '1demo' is not valid"),
        (["info", "crudd"], 3, "unknown component 'crudd'"),
    ],
)
def test_errors_are_one_line_with_hint_and_exit_code(
    uts: Uts, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = uts(*args, "--dir", tmp_path / "x") if args[0] == "new" else uts(*args)
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.err
    assert not (tmp_path / "x").exists()


def test_unknown_component_suggests(uts: Uts, tmp_path: Path) -> None:
    result = uts("new", "demo", "--dir", tmp_path / "x", "--with", "databse")
    assert "did you mean 'database'" in result.err


def test_malformed_recipe_names_file_and_line(uts: Uts, tmp_path: Path) -> None:
    recipe = tmp_path / "mine.toml"
    recipe.write_text('name = "mine"\ncomponents = ["project"\n')
    result = uts("new", "demo", "--recipe", recipe, "--dir", tmp_path / "x")
    assert result.code == 5
    assert f"{recipe}:2" in result.err or f"{recipe}:3" in result.err


def test_user_recipe_file(uts: Uts, tmp_path: Path) -> None:
    recipe = tmp_path / "mine.toml"
    recipe.write_text('name = "mine"\nextends = "mvp"\nexclude = ["crud"]\n')
    target = tmp_path / "x"
    result = uts("new", "demo", "--recipe", recipe, "--dir", target)
    assert result.code == 0, result.err
    assert not (target / "demo/api.py").exists()
    assert 'recipe = "mine"' in (target / ".uts/project.toml").read_text()


def test_without_drops_the_recipes_options_for_that_component(uts: Uts, tmp_path: Path) -> None:
    result = uts("new", "demo", "--without", "crud", "--dir", tmp_path / "x")
    assert result.code == 0, result.err
    assert not (tmp_path / "x/demo/api.py").exists()
    result = uts(
        "new", "demo", "--without", "crud", "--set", "crud.resource=x", "--dir", tmp_path / "y"
    )
    assert result.code == 4 and "not part of this project" in result.err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "uts",
            "--debug",
            "new",
            "demo",
            "--with",
            "nope",
            "--dir",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "ResolutionError" in proc.stderr


def test_list_and_json(uts: Uts) -> None:
    result = uts("list")
    assert result.code == 0
    assert "project" in result.out and "built-in" in result.out
    data = json.loads(uts("list", "--json").out)
    names = [c["name"] for c in data["components"]]
    assert {"project", "fastapi", "database", "crud"} <= set(names)
    assert all({"name", "version", "summary", "source"} <= set(c) for c in data["components"])


def test_recipes_and_json(uts: Uts) -> None:
    assert "mvp" in uts("recipes").out
    data = json.loads(uts("recipes", "--json").out)
    mvp = next(r for r in data if r["name"] == "mvp")
    assert mvp["source"] == "built-in" and "crud" in mvp["components"]


def test_info_lists_options_requirements_files_and_fragments(uts: Uts) -> None:
    result = uts("info", "database")
    assert result.code == 0, result.err
    assert "requires:" in result.out and "files:" in result.out and "fragments:" in result.out
    data = json.loads(uts("info", "database", "--json").out)
    assert data["name"] == "database"
    assert any(path.endswith("database.py") for path in data["files"])
    assert any(item["slot"] == "dependencies" for item in data["fragments"])


def test_info_shows_the_slots_a_component_reads(uts: Uts) -> None:
    result = uts("info", "project")
    assert result.code == 0, result.err
    assert "  next-steps {text: str, command: str, order: int?, readme: bool?}" in result.out
    data = json.loads(uts("info", "project", "--json").out)
    steps = next(slot for slot in data["slots"] if slot["name"] == "next-steps")
    order = next(field for field in steps["fields"] if field["name"] == "order")
    assert order == {
        "name": "order",
        "type": "int",
        "required": False,
        "default": 50,
        "help": order["help"],
    }
    assert json.loads(uts("info", "database", "--json").out)["slots"] == []


def test_missing_required_option_without_terminal_is_an_error(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_plugins import GOOD, add_plugin

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    add_plugin(site, "uts-ask", "ask", GOOD.replace('default="plain"', "help='How spicy.'"))
    result = uts("new", "demo", "--with", "ask", "--dir", tmp_path / "x")
    assert result.code == 4
    assert "ask.flavour has no default" in result.err
    assert "--set ask.flavour=VALUE" in result.err

    # In a terminal, uts asks for it (and only for it).
    monkeypatch.setattr(cli_module, "_interactive", lambda no_input: not no_input)
    prompts: list[str] = []

    def fake_prompt(text: str, type: object = None) -> str:
        prompts.append(text)
        return "mild"

    monkeypatch.setattr(cli_module.typer, "prompt", fake_prompt)
    result = uts("new", "demo", "--with", "ask", "--dir", tmp_path / "y")
    assert result.code == 0, result.err
    assert prompts == ["ask.flavour (How spicy.)"]
    assert (tmp_path / "y/ask.txt").read_text() == "made by ask mild\n"
    # --no-input never prompts, even in a terminal.
    result = uts("new", "demo", "--with", "ask", "--dir", tmp_path / "z", "--no-input")
    assert result.code == 4
    for name in list(sys.modules):
        if name.startswith("uts_test_"):
            del sys.modules[name]


def test_main_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    import gc

    from uts.__main__ import main

    assert gc.isenabled()
    assert main(["new", "demo", "--dir", str(tmp_path / "p"), "--no-input"]) == 0
    assert gc.isenabled()


def _console_script(*args: str, before: str = "") -> subprocess.CompletedProcess[bytes]:
    code = f"import sys\n{before}\nsys.argv = ['uts', *sys.argv[1:]]\n"
    code += "from uts.__main__ import entry\nentry()\n"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, check=False)


def test_the_console_script_flushes_runs_exit_handlers_and_keeps_the_code() -> None:
    done = _console_script(
        "recipes", before="import atexit\natexit.register(lambda: sys.stderr.write('bye'))"
    )
    assert done.returncode == 0, done.stderr
    assert b"mvp" in done.stdout and b"core" in done.stdout
    assert done.stdout.endswith(b"\n")
    assert done.stderr == b"bye"
    failed = _console_script("new", "no spaces allowed")
    assert failed.returncode == 2
    assert failed.stderr.startswith(b"error: project name")


def test_a_closed_pipe_ends_the_output_quietly() -> None:
    # typer turns EPIPE into SystemExit(1) with pacified streams; the console script
    # must let that through rather than fail flushing at exit.
    code = (
        "import sys\nsys.argv = ['uts', 'list', '--json']\n"
        "from uts.__main__ import entry\nentry()\n"
    )
    reader, writer = os.pipe()
    os.close(reader)  # nobody will ever read: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=writer, stderr=subprocess.PIPE, check=False
        )
    finally:
        os.close(writer)
    assert done.returncode == 1
    assert done.stderr == b""
