"""The escaping filters: each value comes back exactly through the format's own parser."""

from __future__ import annotations

import ast
import io
import tomllib
from pathlib import Path

import hcl2
import pytest
import yaml
from dotenv import dotenv_values

from tests.conftest import write_templates
from tests.formats import hcl_string, inline_text, markdown_tokens, read_dotenv, squeeze
from uts.errors import RenderError
from uts.escape import (
    EscapeError,
    comment,
    dotenv,
    hcl_str,
    md,
    md_code,
    py_doc,
    py_str,
    toml_str,
    yaml_block,
    yaml_scalar,
    yaml_str,
)
from uts.render import render_templates

NASTY = [
    "",
    "plain-value_1.2:3/x@y",
    'say "hi"',
    "it's",
    "two\nlines",
    "crlf\r\nand\rcr",
    "# not a comment",
    "a #comment",
    "$HOME and $",
    "${X} and %{y}",
    "back\\slash\\",
    "\\n is not a newline",
    "{{ not jinja }}",
    "  spaces around  ",
    "\ttab\t",
    'ends with quote"',
    '"""',
    "'''",
    "`code` *em* _em_ [link](x) <b>&amp; | ~~x~~ $math$",
    "- list",
    "1. ordered",
    "caf\u00e9 \U0001f600 \u00a0nbsp",
    "nul\x00 esc\x1b del\x7f nel\x85 ls\u2028 ps\u2029 bom\ufeff",
]
# What dotenv refuses: python-dotenv expands ${...} in every kind of value.
EXPANDED = [value for value in NASTY if "${" in value]


@pytest.mark.parametrize("value", [v for v in NASTY if v not in EXPANDED])
def test_dotenv_value_reads_back_exactly(value: str) -> None:
    text = f"# before\nFIRST=1\nKEY={dotenv(value)}\nLAST=2\n"
    assert read_dotenv(text) == {"FIRST": "1", "KEY": value, "LAST": "2"}
    # Without interpolation too (how python-dotenv is also commonly called).
    assert dotenv_values(stream=io.StringIO(text), interpolate=False)["KEY"] == value


def test_dotenv_leaves_plain_values_alone_and_refuses_expansion() -> None:
    for plain in ("development", "sqlite:///./my_shop.db", "redis://localhost:6379/0", ""):
        assert dotenv(plain) == plain
    assert dotenv("a b") == "'a b'"
    with pytest.raises(EscapeError, match="expands"):
        dotenv("${HOME}/x")


@pytest.mark.parametrize("value", NASTY)
def test_comment_stays_on_its_line(value: str) -> None:
    assert read_dotenv(f"# {comment(value)}\nKEY=1\n") == {"KEY": "1"}
    assert yaml.safe_load(f"# {comment(value)}\nkey: 1\n") == {"key": 1}
    assert tomllib.loads(f"# {comment(value)}\nkey = 1\n") == {"key": 1}
    assert len(ast.parse(f"# {comment(value)}\nkey = 1\n").body) == 1
    assert "\n" not in comment(value)


@pytest.mark.parametrize("value", NASTY)
def test_toml_str(value: str) -> None:
    assert tomllib.loads(f"key = {toml_str(value)}\n") == {"key": value}


@pytest.mark.parametrize("value", NASTY)
def test_py_str(value: str) -> None:
    assert ast.literal_eval(py_str(value)) == value
    assert py_str("my-shop") == '"my-shop"'


@pytest.mark.parametrize("value", NASTY)
def test_py_doc(value: str) -> None:
    source = f'"""{py_doc(value)}"""\n'
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring == value.replace("\r\n", "\n")


@pytest.mark.parametrize("value", NASTY)
def test_yaml_str(value: str) -> None:
    assert yaml.safe_load(f"key: {yaml_str(value)}\n") == {"key": value}
    assert yaml.safe_load(f"- {yaml_str(value)}\n") == [value]


RETYPED = ["123", "1e5", "0x1f", "0o17", "1_000", "1:20", ".inf", "+1", "yes", "No", "ON", "null"]
RETYPED += ["~", "2001-12-14", "y", "<<", "=", "a:", "-x", "@x", "%x", "!x", "*x", "&x", "?x"]


@pytest.mark.parametrize("value", NASTY + RETYPED)
def test_yaml_scalar_reads_back_as_the_same_string(value: str) -> None:
    assert yaml.safe_load(f"key: {yaml_scalar(value)}\n") == {"key": value}
    assert yaml.safe_load(f"- {yaml_scalar(value)}\n") == [value]
    if value in RETYPED:
        assert yaml_scalar(value).startswith('"')


def test_yaml_scalar_leaves_names_images_and_paths_plain() -> None:
    for plain in ("my-shop", "postgres:17.6-alpine", "ghcr.io/acme/shop:1.0", "/metrics", "x_1"):
        assert yaml_scalar(plain) == plain


def test_yaml_block_round_trips_nested_values() -> None:
    value = {
        "image": "busybox:1",
        "environment": {value: value for value in NASTY if value},
        "command": ["echo", *NASTY],
        "depends_on": [{"name": "x", "condition": "ok"}, {}],
        "true": True,
        "ports": [],
        "retries": 3,
        "none": None,
    }
    assert yaml.safe_load("service:" + yaml_block(value, 2) + "\n") == {"service": value}
    assert yaml_block({"a": {"b": "c"}}, 4) == '\n    a:\n      b: "c"'


@pytest.mark.parametrize("value", NASTY)
def test_hcl_str(value: str) -> None:
    parsed = hcl2.loads(f"x = {hcl_str(value)}\n")
    assert hcl_string(parsed["x"]) == value
    assert hcl_str("europe-west1") == '"europe-west1"'


@pytest.mark.parametrize("value", NASTY)
def test_md_shows_the_text_as_written(value: str) -> None:
    tokens = markdown_tokens(f"# Title\n\n{md(value)}\n\nafter\n")
    shown = [inline_text(token) for token in tokens if token.type == "inline"]
    expected = squeeze(comment(value))
    if expected:
        assert [squeeze(text) for text in shown] == ["Title", expected, "after"]
    else:
        assert shown == ["Title", "after"]


@pytest.mark.parametrize("value", NASTY)
def test_md_code_fits_a_table_cell(value: str) -> None:
    table = f"| a | b | c |\n| --- | --- | --- |\n| x | {md_code(value)} | {md(value)} |\n"
    tokens = markdown_tokens(table)
    cells = [inline_text(token) for token in tokens if token.type == "inline"]
    assert cells[:3] == ["a", "b", "c"]
    flat = comment(value)
    # A code span keeps every character, spaces included; text is trimmed like any cell.
    assert cells[3:] == ["x", flat, squeeze(flat)]


def test_filters_are_registered_and_an_unrepresentable_value_is_a_render_error(
    tmp_path: Path,
) -> None:
    root = write_templates(
        tmp_path,
        {
            "out.toml.jinja": "name = {{ value | toml_str }}\n",
            ".env.example.jinja": "KEY={{ value | dotenv }}\n",
        },
    )
    files = render_templates(root, "demo", {"value": "a\nb"})
    assert tomllib.loads(files["out.toml"].content.decode()) == {"name": "a\nb"}
    assert files[".env.example"].content == b'KEY="a\\nb"\n'
    with pytest.raises(RenderError, match=r"\.env\.example\.jinja.*expands") as raised:
        render_templates(root, "demo", {"value": "${HOME}"})
    assert raised.value.exit_code == 7
    assert "\n" not in str(raised.value)
