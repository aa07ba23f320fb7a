"""Reversible edits of user modules with LibCST: comments and formatting stay as they are.

Each edit inserts whole statements with no blank or comment lines of their own at a
place found by name (the app's variable, the factory function), never by line number,
so the user's code may move in between; the matching removal takes out exactly those
statements and gives back the bytes the module had before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, cast

from uts.errors import ConflictError, UtsError

if TYPE_CHECKING:
    import libcst as cst

__all__ = ["add_imports", "insert_wiring", "parse_module", "remove_imports", "remove_wiring"]


def parse_module(source: str, path: str) -> cst.Module:
    """*source* (the text of *path*) as a LibCST module; a syntax error names file and line."""
    import libcst

    try:
        return libcst.parse_module(source)
    except libcst.ParserSyntaxError as error:
        line, column, reason = error.raw_line, error.raw_column + 1, "invalid syntax"
        try:  # Python's own message says more ("'(' was never closed") than the parser's
            compile(source, path, "exec", flags=0x400, dont_inherit=True)  # ast.PyCF_ONLY_AST
        except SyntaxError as python:
            line, column = python.lineno or line, python.offset or column
            reason = python.msg
        raise UtsError(
            f"{path}:{line}:{column}: syntax error: {reason}",
            hint="fix the module (python -m py_compile shows the same error), then rerun",
        ) from error


def _statements(code: Sequence[str], module: cst.Module) -> list[cst.BaseStatement]:
    import libcst

    return [libcst.parse_statement(line.strip() + "\n", module.config_for_parsing) for line in code]


def _same(module: cst.Module, node: cst.CSTNode, code: str) -> bool:
    import libcst

    if isinstance(node, libcst.SimpleStatementLine):
        node = node.with_changes(leading_lines=())
    return module.code_for_node(node).strip() == code.strip()


def _find_run(module: cst.Module, body: Sequence[cst.CSTNode], code: Sequence[str]) -> int:
    """Where the statements *code* stand one after the other in *body*, or -1."""
    for start in range(len(body) - len(code) + 1):
        if all(_same(module, body[start + i], line) for i, line in enumerate(code)):
            return start
    return -1


def _assigns(node: cst.CSTNode, variable: str) -> bool:
    import libcst

    if not isinstance(node, libcst.SimpleStatementLine) or len(node.body) != 1:
        return False
    small = node.body[0]
    if isinstance(small, libcst.Assign):
        return any(
            isinstance(t.target, libcst.Name) and t.target.value == variable for t in small.targets
        )
    if isinstance(small, libcst.AnnAssign):
        return isinstance(small.target, libcst.Name) and small.target.value == variable
    return False


def _returned_name(node: cst.CSTNode) -> str | None:
    """``name`` for a ``return name`` line, else None."""
    import libcst

    if isinstance(node, libcst.SimpleStatementLine) and len(node.body) == 1:
        small = node.body[0]
        if isinstance(small, libcst.Return) and isinstance(small.value, libcst.Name):
            return small.value.value
    return None


def _factory(module: cst.Module, function: str, path: str) -> cst.FunctionDef:
    import libcst

    for node in module.body:
        if isinstance(node, libcst.FunctionDef) and node.name.value == function:
            return node
    raise UtsError(
        f"{path}: no function {function}() at module level",
        hint="the app's factory moved or was renamed: run uts adopt again",
    )


def _suite(node: cst.FunctionDef) -> list[cst.BaseStatement]:
    """The statements of a factory's body (an indented block: a one-line body has no
    ``return`` line of its own, and :func:`_factory_return` refuses it)."""
    return cast("list[cst.BaseStatement]", list(node.body.body))


def _factory_return(node: cst.FunctionDef, variable: str, path: str) -> int:
    """The index of the factory's final ``return <variable>``; refuses any other shape."""
    body = _suite(node)
    if body and _returned_name(body[-1]) == variable:
        return len(body) - 1
    raise UtsError(
        f"{path}: {node.name.value}() does not end with 'return {variable}'; uts wires "
        "components in just before that line",
        hint=f"build the app into a name ({variable} = FastAPI(...)) and end the factory with "
        f"'return {variable}', then rerun",
    )


