"""Docs cannot rot: every hook, exit code and README command is checked against the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from uts import errors
from uts.plugin import spec

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name in spec.__all__)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    match = re.search(rf"^### `{hook}\((.*?)\)", docs, re.MULTILINE)
    assert match, f"docs/plugins.md has no section for {hook}"
    documented = re.findall(r"(\w+):", match.group(1))
    assert documented == list(inspect.signature(getattr(spec, hook)).parameters)
    # The types too: the spec's annotations are strings (postponed evaluation).
    signature = str(inspect.signature(getattr(spec, hook))).replace("'", "")
    assert re.search(rf"^### `{hook}{re.escape(signature)}`$", docs, re.MULTILINE), signature


def test_documented_hooks_exist() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert sorted(re.findall(r"^### `(uts_\w+)\(", docs, re.MULTILINE)) == HOOKS


def test_every_template_filter_is_documented() -> None:
    from uts.escape import FILTERS

    docs = (ROOT / "docs" / "plugins.md").read_text()
    documented = re.findall(r"^\| `(\w+)(?:\(.*?\))?` \| ", docs, re.MULTILINE)
    assert sorted(set(documented) & set(FILTERS)) == sorted(FILTERS)


def test_exit_codes_in_readme_match_the_error_classes() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| `?(\w+)`? \|", readme, re.MULTILINE))
    classes = [name for name in errors.__all__ if isinstance(getattr(errors, name), type)]
    assert len(classes) == len(rows)
    for name in classes:
        cls = getattr(errors, name)
        assert rows.get(str(cls.exit_code)) == name, f"README exit-code table is wrong for {name}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)
    test_line = next(line for block in commands for line in block.splitlines() if "pytest" in line)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_line.strip() in ci.splitlines()


def test_the_slot_reference_is_what_the_declarations_generate() -> None:
    from uts.docs import PAGES

    for name, make in PAGES.items():
        committed = (ROOT / "docs" / name).read_text()
        assert committed == make(), f"docs/{name} is out of date: run python -m uts.docs"


def test_the_slot_reference_lists_every_declared_field(tmp_path: Path) -> None:
    from uts.docs import main, slots_page
    from uts.model import Component, Field, Slot

    slot = Slot("jobs", "Jobs.", fields=(Field("every", int, required=False, default=60),))
    page = slots_page([Component(name="queue", version="1", summary="", slots=(slot,))])
    assert "| `every` | `int` | optional, default `60` |" in page
    assert "Consumed by `queue`. Jobs." in page
    # --check writes nothing and fails on a stale page; without it the page is rewritten.
    (tmp_path / "slots.md").write_text("stale\n")
    assert main(["--docs", str(tmp_path), "--check"]) == 1
    assert (tmp_path / "slots.md").read_text() == "stale\n"
    assert main(["--docs", str(tmp_path)]) == 0
    assert main(["--docs", str(tmp_path), "--check"]) == 0


def test_plugins_md_links_the_slot_reference() -> None:
    assert "(slots.md)" in (ROOT / "docs" / "plugins.md").read_text()
