"""Property: whatever is done to a project's state files or a recipe, uts never crashes.

Random text-level and structure-level mutations of ``pyproject.toml``, of every file
under ``.uts/`` and of recipe files; after each, ``status``, ``diff``, ``add``, ``remove``
and ``new --recipe`` must exit with a documented code (never 70), print no traceback,
and leave every byte of the project as it was when they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Result, snapshot
from uts.__main__ import main

Uts = Callable[..., Result]
DOCUMENTED = {*range(12), 130}  # README's exit-code table (11: another writer holds the lock)
# UTS_FUZZ=N explores N fresh random examples per test instead (to hunt, not for CI).
FUZZ = int(os.environ.get("UTS_FUZZ", "0"))
EXAMPLES = settings(
    max_examples=FUZZ or 100,
    deadline=None,
    derandomize=not FUZZ,  # the same examples on every run: CI stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values and fragments that have broken parsers and editors before.
TOKENS = [
    '"',
    "'",
    '"""',
    "'''",
    "[",
    "]",
    "[[",
    "{",
    "}",
    "=",
    ",",
    ".",
    "#",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\xff",
    "\ufeff",
    "[tool.uts]",
    "[project]",
    "[tool]",
    "[project.optional-dependencies]",
    "dependencies = ",
    "tool = 5",
    "project = 1",
    "components",
    "version",
    "pristine",
    "options",
    "auto",
    '"files"',
    "null",
    "true",
    "1e999",
    '"\\u0066astapi>=1", ',
    '# it\'s "quoted", [x]\n',
    ' "a\\"b", ',
    " '''httpx\n''', ",
    "[" * 5000,  # deeper than any recursion limit, whatever the stack depth: deterministic
]
STRINGS = [
    "",
    " ",
    "0.1.0",
    "mvp",
    "project",
    "crud",
    "monitoring",
    "fastapi>=1",
    "!!!",
    "a b",
    "../../etc/passwd",
    "/etc/passwd",
    ".uts/manifest.json",
    "pyproject.toml",
    "x" * 300,
    "caf\u00e9",
    "\u0661.\u0662.\u0663",
    "line\nbreak",
    "nul\x00",
    "\x1b[2J",
    "\ud7ff",
]
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(STRINGS),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(STRINGS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
JSON_VALUES = st.one_of(st.none(), VALUES)


# --- mutations ----------------------------------------------------------------------------


# Where edits are most interesting: the keys uts reads, and the strings it edits.
ANCHORS = [
    b"[tool.uts",
    b"components",
    b"version",
    b"options",
    b"dependencies",
    b"[project",
    b'"pristine"',
    b'"owner"',
    b'"sha256"',
    b'"format"',
    b'"files"',
    b'"text"',
    b"extends",
]


def mutate_bytes(data: st.DataObject, content: bytes) -> bytes:
    """One byte-level edit: cut, duplicate, insert a token, overwrite, truncate, swap lines."""
    size = len(content)
    anchors = [m.start() for anchor in ANCHORS for m in re.finditer(re.escape(anchor), content)]
    if anchors and data.draw(st.booleans(), label="near a key"):
        start = data.draw(st.sampled_from(sorted(anchors)), label="at")
        start = min(size, start + data.draw(st.integers(0, 24), label="offset"))
    else:
        start = data.draw(st.integers(0, size), label="at")
    end = data.draw(st.integers(start, min(size, start + 64)), label="to")
    kind = data.draw(
        st.sampled_from(["cut", "dup", "insert", "byte", "truncate", "lines", "quotes"]),
        label="edit",
    )
    if kind == "cut":
        return content[:start] + content[end:]
    if kind == "dup":
        return content[:end] + content[start:end] + content[end:]
    if kind == "insert":
        token = data.draw(st.sampled_from(TOKENS) | st.text(max_size=8), label="token")
        return content[:start] + token.encode("utf-8", "surrogatepass") + content[start:]
    if kind == "byte":
        value = data.draw(st.integers(0, 255), label="byte")
        return content[:start] + bytes([value]) + content[start + 1 :]
    if kind == "truncate":
        return content[:start]
    if kind == "lines":
        lines = content.splitlines(keepends=True)
        if len(lines) > 1:
            i = data.draw(st.integers(0, len(lines) - 1), label="line")
            j = data.draw(st.integers(0, len(lines) - 1), label="other line")
            lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    # Requote a string: the same TOML value written as a multi-line or literal string.
    found = list(re.finditer(rb'"([^"\\\n]*)"', content))
    if not found:
        return content
    match = data.draw(st.sampled_from(found), label="string")
    quote = data.draw(st.sampled_from([b'"""', b"'''", b"'", b'"""\n']), label="quote")
    new = quote + match.group(1) + quote.strip()
    return content[: match.start()] + new + content[match.end() :]


def _slots(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, Any, tuple[Any, ...]]]:
    """Every (container, key, path) under *node*, containers before their contents."""
    found = []
    if isinstance(node, dict):
        for key in list(node):
            found.append((node, key, (*prefix, key)))
            found += _slots(node[key], (*prefix, key))
    elif isinstance(node, list):
        for index in range(len(node)):
            found.append((node, index, (*prefix, index)))
            found += _slots(node[index], (*prefix, index))
    return found


