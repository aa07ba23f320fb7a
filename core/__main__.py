"""Command-line entry point; answers ``--version`` before importing anything heavy."""

from __future__ import annotations

import os
import sys

# The C module: `signal` builds enums on import, time in which Ctrl-C would still
# raise a traceback; these few names come for free.
from _signal import SIGINT, SIGTERM

try:
    from _signal import SIG_BLOCK, SIG_UNBLOCK, pthread_sigmask
except ImportError:  # not POSIX: signals cannot be held back, only caught

    def pthread_sigmask(how: int, mask: set[int]) -> None:
        return None

    SIG_BLOCK = SIG_UNBLOCK = 0

_SIGNALS = {SIGINT, SIGTERM}


def main(argv: list[str] | None = None) -> int:
    """Run ``uts`` with *argv* (default: ``sys.argv[1:]``) and return the exit code."""
    from uts import interrupts

    interrupts.reset()
    previous = interrupts.install()
    try:
        return _main(argv)
    finally:
        interrupts.restore(previous)


def _main(argv: list[str] | None) -> int:
    """:func:`main` once uts's SIGINT and SIGTERM handlers are in place.

    An interrupt at any point in here, imports included, ends as one true line on
    stderr and exit 130 (143 for SIGTERM); once that line is decided, further
    signals change nothing.
    """
    from uts import interrupts

    try:
        pthread_sigmask(SIG_UNBLOCK, _SIGNALS)
        args = sys.argv[1:] if argv is None else argv
        if args in (["--version"], ["-V"]):
            from uts import __version__

            sys.stdout.write(f"uts {__version__}\n")
            return 0
        import gc

        # uts runs for a fraction of a second and makes next to no reference cycles; the
        # cyclic collector would mostly rescan the objects its imports create (~5 % of a
        # small `uts new`). Reference counting still frees everything as usual.
        enabled = gc.isenabled()
        gc.disable()
        try:
            from uts.cli import run

            return run(args)
        finally:
            if enabled:
                gc.enable()
    except KeyboardInterrupt:
        interrupts.ignore()
        sys.stderr.write(interrupts.message() + "\n")
        return interrupts.exit_code()
    finally:
        interrupts.ignore()


def entry() -> None:
    """The ``uts`` console script: :func:`main`, then exit without tearing Python down.

    Finalizing the interpreter (freeing every module and object one by one) costs
    about 20 ms, a seventh of a small ``uts new``, and buys nothing here: uts has
    written and closed every file by the time :func:`main` returns. Exit handlers
    registered with :mod:`atexit` still run, and buffered output is flushed.
    """
    # SIGINT and SIGTERM wait (blocked) until uts's handlers are installed and the code
    # that turns them into one line is running: no interrupt can end in a traceback.
    pthread_sigmask(SIG_BLOCK, _SIGNALS)
    from uts import interrupts

    interrupts.install()
    code = _main(None)
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `uts list | head`: like Python, report no traceback
        code = code or 120
    os._exit(code)


if __name__ == "__main__":
    entry()
