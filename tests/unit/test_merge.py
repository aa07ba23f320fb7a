"""The three-way merge: fragments next to each other never conflict, the same lines do."""

from __future__ import annotations

import pytest
import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st

from uts.merge import Conflict, merge3_bytes, merge_lines
from uts.testing import Kit


def merge(base: str, yours: str, theirs: str, path: str = "app.py") -> tuple[str, list[Conflict]]:
    result = merge3_bytes(base.encode(), yours.encode(), theirs.encode(), path)
    assert result.conflicts == len(result.hunks)
    return result.content.decode(), list(result.hunks)


WIRING = "app = FastAPI()\nlogger.setup_logging(app)\napp.include_router(api)\n"


def test_insertions_at_the_same_place_keep_both_the_users_first() -> None:
    yours = WIRING.replace("(app)\n", "(app)\napp.add_middleware(GZip)\n")
    theirs = WIRING.replace("(app)\n", "(app)\nmetrics.install(app)\ntracing.setup(app)\n")
    merged, conflicts = merge(WIRING, yours, theirs)
    assert conflicts == []
    assert merged == (
        "app = FastAPI()\nlogger.setup_logging(app)\napp.add_middleware(GZip)\n"
        "metrics.install(app)\ntracing.setup(app)\napp.include_router(api)\n"
    )


def test_the_same_insertion_on_both_sides_is_kept_once() -> None:
    both = WIRING + "app.include_router(metrics.router)\n"
    assert merge(WIRING, both, both) == (both, [])
    yours = WIRING.replace("(app)\n", "(app)\nmetrics.install(app)\n")
    assert merge(WIRING, yours, yours) == (yours, [])


def test_uts_removing_lines_next_to_the_users_keeps_the_users() -> None:
    base = WIRING.replace("(app)\n", "(app)\nmetrics.install(app)\n")
    yours = base.replace("(app)\nmetrics", "(app)\nbefore(app)\nmetrics").replace(
        "metrics.install(app)\n", "metrics.install(app)\nafter(app)\n"
    )
    merged, conflicts = merge(base, yours, WIRING)
    assert conflicts == []
    assert merged == WIRING.replace("(app)\n", "(app)\nbefore(app)\nafter(app)\n")


def test_blocks_separated_by_blank_lines_are_placed_where_they_do_not_overlap() -> None:
    # A diff may see the user's block as inserted after the blank line that opens
    # uts's block, that is inside what uts deletes: the merge moves it up one line.
    base = "A = 1\n\n# uts's block\nB = 2\n"
    yours = "A = 1\n\n# ours\nMINE = 3\n\n# uts's block\nB = 2\n"
    merged, conflicts = merge(base, yours, "A = 1\n")
    assert conflicts == []
    assert merged == "A = 1\n\n# ours\nMINE = 3\n"


def test_the_same_lines_changed_on_both_sides_conflict_with_markers() -> None:
    base = "a\nb\nc\nd\n"
    merged, conflicts = merge(base, "a\nb\nc\nOURS\n", "a\nb\nc\nUTS\n")
    assert conflicts == [Conflict(4, ("OURS\n",), ("UTS\n",))]
    assert merged == "a\nb\nc\n<<<<<<< yours\nOURS\n=======\nUTS\n>>>>>>> uts\n"


def test_conflict_lines_are_counted_in_the_users_file() -> None:
    base = "a\nb\nc\nd\n"
    yours = "new 1\nnew 2\na\nb\nc\nOURS\n"
    merged, conflicts = merge(base, yours, "a\nb\nc\nUTS\n")
    assert [c.line for c in conflicts] == [6]
    assert merged.startswith("new 1\nnew 2\na\n")


def test_lines_inserted_among_lines_uts_removes_stay() -> None:
    base = WIRING.replace("(app)\n", "(app)\nmetrics.install(app)\ntracing.setup(app)\n")
    yours = base.replace("(app)\ntracing", "(app)\napp.add_middleware(GZip)\ntracing")
    merged, conflicts = merge(base, yours, WIRING)
    assert conflicts == []
    assert merged == WIRING.replace("(app)\n", "(app)\napp.add_middleware(GZip)\n")


def test_a_line_inserted_inside_lines_uts_rewrites_conflicts() -> None:
    base = "keep\none\ntwo\nthree\n"
    yours = "keep\none\nmine\ntwo\nthree\n"
    merged, conflicts = merge(base, yours, "keep\nONE\nTWO\n")
    assert conflicts == [Conflict(2, ("one\n", "mine\n", "two\n", "three\n"), ("ONE\n", "TWO\n"))]
    assert "mine\n" in merged


