"""Embed a value in a generated file so that the file's own parser reads it back exactly.

Each function is a Jinja filter of the same name (``{{ description | toml_str }}``),
registered once by :mod:`uts.render`; plugins may call them from Python too. A value
that needs no quoting comes out as before, so adopting a filter changes no bytes of
the usual output. A value the format cannot hold at all raises :class:`EscapeError`,
which rendering reports as a render error naming the template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "FILTERS",
    "EscapeError",
    "comment",
    "dotenv",
    "hcl_str",
    "md",
    "md_code",
    "py_doc",
    "py_str",
    "toml_str",
    "yaml_block",
    "yaml_scalar",
    "yaml_str",
]


class EscapeError(ValueError):
    """A value that the target format cannot represent (a render error, exit 7).

    Not a Jinja2 exception: plugins import these helpers to build values, and that must
    not import the template engine (``uts check`` and ``uts outdated`` load plugins).
    """


# Characters no format here may hold raw: C0 and C1 controls but tab (and line feed,
# handled by each format), DEL, Unicode line and paragraph separators (line breaks to
# YAML 1.1 and to str.splitlines), lone surrogates, BOM and the two non-characters.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[ \t]*[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+[ \t]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if _SURROGATE.search(text):
        raise EscapeError(f"{text!r} is not valid Unicode text (a lone surrogate)")
    return text


def _u_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _json_quoted(text: str) -> str:
    """A JSON string literal, non-ASCII kept, every control character escaped."""
    return _CONTROL.sub(_u_escape, json.dumps(text, ensure_ascii=False))


def comment(value: Any) -> str:
    """*value* as the text of a one-line comment (``#``, ``//``): line breaks become spaces."""
    text = _LINE_BREAKS.sub(" ", _text(value))
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)


# Left unquoted, a .env value loses surrounding spaces, ends at " #", starts a quoted
# value with a quote, and (python-dotenv, read by pydantic-settings) expands ${NAME}.
_DOTENV_PLAIN = re.compile(r"[^\s'\"\\#$`]*")
_DOTENV_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_DOTENV_ESCAPES |= {"\x07": "\\a", "\x08": "\\b", "\x0b": "\\v", "\x0c": "\\f"}
_DOTENV_DOUBLE = re.compile("[" + re.escape("".join(_DOTENV_ESCAPES)) + "]")


def dotenv(value: Any) -> str:
    """*value* as the right-hand side of a ``NAME=value`` line of a ``.env`` file.

    Read back exactly by python-dotenv (what pydantic-settings uses): unquoted when
    nothing in it is special, else single-quoted (literal, also for Docker Compose),
    else double-quoted with backslash escapes. python-dotenv expands ``${NAME}`` in
    every form and has no escape for it, so such a value is refused.
    """
    text = _text(value)
    if "${" in text:
        raise EscapeError(
            f"{text!r} cannot be written to a .env file: python-dotenv expands '${{' in it"
        )
    if _DOTENV_PLAIN.fullmatch(text) and not _CONTROL.search(text):
        return text
    if "'" not in text and "\\" not in text and not _CONTROL.search(text):
        return f"'{text}'"
    return '"' + _DOTENV_DOUBLE.sub(lambda match: _DOTENV_ESCAPES[match.group()], text) + '"'


def toml_str(value: Any) -> str:
    """*value* as a TOML basic string (tomlkit's escaping)."""
    import tomlkit

    return str(tomlkit.string(_text(value)).as_string())


def py_str(value: Any) -> str:
    """*value* as a double-quoted Python string literal (the style ruff formats to)."""
    return _json_quoted(_text(value))


def py_doc(value: Any) -> str:
    """*value* as the body of a ``\"\"\"docstring\"\"\"`` (line breaks kept).

    Backslashes are doubled and a quote is escaped where it would close the string:
    before another quote, and at the very end.
    """
    text = _text(value).replace("\\", "\\\\").replace("\r\n", "\n")
    text = re.sub(r'"(?="|\Z)', lambda match: '\\"', text)
    return re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]", _u_escape, text)


def yaml_str(value: Any) -> str:
    """*value* as a YAML double-quoted scalar (JSON's escapes, which YAML shares)."""
    return _json_quoted(_text(value))


