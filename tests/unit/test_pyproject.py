"""pyproject.toml edits keep the user's formatting byte for byte; only uts's lines change."""

from __future__ import annotations

import difflib

import pytest
import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st

from uts.pyproject import set_dependencies, strip_tool_uts, update_pyproject


def rendering(deps: list[str], dev: list[str]) -> str:
    """What uts would render: the pristine base of later merges."""
    doc = tomlkit.parse('[project]\nname = "demo"\n')
    doc["project"]["dependencies"] = deps
    doc["project"]["optional-dependencies"] = {"dev": dev}
    return tomlkit.dumps(doc)


OLD = rendering(["fastapi>=0.1", "sqlmodel>=0.0.2"], ["pytest>=8"])
NEW = rendering(
    ["fastapi>=0.1", "prometheus-client>=0.21", "sqlmodel>=0.0.2"], ["pytest>=8", "types-x>=1"]
)

STATE_BLOCK = '\n[tool.pytest.ini_options]\naddopts = "-q"\n'
FORMAT_1 = '\n[tool.uts]\nversion = "0.1.0"\nrecipe = "mvp"\n\n[tool.uts.components.project]\nversion = "0.1.0"\n'

STYLES = {
    "inline arrays, single quotes": (
        "[project]\nname='demo'\ndependencies = ['fastapi>=0.1', 'sqlmodel>=0.0.2']\n"
        "[project.optional-dependencies]\ndev = ['pytest>=8']\n" + STATE_BLOCK
    ),
    "comments everywhere, odd spacing": (
        '# header comment\n\n[project]   # the project\nname    =   "demo"  # name\n'
        'dependencies = [  # deps\n  "fastapi>=0.1" ,  # web\n\n  # a comment line\n'
        '  "sqlmodel>=0.0.2",\n]\n\n[project.optional-dependencies]\n'
        'dev = [\n\t"pytest>=8",   # tests\n]\n' + STATE_BLOCK
    ),
    "tool tables first, user deps added": (
        '[tool.ruff]\nline-length = 120\n\n[tool.black]\nskip = true\n\n[project]\nname = "demo"\n'
        'dependencies = [\n    "orjson",\n    "fastapi>=0.1",\n    "sqlmodel>=0.0.2",\n    "attrs",\n]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8", "ipython"]\nperf = ["pyinstrument"]\n'
        + STATE_BLOCK
    ),
    "no trailing newline in arrays, literal strings": (
        "[project]\nname = 'demo'\ndependencies = [\n    'fastapi>=0.1',\n    'sqlmodel>=0.0.2'\n]\n"
        "\n[project.optional-dependencies]\ndev = [  'pytest>=8'  ]\n" + STATE_BLOCK
    ),
}


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_add_touches_only_uts_lines_and_remove_restores_bytes(style: str) -> None:
    current = STYLES[style]
    added = update_pyproject(current, OLD, NEW)
    doc = tomlkit.parse(added)
    assert "prometheus-client>=0.21" in [str(r) for r in doc["project"]["dependencies"]]
    assert "types-x>=1" in [str(r) for r in doc["project"]["optional-dependencies"]["dev"]]
    removed_lines = [line for line in changed_lines(current, added) if line.startswith("-")]
    # Inline arrays are one line: that line changes; nothing else the user wrote does.
    for line in removed_lines:
        assert "fastapi" in line or "pytest" in line, line
    assert update_pyproject(added, NEW, OLD) == current


def test_a_requirement_the_user_already_declares_is_left_alone() -> None:
    current = STYLES["inline arrays, single quotes"].replace(
        "'sqlmodel>=0.0.2']", "'sqlmodel>=0.0.2', 'Prometheus_Client==0.20']"
    )
    added = update_pyproject(current, OLD, NEW)
    assert "prometheus-client>=0.21" not in added
    assert "'Prometheus_Client==0.20'" in added


def test_a_requirement_the_user_changed_is_not_removed() -> None:
    added = update_pyproject(STYLES["comments everywhere, odd spacing"], OLD, NEW)
    tuned = added.replace('"prometheus-client>=0.21"', '"prometheus-client>=0.22"')
    back = update_pyproject(tuned, NEW, OLD)
    assert "prometheus-client>=0.22" in back


NAMES = st.sampled_from(["attrs", "orjson", "httpx", "rich", "click", "numpy", "pydantic", "zstd"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Valid pyproject files in assorted hand-written styles around uts's requirements."""
    quote = draw(st.sampled_from(['"', "'", '"""', "'''"]))  # multi-line strings too
    user = draw(st.lists(NAMES, unique=True, max_size=4))
    items = [*user, "fastapi>=0.1", "sqlmodel>=0.0.2"]
    items = draw(st.permutations(items))
    comment = draw(st.sampled_from(["", "  # note", "#x"]))
    space = draw(st.sampled_from(["", " ", "  "]))
    if draw(st.booleans()):
        body = ",".join(f"{space}{quote}{item}{quote}" for item in items)
        deps = f"dependencies = [{body}]{comment}\n"
    else:
        indent = draw(st.sampled_from(["  ", "    ", "\t"]))
        trailing = draw(st.booleans())
        lines = []
        for index, item in enumerate(items):
            comma = "," if trailing or index < len(items) - 1 else ""
            note = comment if comma else ""
            if draw(st.booleans()):
                lines.append(f"{indent}# about {item}\n")
            lines.append(f"{indent}{quote}{item}{quote}{comma}{note}\n")
        deps = "dependencies = [\n" + "".join(lines) + "]\n"
    header = draw(st.sampled_from(["", "# my project\n", "[tool.other]\nx = 1\n\n"]))
    dev = draw(st.sampled_from(['dev = ["pytest>=8"]\n', "dev = [\n  'pytest>=8',\n]\n"]))
    return f'{header}[project]\nname{space}={space}"demo"\n{deps}\n[project.optional-dependencies]\n{dev}{STATE_BLOCK}'


@settings(max_examples=150, deadline=None)
@given(documents())
def test_round_trip_property(current: str) -> None:
    added = update_pyproject(current, OLD, NEW)
    assert update_pyproject(added, NEW, OLD) == current
    after_lines = set(added.splitlines())
    # Every line the user wrote survives, except an inline array uts inserts into, and the
    # last item of a list without a trailing comma, which gains one.
    lost = [
        line
        for line in current.splitlines()
        if line not in after_lines and "[" not in line and not line.rstrip().endswith(("'", '"'))
    ]
    assert lost == []


def test_emptying_an_array_gives_what_uts_renders_and_back() -> None:
    def render(deps: list[str]) -> str:  # as the engine writes it
        doc = tomlkit.parse('[project]\nname = "demo"\n')
        set_dependencies(doc, {None: deps})
        return tomlkit.dumps(doc)

    one, none = render(["fastapi>=0.1"]), render([])
    assert "dependencies = []\n" in none
    assert update_pyproject(one, one, none) == none  # "[]", as a fresh rendering has it
    assert update_pyproject(none, none, one) == one


@pytest.mark.parametrize("style", sorted(STYLES))
def test_format_1_tool_uts_is_taken_out_and_every_other_byte_kept(style: str) -> None:
    current = STYLES[style]
    assert strip_tool_uts(current + FORMAT_1) == current
    assert strip_tool_uts(current) == current
    # A change to a format-1 project drops the table too (uts never writes it again).
    assert update_pyproject(current + FORMAT_1, OLD, NEW) == update_pyproject(current, OLD, NEW)
