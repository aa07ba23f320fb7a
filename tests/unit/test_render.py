"""Rendering: strict variables, templated paths, binary and executable files, LF endings."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import jinja2
import pytest

from tests.conftest import write_templates
from uts.errors import RenderError
from uts.render import check_relative, render_templates

VARS = {"package": "my_shop", "project_name": "my-shop", "options": {"n": 2}}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR{{ not a template }}\xff\xfe"


def test_templated_paths_and_jinja_suffix(tmp_path: Path) -> None:
    root = write_templates(
        tmp_path,
        {
            "{{ package }}/main.py.jinja": "NAME = {{ project_name | tojson }}\n",
            "{{ package }}/static/raw.txt": "{{ kept verbatim }}\n",
            "README.md.jinja": "# {{ project_name }}\n",
        },
    )
    files = render_templates(root, "demo", VARS)
    assert sorted(files) == ["README.md", "my_shop/main.py", "my_shop/static/raw.txt"]
    assert files["my_shop/main.py"].content == b'NAME = "my-shop"\n'
    assert files["my_shop/static/raw.txt"].content == b"{{ kept verbatim }}\n"
    assert all(f.owner == "demo" for f in files.values())


def test_binary_files_are_copied_verbatim(tmp_path: Path) -> None:
    root = write_templates(tmp_path, {"assets/logo.png": PNG})
    assert render_templates(root, "demo", VARS)["assets/logo.png"].content == PNG


def test_executable_bit_is_kept(tmp_path: Path) -> None:
    root = write_templates(
        tmp_path, {"scripts/run.sh.jinja": "#!/bin/sh\necho {{ package }}\n", "plain.txt": "x"}
    )
    os.chmod(root / "scripts/run.sh.jinja", 0o755)
    files = render_templates(root, "demo", VARS)
    assert files["scripts/run.sh"].executable is True
    assert files["plain.txt"].executable is False


def test_crlf_templates_render_with_lf(tmp_path: Path) -> None:
    root = write_templates(tmp_path, {"a.txt.jinja": "one\r\n{{ package }}\r\n"})
    assert render_templates(root, "demo", VARS)["a.txt"].content == b"one\nmy_shop\n"


def test_undefined_variable_names_template_and_variable(tmp_path: Path) -> None:
    root = write_templates(tmp_path, {"sub/x.py.jinja": "a = {{ missing_thing }}\n"})
    with pytest.raises(RenderError) as info:
        render_templates(root, "demo", VARS)
    assert "component 'demo', template sub/x.py.jinja" in info.value.message
    assert "missing_thing" in info.value.message


def test_undefined_variable_in_path(tmp_path: Path) -> None:
    root = write_templates(tmp_path, {"{{ nope }}/x.txt": "x"})
    with pytest.raises(RenderError, match="nope"):
        render_templates(root, "demo", VARS)


def test_syntax_error_names_line(tmp_path: Path) -> None:
    root = write_templates(tmp_path, {"x.jinja": "ok\n{% if %}\n"})
    with pytest.raises(RenderError, match=r"template x.jinja, line 2"):
        render_templates(root, "demo", VARS)


@pytest.mark.parametrize("bad", ["..", "/etc", "a/../../b"])
def test_paths_leaving_the_project_are_refused(tmp_path: Path, bad: str) -> None:
    root = write_templates(tmp_path, {"{{ where }}/x.txt": "x"})
    with pytest.raises(RenderError, match=r"leaves the project|is absolute"):
        render_templates(root, "demo", {**VARS, "where": bad})


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    root = write_templates(
        tmp_path,
        {
            f"d{i}/f{j}.txt.jinja": "{{ package }} " + f"{i} {j}\n"
            for i in range(5)
            for j in range(5)
        },
    )
    first = render_templates(root, "demo", VARS)
    second = render_templates(root, "demo", VARS)
    assert list(first) == list(second) == sorted(first)
    assert first == second


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although the cache holds this template")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)


def test_compiled_templates_are_cached_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = write_templates(
        tmp_path / "t", {"{{ package }}/a.py.jinja": "A = {{ options.n }}\n", "b.txt": "b\n"}
    )
    first = render_templates(root, "demo", VARS)
    assert len(list((tmp_path / "cache" / "uts" / "templates").iterdir())) == 1
    with monkeypatch.context() as patched:
        _no_compiling(patched)
        again = render_templates(root, "demo", {**VARS, "package": "other", "options": {"n": 3}})
    assert first["my_shop/a.py"].content == b"A = 2\n"
    assert again["other/a.py"].content == b"A = 3\n"


def test_an_edited_template_is_recompiled_even_at_the_same_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = write_templates(tmp_path / "t", {"a.txt.jinja": "x={{ package }}\n"})
    assert render_templates(root, "demo", VARS)["a.txt"].content == b"x=my_shop\n"
    template = root / "a.txt.jinja"
    before = template.stat().st_mtime_ns
    template.write_text("y={{ package }}\n")
    os.utime(template, ns=(before + 1, before + 1))  # same size, mtime 1 ns later
    assert render_templates(root, "demo", VARS)["a.txt"].content == b"y=my_shop\n"


def test_a_damaged_or_unwritable_cache_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    root = write_templates(tmp_path / "t", {"a.txt.jinja": "{{ package }}\n"})
    render_templates(root, "demo", VARS)
    (stored,) = (cache / "uts" / "templates").iterdir()
    stored.write_bytes(b"\x00garbage")
    assert render_templates(root, "demo", VARS)["a.txt"].content == b"my_shop\n"
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert render_templates(root, "demo", VARS)["a.txt"].content == b"my_shop\n"
    monkeypatch.setenv("UTS_NO_CACHE", "1")
    assert render_templates(root, "demo", VARS)["a.txt"].content == b"my_shop\n"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a/b.txt", "a/b.txt"), ("a//b/./c", "a/b/c"), ("./a/", "a"), ("a\\b", "a/b")],
)
def test_output_paths_are_normalised(path: str, expected: str) -> None:
    assert check_relative(path, "here") == expected == PurePosixPath(expected).as_posix()


@pytest.mark.parametrize("path", ["", ".", "/abs", "\\abs", "C:/x", "a/../b", "..", "./"])
def test_output_paths_outside_or_empty_are_refused(path: str) -> None:
    with pytest.raises(RenderError, match="here: output path"):
        check_relative(path, "here")


def test_includes_and_imports_between_templates_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = write_templates(
        tmp_path / "t",
        {
            "main.txt.jinja": '{% import "macros.jinja" as m %}{% include "part.jinja" %}'
            "{{ m.shout(package) }}\n",
            "part.jinja": "part of {{ project_name }};",
            "macros.jinja": "{% macro shout(x) %}{{ x | upper }}!{% endmacro %}",
        },
    )
    for _ in range(2):  # compiled, then from the cache
        assert render_templates(root, "demo", VARS)["main.txt"].content == (
            b"part of my-shop;MY_SHOP!\n"
        )