def mutate_tree(data: st.DataObject, tree: Any, values: st.SearchStrategy[Any], focus: Any) -> None:
    """One structural edit of a parsed TOML or JSON tree, favouring paths *focus* accepts."""
    slots = _slots(tree)
    focused = [slot for slot in slots if focus(slot[2])] or slots
    if not focused:
        return
    container, key, _ = data.draw(st.sampled_from(focused), label="slot")
    kind = data.draw(
        st.sampled_from(["set", "delete", "add", "retype", "rename", "edit", "edit"]),
        label="tree edit",
    )
    old = container[key]
    if kind == "edit" and isinstance(old, str):  # damage a string: a pristine text, a version
        edited = mutate_bytes(data, old.encode("utf-8", "surrogatepass"))
        container[key] = edited.decode("utf-8", "replace")
    elif kind == "rename" and isinstance(container, dict):
        new_key = data.draw(st.sampled_from([*STRINGS, *container]) | st.text(max_size=6))
        del container[key]
        container[new_key] = old
    elif kind == "delete":
        del container[key]
    elif kind == "add" and isinstance(container, dict):
        container[data.draw(st.sampled_from(STRINGS) | st.text(max_size=6), label="key")] = (
            data.draw(values, label="value")
        )
    elif kind == "add":
        container.insert(key, data.draw(values, label="value"))
    elif kind == "retype":  # the same content as another type: a list, a string
        container[key] = [old] if not isinstance(old, list) else str(old)
    else:
        container[key] = data.draw(values, label="value")


def _focus_toml(path: tuple[Any, ...]) -> bool:
    return path[:2] == ("tool", "uts") or path[:1] == ("project",)


def mutate_toml(data: st.DataObject, content: bytes) -> bytes:
    """A structure-level edit of a TOML file (through tomlkit), mostly in uts's tables."""
    try:
        doc = tomlkit.parse(content.decode("utf-8"))
    except Exception:  # not TOML (any more): edit its bytes instead
        return mutate_bytes(data, content)
    try:
        mutate_tree(data, doc, VALUES, _focus_toml)
        return tomlkit.dumps(doc).encode("utf-8", "surrogatepass")
    except Exception:  # a value tomlkit cannot place there: edit the bytes instead
        return mutate_bytes(data, content)


def mutate_json(data: st.DataObject, content: bytes) -> bytes:
    """A structure-level edit of a JSON file, written back in one of two layouts."""
    tree = json.loads(content)
    mutate_tree(data, tree, JSON_VALUES, lambda path: True)
    if not isinstance(tree, dict | list):
        return json.dumps(tree).encode()
    indent = data.draw(st.sampled_from([None, 2]), label="indent")
    return json.dumps(tree, indent=indent, ensure_ascii=False).encode("utf-8", "surrogatepass")