def insert_wiring(
    source: str, path: str, variable: str, function: str | None, code: Sequence[str]
) -> str:
    """*source* with the statements *code* right after ``variable = ...`` at module level,
    or, with *function*, inside that factory just before its ``return variable``.

    Already there (the same statements at that place): *source* comes back unchanged.
    """
    module = parse_module(source, path)
    new = _statements(code, module)
    if function is None:
        body: list[cst.BaseStatement] = list(module.body)
        anchor = next((i for i, node in enumerate(body) if _assigns(node, variable)), None)
        if anchor is None:
            raise UtsError(
                f"{path}: no module-level '{variable} = ...' assignment",
                hint="the app moved or was renamed: run uts adopt again",
            )
        if (
            body[anchor + 1 : anchor + 1 + len(code)]
            and _find_run(module, body[anchor + 1 : anchor + 1 + len(code)], code) == 0
        ):
            return source
        body[anchor + 1 : anchor + 1] = new
        return module.with_changes(body=body).code
    factory = _factory(module, function, path)
    inner = _suite(factory)
    position = _factory_return(factory, variable, path)
    if (
        position >= len(code)
        and _find_run(module, inner[position - len(code) : position], code) == 0
    ):
        return source
    inner[position:position] = new
    changed = factory.with_changes(body=factory.body.with_changes(body=inner))
    return module.deep_replace(factory, changed).code  # type: ignore[union-attr]


def _without_run(
    module: cst.Module,
    body: list[cst.BaseStatement],
    code: Sequence[str],
    path: str,
    where: int | None = None,
) -> list[cst.BaseStatement]:
    """*body* without the run of statements *code*: the one at index *where* when it is
    there (where uts put it), else the first one (the user moved it)."""
    here = where is not None and _find_run(module, body[where : where + len(code)], code) == 0
    start = where if here and where is not None else _find_run(module, body, code)
    if start < 0:
        raise ConflictError(
            f"{path}: the lines uts added are no longer there as written: " + "; ".join(code),
            hint="take them out by hand, or restore them and rerun",
        )
    removed = body[start : start + len(code)]
    rest = body[:start] + body[start + len(code) :]
    # Blank lines or comments the user put above uts's lines stay where they were.
    lead = [line for node in removed for line in getattr(node, "leading_lines", ())]
    if lead and start < len(rest):
        follower = rest[start]
        rest[start] = follower.with_changes(leading_lines=[*lead, *follower.leading_lines])  # type: ignore[attr-defined]
    return rest


def remove_wiring(
    source: str, path: str, variable: str, function: str | None, code: Sequence[str]
) -> str:
    """Undo :func:`insert_wiring`: the module's bytes from before it, the user's edits kept.

    Raises ConflictError when the inserted statements are no longer there as written.
    """
    module = parse_module(source, path)
    if function is None:
        body: list[cst.BaseStatement] = list(module.body)
        anchor = next((i for i, node in enumerate(body) if _assigns(node, variable)), None)
        where = None if anchor is None else anchor + 1
        return module.with_changes(body=_without_run(module, body, code, path, where)).code
    factory = _factory(module, function, path)
    inner = _suite(factory)
    where = len(inner) - 1 - len(code) if _returned_name(inner[-1]) == variable else None
    inner = _without_run(module, inner, code, path, where)
    changed = factory.with_changes(body=factory.body.with_changes(body=inner))
    return module.deep_replace(factory, changed).code  # type: ignore[union-attr]


def _is_import_line(node: cst.CSTNode) -> bool:
    import libcst

    return isinstance(node, libcst.SimpleStatementLine) and all(
        isinstance(small, libcst.Import | libcst.ImportFrom) for small in node.body
    )


def _is_docstring(node: cst.CSTNode) -> bool:
    import libcst

    return (
        isinstance(node, libcst.SimpleStatementLine)
        and len(node.body) == 1
        and isinstance(node.body[0], libcst.Expr)
        and isinstance(node.body[0].value, libcst.SimpleString | libcst.ConcatenatedString)
    )


def _import_position(body: Sequence[cst.BaseStatement]) -> int:
    """Just after the module's leading imports (after its docstring when it has none)."""
    position = 1 if body and _is_docstring(body[0]) else 0
    index = position
    while index < len(body) and _is_import_line(body[index]):
        index += 1
        position = index
    return position


