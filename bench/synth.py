"""One synthetic template for uts, copier and cookiecutter, and the tree all three render."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMPONENT",
    "PACKAGE",
    "PROJECT",
    "VALUES",
    "UtsTemplate",
    "compare",
    "expected_tree",
    "snapshot",
    "write_cookiecutter",
    "write_copier",
    "write_dist",
    "write_tree",
    "write_uts",
]

PROJECT = "bench-demo"
PACKAGE = "bench_demo"  # what uts derives from PROJECT; given explicitly to the other two
COMPONENT = "synth"
OPTIONS: dict[str, str] = {
    "author": "Ada Lovelace",
    "email": "ada@example.org",
    "version": "1.2.3",
    "license": "Apache-2.0",
    "description": "A synthetic project for the uts benchmark",
    "year": "2026",
}
VALUES: dict[str, str] = {"project_name": PROJECT, "package": PACKAGE, **OPTIONS}
DIRECTORIES = 20
SUBSTITUTIONS = 10
LINES = 30
PLACEHOLDER = "unset"  # every tool's default; the real values come from the command line

_TOKEN = re.compile(r"@(\w+)@")
_WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
)  # fmt: skip

Spell = Callable[[str], str]
"""How one tool writes variable *name* in a template."""

SPELLINGS: dict[str, Spell] = {
    "expected": lambda name: VALUES[name],
    "uts": lambda name: (
        f"{{{{ {name} }}}}" if name in ("project_name", "package") else f"{{{{ options.{name} }}}}"
    ),
    "copier": lambda name: f"{{{{ {name} }}}}",
    "cookiecutter": lambda name: f"{{{{ cookiecutter.{name} }}}}",
}


def _path(index: int, size: int) -> str:
    directory = index % min(DIRECTORIES, size)
    return f"@package@_d{directory:02d}/file_{index:04d}.txt"


def _body(index: int) -> str:
    lines = [f"File {index:04d} of the synthetic uts benchmark template."]
    for number in range(LINES):
        words = " ".join(_WORDS[(index + number + k) % len(_WORDS)] for k in range(9))
        line = f"{number:02d} {words}"
        if number % 3 == 0 and number // 3 < SUBSTITUTIONS:
            name = list(VALUES)[(index + number // 3) % len(VALUES)]
            line += f" @{name}@ end"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _spell(pattern: str, spell: Spell) -> str:
    return _TOKEN.sub(lambda match: spell(match.group(1)), pattern)


def _files(size: int, tool: str) -> dict[str, str]:
    spell = SPELLINGS[tool]
    return {_spell(_path(i, size), spell): _spell(_body(i), spell) for i in range(size)}


def expected_tree(size: int) -> dict[str, bytes]:
    """The tree every tool must render for *size* files, computed without any template engine."""
    return {path: text.encode() for path, text in _files(size, "expected").items()}


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write *files* (relative POSIX path to content) under *root*."""
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
    return root


def write_dist(site: Path, module: str, source: str, entry_points: Mapping[str, str]) -> None:
    """Install package *module* (``__init__.py`` = *source*) and its dist-info into *site*."""
    package = site / module
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(source)
    info = site / f"{module}-1.0.0.dist-info"
    info.mkdir(exist_ok=True)
    name = module.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
    (info / "INSTALLER").write_text("uts-bench\n")
    points = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[uts.components]\n{points}")
    (info / "RECORD").write_text(
        f"{module}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/INSTALLER,,\n"
        f"{info.name}/entry_points.txt,,\n{info.name}/RECORD,,\n"
    )


_COMPONENT_SOURCE = '''\
"""Synthetic uts component for the benchmark ({size} files)."""

from pathlib import Path

from uts.plugin import Component, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name={name!r},
        version="1.0.0",
        summary="Synthetic benchmark template.",
        options=({options}),
        templates=Path(__file__).parent / "templates",
    )
'''


@dataclass(frozen=True)
class UtsTemplate:
    """The synthetic uts component: a directory to put on PYTHONPATH and a recipe naming it."""

    site: Path
    recipe: Path


def write_uts(root: Path, size: int) -> UtsTemplate:
    """Write the component as an importable module plus dist-info (entry point), and its recipe."""
    site = root / "site"
    options = " ".join(f"Option({name!r}, default={PLACEHOLDER!r})," for name in OPTIONS)
    source = _COMPONENT_SOURCE.format(size=size, name=COMPONENT, options=options)
    write_dist(site, "uts_bench_synth", source, {COMPONENT: "uts_bench_synth"})
    templates = {f"{path}.jinja": text for path, text in _files(size, "uts").items()}
    write_tree(site / "uts_bench_synth" / "templates", templates)
    recipe = root / "synth.toml"
    recipe.write_text(
        f'name = "synth"\ndescription = "Synthetic benchmark"\ncomponents = ["{COMPONENT}"]\n'
    )
    return UtsTemplate(site, recipe)


def write_copier(root: Path, size: int) -> Path:
    """Write the copier template (questions in ``copier.yml``, files under ``template/``)."""
    questions = "".join(f'{name}: "{PLACEHOLDER}"\n' for name in VALUES)
    (root / "template").mkdir(parents=True, exist_ok=True)
    (root / "copier.yml").write_text(f"_subdirectory: template\n{questions}")
    templates = {f"{path}.jinja": text for path, text in _files(size, "copier").items()}
    write_tree(root / "template", templates)
    return root


def write_cookiecutter(root: Path, size: int) -> Path:
    """Write the cookiecutter template (``cookiecutter.json`` and the templated project folder)."""
    root.mkdir(parents=True, exist_ok=True)
    context = ", ".join(f'"{name}": "{PLACEHOLDER}"' for name in VALUES)
    (root / "cookiecutter.json").write_text("{" + context + "}\n")
    project = SPELLINGS["cookiecutter"]("project_name")
    write_tree(root / project, _files(size, "cookiecutter"))
    return root


def snapshot(root: Path, exclude: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under *root* as POSIX path to bytes, minus paths starting with *exclude*."""
    found: dict[str, bytes] = {}
    for directory, _, filenames in os.walk(root):
        for filename in filenames:
            path = Path(directory, filename)
            rel = path.relative_to(root).as_posix()
            if not rel.startswith(exclude):
                found[rel] = path.read_bytes()
    return found


def compare(
    expected: Mapping[str, bytes], actual: Mapping[str, bytes], limit: int = 5
) -> list[str]:
    """Differences between two trees, at most *limit* of each kind; empty when identical."""
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    differ = sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p])
    problems = [f"missing {p}" for p in missing[:limit]] + [
        f"unexpected {p}" for p in extra[:limit]
    ]
    for path in differ[:limit]:
        problems.append(
            f"differs {path}:\n"
            + textwrap.indent(_first_difference(expected[path], actual[path]), "    ")
        )
    return problems


def _first_difference(expected: bytes, actual: bytes) -> str:
    for number, (want, got) in enumerate(
        zip(expected.splitlines(), actual.splitlines(), strict=False), 1
    ):
        if want != got:
            return f"line {number}: expected {want!r}\n         got      {got!r}"
    return f"length: expected {len(expected)} bytes, got {len(actual)}"