def test_changes_that_only_touch_do_not_conflict() -> None:
    base = "a\nb\nc\n"
    merged, conflicts = merge(base, "A\nb\nc\n", "a\nB\nc\n")
    assert (merged, conflicts) == ("A\nB\nc\n", [])


def test_lines_the_user_reordered_survive_an_addition() -> None:
    base = "one\ntwo\nthree\n"
    merged, conflicts = merge(base, "three\none\ntwo\n", base + "four\n")
    assert (merged, conflicts) == ("three\none\ntwo\nfour\n", [])


SETUP = (
    "handlers.register(app)\nlogger.setup_logging(app)\napp.include_router(api.router)\n"
    "# The probes.\napp.include_router(health.router)\n"
)
MONITORED = SETUP.replace(
    "logger.setup_logging(app)\n",
    "logger.setup_logging(app)\nmetrics.install(app)\ntracing.setup(app)\n",
).replace("(api.router)\n", "(api.router)\napp.include_router(metrics.router)\n")


@pytest.mark.parametrize(
    "yours",
    [
        SETUP.replace(
            "handlers.register(app)\nlogger.setup_logging(app)\n",
            "logger.setup_logging(app)\nhandlers.register(app)\n",
        ),
        "# The probes.\napp.include_router(health.router)\n" + SETUP.split("# The")[0],
        SETUP.replace("app.include_router(api.router)\n", "") + "app.include_router(api.router)\n",
    ],
    ids=["setup-swapped", "probes-first", "routers-swapped"],
)
def test_wiring_the_user_reordered_takes_a_component_in_and_out(yours: str) -> None:
    merged, conflicts = merge(SETUP, yours, MONITORED)
    assert conflicts == []
    assert "metrics.install(app)\ntracing.setup(app)\n" in merged
    assert merge(MONITORED, merged, SETUP) == (yours, [])


def test_binary_files_both_changed_keep_the_users_bytes() -> None:
    result = merge3_bytes(b"\xff\x00", b"\xff\x01", b"\xff\x02", "logo.png")
    assert result.content == b"\xff\x01" and result.hunks == (Conflict(0, (), ()),)


# Lines common enough to confuse a diff (blank ones above all).
LINES = st.lists(st.sampled_from(["a\n", "b\n", "\n", "x = 1\n"]), max_size=10)


@st.composite
def with_blocks(draw: st.DrawFn, base: list[str], who: str) -> list[str]:
    """*base* with up to two blocks inserted: a line naming *who*, then common lines."""
    lines = list(base)
    for number in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(lines)))
        lines[at:at] = [f"{who} {number}\n", *draw(LINES.filter(bool).map(lambda b: b[:3]))]
    return lines


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_blocks_inserted_by_both_sides_merge_and_unmerge_exactly(data: st.DataObject) -> None:
    """Adding a component's blocks around the user's never conflicts, and removing them
    gives the user's file back byte for byte, however the lines repeat."""
    base = data.draw(LINES)
    theirs = data.draw(with_blocks(base, "uts"))
    yours = data.draw(with_blocks(base, "user"))
    merged, conflicts = merge_lines(base, yours, theirs)
    assert conflicts == []
    assert {line for line in theirs if line.startswith("uts ")} <= set(merged)
    assert merge_lines(theirs, merged, base) == (yours, [])


ENV = (
    "# Settings of demo.\n# Copy to .env.\n\n# Where it runs.\nENVIRONMENT=development\n"
    "\n# Log level.\nLOG_LEVEL=INFO\n"
)
TRACING = "\n# Export traces.\nTRACING_ENABLED=false\n"


def test_env_entries_appended_by_both_sides_never_conflict() -> None:
    yours = ENV + "\n# Our gateway.\nPAYMENT_URL=https://pay.example\n"
    merged, conflicts = merge(ENV, yours, ENV + TRACING, ".env.example")
    assert conflicts == []
    assert merged == ENV + TRACING + "\n# Our gateway.\nPAYMENT_URL=https://pay.example\n"
    # and removing it again gives the user's file back, byte for byte
    assert merge(ENV + TRACING, merged, ENV, ".env.example") == (yours, [])