def mutate_file(data: st.DataObject, path: Path) -> None:
    """Mutate *path* in a way suited to what it holds (TOML, JSON, or anything)."""
    content = path.read_bytes()
    kind = data.draw(st.sampled_from(["bytes", "structure", "structure"]), label="edit kind")
    if kind == "bytes":
        content = mutate_bytes(data, content)
    elif path.suffix == ".toml":
        content = mutate_toml(data, content)
    else:
        try:
            json.loads(content)
        except ValueError:
            content = mutate_bytes(data, content)
        else:
            content = mutate_json(data, content)
    path.write_bytes(content)


# --- projects -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of one mvp project, made once; every example starts from a copy."""
    root = tmp_path_factory.mktemp("made") / "demo"
    assert main(["new", "demo", "--dir", str(root), "--no-input"]) == 0
    return {rel: content for rel, content in snapshot(root).items() if not rel.endswith("/")}


def restore(root: Path, files: dict[str, bytes]) -> None:
    if root.exists():
        shutil.rmtree(root)
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def check(result: Result, before: dict[str, bytes], root: Path, read_only: bool) -> None:
    assert result.code in DOCUMENTED, (result.code, result.err)
    assert "Traceback" not in result.out + result.err, result.err
    assert "internal error" not in result.err, result.err
    if result.code != 0 or read_only:
        assert snapshot(root) == before, (result.code, result.err)


def state_files(root: Path) -> list[Path]:
    """pyproject.toml and every file under .uts/, whatever the state format is today."""
    return [
        root / "pyproject.toml",
        *sorted(p for p in (root / ".uts").glob("**/*") if p.is_file()),
    ]


ADDABLE = ["monitoring", "logging", "config", "errors", "crud", "nope"]
REMOVABLE = ["crud", "database", "monitoring", "fastapi", "project"]


@EXAMPLES
@given(data=st.data())
def test_mutated_project_state_never_crashes_uts(
    uts: Uts, made: dict[str, bytes], tmp_path: Path, data: st.DataObject
) -> None:
    root = tmp_path / "demo"
    restore(root, made)
    candidates = state_files(root)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutate_file(data, data.draw(st.sampled_from(candidates), label="file"))
    commands = [
        ["status"],
        ["diff"],
        ["add", data.draw(st.sampled_from(ADDABLE), label="add"), "--no-input"],
        ["remove", data.draw(st.sampled_from(REMOVABLE), label="remove")],
        ["status"],  # what add and remove wrote reads back
    ]
    for command in commands:
        before = snapshot(root)
        result = uts(*command, "--project", root)
        check(result, before, root, read_only=command[0] in {"status", "diff"})


# --- recipes ------------------------------------------------------------------------------

RECIPES = {
    "mvp.toml": None,  # the built-in's own text
    "mine.toml": (
        'name = "mine"\ndescription = "mvp with logs"\nextends = "mvp"\n'
        'components = ["logging"]\nexclude = ["crud"]\n\n[options.database]\necho = true\n'
    ),
    "child.toml": 'extends = "mine.toml"\ncomponents = ["monitoring"]\n',
}


@EXAMPLES
@given(data=st.data())
def test_mutated_recipe_never_crashes_uts_new(
    uts: Uts, tmp_path: Path, data: st.DataObject
) -> None:
    from uts.recipe import builtin_recipe_dir

    recipes = tmp_path / "recipes"
    if recipes.exists():
        shutil.rmtree(recipes)
    recipes.mkdir()
    for name, text in RECIPES.items():
        content = (builtin_recipe_dir() / name).read_bytes() if text is None else text.encode()
        (recipes / name).write_bytes(content)
    chosen = recipes / data.draw(st.sampled_from(sorted(RECIPES)), label="recipe")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        target = data.draw(st.sampled_from([chosen, recipes / "mine.toml"]), label="file")
        mutate_file(data, target)
    out = tmp_path / "out"
    if out.exists():
        shutil.rmtree(out)
    result = uts("new", "demo", "--recipe", chosen, "--dir", out, "--no-input")
    assert result.code in DOCUMENTED, (result.code, result.err)
    assert "Traceback" not in result.out + result.err, result.err
    assert "internal error" not in result.err, result.err
    if result.code != 0:
        assert not os.path.lexists(out), result.err
    else:
        assert (out / ".uts").is_dir()
        again = uts("status", "--project", out)
        assert again.code in DOCUMENTED and "Traceback" not in again.err, again.err
