"""Property: whatever is done to a project's state files or a recipe, uts never crashes.

Random text-level and structure-level mutations of ``pyproject.toml``, of every file
under ``.uts/`` (state format 2, and format 1 that uts upgrades) and of recipe files; after each, ``status``, ``diff``, ``add``, ``remove``
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
RAW = [b"\xff", b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf"]  # not UTF-8, or a BOM
STRINGS = [
    "",
    " ",
    "0.1.0",
    "mvp",
    "project",
    "crud",
    "monitoring",
    "logging",
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
# Values that look right where uts reads them: a component entry, a manifest entry, a
# requirement; they take an example past the shape checks into planning and merging.
PLAUSIBLE = st.sampled_from(
    [
        {"version": "0.1.0"},
        {"version": "0.1.0", "auto": True},
        {"version": "0.1.0", "options": {"resource": "order"}},
        {"version": "9.9.9", "options": {}},
        {"owner": "crud", "sha256": "0" * 64, "pristine": {"text": "x = 1\n"}},
        {"owner": "project", "sha256": "0" * 64, "pristine": {"base64": "AAEC"}},
        {"owner": "nobody", "sha256": "0" * 64, "pristine": {"text": ""}, "executable": True},
        {"text": "[project]\ndependencies = []\n"},
        ["fastapi>=0.1", "prometheus-client>=0.1"],
        "0" * 64,
        "pydantic>=2",
        "logging",
        "order",
    ]
)
VALUES = PLAUSIBLE | VALUES
JSON_VALUES = st.one_of(st.none(), VALUES)


# --- mutations ----------------------------------------------------------------------------
#
# Every random choice is drawn up front, as an edit; applying it to a file's content is
# then a plain function. Draws never depend on what a file holds, so hypothesis replays
# and shrinks an example exactly (a parser hitting the recursion limit or not, which
# depends on the stack depth, can change an outcome but never what is drawn).

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
BYTE_OPS = ["cut", "dup", "insert", "byte", "truncate", "lines", "quotes"]
TREE_OPS = ["set", "delete", "add", "retype", "rename", "edit", "edit"]
TOKENS_AS_BYTES = (st.sampled_from(TOKENS) | st.text(max_size=8)).map(
    lambda token: token.encode("utf-8", "surrogatepass")
) | st.sampled_from(RAW)
INDEX = st.integers(0, 2**16)  # an index into whatever there is, modulo its length

BYTE_EDITS = st.fixed_dictionaries(
    {
        "op": st.sampled_from(BYTE_OPS),
        "near": st.booleans(),
        "anchor": INDEX,
        "offset": st.integers(0, 24),
        "at": INDEX,
        "length": st.integers(0, 64),
        "token": TOKENS_AS_BYTES,
        "byte": st.integers(0, 255),
        "line": INDEX,
        "other": INDEX,
        "quote": st.sampled_from([b'"""', b"'''", b"'", b'"""\n']),
    }
)
EDITS = st.fixed_dictionaries(
    {
        "file": INDEX,
        "kind": st.sampled_from(["bytes", "structure", "structure"]),
        "bytes": BYTE_EDITS,
        "slot": INDEX,
        "tree": st.sampled_from(TREE_OPS),
        "value": JSON_VALUES,
        "key": st.sampled_from(STRINGS) | st.text(max_size=6),
        "rename": INDEX,
        "indent": st.sampled_from([None, 2]),
    }
)


def mutate_bytes(edit: dict[str, Any], content: bytes) -> bytes:
    """One byte-level edit: cut, duplicate, insert a token, overwrite, truncate, swap lines."""
    size = len(content)
    anchors = sorted(m.start() for a in ANCHORS for m in re.finditer(re.escape(a), content))
    if anchors and edit["near"]:
        start = min(size, anchors[edit["anchor"] % len(anchors)] + edit["offset"])
    else:
        start = edit["at"] % (size + 1)
    end = min(size, start + edit["length"])
    op = edit["op"]
    if op == "cut":
        return content[:start] + content[end:]
    if op == "dup":
        return content[:end] + content[start:end] + content[end:]
    if op == "insert":
        return content[:start] + edit["token"] + content[start:]
    if op == "byte":
        return content[:start] + bytes([edit["byte"]]) + content[start + 1 :]
    if op == "truncate":
        return content[:start]
    if op == "lines":
        lines = content.splitlines(keepends=True)
        if len(lines) > 1:
            i, j = edit["line"] % len(lines), edit["other"] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    # Requote a string: the same TOML value written as a multi-line or literal string.
    found = list(re.finditer(rb'"([^"\\\n]*)"', content))
    if not found:
        return content
    match = found[edit["at"] % len(found)]
    new = edit["quote"] + match.group(1) + edit["quote"].strip()
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


def mutate_tree(edit: dict[str, Any], tree: Any, focus: Callable[[tuple[Any, ...]], bool]) -> None:
    """One structural edit of a parsed TOML or JSON tree, at a path *focus* accepts if any."""
    slots = _slots(tree)
    focused = [slot for slot in slots if focus(slot[2])] or slots
    if not focused:
        return
    container, key, _ = focused[edit["slot"] % len(focused)]
    op, old, value = edit["tree"], container[key], edit["value"]
    if op == "edit" and isinstance(old, str):  # damage a string: a pristine text, a version
        edited = mutate_bytes(edit["bytes"], old.encode("utf-8", "surrogatepass"))
        container[key] = edited.decode("utf-8", "replace")
    elif op == "rename" and isinstance(container, dict):
        names = [*STRINGS, *container]
        del container[key]
        container[names[edit["rename"] % len(names)]] = old
    elif op == "delete":
        del container[key]
    elif op == "add" and isinstance(container, dict):
        container[edit["key"]] = value
    elif op == "add":
        container.insert(key, value)
    elif op == "retype":  # the same content as another type: a list, a string
        container[key] = [old] if not isinstance(old, list) else str(old)
    else:
        container[key] = value


def _focus_toml(path: tuple[Any, ...]) -> bool:
    return path[:2] == ("tool", "uts") or path[:1] == ("project",)


def mutate_toml(edit: dict[str, Any], content: bytes) -> bytes:
    """A structure-level edit of a TOML file (through tomlkit), mostly in uts's tables."""
    try:
        doc = tomlkit.parse(content.decode("utf-8"))
        mutate_tree(edit, doc, _focus_toml)
        return tomlkit.dumps(doc).encode("utf-8", "surrogatepass")
    except Exception:  # not TOML, or a value tomlkit cannot place there: edit the bytes
        return mutate_bytes(edit["bytes"], content)


