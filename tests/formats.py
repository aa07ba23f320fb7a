"""Read generated files back with each format's own parser (for the escaping tests)."""

from __future__ import annotations

import ast
import configparser
import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import hcl2
import yaml
from dotenv import dotenv_values
from dotenv.parser import parse_stream
from markdown_it import MarkdownIt

_HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint"
)


def kind(path: str) -> str | None:
    """The format of generated file *path*, when it has a parser here."""
    name = path.rsplit("/", 1)[-1]
    if name == ".env" or name.endswith((".env", ".env.example")):
        return "dotenv"
    suffixes = {
        ".toml": "toml",
        ".py": "python",
        ".yaml": "yaml",
        ".yml": "yaml",
        ".json": "json",
        ".tf": "hcl",
        ".tfvars": "hcl",
        ".tfvars.example": "hcl",
        ".ini": "ini",
        ".sh": "shell",
        ".md": "markdown",
    }
    for suffix, found in suffixes.items():
        if name.endswith(suffix):
            return found
    if name == ".coveragerc":
        return "ini"
    if name == "Dockerfile":
        return "dockerfile"
    return None


def read_dotenv(text: str) -> dict[str, str | None]:
    """A .env file as pydantic-settings reads it (python-dotenv, with interpolation)."""
    broken = [
        binding.original.string for binding in parse_stream(io.StringIO(text)) if binding.error
    ]
    assert not broken, f"python-dotenv cannot parse: {broken}"
    return dotenv_values(stream=io.StringIO(text), interpolate=True)


def read_ini(text: str) -> configparser.ConfigParser:
    """An INI file as alembic reads it (``here`` defined; logging formats read raw)."""
    parser = configparser.ConfigParser(defaults={"here": "."})
    parser.read_string(text)
    for section in parser.sections():
        for option in parser.options(section):
            parser.get(section, option, raw=section.startswith("formatter_"))
    return parser


_HCL_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(["\\nrt]))|\$\$\{|%%\{')


def hcl_string(literal: str) -> str:
    """The value of an HCL quoted string as python-hcl2 returns it (quotes and escapes kept)."""
    assert literal.startswith('"') and literal.endswith('"'), literal
    body = literal[1:-1]
    assert not re.search(r"(?<!\$)\$\{|(?<!%)%\{", body.replace("$${", "").replace("%%{", "")), (
        f"unescaped template sequence in {literal}"
    )

    def decode(match: re.Match[str]) -> str:
        if match.group(1) or match.group(2):
            return chr(int(match.group(1) or match.group(2), 16))
        if match.group(3):
            return {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}[match.group(3)]
        return match.group()[1:]  # $${ and %%{ stand for ${ and %{

    return _HCL_ESCAPE.sub(decode, body)


def markdown_tokens(text: str) -> list[Any]:
    """The block tokens of a Markdown file (CommonMark plus GitHub's tables)."""
    return MarkdownIt("commonmark").enable("table").parse(text)


def inline_text(token: Any) -> str:
    """What an inline token shows: its text and code spans, line breaks as spaces."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def retyped(text: str, value: str) -> list[str]:
    """Where YAML *text* holds *value* unquoted but reads it as something else than a string."""
    found: list[str] = []
    nodes: list[Any] = [node for node in yaml.compose_all(text) if node is not None]
    while nodes:
        node = nodes.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.value == value and node.tag != "tag:yaml.org,2002:str":
                found.append(f"line {node.start_mark.line + 1}: {node.tag}")
        elif isinstance(node, yaml.SequenceNode):
            nodes.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            nodes.extend(item for pair in node.value for item in pair)
    return found


def squeeze(text: str) -> str:
    """*text* with runs of spaces, tabs and newlines made one space, as Markdown shows it."""
    return re.sub(r"[ \t\n]+", " ", text).strip(" ")


def parse(path: str, data: bytes) -> Any:
    """Parse generated file *path* with its format's parser; raise if it does not parse."""
    text = data.decode("utf-8")
    found = kind(path)
    if found == "dotenv":
        return read_dotenv(text)
    if found == "toml":
        return tomllib.loads(text)
    if found == "python":
        return ast.parse(text, path)
    if found == "yaml":
        return list(yaml.safe_load_all(text))
    if found == "json":
        return json.loads(text)
    if found == "hcl":
        return hcl2.loads(text)
    if found == "ini":
        return read_ini(text)
    if found == "markdown":
        return markdown_tokens(text)
    if found == "shell":
        checked = subprocess.run(["bash", "-n"], input=data, capture_output=True, check=False)
        assert checked.returncode == 0, f"{path}: bash -n: {checked.stderr.decode()}"
    elif found == "dockerfile" and _HADOLINT:
        # hadolint parses the whole file first: DL1000 is its "cannot parse" rule.
        checked = subprocess.run(
            [_HADOLINT, "--no-fail", "--format", "json", "-"],
            input=data,
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, f"{path}: hadolint: {checked.stderr.decode()}"
        problems = json.loads(checked.stdout or b"[]")
        assert not [p for p in problems if p["code"] == "DL1000"], f"{path}: {problems}"
    return None
