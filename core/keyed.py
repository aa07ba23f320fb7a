"""Merge line-keyed files (``.env.example``, ``.gitignore``) by key, not by position.

Such a file is a list of entries: a variable (``NAME=value``) or an ignore pattern,
each with the comment lines just above it and the blank lines that separate it
from the previous one. uts's change between two renderings is read as entries
added, removed or rewritten, and carried into the user's file wherever the user
moved those entries; the user's own entries, comments and order stay as they are.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["keyed_format", "merge_keyed"]

_ENV_NAME = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=")


def keyed_format(path: str) -> str | None:
    """The keyed format of the file at *path* (``env`` or ``ignore``), if it has one."""
    name = path.rpartition("/")[2]
    if name == ".env.example" or name.endswith(".env.example"):
        return "env"
    if name in (".gitignore", ".dockerignore"):
        return "ignore"
    return None


class _Entry(NamedTuple):
    """A keyed line with its comments (*body*) and the blank lines before it (*lead*).

    Lines that belong to no key (a header, trailing comments) are entries with
    ``key=None``.
    """

    key: str | None
    lead: tuple[str, ...]
    body: tuple[str, ...]


def _key(line: str, kind: str) -> str | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if kind == "env":
        match = _ENV_NAME.match(line)
        return match.group(1) if match else None
    return stripped  # an ignore pattern is its own key


def _parse(text: str, kind: str) -> list[_Entry] | None:
    """The entries of *text*, or None when a key repeats (then only a line merge fits)."""
    entries: list[_Entry] = []
    pending: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines(keepends=True):
        key = _key(line, kind)
        if key is None:
            pending.append(line)
            continue
        if key in seen:
            return None
        seen.add(key)
        # Attached to the key: the comments right above it and the blanks above those.
        split = len(pending)
        while split and pending[split - 1].strip().startswith("#"):
            split -= 1
        comments = split
        while split and not pending[split - 1].strip():
            split -= 1
        if split:
            entries.append(_Entry(None, (), tuple(pending[:split])))
        entries.append(_Entry(key, tuple(pending[split:comments]), (*pending[comments:], line)))
        pending = []
    if pending:
        entries.append(_Entry(None, (), tuple(pending)))
    return entries


def merge_keyed(base: str, yours: str, theirs: str, kind: str) -> str | None:
    """Carry uts's change from *base* to *theirs* into *yours*, entry by entry.

    Returns None when the merge is not a matter of keys: a key repeats, uts changed
    lines that belong to no key, or the user changed an entry uts changes too. The
    caller then falls back to a line merge (which reports the conflict, if any).
    """
    old, result, new = (_parse(text, kind) for text in (base, yours, theirs))
    if old is None or result is None or new is None:
        return None
    free = [[entry for entry in entries if entry.key is None] for entries in (old, new)]
    if free[0] != free[1]:
        return None
    before = {entry.key: entry for entry in old if entry.key is not None}
    after = {entry.key: entry for entry in new if entry.key is not None}
    for key in [*after, *(key for key in before if key not in after)]:
        was, will = before.get(key), after.get(key)
        if was is not None and will is not None and was.body == will.body:
            continue
        index = next((i for i, entry in enumerate(result) if entry.key == key), -1)
        mine = result[index] if index >= 0 else None
        if will is None:  # uts dropped it
            if mine is None:
                continue
            if was is None or mine.body != was.body:
                return None
            del result[index]
        elif mine is None:
            if was is not None:  # the user deleted what uts changes
                return None
            result.insert(_place(result, new, key), will)
        elif mine.body != will.body:
            if was is None or mine.body != was.body:
                return None
            result[index] = mine._replace(body=will.body)
    return _join(result)


def _place(result: list[_Entry], new: list[_Entry], key: str) -> int:
    """Where *key* goes in *result*: after the entry that precedes it in *new*."""
    keys = [entry.key for entry in new if entry.key is not None]
    position = keys.index(key)
    present = {entry.key: i for i, entry in enumerate(result) if entry.key is not None}
    for previous in reversed(keys[:position]):
        if previous in present:
            return present[previous] + 1
    for following in keys[position + 1 :]:
        if following in present:
            return present[following]
    return len(result)


def _join(entries: list[_Entry]) -> str:
    lines = [line for entry in entries for line in (*entry.lead, *entry.body)]
    # A last line without a newline that something now follows gets one.
    return "".join(
        line if line.endswith("\n") or i == len(lines) - 1 else line + "\n"
        for i, line in enumerate(lines)
    )
