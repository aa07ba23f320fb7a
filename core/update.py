"""Take newer installed component versions into a project: what is outdated, migrations, checks."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, NamedTuple

from uts.errors import CheckError, ResolutionError, StateError
from uts.migrate import Migration, version_steps
from uts.plugin.manager import Registry

__all__ = [
    "Migrated",
    "Missing",
    "Outdated",
    "check_findings",
    "find_missing",
    "find_outdated",
    "migrate",
    "refuse_outdated",
    "require_installed",
    "select_updates",
]


class Outdated(NamedTuple):
    """A component whose installed version is not the one the project records."""

    name: str
    provider: str | None
    recorded: str
    installed: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.recorded} → {self.installed}"


class Missing(NamedTuple):
    """A component the project records that no installed plugin provides."""

    name: str
    provider: str | None

    @property
    def hint(self) -> str:
        if self.provider:
            return f"install the distribution {self.provider!r} (pip install {self.provider})"
        return f"install the plugin providing {self.name!r} (uts list shows what is installed)"


def _components(state: Any) -> dict[str, dict[str, Any]]:
    return dict(state.tool["components"])


def find_missing(state: Any, registry: Registry) -> list[Missing]:
    """Recorded components that no installed plugin provides, with the recorded provider."""
    return [
        Missing(name, _distribution(data.get("provider")))
        for name, data in _components(state).items()
        if registry.ensure(name) is None
    ]


def find_outdated(state: Any, registry: Registry) -> list[Outdated]:
    """Recorded components installed at another version (imports only those plugins)."""
    found = []
    for name, data in _components(state).items():
        loaded = registry.ensure(name)
        if loaded is not None and loaded.component.version != data["version"]:
            provider = loaded.provider or _distribution(data.get("provider"))
            found.append(Outdated(name, provider, data["version"], loaded.component.version))
    return found


def require_installed(state: Any, registry: Registry) -> None:
    """Stop with a hint naming the package to install when a recorded component is missing."""
    missing = find_missing(state, registry)
    if missing:
        names = ", ".join(repr(m.name) for m in missing)
        raise StateError(
            f"component(s) {names} of this project are not installed",
            hint="; ".join(m.hint for m in missing),
        )


def refuse_outdated(outdated: list[Outdated], command: str) -> None:
    """Stop *command* before it writes when newer versions would ride along (invariant 8)."""
    if outdated:
        listing = ", ".join(o.label for o in outdated)
        raise CheckError(
            f"installed versions differ from this project's record: {listing}; "
            f"'{command}' changes only what was asked, so nothing was changed",
            hint="run 'uts update' first, or pass --update to do both",
        )


def select_updates(outdated: list[Outdated], names: Iterable[str], state: Any) -> list[Outdated]:
    """The outdated components to update: all of them, or *names* if that is all of them.

    uts renders the whole project at the installed versions; an old version that is
    no longer installed cannot be rendered, so a partial update that would need one
    is refused instead of silently taking the other components along.
    """
    names = list(dict.fromkeys(names))
    if not names:
        return outdated
    unknown = [n for n in names if n not in _components(state)]
    if unknown:
        raise ResolutionError(
            f"component(s) {', '.join(map(repr, unknown))} are not part of this project",
            hint="uts status lists the active components",
        )
    chosen = [o for o in outdated if o.name in names]
    left = [o for o in outdated if o.name not in names]
    if left and chosen:
        others = ", ".join(o.label for o in left)
        every = " ".join(o.name for o in outdated)
        raise CheckError(
            f"cannot update {', '.join(o.name for o in chosen)} alone: outdated too: {others}; "
            "uts renders the whole project and cannot render a version no longer installed",
            hint=f"update them together: uts update {every} (or just uts update)",
        )
    return chosen


class _MigratedState:
    """The project's state as migrations left it: same files and bases, rewritten record."""

    def __init__(self, state: Any, tool: dict[str, Any]) -> None:
        self._state = state
        self.tool = tool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)


class Migrated(NamedTuple):
    """The state to plan from, and the files migrations moved (new path to recorded path)."""

    state: Any
    moves: dict[str, str]
    steps: list[tuple[str, str, str]]


def migrate(registry: Registry, state: Any, updates: list[Outdated]) -> Migrated:
    """Run each updated component's ``uts_migrate`` steps on a copy of the record."""
    tool = copy.deepcopy(state.tool)
    moves: dict[str, str] = {}
    steps: list[tuple[str, str, str]] = []
    for update in updates:
        component = registry.metadata[update.name]
        record = tool["components"][update.name]
        options = dict(record.get("options", {}))
        paths = {path: path for path, entry in state.files.items() if entry["owner"] == update.name}
        for start, end in version_steps(update.recorded, update.installed, component.releases):
            registry.migrate(update.name, start, end, Migration(update.name, paths, options))
            steps.append((update.name, start, end))
        record["options"] = options
        moves.update({new: old for new, old in paths.items() if new != old})
    return Migrated(_MigratedState(state, tool), moves, steps)


def check_findings(state: Any, registry: Registry) -> list[str]:
    """Everything ``uts check`` reports: outdated or missing components, broken state."""
    findings = []
    for missing in find_missing(state, registry):
        findings.append(f"missing: {missing.name} is not installed; {missing.hint}")
    for outdated in find_outdated(state, registry):
        provider = f" ({outdated.provider})" if outdated.provider else ""
        findings.append(f"outdated: {outdated.label}{provider}; run 'uts update'")
    from uts.repair import state_findings

    return findings + [f"state: {line}" for line in state_findings(state.root, registry)]


def _distribution(recorded: Any) -> str | None:
    """The distribution name of a recorded provider (``{"distribution", "version"}``)."""
    if isinstance(recorded, dict):
        name = recorded.get("distribution")
        return name if isinstance(name, str) else None
    return recorded if isinstance(recorded, str) else None
