"""Shell completion, through typer's own protocol (and bash itself) in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UTS = str(Path(sys.executable).with_name("uts"))
BIN = str(Path(sys.executable).parent)
REPORT_MODULES = (
    "import sys\nfrom uts.__main__ import main\ncode = main([])\nsys.stdout.flush()\n"
    "print('@@' + ' '.join(sorted(sys.modules)))\n"
)


def _env(words: list[str], **extra: str) -> dict[str, str]:
    # As bash passes them: COMP_WORDS is "${COMP_WORDS[*]}", COMP_CWORD the word's index.
    return {
        **os.environ,
        "_UTS_COMPLETE": "complete_bash",
        "COMP_WORDS": " ".join(words),
        "COMP_CWORD": str(len(words) - 1),
        **extra,
    }


def complete(*words: str, cwd: Path | None = None) -> list[str]:
    """What ``uts`` offers for the last of *words* (``""`` for a new word)."""
    result = subprocess.run(
        [UTS], env=_env(["uts", *words]), cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout.rstrip("\n").splitlines()  # as bash's $(...) reads it


def imported_while_completing(*words: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", REPORT_MODULES],
        env=_env(["uts", *words]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.rsplit("@@", 1)[1].split())


BUILTINS = sorted(
    path.name
    for path in (Path(__file__).resolve().parents[2] / "plugins").iterdir()
    if (path / "__init__.py").is_file()
)


def test_component_names_complete_for_with_without_add_and_info() -> None:
    assert complete("new", "demo", "--with", "") == BUILTINS
    assert complete("new", "demo", "--with", "cel") == ["celery"]
    assert complete("new", "demo", "--without", "mi") == ["migrations"]
    assert complete("add", "mon") == ["monitoring"]
    assert complete("add", "celery", "d") == ["database", "docker"]
    assert complete("info", "te") == ["terraform", "testing"]


def test_recipe_names_complete_and_a_path_is_left_to_the_shell() -> None:
    assert complete("new", "demo", "--recipe", "") == ["core", "full", "mvp"]
    assert complete("new", "demo", "-r", "f") == ["full"]
    assert complete("recipes", "--check", "m") == ["mvp"]
    assert complete("new", "demo", "--recipe", "./my") == []  # bash's -o default: file names


def test_option_names_complete_after_the_component_and_values_after_the_name() -> None:
    assert complete("new", "demo", "--set", "c") == ["celery.", "ci.", "config.", "crud."]
    assert complete("new", "demo", "--set", "cr") == ["crud.resource=", "crud.plural="]
    assert complete("new", "demo", "--set", "crud.p") == ["crud.plural="]
    assert complete("add", "x", "--set", "database.postgresql=") == [
        "database.postgresql=true",
        "database.postgresql=false",
    ]
    assert complete("new", "demo", "--set", "nothing.x") == []


def test_remove_and_update_complete_the_projects_own_components(tmp_path: Path) -> None:
    made = subprocess.run(
        [UTS, "new", "demo", "--dir", str(tmp_path / "demo")], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    assert complete("remove", "", cwd=tmp_path / "demo" / "demo") == [
        "crud",
        "database",
        "errors",
        "fastapi",
        "project",
        "testing",
    ]
    assert complete("update", "-C", str(tmp_path / "demo"), "f", cwd=tmp_path) == ["fastapi"]


def test_completing_a_name_imports_no_plugin_and_no_renderer() -> None:
    modules = imported_while_completing("new", "demo", "--with", "c")
    assert not {name for name in modules if name.startswith("uts_plugins.")}
    assert {"jinja2", "tomlkit", "uts.engine"} & modules == set()
    # An option name needs its component's metadata: that one plugin, nothing else.
    modules = imported_while_completing("new", "demo", "--set", "crud.")
    assert {name for name in modules if name.startswith("uts_plugins.")} == {"uts_plugins.crud"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_install_completion_installs_a_bash_completion_that_works(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    # Run from bash, so that typer detects the shell as a user's terminal would.
    installed = subprocess.run(
        ["bash", "-c", "uts --install-completion"], env=env, capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "uts.sh"
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    # What bash does on Tab: call the completion function with the words typed so far.
    tab = (
        f"source '{script}'; COMP_WORDS=(uts new demo --with cel); COMP_CWORD=4; "
        "_uts_completion uts; printf '%s\\n' \"${COMPREPLY[@]}\"; complete -p uts"
    )
    shell = subprocess.run(["bash", "-c", tab], env=env, capture_output=True, text=True)
    assert shell.stdout.splitlines() == ["celery", "complete -o default -F _uts_completion uts"]
