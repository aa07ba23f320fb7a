"""Three-way merge of a file the user edited with what uts now wants to write.

Generated files are assembled from keyed fragments: a block of lines per component,
per setting, per router. So, unlike a plain line merge (git's, diff3's), changes
that only touch each other are not conflicts here:

- both sides inserting at the same place keep both insertions, the user's first
  (git's ``union`` for pure insertions), once if they are the same lines;
- uts deleting or rewriting lines the user did not touch, while the user inserted
  lines just before or after them, applies uts's change and keeps the user's lines
  (and so does uts deleting lines the user inserted lines between);
- an insertion or deletion that a diff could place in several equivalent spots
  (blocks separated by blank lines) is moved to one that does not overlap the
  other side's change before anything is called a conflict.

Only edits to the same lines, or lines inserted inside lines the other side rewrote,
conflict. Line-keyed files (``.env.example``, ``.gitignore``) are first merged by key
(:mod:`uts.keyed`); in Python files, a conflict on one ``from X import ...`` statement
is merged by name (:mod:`uts.imports`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

__all__ = ["Conflict", "MergeResult", "merge3_bytes", "merge_lines"]

YOURS, UTS = 0, 1
Resolver = Callable[[Sequence[str], Sequence[str], Sequence[str]], "list[str] | None"]
"""Merges a conflicting region (base, yours, uts) by what it means, or gives up (None)."""
_MAX_SLIDE = 200  # lines an insertion or deletion may move; bounds the work on big files
_LONG = 2000  # lines of diff beyond which frequent lines stop anchoring it (difflib autojunk)
MARKERS = ("<<<<<<< yours\n", "=======\n", ">>>>>>> uts\n")


class Conflict(NamedTuple):
    """A region both sides changed: its first line in the user's file, and both versions.

    *line* is 1-based; 0 means the whole file (a binary file both sides changed).
    """

    line: int
    yours: tuple[str, ...]
    uts: tuple[str, ...]


@dataclass(frozen=True)
class MergeResult:
    """Merged content (with conflict markers where both sides changed the same lines)."""

    content: bytes
    hunks: tuple[Conflict, ...] = ()

    @property
    def conflicts(self) -> int:
        return len(self.hunks)


def merge3_bytes(base: bytes, yours: bytes, theirs: bytes, path: str = "") -> MergeResult:
    """Merge *yours* (the user's file) and *theirs* (uts's new rendering) over *base*.

    *path* chooses a format-aware merge where there is one (by key for line-keyed
    files). Binary files cannot be merged: when both sides changed one, that is one
    conflict and the user's bytes are kept.
    """
    if yours in (base, theirs):
        return MergeResult(theirs)
    if theirs == base:
        return MergeResult(yours)
    try:
        texts = [side.decode("utf-8") for side in (base, yours, theirs)]
    except UnicodeDecodeError:
        return MergeResult(yours, (Conflict(0, (), ()),))
    from uts.keyed import keyed_format, merge_keyed

    keyed = keyed_format(path)
    if keyed is not None:
        merged = merge_keyed(texts[0], texts[1], texts[2], keyed)
        if merged is not None:
            return MergeResult(merged.encode("utf-8"))
    lines = [text.splitlines(keepends=True) for text in texts]
    resolve = None
    if path.endswith((".py", ".pyi")):
        from uts.imports import merge_import

        resolve = merge_import
    content, hunks = merge_lines(lines[0], lines[1], lines[2], resolve)
    return MergeResult("".join(content).encode("utf-8"), tuple(hunks))


class _Edit(NamedTuple):
    """Base lines ``[start, end)`` replaced by *lines* on one side."""

    start: int
    end: int
    lines: tuple[str, ...]
    side: int

    @property
    def insertion(self) -> bool:
        return self.start == self.end


def merge_lines(
    base: Sequence[str],
    yours: Sequence[str],
    theirs: Sequence[str],
    resolve: Resolver | None = None,
) -> tuple[list[str], list[Conflict]]:
    """Merge two edited versions of *base* (lists of lines with their endings).

    A region both sides changed goes to *resolve*, if given, before it is called a
    conflict. Returns the merged lines, conflict markers included, and the conflicts.
    """
    mine = _edits(base, yours, YOURS)
    uts = _edits(base, theirs, UTS)
    mine = _settle(base, mine, uts, yours)
    uts = _split(_settle(base, uts, mine, theirs), mine)
    units = _units(mine, uts)
    out: list[str] = []
    conflicts: list[Conflict] = []
    position = 0
    shift = 0  # lines the user's edits before *position* added (or removed, if negative)
    index = 0
    while index < len(units):
        unit = units[index]
        start = unit[0].start
        out.extend(base[position:start])
        position = max(position, start)
        if len(unit) == 1 and unit[0].insertion:
            # Insertions at one spot: gather the other side's, if any, and keep both.
            same = [unit[0]]
            while (
                index + 1 < len(units)
                and len(units[index + 1]) == 1
                and units[index + 1][0].insertion
                and units[index + 1][0].start == start
            ):
                index += 1
                same.append(units[index][0])
            added = tuple(line for edit in same if edit.side == YOURS for line in edit.lines)
            wanted = tuple(line for edit in same if edit.side == UTS for line in edit.lines)
            out.extend(_union(added, wanted))
            shift += len(added)
        else:
            end = max(edit.end for edit in unit)
            ours = _apply(base, [e for e in unit if e.side == YOURS], start, end)
            theirs_ = _apply(base, [e for e in unit if e.side == UTS], start, end)
            if all(edit.side == UTS for edit in unit):
                out.extend(theirs_)
            elif all(edit.side == YOURS for edit in unit) or ours == theirs_:
                out.extend(ours)
            else:
                both = None if resolve is None else resolve(base[start:end], ours, theirs_)
                if both is not None:
                    out.extend(both)
                else:
                    conflicts.append(Conflict(start + shift + 1, tuple(ours), tuple(theirs_)))
                    out.append(MARKERS[0])
                    out.extend(_terminated(ours))
                    out.append(MARKERS[1])
                    out.extend(_terminated(theirs_))
                    out.append(MARKERS[2])
            shift += len(ours) - (end - start)
            position = end
        index += 1
    out.extend(base[position:])
    return out, conflicts


def _edits(base: Sequence[str], other: Sequence[str], side: int) -> list[_Edit]:
    """What *side* changed in *base*: the non-equal opcodes of a line diff."""
    # Most edits are local: the lines both share at the start and end need no diff.
    limit = min(len(base), len(other))
    prefix = 0
    while prefix < limit and base[prefix] == other[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and base[-1 - suffix] == other[-1 - suffix]:
        suffix += 1
    old, new = base[prefix : len(base) - suffix], other[prefix : len(other) - suffix]
    # Without autojunk, frequent lines (blank ones) anchor the alignment too, which
    # places edits better, at a quadratic cost only long diffs notice.
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=len(old) + len(new) > _LONG)
    return [
        _Edit(prefix + i1, prefix + i2, tuple(new[j1:j2]), side)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _overlap(a: _Edit, b: _Edit) -> bool:
    """Whether *a* and *b* change the same base lines (touching is not overlapping)."""
    if a.insertion and b.insertion:
        return False
    if a.insertion:
        return b.start < a.start < b.end
    if b.insertion:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def _slides(edit: _Edit, base: Sequence[str]) -> list[_Edit]:
    """Equivalent placements of a pure insertion or deletion, nearest first.

    Inserting ``["", "B"]`` after a blank line is the same as inserting ``["B", ""]``
    before it: a diff picks one of them, the merge may need the other.
    """
    if edit.lines and not edit.insertion:
        return []
    up: list[_Edit] = []
    current = edit
    while len(up) < _MAX_SLIDE and current.start > 0:
        above = base[current.start - 1]
        if current.insertion and current.lines and current.lines[-1] == above:
            lines = (above, *current.lines[:-1])
        elif not current.insertion and base[current.end - 1] == above:
            lines = ()
        else:
            break
        current = _Edit(current.start - 1, current.end - 1, lines, edit.side)
        up.append(current)
    down: list[_Edit] = []
    current = edit
    while len(down) < _MAX_SLIDE and current.end < len(base):
        below = base[current.end]
        if current.insertion and current.lines and current.lines[0] == below:
            lines = (*current.lines[1:], below)
        elif not current.insertion and base[current.start] == below:
            lines = ()
        else:
            break
        current = _Edit(current.start + 1, current.end + 1, lines, edit.side)
        down.append(current)
    placements: list[_Edit] = []
    for step in range(max(len(up), len(down))):
        placements += up[step : step + 1] + down[step : step + 1]
    return placements


def _settle(
    base: Sequence[str], edits: list[_Edit], others: list[_Edit], target: Sequence[str]
) -> list[_Edit]:
    """Move *edits* that overlap *others* to an equivalent place where they do not."""
    for index, edit in enumerate(edits):
        if not any(_overlap(edit, other) for other in others):
            continue
        for candidate in _slides(edit, base):
            if any(_overlap(candidate, other) for other in others):
                continue
            trial = [*edits[:index], candidate, *edits[index + 1 :]]
            # The moved edit must still describe the same file: it may not cross
            # another edit of its own side.
            if _apply(base, trial, 0, len(base)) == list(target):
                edits = trial
                break
    return edits


def _split(deletions: list[_Edit], insertions: list[_Edit]) -> list[_Edit]:
    """Cut uts's pure deletions where the user inserted lines among the deleted ones.

    The deleted lines go, the user's lines stay: the user did not touch what uts
    deletes, only wrote next to it (between two of a component's lines, say).
    """
    points = sorted({edit.start for edit in insertions if edit.insertion})
    out: list[_Edit] = []
    for edit in deletions:
        cuts = [p for p in points if edit.start < p < edit.end] if not edit.lines else []
        bounds = [edit.start, *cuts, edit.end]
        if not cuts:
            out.append(edit)
            continue
        out += [_Edit(a, b, (), edit.side) for a, b in pairwise(bounds)]
    return out


def _order(edit: _Edit) -> tuple[int, bool, int]:
    # At one base position: insertions before the change that starts there, the
    # user's insertion before uts's.
    return (edit.start, not edit.insertion, edit.side)


def _apply(base: Sequence[str], edits: list[_Edit], start: int, end: int) -> list[str]:
    """Base lines ``[start, end)`` with *edits* (all inside that range) applied."""
    out: list[str] = []
    position = start
    for edit in sorted(edits, key=_order):
        out.extend(base[position : edit.start])
        out.extend(edit.lines)
        position = max(position, edit.end)
    out.extend(base[position:end])
    return out


def _units(mine: list[_Edit], uts: list[_Edit]) -> list[list[_Edit]]:
    """Edits in base order; overlapping ones, and those inside them, grouped together."""
    units: list[list[_Edit]] = []
    span = _Edit(0, 0, (), -1)
    for edit in sorted(mine + uts, key=_order):
        # Sorted by start, an edit can only overlap the span of the last group.
        if units and _overlap(edit, span):
            units[-1].append(edit)
            span = span._replace(end=max(span.end, edit.end))
        else:
            units.append([edit])
            span = _Edit(edit.start, edit.end, (), -1)
    return units


def _union(ours: tuple[str, ...], theirs: tuple[str, ...]) -> tuple[str, ...]:
    """Both insertions at one spot: the user's, then uts's; once if they are the same."""
    if ours == theirs or not theirs:
        return ours
    if not ours:
        return theirs
    return ours + theirs


def _terminated(lines: list[str]) -> list[str]:
    """*lines* ending with a newline, so a conflict marker starts its own line."""
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines
