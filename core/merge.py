"""Three-way merge of a file the user edited with what uts now wants to write."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MergeResult", "merge3_bytes"]


@dataclass(frozen=True)
class MergeResult:
    """Merged content (with conflict markers where both sides changed the same lines)."""

    content: bytes
    conflicts: int


def merge3_bytes(base: bytes, yours: bytes, theirs: bytes) -> MergeResult:
    """Merge *yours* (the user's file) and *theirs* (uts's new rendering) over *base*.

    Binary files cannot be merged: when both sides changed one, that is one conflict
    and the user's bytes are kept.
    """
    from merge3 import Merge3

    try:
        lines = [side.decode("utf-8").splitlines(keepends=True) for side in (base, yours, theirs)]
    except UnicodeDecodeError:
        return MergeResult(yours, 1)
    merger = Merge3(lines[0], lines[1], lines[2])
    conflicts = sum(1 for region in merger.merge_regions() if region[0] == "conflict")
    merged = merger.merge_lines(
        name_a="yours",
        name_b="uts",
        start_marker="<<<<<<<",
        mid_marker="=======",
        end_marker=">>>>>>>",
    )
    return MergeResult("".join(merged).encode("utf-8"), conflicts)
