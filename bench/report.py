"""The results as one markdown table, and a description of the machine they come from."""

from __future__ import annotations

import json
import os
import platform
import pstats
import re
import statistics
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.timing import Sample

__all__ = ["Row", "machine", "markdown", "profile_summary"]


@dataclass
class Row:
    """One line of the table: a command's samples, or a *status* saying why it has none."""

    group: str
    label: str
    samples: list[Sample] = field(default_factory=list)
    ref: str | None = None
    status: str = ""

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def markdown(rows: list[Row]) -> str:
    """The table: min / median / max wall time, peak RSS, and the ratio to the reference row."""
    by_key = {(row.group, row.label): row for row in rows}
    lines = [
        "| scenario | command | runs | min ms | median ms | max ms | peak RSS MiB | median ÷ uts |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        if not row.samples:
            lines.append(f"| {row.group} | {row.label} | 0 | {row.status} | | | | |")
            continue
        times = [s.seconds for s in row.samples]
        rss = max(s.max_rss_kib for s in row.samples) / 1024
        ref = by_key.get((row.group, row.ref)) if row.ref else None
        ratio = f"{row.median / ref.median:.2f}" if ref is not None and ref.samples else "—"
        lines.append(
            f"| {row.group} | {row.label} | {len(times)} | {_ms(min(times))} | {_ms(row.median)} "
            f"| {_ms(max(times))} | {rss:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    # Skip the checkout itself: a stale uts.egg-info there would shadow the installed uts.
    repo = Path(__file__).resolve().parent.parent
    path = [entry for entry in sys.path if entry and Path(entry).resolve() != repo]
    found = next(iter(metadata.Distribution.discover(name=dist, path=path)), None)
    if found is None:
        return "not installed"
    direct = found.read_text("direct_url.json")
    editable = direct is not None and json.loads(direct).get("dir_info", {}).get("editable", False)
    return f"{found.version}{' (editable install)' if editable else ''}"


def machine() -> str:
    """CPU, cores, OS, Python and tool versions, as markdown bullet lines."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    tools = ", ".join(
        f"{name} {_version(name)}" for name in ("uts", "copier", "cookiecutter", "cruft")
    )
    return "\n".join(
        [
            f"- CPU: {_cpu_model()}, {cores} cores ({usable} usable); load average "
            f"{' / '.join(f'{load:.2f}' for load in os.getloadavg())} (1 / 5 / 15 min, at the end)",
            f"- OS: {platform.platform()}",
            f"- Python: {platform.python_version()} ({sys.executable})",
            f"- Tools: {tools}",
        ]
    )


_REPO = Path(__file__).resolve().parent.parent
_CHECKOUT = tuple(f"{_REPO / folder}{os.sep}" for folder in ("core", "plugins", "recipes"))
_INSTALLED = re.compile(r"[/\\](?:uts|uts_plugins|uts_recipes)[/\\].*$")


def _own(file_name: str) -> str | None:
    """*file_name* shortened if it is uts's code (installed, or this checkout), else None."""
    if file_name.startswith(_CHECKOUT):
        return Path(file_name).relative_to(_REPO).as_posix()
    match = _INSTALLED.search(file_name)
    return match.group(0)[1:].replace("\\", "/") if match else None


def _where(function: str, profile: pstats.FunctionProfile) -> str:
    if not profile.line_number:
        return function
    where = _own(profile.file_name) or Path(profile.file_name).name
    return f"{where}:{profile.line_number} {function}"


def profile_summary(path: Path, title: str, top: int = 20) -> str:
    """The slowest functions of a cProfile dump: overall by own time, uts's own by cumulative."""
    report = pstats.Stats(str(path)).get_stats_profile()
    functions = report.func_profiles.items()
    own = sorted(functions, key=lambda item: item[1].tottime, reverse=True)[:top]
    ours = [item for item in functions if _own(item[1].file_name)]
    cumulative = sorted(ours, key=lambda item: item[1].cumtime, reverse=True)[:top]
    lines = [f"{title}, under cProfile: {report.total_tt:.3f} s in all", "", "by own time:"]
    lines += [f"  {p.tottime:7.3f} s  {p.ncalls:>9}x  {_where(f, p)}" for f, p in own]
    lines += ["", "uts functions by cumulative time:"]
    lines += [f"  {p.cumtime:7.3f} s  {p.ncalls:>9}x  {_where(f, p)}" for f, p in cumulative]
    return "\n".join(lines)