def test_env_entries_the_user_moved_are_removed_and_changed_where_they_are() -> None:
    base = ENV + TRACING
    moved = (
        "# Settings of demo.\n# Copy to .env.\n\n# Export traces.\nTRACING_ENABLED=false\n"
        "\n# Where it runs.\nENVIRONMENT=development\n\n# Log level.\nLOG_LEVEL=INFO\n"
    )
    merged, conflicts = merge(base, moved, ENV, ".env.example")
    assert (merged, conflicts) == (
        "# Settings of demo.\n# Copy to .env.\n\n# Where it runs.\nENVIRONMENT=development\n"
        "\n# Log level.\nLOG_LEVEL=INFO\n",
        [],
    )
    changed = base.replace("TRACING_ENABLED=false", "TRACING_ENABLED=true")
    merged, conflicts = merge(base, moved, changed, ".env.example")
    assert conflicts == []
    assert merged == moved.replace("TRACING_ENABLED=false", "TRACING_ENABLED=true")


def test_an_env_entry_both_sides_changed_conflicts() -> None:
    base = ENV + TRACING
    yours = base.replace("TRACING_ENABLED=false", "TRACING_ENABLED=yes")
    theirs = base.replace("TRACING_ENABLED=false", "TRACING_ENABLED=true")
    merged, conflicts = merge(base, yours, theirs, ".env.example")
    assert conflicts == [Conflict(11, ("TRACING_ENABLED=yes\n",), ("TRACING_ENABLED=true\n",))]
    assert "TRACING_ENABLED=yes\n" in merged


def test_ignore_patterns_merge_by_pattern() -> None:
    base = "# Python\n__pycache__/\n*.py[cod]\n"
    yours = "# Python\n*.py[cod]\n__pycache__/\n\n# Editors\n.idea/\n"
    theirs = base + "\n# Celery beat's schedule state\ncelerybeat-schedule*\n"
    merged, conflicts = merge(base, yours, theirs, ".gitignore")
    assert conflicts == []
    assert merged == (
        "# Python\n*.py[cod]\n\n# Celery beat's schedule state\ncelerybeat-schedule*\n"
        "__pycache__/\n\n# Editors\n.idea/\n"
    )
    assert merge(theirs, merged, base, ".gitignore") == (yours, [])


def test_no_file_a_user_edits_carries_the_uts_version(
    monkeypatch: pytest.MonkeyPatch, uts_kit: Kit
) -> None:
    """A string that changes with every uts release would conflict with every edit."""
    monkeypatch.setattr("uts.engine.__version__", "9.87.654")
    project = uts_kit.compose("full")
    assert project.composition is not None
    assert project.composition.context.uts_version == "9.87.654"
    carrying = []
    for path, content in project.files.items():
        if path.startswith(".uts/"):
            continue  # uts's own state
        text = content.decode("utf-8", "replace")
        if path == "pyproject.toml":
            document = tomlkit.parse(text)
            document["tool"].pop("uts", None)  # type: ignore[union-attr]
            text = tomlkit.dumps(document)
        if "9.87.654" in text:
            carrying.append(path)
    assert carrying == []


IMPORTS = '"""App."""\n\nfrom demo import __version__, health\n\napp = make()\n'


def test_names_both_sides_add_to_one_import_are_merged_by_name() -> None:
    # isort folds the user's "from demo import reports" into uts's line.
    yours = IMPORTS.replace("health\n", "health, reports\n")
    theirs = IMPORTS.replace("health\n", "health, metrics, tracing\n")
    merged, conflicts = merge(IMPORTS, yours, theirs, "demo/main.py")
    assert conflicts == []
    assert merged == IMPORTS.replace("health\n", "health, metrics, reports, tracing\n")
    assert merge(theirs, merged, IMPORTS, "demo/main.py") == (yours, [])


def test_a_merged_import_too_long_for_a_line_is_wrapped_as_ruff_formats_it() -> None:
    yours = IMPORTS.replace("health\n", "health, reports_of_the_accounting_team\n")
    theirs = IMPORTS.replace("health\n", "health, metrics, tracing, workers\n")
    merged, conflicts = merge(IMPORTS, yours, theirs, "demo/main.py")
    assert conflicts == []
    assert "from demo import (\n    __version__,\n    health,\n    metrics,\n" in merged
    assert "    reports_of_the_accounting_team,\n    tracing,\n    workers,\n)\n" in merged


def test_an_import_line_with_anything_else_on_it_still_conflicts() -> None:
    yours = IMPORTS.replace("health\n", "health  # ours\n")
    theirs = IMPORTS.replace("health\n", "health, metrics\n")
    assert len(merge(IMPORTS, yours, theirs, "demo/main.py")[1]) == 1
    other = IMPORTS.replace("health\n", "health, reports\n")
    assert len(merge(IMPORTS, other, theirs, "notes.md")[1]) == 1  # only Python is read so
