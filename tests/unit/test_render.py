"""Rendering: strict variables, templated paths, binary and executable files, LF endings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import write_templates
from uts.errors import RenderError
from uts.render import render_templates

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
