"""Command-line entry point; answers ``--version`` before importing anything heavy."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run ``uts`` with *argv* (default: ``sys.argv[1:]``) and return the exit code."""
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


if __name__ == "__main__":
    sys.exit(main())
