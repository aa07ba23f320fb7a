"""Benchmark uts against copier and cookiecutter: ``python bench/run.py [--quick] [--runs 5]``.

Prints one markdown table (plus the machine) on stdout; progress goes to stderr.
See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import envs, scenarios
from bench.report import Row, machine, markdown
from bench.timing import PERTURBING, BenchError

GROUPS = ("startup", "render", "real", "discovery", "add", "adopt", "update")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1,200 and 3 runs (a smoke run)")
    parser.add_argument(
        "--sizes", default="1,200,1000", help="template sizes in files (default 1,200,1000)"
    )
    parser.add_argument("--runs", type=int, default=5, help="counted runs per command (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (default 1)")
    parser.add_argument(
        "--plugins", type=int, default=50, help="third-party plugins for discovery (50)"
    )
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"groups to run, from {','.join(GROUPS)}"
    )
    parser.add_argument(
        "--write",
        nargs="?",
        const=RESULTS,
        type=Path,
        metavar="FILE",
        help=f"also write the table to FILE (default {RESULTS.relative_to(envs.REPO)})",
    )
    parser.add_argument(
        "--profile", type=int, metavar="SIZE", help="then cProfile `uts new` at SIZE files"
    )
    parser.add_argument(
        "--workdir", type=Path, help="work here and keep it (default: a temp dir, removed)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "1,200", 3
    args.sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    args.only = {group.strip() for group in args.only.split(",") if group.strip()}
    if unknown := args.only - set(GROUPS):
        parser.error(
            f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}"
        )
    if args.runs < 1 or args.warmup < 0 or any(size < 1 for size in args.sizes):
        parser.error("--runs and --sizes must be positive, --warmup not negative")
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _build(args: argparse.Namespace, ctx: scenarios.Context) -> list[scenarios.Group]:
    """Every group to time; trees are checked here, before anything is timed."""
    groups: list[scenarios.Group] = []
    if "startup" in args.only:
        groups.append(scenarios.startup_group(ctx))
    if "render" in args.only:
        for size in args.sizes:
            _say(f"checking that every tool renders the identical {size}-file tree ...")
            groups.append(scenarios.render_group(ctx, size))
    if "real" in args.only:
        groups.append(scenarios.real_work_group(ctx))
    if "discovery" in args.only:
        _say(f"building throwaway venvs with 0 and {args.plugins} plugins ...")
        groups.append(scenarios.discovery_group(ctx, args.plugins))
    if "add" in args.only:
        groups.append(scenarios.add_monitoring_group(ctx))
    if "adopt" in args.only:
        _say("copying a foreign project, with and without 10,000 extra files ...")
        groups.append(scenarios.adopt_group(ctx))
    if "update" in args.only:
        _say("building the update scenario (two releases, three projects) ...")
        groups += scenarios.update_group(ctx)
    return groups


def _notes(args: argparse.Namespace, groups: list[scenarios.Group]) -> list[str]:
    checked = [g.name for g in groups if g.name.startswith("render")]
    tools = sorted(
        {
            e.label.split()[0]
            for g in groups
            if g.name.startswith("render")
            for e in g.entries
            if e.command is not None and not e.label.startswith("floor")
        }
    )
    notes = [
        f"{args.runs} counted runs per command after {args.warmup} warm-up; the commands of a "
        "scenario run interleaved, their order rotated every round. Wall time of the whole "
        "process; peak RSS is the largest ru_maxrss (wait4) over the counted runs.",
        "median ÷ uts: startup rows against `uts --version`, render rows against `uts new`, "
        "plugin-discovery rows against the same command with 0 plugins, `uts add` rows "
        "against 0 user files, `uts adopt` rows against 0 extra files, update rows against "
        "`uts update`, `uts outdated`/`uts check` against `uts list`.",
    ]
    if checked:
        notes.append(
            f"Identical output: before timing, {', '.join(tools)} rendered the synthetic template "
            "(~2 KB text files, 10 substitutions each, in up to 20 directories named from a "
            "variable) and each tree was compared byte for byte with the tree the harness "
            "computes. Excluded from that comparison: uts's `.uts/` (its state, "
            "always written). "
            "Nothing else: the uts component writes no pyproject.toml, the copier template has no "
            "answers file, cookiecutter's replay file goes outside the tree."
        )
    notes.append("`uts --version` is answered before the CLI and plugins are imported.")
    if removed := [name for name in PERTURBING if name in os.environ]:
        notes.append(
            f"Removed from the timed processes' environment: {', '.join(removed)} "
            "(so the warm-up writes bytecode caches, as for an installed tool)."
        )
    return [note for group in groups for note in group.notes] + notes


def run(args: argparse.Namespace, work: Path) -> str:
    """Build, check and time every group under *work*; return the report as markdown."""
    ctx = scenarios.Context(work, envs.find_tools(), work / "last-command.log")
    groups = _build(args, ctx)
    rows: list[Row] = []
    for group in groups:
        timed = sum(1 for entry in group.entries if entry.command is not None)
        _say(f"timing {group.name}: {timed} command(s) x {args.warmup}+{args.runs} runs ...")
        rows += scenarios.time_group(group, args.runs, args.warmup, ctx.log)
    notes = "\n".join(f"- {note}" for note in _notes(args, groups))
    report = f"{markdown(rows)}\n\n{notes}\n\nMachine:\n\n{machine()}\n"
    if args.profile:
        _say(f"profiling uts new with {args.profile} files ...")
        report += f"\n```text\n{scenarios.profile_new(ctx, args.profile).strip()}\n```\n"
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; return the exit code."""
    args = _parse(argv)
    try:
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            report = run(args, args.workdir.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="uts-bench-") as work:
                report = run(args, Path(work))
    except BenchError as error:
        _say(f"error: {error}")
        return 1
    print(report, end="")
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report)
        _say(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