# Plain (unquoted) YAML reads back as this same string in YAML 1.1 and 1.2 when it starts
# with a letter, "_" or "/" (never a number, date, indicator or ".inf"), holds no space,
# "#" or flow character, does not end with ":" and is none of these words.
_YAML_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@+-]*(?<!:)")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def yaml_scalar(value: Any) -> str:
    """*value* as a YAML scalar: plain when YAML reads it back as this string, else quoted."""
    text = _text(value)
    if _YAML_PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return yaml_str(text)


def _yaml_value(value: Any, plain: bool = False, indent: int = 0) -> str:
    if isinstance(value, str):
        if plain and len(value) > _FOLD_AT and _foldable(value):
            return _folded(value, indent)
        return yaml_scalar(value) if plain else yaml_str(value)
    return json.dumps(value)


_FOLD_AT = 60


def _foldable(text: str) -> bool:
    """Whether a folded block scalar (``>-``) reads back as *text*: words with single
    spaces between them (where it breaks), nothing YAML would strip or escape."""
    return " " in text and text == text.strip() and not _CONTROL.search(text)


def _folded(text: str, indent: int) -> str:
    """*text* as ``>-`` and lines of at most 80 columns where it can, broken at single spaces."""
    pad = " " * indent
    lines: list[str] = []
    line = ""
    for word in re.split(r"(?<! ) (?! )", text):
        if line and len(pad) + len(line) + 1 + len(word) > 80:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return ">-" + "".join(f"\n{pad}{line}" for line in lines)


def yaml_block(
    value: Mapping[Any, Any] | list[Any] | tuple[Any, ...], indent: int = 0, plain: bool = False
) -> str:
    """*value* (mappings, lists, scalars) as block YAML, each line after a newline.

    Every line starts with a newline and *indent* spaces, so ``key:{{ x | yaml_block(2) }}``
    nests it under ``key``; string scalars are double-quoted, or with *plain* left
    unquoted wherever YAML reads them back as the same string (:func:`yaml_scalar`);
    keys are quoted only when they need it.
    """
    lines: list[str] = []
    pad = " " * indent
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, (Mapping, list, tuple)) and item:
                lines.append(f"\n{pad}{yaml_scalar(key)}:{yaml_block(item, indent + 2, plain)}")
            else:
                value_text = _yaml_value(item, plain, indent + 2)
                lines.append(f"\n{pad}{yaml_scalar(key)}: {value_text}")
    else:
        for item in value:
            if isinstance(item, Mapping) and item:
                # The first key goes on the dash's line.
                lines.append(f"\n{pad}- {yaml_block(item, indent + 2, plain)[indent + 3 :]}")
            else:
                lines.append(f"\n{pad}- {_yaml_value(item, plain, indent + 2)}")
    return "".join(lines)


_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl_str(value: Any) -> str:
    """*value* as an HCL (Terraform) quoted string, ``${`` and ``%{`` kept literal."""
    text = _text(value)
    text = re.sub(r'[\\"\n\r\t]', lambda match: _HCL_ESCAPES[match.group()], text)
    text = _CONTROL.sub(_u_escape, text)
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


# CommonMark (and GitHub's tables, strikethrough and math) give these a meaning inline.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~&$#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# At the start of a line: a list item, an ordered list item, a heading underline.
_MD_LINE_START = re.compile(r"^([-+=]|[0-9]+(?=[.)]))")


def md(value: Any) -> str:
    """*value* as Markdown text that shows it as written: one line, specials escaped.

    Markdown drops spaces around a paragraph or a table cell, so they are dropped here.
    """
    text = comment(value).strip()
    text = _MD_SPECIAL.sub(lambda match: "\\" + match.group(), text)
    start = _MD_LINE_START.match(text)
    if start is None:
        return text
    if start.group(1)[0].isdigit():  # escape the "." or ")" after the number
        end = start.end()
        return f"{text[:end]}\\{text[end:]}"
    return "\\" + text


def md_code(value: Any) -> str:
    """*value* as a Markdown code span that also fits in a table cell (``|`` escaped)."""
    text = comment(value).replace("|", "\\|")
    if not text:
        return ""  # an empty code span does not exist: the cell stays empty
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


FILTERS: dict[str, Callable[..., str]] = {
    "comment": comment,
    "dotenv": dotenv,
    "hcl_str": hcl_str,
    "md": md,
    "md_code": md_code,
    "py_doc": py_doc,
    "py_str": py_str,
    "toml_str": toml_str,
    "yaml_block": yaml_block,
    "yaml_scalar": yaml_scalar,
    "yaml_str": yaml_str,
}
"""Every filter, by the name templates use."""