def add_imports(
    source: str, path: str, imports: Sequence[str], first_party: Collection[str] | None = None
) -> str:
    """*source* with the import lines *imports* after its own leading imports.

    With *first_party* (the project's own top-level names), each line goes where
    isort (ruff's ``I001`` with its default settings) wants it: in the first-party
    section, in order, a new section of its own when there is none yet. Lines already
    there at top level are not added twice.
    """
    module = parse_module(source, path)
    body: list[cst.BaseStatement] = list(module.body)
    missing = [line for line in imports if _find_run(module, body, [line]) < 0]
    if not missing:
        return source
    if first_party is None:
        position = _import_position(body)
        body[position:position] = _statements(missing, module)
        return module.with_changes(body=body).code
    for statement in _statements(missing, module):
        body = _insert_sorted(body, statement, set(first_party))  # type: ignore[arg-type]
    return module.with_changes(body=body).code


_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)


def _import_key(node: cst.SimpleStatementLine, first_party: set[str]) -> tuple[int, int, str, str]:
    """isort's order of an import line: its section, ``import`` before ``from``, the module,
    the first name it imports (ruff gives each ``as`` name a line of its own)."""
    import sys

    import libcst

    small = node.body[0]
    names = small.names if isinstance(small, libcst.Import | libcst.ImportFrom) else ()
    first = _name(names[0].name).lower() if isinstance(names, Sequence) and names else ""
    if isinstance(small, libcst.ImportFrom):
        if small.relative:
            return (_LOCAL, 1, "." * len(small.relative) + _name(small.module), first)
        name, kind = _name(small.module), 1
    else:
        name, kind = _name(cast("cst.Import", small).names[0].name), 0  # import lines only
    top = name.split(".")[0]
    if name == "__future__":
        section = _FUTURE
    elif top in first_party:
        section = _FIRST_PARTY
    elif top in sys.stdlib_module_names:
        section = _STDLIB
    else:
        section = _THIRD_PARTY
    return (section, kind, name.lower(), first)


def _name(node: cst.BaseExpression | None) -> str:
    import libcst

    if isinstance(node, libcst.Name):
        return node.value
    if isinstance(node, libcst.Attribute):
        return f"{_name(node.value)}.{node.attr.value}"
    return ""


def _insert_sorted(
    body: list[cst.BaseStatement], statement: cst.SimpleStatementLine, first_party: set[str]
) -> list[cst.BaseStatement]:
    import libcst

    start = 1 if body and _is_docstring(body[0]) else 0
    end = start
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    key = _import_key(statement, first_party)
    keys = [_import_key(body[i], first_party) for i in range(start, end)]  # type: ignore[arg-type]
    later = next((i for i, other in enumerate(keys) if other > key), len(keys))
    index = start + later
    same_before = later > 0 and keys[later - 1][0] == key[0]
    same_after = later < len(keys) and keys[later][0] == key[0]
    if same_before:  # inside its section: no blank line of its own
        new = statement.with_changes(leading_lines=())
    elif same_after:  # first of its section: it takes the section's blank lines
        follower = body[index]
        new = statement.with_changes(leading_lines=follower.leading_lines)  # type: ignore[attr-defined]
        body = [*body[:index], follower.with_changes(leading_lines=()), *body[index + 1 :]]
    else:  # a section of its own, after a blank line unless it opens the module
        blank = [libcst.EmptyLine()] if index > start else []
        new = statement.with_changes(leading_lines=blank)
        if index < len(body) and index < end:
            follower = body[index]
            if not follower.leading_lines:  # type: ignore[attr-defined]
                lines = [libcst.EmptyLine()]
                body = [
                    *body[:index],
                    follower.with_changes(leading_lines=lines),
                    *body[index + 1 :],
                ]
    return [*body[:index], new, *body[index:]]


def remove_imports(source: str, path: str, imports: Sequence[str]) -> str:
    """Undo :func:`add_imports` for the lines it added (the caller records which)."""
    module = parse_module(source, path)
    body: list[cst.BaseStatement] = list(module.body)
    for line in imports:
        body = _without_run(module, body, [line], path)
    return module.with_changes(body=body).code
