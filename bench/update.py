"""The update scenario: the synthetic template released twice, for uts, copier and cruft.

Release 2.0.0 changes *changed* of the template's files (a line appended at the end).
Each tool makes a project from release 1.0.0, the same user edits go in (the first line
of some files, half of them files the release changes: merged, never conflicting), the
project is committed to git (copier and cruft require a clean git tree), then each
tool's update to 2.0.0 is timed on a fresh copy, after one checked run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import synth
from bench.synth import COMPONENT, OPTIONS, PLACEHOLDER, PROJECT, VALUES
from bench.timing import BenchError, Command, child_env

__all__ = ["UpdateSetup", "check_updated", "setup"]

OLD, NEW = "1.0.0", "2.0.0"
ADDED = "30 added in release 2.0.0\n"
EDIT_FROM = "of the synthetic uts benchmark template."
EDIT_TO = "of the synthetic template, edited by the team."
PYPROJECT = '[project]\nname = "@project_name@"\nversion = "0.1.0"\n'
COPIER_ANSWERS = "{{ _copier_answers|to_nice_yaml -}}\n"

_SOURCE = '''\
"""Synthetic uts component, release {version}."""

from pathlib import Path

from uts.plugin import Component, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name={name!r},
        version={version!r},
        summary="Synthetic benchmark template.",
        options=({options}),
        templates=Path(__file__).parent / "templates",
    )
'''


def changed_files(size: int, changed: int) -> set[int]:
    return set(range(0, size, max(1, size // changed)))


def edited_files(size: int, changed: int) -> set[int]:
    """As many files as the release changes, half of them among those."""
    step = max(1, size // changed)
    return {i for i in range(size) if i % (2 * step) in (0, step // 2)}


def _release(size: int, changed: int, tool: str, version: str) -> dict[str, str]:
    spell = synth.SPELLINGS[tool]
    files = {}
    for index in range(size):
        body = synth._body(index) + (
            ADDED if version == NEW and index in changed_files(size, changed) else ""
        )
        files[synth._spell(synth._path(index, size), spell)] = synth._spell(body, spell)
    files["pyproject.toml"] = synth._spell(PYPROJECT, spell)
    return files


def _git(cwd: Path, *args: str) -> None:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)} in {cwd} failed:\n{done.stdout}{done.stderr}")


def _commit_all(cwd: Path, message: str, tag: str | None = None) -> None:
    if not (cwd / ".git").exists():
        _git(cwd, "init", "-q", "-b", "main")
    _git(cwd, "add", "-A")
    _git(cwd, "commit", "-q", "-m", message)
    if tag:
        _git(cwd, "tag", tag)


def _run(
    argv: list[str | Path], env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    args = [str(a) for a in argv]
    done = subprocess.run(
        args, capture_output=True, text=True, env=child_env(env), cwd=cwd, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")


def _edit(project: Path, size: int, changed: int) -> None:
    for index in edited_files(size, changed):
        path = project / synth._spell(synth._path(index, size), synth.SPELLINGS["expected"])
        text = path.read_text()
        if EDIT_FROM not in text:
            raise BenchError(f"{path} does not hold the line the user edits")
        path.write_text(text.replace(EDIT_FROM, EDIT_TO, 1))


def check_updated(project: Path, size: int, changed: int, label: str) -> None:
    """Every changed file updated, every user edit kept, no conflict left behind."""
    grown, edited = changed_files(size, changed), edited_files(size, changed)
    for index in range(size):
        path = project / synth._spell(synth._path(index, size), synth.SPELLINGS["expected"])
        text = path.read_text()
        if text.endswith(ADDED) != (index in grown) or (EDIT_TO in text) != (index in edited):
            raise BenchError(f"{label} did not update {path} as expected:\n{text[-300:]}")
    leftovers = [p for p in project.rglob("*") if p.suffix in (".rej", ".orig")]
    if leftovers:
        raise BenchError(f"{label} left {leftovers[:3]}")


@dataclass(frozen=True)
class UpdateSetup:
    """A committed, edited project per tool at 1.0.0, and how to update a copy of it."""

    commands: dict[str, tuple[list[str | Path], dict[str, str], Path]]
    """label: (argv, extra environment, base project to copy before each run)."""
    uts_env: dict[str, str]

    def command(self, label: str, work: Path) -> tuple[Command, Path]:
        argv, env, base = self.commands[label]
        project = work / f"run-{label.split()[0]}"

        def reset(base: Path = base, project: Path = project) -> None:
            shutil.rmtree(project, ignore_errors=True)
            shutil.copytree(base, project, symlinks=True)

        return Command(label, [str(a) for a in argv], env=env, cwd=project, prepare=reset), project


def _uts_site(root: Path, size: int, changed: int, version: str) -> Path:
    site = root / f"site-{version}"
    options = " ".join(f"Option({name!r}, default={PLACEHOLDER!r})," for name in OPTIONS)
    source = _SOURCE.format(name=COMPONENT, version=version, options=options)
    synth.write_dist(site, "uts_bench_synth", source, {COMPONENT: "uts_bench_synth"})
    files = _release(size, changed, "uts", version)
    synth.write_tree(
        site / "uts_bench_synth" / "templates", {f"{p}.jinja": t for p, t in files.items()}
    )
    return site


def setup(root: Path, size: int, changed: int, tools: dict[str, str | None]) -> UpdateSetup:
    """Build the releases, the three projects at 1.0.0 with the user's edits, committed."""
    commands: dict[str, tuple[list[str | Path], dict[str, str], Path]] = {}
    sets = [a for name in OPTIONS for a in ("--set", f"{COMPONENT}.{name}={VALUES[name]}")]
    uts_env: dict[str, str] = {}
    if tools.get("uts"):
        old = _uts_site(root / "uts", size, changed, OLD)
        new = _uts_site(root / "uts", size, changed, NEW)
        recipe = root / "uts" / "synth.toml"
        recipe.write_text(
            f'name = "synth"\ndescription = "Synthetic"\ncomponents = ["{COMPONENT}"]\n'
        )
        project = root / "uts" / "project"
        argv = [
            tools["uts"],
            "new",
            PROJECT,
            "--recipe",
            recipe,
            "--dir",
            project,
            "--no-input",
            *sets,
        ]
        _run(argv, env={"PYTHONPATH": str(old)})
        _edit(project, size, changed)
        _commit_all(project, "made with uts")
        uts_env = {"PYTHONPATH": str(new)}
        commands["uts update"] = ([tools["uts"], "update"], uts_env, project)
    if tools.get("copier"):
        template = root / "copier" / "template"
        (template / "template").mkdir(parents=True)
        questions = "".join(f'{name}: "{PLACEHOLDER}"\n' for name in VALUES)
        (template / "copier.yml").write_text(f"_subdirectory: template\n{questions}")
        for version in (OLD, NEW):
            files = {f"{p}.jinja": t for p, t in _release(size, changed, "copier", version).items()}
            files["{{ _copier_conf.answers_file }}.jinja"] = COPIER_ANSWERS
            shutil.rmtree(template / "template")
            synth.write_tree(template / "template", files)
            _commit_all(template, f"release {version}", tag=version)
        project = root / "copier" / "project"
        data = [a for name, value in VALUES.items() for a in ("--data", f"{name}={value}")]
        _run([tools["copier"], "copy", "--vcs-ref", OLD, "--defaults", *data, template, project])
        _edit(project, size, changed)
        _commit_all(project, "made with copier")
        argv = [tools["copier"], "update", "--defaults", "--vcs-ref", NEW]
        commands["copier update"] = (argv, {}, project)
    if tools.get("cruft"):
        template = root / "cruft" / "template"
        folder = synth.SPELLINGS["cookiecutter"]("project_name")
        context = ", ".join(f'"{name}": "{PLACEHOLDER}"' for name in VALUES)
        for version in (OLD, NEW):
            shutil.rmtree(template / folder, ignore_errors=True)
            synth.write_tree(template / folder, _release(size, changed, "cookiecutter", version))
            (template / "cookiecutter.json").write_text("{" + context + "}\n")
            _commit_all(template, f"release {version}", tag=version)
        out = root / "cruft"
        extra = json.dumps(VALUES)
        config = out / "cookiecutter-config.yaml"
        config.write_text(f'cookiecutters_dir: "{out / "cc"}"\nreplay_dir: "{out / "replay"}"\n')
        env = {"COOKIECUTTER_CONFIG": str(config)}
        argv = [tools["cruft"], "create", str(template), "--checkout", OLD, "--no-input",
                "--extra-context", extra, "--output-dir", out]  # fmt: skip
        _run(argv, env=env)
        project = out / PROJECT
        _edit(project, size, changed)
        _commit_all(project, "made with cruft")
        argv = [tools["cruft"], "update", "--skip-apply-ask", "--checkout", NEW]
        commands["cruft update"] = (argv, env, project)
    return UpdateSetup(commands, uts_env)
