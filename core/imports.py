"""Resolve a merge conflict on one Python ``from X import a, b`` statement by its names.

Generated wiring imports each component's module from one parent, and isort (ruff)
folds the user's own ``from pkg import mine`` into that same line: both sides then
change one line without touching each other's names. Merged by name, uts's names
come and go and the user's stay, sorted as ruff's isort sorts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["merge_import"]

_FROM = re.compile(r"from[ \t]+([\w.]+)[ \t]+import[ \t]+(.+)", re.DOTALL)
_NAME = re.compile(r"\w+(?:[ \t]+as[ \t]+\w+)?")
LINE_LENGTH = 88  # ruff's default, and what the generated projects use


class _Import:
    def __init__(self, module: str, names: list[str], wrapped: bool) -> None:
        self.module, self.names, self.wrapped = module, names, wrapped


def _parse(lines: Sequence[str]) -> _Import | None:
    """The one ``from`` statement in *lines*, or None if they hold anything else."""
    if not lines or lines[0][:1].isspace():
        return None  # indented: inside a block, where rewriting it is not ours to do
    text = "".join(lines).strip()
    match = _FROM.fullmatch(text)
    if match is None:
        return None
    names = match.group(2).strip()
    wrapped = names.startswith("(")
    if wrapped:
        if not names.endswith(")"):
            return None
        names = names[1:-1]
    elif "\n" in names:
        return None
    parts = [" ".join(part.split()) for part in names.split(",") if part.strip()]
    if not parts or not all(_NAME.fullmatch(part) for part in parts):
        return None  # comments, continuation lines, a star: not ours to rewrite
    return _Import(match.group(1), parts, wrapped)


def _order(name: str) -> tuple[int, str, str]:
    # ruff's isort with order-by-type: CONSTANTS, then Classes, then everything else.
    bare = name.split(" ")[0]
    kind = 0 if len(bare) > 1 and bare.isupper() else 1 if bare[0].isupper() else 2
    return (kind, bare.lower(), name)


def merge_import(
    base: Sequence[str], yours: Sequence[str], theirs: Sequence[str]
) -> list[str] | None:
    """The statement with uts's added and dropped names applied to the user's, or None."""
    old, mine, new = _parse(base), _parse(yours), _parse(theirs)
    if old is None or mine is None or new is None:
        return None
    if not old.module == mine.module == new.module:
        return None
    dropped = set(old.names) - set(new.names)
    names = [name for name in mine.names if name not in dropped]
    names += [name for name in new.names if name not in old.names and name not in names]
    if not names:
        return []
    names.sort(key=_order)
    line = f"from {mine.module} import {', '.join(names)}"
    if not mine.wrapped and len(line) <= LINE_LENGTH:
        return [line + "\n"]
    return [f"from {mine.module} import (\n", *(f"    {name},\n" for name in names), ")\n"]