def mutate_json(edit: dict[str, Any], content: bytes) -> bytes:
    """A structure-level edit of a JSON file, written back in one of two layouts."""
    try:
        tree = json.loads(content)
    except (ValueError, RecursionError):  # not JSON (any more): edit the bytes
        return mutate_bytes(edit["bytes"], content)
    mutate_tree(edit, tree, lambda path: True)
    text = json.dumps(tree, indent=edit["indent"], ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def mutate_file(edit: dict[str, Any], candidates: list[Path]) -> None:
    """Apply *edit* to one of *candidates*, suited to what it holds (TOML, JSON, anything)."""
    path = candidates[edit["file"] % len(candidates)]
    content = path.read_bytes()
    if edit["kind"] == "bytes":
        content = mutate_bytes(edit["bytes"], content)
    elif path.suffix == ".toml":
        content = mutate_toml(edit, content)
    else:
        content = mutate_json(edit, content)
    path.write_bytes(content)


# --- projects -----------------------------------------------------------------------------


class Files(dict[str, bytes]):
    """Files by path; shown by their number when hypothesis prints a failing example."""

    def __repr__(self) -> str:
        return f"<{len(self)} files>"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """The files of one mvp project, made once; every example starts from a copy."""
    root = tmp_path_factory.mktemp("made") / "demo"
    assert main(["new", "demo", "--dir", str(root), "--no-input"]) == 0
    return Files((rel, data) for rel, data in snapshot(root).items() if not rel.endswith("/"))


def restore(root: Path, files: dict[str, bytes]) -> None:
    if root.exists():
        shutil.rmtree(root)
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def check(result: Result, before: dict[str, bytes], root: Path, read_only: bool) -> None:
    assert result.code in DOCUMENTED, (result.code, result.err)
    assert "Traceback (most recent call last)" not in result.out + result.err, result.err
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
@given(
    edits=st.lists(EDITS, min_size=1, max_size=3),
    add=st.sampled_from(ADDABLE),
    remove=st.sampled_from(REMOVABLE),
)
def test_mutated_project_state_never_crashes_uts(
    uts: Uts,
    made: Files,
    tmp_path: Path,
    edits: list[dict[str, Any]],
    add: str,
    remove: str,
) -> None:
    _mutate_and_run(uts, made, tmp_path / "demo", edits, add, remove)


def _mutate_and_run(
    uts: Uts,
    made: Files,
    root: Path,
    edits: list[dict[str, Any]],
    add: str,
    remove: str,
    upgrades: bool = False,
) -> None:
    restore(root, made)
    candidates = state_files(root)
    for edit in edits:
        mutate_file(edit, candidates)
    commands = [
        ["status"],
        ["diff"],
        ["add", add, "--no-input"],
        ["remove", remove],
        ["status"],  # what add and remove wrote reads back
    ]
    for number, command in enumerate(commands):
        before = snapshot(root)
        result = uts(*command, "--project", root)
        # The first command upgrades a format-1 state: the one write a status may make.
        read_only = command[0] in {"status", "diff"} and not (upgrades and number == 0)
        check(result, before, root, read_only=read_only)


FORMAT_1 = Path(__file__).parent.parent / "data" / "format1-mvp"


@pytest.fixture(scope="module")
def legacy() -> Files:
    """The files of a project uts 0.1.0 made, in state format 1 (read once, to upgrade)."""
    return Files((rel, data) for rel, data in snapshot(FORMAT_1).items() if not rel.endswith("/"))


@EXAMPLES
@given(
    edits=st.lists(EDITS, min_size=1, max_size=3),
    add=st.sampled_from(ADDABLE),
    remove=st.sampled_from(REMOVABLE),
)
def test_mutated_format_1_state_never_crashes_uts(
    uts: Uts,
    legacy: Files,
    tmp_path: Path,
    edits: list[dict[str, Any]],
    add: str,
    remove: str,
) -> None:
    """Format 1's manifest and [tool.uts]: damaged, the upgrade never begins."""
    _mutate_and_run(uts, legacy, tmp_path / "demo", edits, add, remove, upgrades=True)


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
@given(recipe=st.sampled_from(sorted(RECIPES)), edits=st.lists(EDITS, min_size=1, max_size=3))
def test_mutated_recipe_never_crashes_uts_new(
    uts: Uts, tmp_path: Path, recipe: str, edits: list[dict[str, Any]]
) -> None:
    from uts.recipe import builtin_recipe_dir

    recipes = tmp_path / "recipes"
    if recipes.exists():
        shutil.rmtree(recipes)
    recipes.mkdir()
    for name, text in RECIPES.items():
        content = (builtin_recipe_dir() / name).read_bytes() if text is None else text.encode()
        (recipes / name).write_bytes(content)
    chosen = recipes / recipe
    for edit in edits:  # the recipe, or the one it extends
        mutate_file(edit, [chosen, recipes / "mine.toml"])
    out = tmp_path / "out"
    if out.exists():
        shutil.rmtree(out)
    result = uts("new", "demo", "--recipe", chosen, "--dir", out, "--no-input")
    assert result.code in DOCUMENTED, (result.code, result.err)
    assert "Traceback (most recent call last)" not in result.out + result.err, result.err
    assert "internal error" not in result.err, result.err
    if result.code != 0:
        assert not os.path.lexists(out), result.err
    else:
        assert (out / ".uts").is_dir()
        again = uts("status", "--project", out)
        assert again.code in DOCUMENTED and "Traceback (most recent call last)" not in again.err, (
            again.err
        )
