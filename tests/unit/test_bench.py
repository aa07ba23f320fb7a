"""The benchmark harness (bench/): the synthetic template renders identically, and a tiny run works.

No timing assertions. copier and cookiecutter are checked only where installed (the ``bench``
extra); uts's rendering is always checked against the tree the harness computes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import envs, run, scenarios, synth
from bench.timing import BenchError


def test_expected_tree_has_the_documented_shape(tmp_path: Path) -> None:
    tree = synth.expected_tree(45)
    directories = {path.partition("/")[0] for path in tree}
    assert len(tree) == 45
    assert directories == {f"{synth.PACKAGE}_d{n:02d}" for n in range(20)}
    assert all(1800 < len(data) < 2300 for data in tree.values())
    copier = synth.write_copier(tmp_path, 45) / "template"
    templates = list(copier.rglob("*.jinja"))
    assert len(templates) == 45
    assert all(path.read_text().count("{{") == synth.SUBSTITUTIONS for path in templates)
    assert all("{{ package }}_d" in path.parent.name for path in templates)


def test_compare_reports_missing_extra_and_changed_files() -> None:
    expected = {"a.txt": b"one\ntwo\n", "b.txt": b"x"}
    problems = synth.compare(expected, {"a.txt": b"one\nTWO\n", "c.txt": b""})
    assert problems[0] == "missing b.txt"
    assert problems[1] == "unexpected c.txt"
    assert "line 2" in problems[2]
    assert synth.compare(expected, dict(expected)) == []


def test_a_tiny_run_checks_the_trees_and_prints_one_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = envs.find_tools()
    assert tools.uts is not None, "the uts console script must be installed next to Python"
    argv = [
        "--sizes",
        "25",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--only",
        "render",
        "--workdir",
        str(tmp_path),
        "--write",
        str(tmp_path / "latest.md"),
    ]
    # Before timing, main() renders the 25-file template (20 directories) with every installed
    # tool and fails on any byte difference from the tree the harness computes.
    assert run.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("| scenario | command |") == 1
    assert "| render 25 files | uts new | 1 |" in out
    assert "| render 25 files | floor: python + copytree | 1 |" in out
    for label, tool in (("copier copy", tools.copier), ("cookiecutter", tools.cookiecutter)):
        assert (f"| render 25 files | {label} | 0 | not installed |" in out) == (tool is None)
    assert "CPU:" in out
    assert (tmp_path / "latest.md").read_text() == out


def test_a_render_mismatch_fails_before_timing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = synth.expected_tree
    monkeypatch.setattr(synth, "expected_tree", lambda size: {**real(size), "extra.txt": b""})
    ctx = scenarios.Context(tmp_path, envs.find_tools(), tmp_path / "log.txt")
    with pytest.raises(BenchError, match=r"missing extra\.txt"):
        scenarios.render_group(ctx, 1)


def test_the_update_scenario_checks_each_tools_result(tmp_path: Path) -> None:
    from bench import update
    from bench.timing import run_once

    tools = envs.find_tools()
    found = {"uts": tools.uts, "copier": tools.copier, "cruft": tools.cruft}
    setup = update.setup(tmp_path, 40, 4, found)
    assert "uts update" in setup.commands
    for label in setup.commands:
        command, project = setup.command(label, tmp_path)
        run_once(command, tmp_path / "log")
        update.check_updated(project, 40, 4, label)  # 4 files grown, 4 edits kept
    stale = tmp_path / "stale"
    shutil.copytree(setup.commands["uts update"][2], stale)  # still at release 1.0.0
    with pytest.raises(BenchError, match="did not update"):
        update.check_updated(stale, 40, 4, "uts update")
