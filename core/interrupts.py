"""Ctrl-C and SIGTERM: held back while the disk is half-written, then one true line and exit."""

from __future__ import annotations

# The C module: `signal` itself builds enums on import, and this module is imported
# before every command (`uts --version` included).
import _signal as signal
import sys

__all__ = [
    "deferred",
    "exit_code",
    "ignore",
    "install",
    "message",
    "pending",
    "raise_pending",
    "received",
    "record",
    "reset",
    "restore",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

NOTHING = "interrupted: nothing was changed"
ROLLED_BACK = "interrupted: rolled back, the project is as it was"
COMPLETE = "interrupted: the change had already been written completely"


class _State:
    received: int | None = None  # the first signal
    raised = False  # a KeyboardInterrupt is already unwinding the program
    depth = 0  # nesting of deferred() sections
    pending = False  # a signal arrived inside a deferred() section
    outcome = NOTHING  # what an interrupt now would have done to the project


_state = _State()


def _handle(signum: int, frame: object) -> None:
    if _state.received is None:
        _state.received = signum
    if _state.depth:
        _state.pending = True  # checked between two file operations
        return
    if _state.raised:
        return  # already unwinding: a second Ctrl-C must not cut the cleanup short
    _state.raised = True
    raise KeyboardInterrupt


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Re-deliver a signal whose KeyboardInterrupt Python had to swallow.

    A signal handler runs between any two bytecodes, also inside a weakref callback or
    a ``__del__`` (importlib's module-lock cleanup, say), where an exception cannot
    propagate: Python prints "Exception ignored" and carries on, and Ctrl-C would be
    lost. Send the signal again instead: it lands once the callback has returned.
    """
    if getattr(unraisable, "exc_type", None) is KeyboardInterrupt and _state.raised:
        # Not right here: this hook still runs inside the callback. A millisecond later
        # the program is back in its own code (or this happens once more).
        _state.raised = False
        signal.signal(signal.SIGALRM, _redeliver)
        signal.setitimer(signal.ITIMER_REAL, 0.001)
        return
    _outer_hook(unraisable)  # the hook before uts's (pytest's, say), or Python's own


def _redeliver(signum: int, frame: object) -> None:
    _handle(_state.received or signal.SIGINT, frame)


def reset() -> None:
    """Forget earlier interrupts (a new command starts, in the same process in tests)."""
    global _state
    _state = _State()


_HOOK = 0  # not a signal number: where install() keeps the unraisable hook it replaced
_outer_hook = sys.__unraisablehook__


def install() -> dict[int, object]:
    """Route SIGINT and SIGTERM through uts; returns the handlers to :func:`restore`."""
    previous: dict[int, object] = {}
    for signum in _SIGNALS:
        try:
            previous[signum] = signal.signal(signum, _handle)
        except ValueError:  # not the main thread: signals are not ours to route
            return previous
    if sys.unraisablehook is not _unraisable:
        global _outer_hook
        previous[_HOOK] = _outer_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable
    return previous


def restore(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        if signum == _HOOK:
            sys.unraisablehook = handler  # type: ignore[assignment]
        else:
            signal.signal(signum, handler)


def ignore() -> None:
    """From here on signals change nothing: uts is printing its last line and exiting."""
    _state.raised = True


class deferred:  # lower case: used like a function, `with deferred():`
    """Hold SIGINT and SIGTERM back: they only set a flag that :func:`pending` reports.

    Nothing can then raise between two steps of a commit's bookkeeping; the commit
    polls :func:`pending` between file operations and rolls back by itself.
    """

    def __enter__(self) -> None:
        ours = signal.getsignal(signal.SIGINT) is _handle
        self._installed = {} if ours else install()
        _state.depth += 1

    def __exit__(self, *exc_info: object) -> None:
        _state.depth -= 1
        restore(self._installed)


def pending() -> bool:
    return _state.pending


def raise_pending() -> None:
    """End a deferred section that a signal interrupted: raise it now, once."""
    _state.pending = False
    _state.raised = True
    raise KeyboardInterrupt


def record(outcome: str) -> None:
    """Say what an interrupt from now on means for the project (one of the messages)."""
    _state.outcome = outcome


def message() -> str:
    return _state.outcome


def received() -> int | None:
    return _state.received


def exit_code() -> int:
    """128 + the signal: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + (_state.received or signal.SIGINT)
