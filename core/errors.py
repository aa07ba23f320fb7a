"""Error types of uts; each carries a documented exit code and a hint for the user."""

from __future__ import annotations

__all__ = [
    "CheckError",
    "ConflictError",
    "LockError",
    "OptionError",
    "PluginError",
    "RecipeError",
    "RenderError",
    "ResolutionError",
    "StateError",
    "UsageError",
    "UtsError",
    "WriteError",
    "decode_utf8",
]


class UtsError(Exception):
    """A failure the user can act on: one line saying what and where, plus a hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(UtsError):
    """The command line itself is wrong (bad argument, bad ``--set`` syntax, ...)."""

    exit_code = 2


class ResolutionError(UtsError):
    """Unknown component, missing requirement, conflict or requirement cycle."""

    exit_code = 3


class OptionError(UtsError):
    """An option value is missing, unknown, of the wrong type or not allowed."""

    exit_code = 4


class RecipeError(UtsError):
    """A recipe is missing, malformed or inconsistent."""

    exit_code = 5


class PluginError(UtsError):
    """A plugin failed to load, or raised while contributing to the plan."""

    exit_code = 6


class RenderError(UtsError):
    """A template failed to render or two components claimed the same output."""

    exit_code = 7


class ConflictError(UtsError):
    """Writing would overwrite something the user wrote; nothing was changed."""

    exit_code = 8


class StateError(UtsError):
    """The project's recorded uts state is missing or damaged."""

    exit_code = 9


class WriteError(UtsError):
    """Writing the plan failed or would leave the project directory; nothing was changed."""

    exit_code = 10


class CheckError(UtsError):
    """The project is not current: ``uts check`` found problems, or ``add``/``remove``
    found installed component versions that differ from the project's record."""

    exit_code = 11


class LockError(UtsError):
    """Another uts process is changing the project right now; nothing was changed."""

    exit_code = 12


def decode_utf8(data: bytes, where: str, error: type[UtsError], hint: str) -> str:
    """*data* as text, or *error* saying where: *where* with ``{line}`` for the bad line.

    Every file uts reads (state, recipes, templates, the user's pyproject.toml) must be
    UTF-8; the message names the line of the first byte that is not.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as failure:
        line = data[: failure.start].count(b"\n") + 1
        place = where.replace("{line}", str(line))
        raise error(f"{place}: not UTF-8 text ({failure.reason})", hint=hint) from None
