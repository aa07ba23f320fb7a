"""Merge line-keyed files (``.env.example``, ``.gitignore``) by key, not by position."""

from __future__ import annotations

__all__ = ["keyed_format", "merge_keyed"]


def keyed_format(path: str) -> str | None:
    return None


def merge_keyed(base: str, yours: str, theirs: str, kind: str) -> str | None:
    return None
