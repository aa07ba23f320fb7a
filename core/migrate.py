"""Per-version migrations: what ``uts_migrate`` may change before an update is merged."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

from uts.errors import PluginError

__all__ = ["Migration", "version_key", "version_steps"]


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for release versions: ``1.10`` after ``1.9``, ``2.0rc1`` before ``2.0``."""
    parts: list[tuple[int, int | str]] = []
    for token in re.findall(r"\d+|[A-Za-z]+", version):
        # A letter tag (rc, a, b, dev) marks a pre-release of the numbers before it.
        parts.append((1, int(token)) if token.isdigit() else (0, token.lower()))
    parts.append((0, "~"))  # "2.0" sorts after "2.0rc1" (whose next part is (0, "rc"))
    return tuple(parts)


def version_steps(recorded: str, installed: str, releases: Iterable[str]) -> list[tuple[str, str]]:
    """The ``(from, to)`` steps from *recorded* to *installed*, stopping at each of *releases*.

    A downgrade is one step; only an upgrade stops at the releases in between.
    """
    if recorded == installed:
        return []
    low, high = version_key(recorded), version_key(installed)
    stops = sorted(
        {r for r in releases if low < version_key(r) < high}, key=version_key
    )  # empty for a downgrade, where low > high
    versions = [recorded, *stops, installed]
    return list(itertools.pairwise(versions))


class Migration:
    """Handed to ``uts_migrate``: one component's recorded files and options, to rewrite.

    Changes are made to uts's record only, in memory; the update then reads each
    moved file (with the user's edits) at its old place, merges it with the new
    rendering at its new place, and commits everything at once, or nothing.
    """

    def __init__(self, component: str, paths: dict[str, str], options: dict[str, Any]) -> None:
        self.component = component
        self._paths = paths  # current path -> the path recorded before any migration
        self._options = options

    @property
    def files(self) -> list[str]:
        """The project-relative paths this component wrote, as moved so far."""
        return sorted(self._paths)

    @property
    def options(self) -> dict[str, Any]:
        """The recorded option values; assign or delete keys to rewrite them."""
        return self._options

    def move(self, old: str, new: str) -> None:
        """Record that the file uts wrote at *old* now lives at *new* (the user's edits move)."""
        if old not in self._paths:
            raise PluginError(
                f"component {self.component!r} migration moves {old}, "
                "which it did not write in this project",
                hint=f"its files here are: {', '.join(self.files) or 'none'}",
            )
        if new in self._paths or _unsafe(new):
            raise PluginError(
                f"component {self.component!r} migration moves {old} to {new!r}, "
                "which is taken or not a project-relative path"
            )
        self._paths[new] = self._paths.pop(old)

    def rename_option(self, old: str, new: str) -> None:
        """Record option *old*'s value under *new* (nothing happens if it was never set)."""
        if old in self._options:
            self._options[new] = self._options.pop(old)


def _unsafe(path: str) -> bool:
    return path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/"))
